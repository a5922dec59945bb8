"""/api/v1/meeting-types (everyone signed in reads the types they may see; owners, and for team types their
managers and admins, create and change them) and /api/v1/meetings (list, read, cancel, record the outcome).

Writes go through scheduling.services (the same rules as the pages); a Django ValidationError becomes a
problem+json 400, PermissionDenied a 403.
"""

from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from smarketing.accounts.models import Team
from smarketing.api.filters import DateTimeRangeFilter, id_filter
from smarketing.api.views.base import ApiViewSet, ReadOnlyViewSet
from smarketing.core.models import Origin
from smarketing.scheduling import access, services
from smarketing.scheduling.api.serializers import (
    CancelInputSerializer,
    MeetingSerializer,
    MeetingTypeSerializer,
    MeetingTypeWriteSerializer,
    OutcomeInputSerializer,
)
from smarketing.scheduling.models import Meeting, MeetingType


class MeetingTypeFilter(filters.FilterSet):
    owner = id_filter(field_name="owner_id")
    team = id_filter(field_name="team_id")
    is_active = filters.BooleanFilter()

    class Meta:
        model = MeetingType
        fields = []


@extend_schema_view(
    list=extend_schema(summary="List meeting types", description="The types you own, host or your team's."),
    retrieve=extend_schema(summary="Get a meeting type"),
    create=extend_schema(
        summary="Create a meeting type (yours; a team's with `team`, by its managers and admins)",
        request=MeetingTypeWriteSerializer,
        responses={201: MeetingTypeSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a meeting type", request=MeetingTypeWriteSerializer, responses={200: MeetingTypeSerializer}
    ),
)
class MeetingTypeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = MeetingTypeSerializer
    filterset_class = MeetingTypeFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = {"created_at": "created_at"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MeetingType.objects.none()
        return access.visible_types(self.request.user, MeetingType.objects.all()).prefetch_related("host_rows")

    def _respond(self, mt: MeetingType, code: int = 200) -> Response:
        mt = MeetingType.objects.prefetch_related("host_rows").get(pk=mt.pk)
        headers = {"Location": reverse("api:meeting-type-detail", args=[mt.pk])} if code == 201 else {}
        return Response(self.get_serializer(mt).data, status=code, headers=headers)

    def _write(self, data: dict, meeting_type: MeetingType | None = None) -> MeetingType:
        from django.core.exceptions import ValidationError

        hosts = data.pop("hosts", None)
        team_id = data.pop("team", None)
        team = None
        if team_id is not None:
            if meeting_type is not None:
                raise ValidationError({"team": "A type stays personal or stays its team's."})
            team = Team.objects.filter(pk=team_id).first()
            if team is None:
                raise ValidationError({"team": "No such team."})
        if "questions" in data:
            data["questions"] = [dict(q) for q in data["questions"]]
        return services.save_meeting_type(
            actor=self.request.user,
            data=data,
            meeting_type=meeting_type,
            team=team,
            hosts=[dict(h) for h in hosts] if hosts is not None else None,
            origin=Origin.API,
        )

    def create(self, request):
        serializer = MeetingTypeWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(self._write(dict(serializer.validated_data)), status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        serializer = MeetingTypeWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._respond(self._write(dict(serializer.validated_data), self.get_object()))


class MeetingFilter(filters.FilterSet):
    host = id_filter(field_name="host_id")
    contact = id_filter(field_name="contact_id")
    deal = id_filter(field_name="deal_id")
    meeting_type = id_filter(field_name="meeting_type_id")
    status = filters.ChoiceFilter(choices=Meeting.Status.choices)
    starts_at = DateTimeRangeFilter()

    class Meta:
        model = Meeting
        fields = []


@extend_schema_view(
    list=extend_schema(
        summary="List meetings",
        description="Meetings you host (managers: their team's hosts'; admins: all). Filter by host, contact, "
        "status and `starts_at_after` / `starts_at_before`.",
    ),
    retrieve=extend_schema(summary="Get a meeting"),
)
class MeetingViewSet(ReadOnlyViewSet):
    serializer_class = MeetingSerializer
    filterset_class = MeetingFilter
    http_method_names = ["get", "post", "head", "options"]
    ordering_fields = {"starts_at": "starts_at", "created_at": "created_at"}
    default_ordering = "-id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Meeting.objects.none()
        visible = access.visible_meetings(self.request.user, Meeting.objects.all())
        return visible.select_related("host", "contact")

    def _respond(self, meeting: Meeting) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=meeting.pk)).data)

    @extend_schema(
        summary="Cancel a meeting (the booker gets METHOD:CANCEL); canceling twice changes nothing",
        request=CancelInputSerializer,
        responses={200: MeetingSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        meeting = services.cancel(self.get_object(), reason=data.validated_data["reason"], actor=request.user)
        return self._respond(meeting)

    @extend_schema(
        summary="Record the outcome (held or no_show) once the meeting has started",
        request=OutcomeInputSerializer,
        responses={200: MeetingSerializer},
    )
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        data = OutcomeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        meeting = services.record_outcome(self.get_object(), outcome=data.validated_data["outcome"], actor=request.user)
        return self._respond(meeting)
