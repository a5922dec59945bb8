"""Touchpoints: record a touch and list the timeline's touches."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from smarketing.api.views.base import ListCreateViewSet
from smarketing.core.models import Origin
from smarketing.crm import access, services
from smarketing.crm.api.views import TARGET_EXPANSIONS
from smarketing.timeline.api.filters import TouchpointFilter
from smarketing.timeline.api.serializers import SALES_ACTIVITY_KINDS, TouchpointInputSerializer, TouchpointSerializer
from smarketing.timeline.kinds import get_kind
from smarketing.timeline.models import Team, Touchpoint
from smarketing.timeline.services import record_touch


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
