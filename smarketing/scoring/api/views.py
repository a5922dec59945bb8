"""/api/v1/score-groups (with their rules) and /api/v1/score-changes (each contact's score history): read-only.

Rules are changed on the Scoring page (managers and admins); scores change through the rules, the jobs and
`scoring.services.adjust_score`.
"""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view

from smarketing.api.filters import DateTimeRangeFilter, id_filter
from smarketing.api.views.base import ReadOnlyViewSet
from smarketing.crm.models import Contact
from smarketing.scoring import access
from smarketing.scoring.api.serializers import ScoreChangeSerializer, ScoreGroupSerializer
from smarketing.scoring.models import ChangeSource, Dimension, ScoreChange, ScoreGroup


class ScoreChangeFilter(filters.FilterSet):
    contact = id_filter(field_name="contact_id")
    group = id_filter(field_name="group_id")
    dimension = filters.ChoiceFilter(choices=Dimension.choices)
    source = filters.ChoiceFilter(choices=ChangeSource.choices)
    occurred_at = DateTimeRangeFilter()

    class Meta:
        model = ScoreChange
        fields = []


@extend_schema_view(
    list=extend_schema(summary="List score groups", description="Each group with its fit and engagement rules."),
    retrieve=extend_schema(summary="Get a score group"),
)
class ScoreGroupViewSet(ReadOnlyViewSet):
    queryset = ScoreGroup.objects.all()
    serializer_class = ScoreGroupSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ScoreGroup.objects.none()
        access.require_view(self.request.user)
        return ScoreGroup.objects.prefetch_related("rules")


@extend_schema_view(
    list=extend_schema(
        summary="List score changes",
        description="The score history: every change of a contact's fit or engagement in a group, with the "
        "sentence that explains it. Filter by contact (`?contact=`) and sort by -occurred_at to read one "
        "contact's history from its index.",
    ),
    retrieve=extend_schema(summary="Get a score change"),
)
class ScoreChangeViewSet(ReadOnlyViewSet):
    queryset = ScoreChange.objects.all()
    serializer_class = ScoreChangeSerializer
    filterset_class = ScoreChangeFilter
    ordering_fields = {"occurred_at": "occurred_at"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ScoreChange.objects.none()
        access.require_view(self.request.user)
        visible = Contact.objects.for_user(self.request.user, "view").values("pk")
        return ScoreChange.objects.filter(contact_id__in=visible)
