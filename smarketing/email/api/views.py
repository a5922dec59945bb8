"""The email API: /api/v1/email-templates (list, read, create, update, archive) and /api/v1/campaigns (list,
read, create, update, POST …/{id}/send).

Campaign writes go through email/services.py with origin=API (the same permissions as the UI: a member
changes only their own campaigns). GET …/{id}/report is added by metrics/api.py (metrics sits above email:
email never imports it), which is the viewset the API registers.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from smarketing.accounts.access import require_write
from smarketing.api.views.base import ApiViewSet
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.email import services
from smarketing.email.api.filters import CampaignFilter, EmailTemplateFilter
from smarketing.email.api.serializers import (
    EMAIL_CAMPAIGN_PREFETCH,
    CampaignInputSerializer,
    CampaignSerializer,
    CampaignUpdateSerializer,
    EmailTemplateSerializer,
)
from smarketing.email.models import EmailCampaign, EmailTemplate


@extend_schema_view(
    list=extend_schema(summary="List email templates"),
    retrieve=extend_schema(summary="Get an email template"),
    create=extend_schema(
        summary="Create an email template",
        description="Checked as it will be sent: merge fields in the sandbox, valid blocks (or raw HTML), and an "
        "unsubscribe link ({{ unsubscribe_url }}, which the brand footer block carries).",
    ),
    partial_update=extend_schema(summary="Update some fields of an email template"),
    destroy=extend_schema(summary="Archive an email template", description="Campaigns that used it keep their copy."),
)
class EmailTemplateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ApiViewSet,
):
    queryset = EmailTemplate.objects.all()
    serializer_class = EmailTemplateSerializer
    filterset_class = EmailTemplateFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    ordering_fields = {"updated_at": "updated_at", "name": "name"}

    # Templates are content, not records with owners: anyone who may write may edit them (as in the editor).
    @transaction.atomic
    def perform_create(self, serializer):
        require_write(self.request.user)
        template = serializer.save(owner=self.request.user)
        record_audit(
            actor=self.request.user, action="create", obj=template, origin=Origin.API, object_repr=template.name
        )

    @transaction.atomic
    def perform_update(self, serializer):
        require_write(self.request.user)
        before = {name: getattr(serializer.instance, name) for name in serializer.validated_data}
        template = serializer.save(updated_at=timezone.now())
        changes = {k: (v, getattr(template, k)) for k, v in before.items() if v != getattr(template, k)}
        if changes:
            record_audit(actor=self.request.user, action="update", obj=template, changes=changes, origin=Origin.API)

    def destroy(self, request, pk=None):
        template = self.get_object()
        require_write(request.user)
        with transaction.atomic():
            if EmailTemplate.objects.filter(pk=template.pk, archived=False).update(
                archived=True, updated_at=timezone.now()
            ):
                record_audit(actor=request.user, action="archive", obj=template, origin=Origin.API)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List email campaigns"),
    retrieve=extend_schema(summary="Get an email campaign"),
    create=extend_schema(
        summary="Create a draft email campaign", request=CampaignInputSerializer, responses={201: CampaignSerializer}
    ),
    partial_update=extend_schema(
        summary="Update some fields of a draft or scheduled campaign",
        description="A campaign that started sending is frozen (400).",
        request=CampaignUpdateSerializer,
        responses={200: CampaignSerializer},
    ),
)
class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = {"created_at": "created_at", "updated_at": "updated_at"}

    def get_queryset(self):
        # Four prefetches for the audience ids: a page costs the same whatever its length.
        return EmailCampaign.objects.select_related("campaign").prefetch_related(*EMAIL_CAMPAIGN_PREFETCH)

    def respond(self, ec: EmailCampaign, code: int = 200) -> Response:
        ec = self.get_queryset().get(pk=ec.pk)
        headers = {"Location": reverse("api:campaign-detail", args=[ec.pk])} if code == 201 else {}
        return Response(self.get_serializer(ec).data, status=code, headers=headers)

    def create(self, request):
        serializer = CampaignInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        ec = services.create_campaign(request.user, name=data.pop("name"), origin=Origin.API, **data)
        return self.respond(ec, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        ec = self.get_object()
        serializer = CampaignUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        ec = services.update_campaign(request.user, ec, origin=Origin.API, name=data.pop("name", None), **data)
        return self.respond(ec)

    @extend_schema(
        summary="Send a campaign now, or schedule it",
        description="Starts sending (schedule now) or schedules it (a time, or a local time per recipient). "
        "Sending happens once: a second call, a double click or two clients change nothing and answer the "
        "campaign as it is. A campaign that is not ready (no audience, no sender, no content) answers 400 "
        "saying what is missing. Use an Idempotency-Key to retry safely.",
        request=None,
        responses={200: CampaignSerializer},
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        ec = self.get_object()
        if ec.status in services.EDITABLE:
            try:
                ec = services.send(request.user, ec, origin=Origin.API)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    raise
                raise ValidationError({"campaign": exc.messages})
        else:
            # Already sending or sent: the same permission answer as a first call, then the campaign unchanged.
            from smarketing.email import access

            access.require_change_campaign(request.user, ec)
        return self.respond(ec)
