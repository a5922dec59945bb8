"""/api/v1/predictive-models: the predictive model's training runs (read-only), newest first, and the latest one.

Readable by admins and managers, like the page; the numbers are the model's, never a contact's data.
"""

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from smarketing.accounts.access import require_manager_or_admin
from smarketing.api.schema import ApiAutoSchema
from smarketing.api.views.base import ReadOnlyViewSet
from smarketing.scoring.models import PredictiveModel


class PredictiveFeatureSerializer(serializers.Serializer):
    name = serializers.CharField(help_text='Stable key: "pricing_views", "industry=Software".')
    label = serializers.CharField(help_text="What it measures, in words.")
    kind = serializers.ChoiceField(choices=["count", "flag", "days", "number"])
    value = serializers.CharField(allow_blank=True, help_text="The value of a one-hot feature (else empty).")
    mean = serializers.FloatField(help_text="Mean of the model input (log(1 + n) for counts) on training data.")
    scale = serializers.FloatField(help_text="Its standard deviation (1 when constant).")
    coef = serializers.FloatField(help_text="Logistic regression coefficient per standard deviation.")


class PredictiveParametersSerializer(serializers.Serializer):
    algorithm = serializers.CharField()
    intercept = serializers.FloatField()
    window_days = serializers.IntegerField(help_text="Engagement counts look this many days back.")
    features = PredictiveFeatureSerializer(many=True)


class PredictiveModelSerializer(serializers.ModelSerializer):
    parameters = serializers.SerializerMethodField()

    class Meta:
        model = PredictiveModel
        fields = [
            "id",
            "status",
            "active",
            "trained_at",
            "won_count",
            "lost_count",
            "auc",
            "message",
            "scored_count",
            "scored_at",
            "parameters",
        ]
        read_only_fields = fields

    @extend_schema_field(PredictiveParametersSerializer(allow_null=True))
    def get_parameters(self, obj) -> dict | None:
        return obj.parameters or None


class PredictiveSchema(ApiAutoSchema):
    """…/latest answers 404 before the first run, although its path has no {id}."""

    def _problem_codes(self) -> list[str]:
        codes = super()._problem_codes()
        return sorted({*codes, "404"}) if self.path.rstrip("/").endswith("/latest") else codes


@extend_schema_view(
    list=extend_schema(
        summary="List predictive model training runs",
        description="Every run, newest first: trained (with its held-out AUC and numbers), insufficient (too "
        "little won/lost history, with what is missing in `message`) or failed. At most one is `active`.",
    ),
    retrieve=extend_schema(summary="Get a predictive model training run"),
)
class PredictiveModelViewSet(ReadOnlyViewSet):
    queryset = PredictiveModel.objects.all()
    serializer_class = PredictiveModelSerializer
    schema = PredictiveSchema()
    ordering_fields = {"trained_at": "trained_at"}
    default_ordering = "-id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return PredictiveModel.objects.none()
        require_manager_or_admin(self.request.user, "Only admins and managers can read the predictive models.")
        return PredictiveModel.objects.all()

    @extend_schema(
        summary="Get the latest predictive model training run",
        description="The newest run whatever its status; 404 before the first run.",
        responses={200: PredictiveModelSerializer},
    )
    @action(detail=False, methods=["get"])
    def latest(self, request):
        run = self.get_queryset().order_by("-trained_at", "-id").first()
        if run is None:
            raise NotFound("No predictive model has been trained yet.")
        return Response(self.get_serializer(run).data)
