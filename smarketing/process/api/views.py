"""/api/v1/handoffs (the handoff queue, accept and reject) and /api/v1/rejection-reasons.

A rep reads their queue with `?owner=me&status=open`; a decision is a POST that only the owner, their manager or
an admin may make (403 otherwise), and a second decision on the same lead is refused (400): the first wins.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from smarketing.api.filters import DateTimeRangeFilter, id_filter
from smarketing.api.views.base import ReadOnlyViewSet
from smarketing.core.models import Origin
from smarketing.crm.models import Contact
from smarketing.process import governance, handoff
from smarketing.process.api.serializers import (
    HandoffSerializer,
    RejectInputSerializer,
    RejectionReasonSerializer,
    StageGovernanceInputSerializer,
    StageGovernanceSerializer,
)
from smarketing.process.models import Handoff, HandoffStatus, RejectionReason, StageGovernance


class OwnerFilter(filters.CharFilter):
    """`owner=me` or a user id."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if value == "me":
            return qs.filter(owner_id=self.parent.request.user.pk)
        if not value.isdigit() or len(value) > 18:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"owner": ["A user id or `me`."]})
        return qs.filter(owner_id=int(value))


class HandoffFilter(filters.FilterSet):
    contact = id_filter(field_name="contact_id")
    owner = OwnerFilter(help_text="A user id, or `me`.")
    status = filters.ChoiceFilter(choices=HandoffStatus.choices)
    breached = filters.BooleanFilter(field_name="breached_at", lookup_expr="isnull", exclude=True)
    started_at = DateTimeRangeFilter()
    due_at = DateTimeRangeFilter()

    class Meta:
        model = Handoff
        fields = []


@extend_schema_view(
    list=extend_schema(
        summary="List handoffs (the MQL queue)",
        description="Every MQL handed to sales with its SLA clock and decision. `?owner=me&status=open` is a "
        "rep's inbox; `?breached=true` the breaches. Sorted by due time by default.",
    ),
    retrieve=extend_schema(summary="Get a handoff"),
)
class HandoffViewSet(ReadOnlyViewSet):
    queryset = Handoff.objects.all()
    serializer_class = HandoffSerializer
    filterset_class = HandoffFilter
    ordering_fields = {"due_at": "due_at", "started_at": "started_at"}
    default_ordering = "due_at"
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Handoff.objects.none()
        visible = Contact.objects.for_user(self.request.user, "view").values("pk")
        return Handoff.objects.filter(contact_id__in=visible).select_related("contact", "owner", "reason")

    def _respond(self, h):
        return Response(self.get_serializer(self.get_queryset().get(pk=h.pk)).data)

    @extend_schema(
        summary="Accept a lead: it becomes a sales-qualified lead", request=None, responses={200: HandoffSerializer}
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._respond(handoff.accept(self.get_object(), actor=request.user, origin=Origin.API))

    @extend_schema(
        summary="Reject a lead with a reason: it returns to marketing as a lead",
        request=RejectInputSerializer,
        responses={200: HandoffSerializer},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = RejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        h = handoff.reject(
            self.get_object(),
            actor=request.user,
            reason_id=data.validated_data["reason"],
            text=data.validated_data.get("text", ""),
            origin=Origin.API,
        )
        return self._respond(h)


@extend_schema_view(
    list=extend_schema(summary="List rejection reasons", description="Retired ones have `active: false`."),
    retrieve=extend_schema(summary="Get a rejection reason"),
)
class RejectionReasonViewSet(ReadOnlyViewSet):
    queryset = RejectionReason.objects.all()
    serializer_class = RejectionReasonSerializer
    ordering_fields = {"position": "position"}

    def get_queryset(self):
        return RejectionReason.objects.all()


@extend_schema_view(
    list=extend_schema(
        summary="List stage governance",
        description="Each step's role, checklist, required records and playbook (pipeline stages by `stage`, "
        "lifecycle stages by `lifecycle_stage`). Admins create and change them.",
    ),
    retrieve=extend_schema(summary="Get a step's governance"),
)
class StageGovernanceViewSet(ReadOnlyViewSet):
    queryset = StageGovernance.objects.all()
    serializer_class = StageGovernanceSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return StageGovernance.objects.all()

    def _save(self, data: dict, row: StageGovernance | None = None):
        from smarketing.crm.models import LifecycleStage, Stage

        target = {}
        if row is not None:
            target = {"stage": row.stage} if row.stage_id else {"lifecycle_stage": row.lifecycle_stage}
        else:
            stage_id, lifecycle = data.pop("stage", None), data.pop("lifecycle_stage", None)
            if (stage_id is None) == (lifecycle is None):
                raise DjangoValidationError({"stage": "Give a pipeline stage or a lifecycle stage."})
            if stage_id is not None:
                stage = Stage.objects.filter(pk=stage_id).first()
                if stage is None:
                    raise DjangoValidationError({"stage": "No such stage."})
                target = {"stage": stage}
            elif lifecycle not in LifecycleStage.values:
                raise DjangoValidationError({"lifecycle_stage": "Not a lifecycle stage."})
            else:
                target = {"lifecycle_stage": lifecycle}
        if row is not None and ({"stage", "lifecycle_stage"} & set(data)):
            raise DjangoValidationError({"stage": "A governance row stays on its step."})
        saved = governance.save(actor=self.request.user, data=data, **target)
        return Response(self.get_serializer(saved).data)

    @extend_schema(
        summary="Set a step's governance (admins)",
        request=StageGovernanceInputSerializer,
        responses={200: StageGovernanceSerializer},
    )
    def create(self, request):
        data = StageGovernanceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._save(dict(data.validated_data))

    @extend_schema(
        summary="Change a step's governance (admins)",
        request=StageGovernanceInputSerializer,
        responses={200: StageGovernanceSerializer},
    )
    def partial_update(self, request, pk=None):
        data = StageGovernanceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._save(dict(data.validated_data), row=self.get_object())
