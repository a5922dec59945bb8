"""Touchpoints (create and list), tasks and notes."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from smarketing.api.filters import NoteFilter, TaskFilter, TouchpointFilter
from smarketing.api.serializers.activity import (
    SALES_ACTIVITY_KINDS,
    NoteInputSerializer,
    NoteSerializer,
    TaskInputSerializer,
    TaskSerializer,
    TouchpointInputSerializer,
    TouchpointSerializer,
)
from smarketing.api.views.base import ApiViewSet
from smarketing.core.models import Origin
from smarketing.crm import access, services
from smarketing.crm.models import Note, Task
from smarketing.timeline.kinds import get_kind
from smarketing.timeline.models import Team, Touchpoint
from smarketing.timeline.services import record_touch

TARGET_EXPANSIONS = {
    "contact": {"select": ["contact"]},
    "company": {"select": ["company"]},
    # An expanded deal lists its contact ids: one more query for the page, not one per row.
    "deal": {"select": ["deal"], "prefetch": ["deal__deal_contacts"]},
}


class ListCreateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    http_method_names = ["get", "post", "head", "options"]
    input_serializer_class = None
    route_name = ""

    def get_queryset(self):
        return self.with_expansions(self.queryset)

    def create(self, request):
        serializer = self.input_serializer_class(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        obj = self.perform_write(dict(serializer.validated_data))
        return self.respond(obj, status.HTTP_201_CREATED)

    def respond(self, obj, code=200):
        obj = self.get_queryset().get(pk=obj.pk)
        headers = {"Location": reverse(f"api:{self.route_name}-detail", args=[obj.pk])} if code == 201 else {}
        return Response(self.get_serializer(obj).data, status=code, headers=headers)


@extend_schema_view(
    list=extend_schema(
        summary="List touchpoints",
        description="The timeline's touches. Filter by contact, company or deal and sort by -occurred_at to "
        "read one record's timeline from its index.",
    ),
    retrieve=extend_schema(summary="Get a touchpoint"),
    create=extend_schema(
        summary="Record a touch",
        description="Marketing touches (page views, webinars, form fills, ...) and sales touches. Calls, sales "
        "emails and meetings are logged against one record; `details.body` and `details.outcome` are kept.",
        request=TouchpointInputSerializer,
        responses={201: TouchpointSerializer},
    ),
)
class TouchpointViewSet(ListCreateViewSet):
    queryset = Touchpoint.objects.all()
    serializer_class = TouchpointSerializer
    input_serializer_class = TouchpointInputSerializer
    filterset_class = TouchpointFilter
    route_name = "touchpoint"
    ordering_fields = {"occurred_at": "occurred_at"}
    expandable = TARGET_EXPANSIONS

    def perform_write(self, data):
        actor = self.request.user
        kind = data["kind"]
        details = data.get("details") or {}
        if kind in SALES_ACTIVITY_KINDS:
            target = data.get("contact") or data.get("company") or data.get("deal")
            return services.log_activity(
                target,
                kind=SALES_ACTIVITY_KINDS[kind],
                summary=data["summary"],
                actor=actor,
                body=str(details.get("body") or ""),
                outcome=str(details.get("outcome") or ""),
                occurred_at=data.get("occurred_at"),
                origin=Origin.API,
            )
        access.require_log_activity(actor)  # touches on anyone's record, as notes and tasks (crm/access.py)
        # A marketing touch is the marketing team's whoever sends it; other touches are the sender's team's.
        marketing = get_kind(kind).team == Team.MARKETING
        team = data.get("team") or (Team.MARKETING if marketing else services.team_of(actor))
        return record_touch(
            kind=kind,
            team=team,
            summary=data["summary"],
            contact=data.get("contact"),
            company=data.get("company"),
            deal=data.get("deal"),
            actor=actor,
            campaign=data.get("campaign"),
            source=data.get("source") or "",
            details={**details, "origin": Origin.API},
            occurred_at=data.get("occurred_at"),
        )


@extend_schema_view(
    list=extend_schema(summary="List tasks"),
    retrieve=extend_schema(summary="Get a task"),
    create=extend_schema(summary="Create a task", request=TaskInputSerializer, responses={201: TaskSerializer}),
)
class TaskViewSet(ListCreateViewSet):
    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    input_serializer_class = TaskInputSerializer
    filterset_class = TaskFilter
    route_name = "task"
    ordering_fields = {"created_at": "created_at"}
    expandable = {"owner": {"select": ["owner"]}, **TARGET_EXPANSIONS}

    def perform_write(self, data):
        return services.create_task(actor=self.request.user, origin=Origin.API, **data)

    @extend_schema(summary="Complete a task", request=None, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = services.complete_task(self.get_object(), actor=request.user)
        return self.respond(task)


@extend_schema_view(
    list=extend_schema(summary="List notes"),
    retrieve=extend_schema(summary="Get a note"),
    create=extend_schema(summary="Add a note", request=NoteInputSerializer, responses={201: NoteSerializer}),
)
class NoteViewSet(ListCreateViewSet):
    queryset = Note.objects.all()
    serializer_class = NoteSerializer
    input_serializer_class = NoteInputSerializer
    filterset_class = NoteFilter
    route_name = "note"
    ordering_fields = {"created_at": "created_at"}
    expandable = TARGET_EXPANSIONS

    def perform_write(self, data):
        target = data.get("contact") or data.get("company") or data.get("deal")
        return services.add_note(target, body_html=data["body"], actor=self.request.user, origin=Origin.API)
