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

from smarketing.api.views.base import ApiViewSet
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.email import services, template_services
from smarketing.email.api.filters import CampaignFilter, EmailTemplateFilter
from smarketing.email.api.serializers import (
    EMAIL_CAMPAIGN_PREFETCH,
    CampaignInputSerializer,
    CampaignSerializer,
    CampaignUpdateSerializer,
    EmailTemplateSerializer,
)
from smarketing.email.blocks import clean_blocks
from smarketing.email.models import EditorMode, EmailCampaign, EmailTemplate


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

    # Writes go through email/template_services.py (its permissions: marketing, managers and admins; its audit).
    def perform_create(self, serializer):
        data = serializer.validated_data
        with transaction.atomic():
            template = template_services.create_template(
                self.request.user,
                name=data["name"],
                subject=data.get("subject", ""),
                preheader=data.get("preheader", ""),
                origin=Origin.API,
            )
            serializer.instance = self._apply_content(template, data)

    def perform_update(self, serializer):
        template, data = serializer.instance, serializer.validated_data
        template_services.require_edit_templates(self.request.user)
        with transaction.atomic():
            if {"name", "subject", "preheader"} & set(data):
                template = template_services.update_settings(
                    self.request.user,
                    template,
                    name=data.get("name", template.name),
                    subject=data.get("subject", template.subject),
                    preheader=data.get("preheader", template.preheader),
                    origin=Origin.API,
                )
            template = self._apply_content(template, data)
            if "archived" in data:
                template = template_services.archive_template(
                    self.request.user, template, archived=data["archived"], origin=Origin.API
                )
            serializer.instance = template

    def _apply_content(self, template: EmailTemplate, data: dict) -> EmailTemplate:
        actor = self.request.user
        if "mode" in data and data["mode"] != template.mode:
            template = template_services.set_mode(actor, template, data["mode"], origin=Origin.API)
        if "html" in data and template.mode == EditorMode.HTML:
            template = template_services.update_html(actor, template, data["html"], origin=Origin.API)
        if "blocks" in data:
            # template_services edits one block at a time (the editor's actions); the API replaces the list,
            # already checked by the serializer (clean_blocks through compile_email), and audits the outline.
            blocks = clean_blocks(data["blocks"])
            old = [b.get("type") for b in template.blocks]
            template.blocks = blocks
            template.updated_at = timezone.now()
            template.save(update_fields=["blocks", "updated_at"])
            record_audit(
                actor=actor,
                action="update",
                obj=template,
                changes={"blocks": (old, [b.get("type") for b in blocks])},
                origin=Origin.API,
            )
        return template

    def destroy(self, request, pk=None):
        template_services.archive_template(request.user, self.get_object(), origin=Origin.API)
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
