"""The email API's serializers: email templates, campaigns (read and write) and the send action.

Input is checked for shape and type here; the rules (the merge sandbox, blocks, the unsubscribe link, who may
change a campaign, what a sending campaign may no longer change) live in email/merge.py, email/rendering.py
and email/services.py, and their ValidationError becomes a problem+json 400.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from smarketing.api.fields import StrictModelSerializer, StrictSerializer
from smarketing.email.models import EmailCampaign, EmailTemplate, ScheduleKind, Topic
from smarketing.mail.models import SenderIdentity
from smarketing.segments.models import ContactList, Segment


class EmailTemplateSerializer(StrictModelSerializer):
    blocks = serializers.JSONField(
        required=False,
        help_text='Blocks mode: [{"type": "heading"|"text"|"image"|"button"|"columns"|"divider"|"header"|"footer"'
        '|"signature", ...}]. Merge fields such as {{ contact.first_name|default:"there" }} are allowed.',
    )

    class Meta:
        model = EmailTemplate
        fields = [
            "id",
            "name",
            "subject",
            "preheader",
            "mode",
            "blocks",
            "html",
            "owner",
            "archived",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "owner", "created_at", "updated_at"]

    def validate(self, attrs):
        """The email must render as it will be sent: sandboxed merge fields, valid blocks, an unsubscribe link."""
        from smarketing.email.merge import check_merge
        from smarketing.email.rendering import compile_email

        merged = {
            name: attrs.get(name, getattr(self.instance, name, default))
            for name, default in (("subject", ""), ("preheader", ""), ("mode", "blocks"), ("blocks", []), ("html", ""))
        }
        errors = {}
        for name in ("subject", "preheader"):
            try:
                check_merge(merged[name])
            except DjangoValidationError as exc:
                errors[name] = exc.messages
        if not errors:
            try:
                compile_email(
                    mode=merged["mode"], blocks=merged["blocks"], html=merged["html"], preheader=merged["preheader"]
                )
            except DjangoValidationError as exc:
                errors["blocks" if merged["mode"] == "blocks" else "html"] = exc.messages
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign as read: its settings, audience (ids), state and counters, and where its report is."""

    name = serializers.CharField(source="campaign.name", read_only=True)
    campaign = serializers.IntegerField(source="campaign_id", read_only=True, help_text="The calendar's campaign id.")
    owner = serializers.IntegerField(source="campaign.owner_id", read_only=True, allow_null=True)
    utm_campaign = serializers.CharField(source="campaign.utm_campaign", read_only=True)
    report = serializers.SerializerMethodField()

    class Meta:
        model = EmailCampaign
        fields = [
            "id",
            "name",
            "campaign",
            "owner",
            "status",
            "goal",
            "template",
            "topic",
            "sender",
            "requires_consent",
            "include_segments",
            "include_lists",
            "exclude_segments",
            "exclude_lists",
            "subject",
            "subject_b",
            "preheader",
            "schedule_kind",
            "scheduled_at",
            "local_time",
            "ab_test_percent",
            "ab_window_hours",
            "ab_metric",
            "ab_winner",
            "report_window_days",
            "utm_campaign",
            "recipients_total",
            "sent_count",
            "suppressed_count",
            "failed_count",
            "started_at",
            "finished_at",
            "created_at",
            "updated_at",
            "report",
        ]
        read_only_fields = fields

    def get_report(self, obj) -> str:
        return f"/api/v1/campaigns/{obj.pk}/report"


def _many(queryset):
    return serializers.PrimaryKeyRelatedField(queryset=queryset, many=True, required=False)


class CampaignInputSerializer(StrictSerializer):
    """The fields a client may set on a draft or scheduled campaign (email/services.py applies them)."""

    name = serializers.CharField(max_length=200)
    goal = serializers.CharField(max_length=300, required=False, allow_blank=True)
    template = serializers.PrimaryKeyRelatedField(
        queryset=EmailTemplate.objects.filter(archived=False), required=False, allow_null=True
    )
    topic = serializers.PrimaryKeyRelatedField(queryset=Topic.objects.all(), required=False, allow_null=True)
    sender = serializers.PrimaryKeyRelatedField(queryset=SenderIdentity.objects.all(), required=False, allow_null=True)
    requires_consent = serializers.BooleanField(required=False)
    include_segments = _many(Segment.objects.all())
    include_lists = _many(ContactList.objects.all())
    exclude_segments = _many(Segment.objects.all())
    exclude_lists = _many(ContactList.objects.all())
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True)
    subject_b = serializers.CharField(max_length=300, required=False, allow_blank=True)
    preheader = serializers.CharField(max_length=300, required=False, allow_blank=True)
    schedule_kind = serializers.ChoiceField(choices=ScheduleKind.choices, required=False)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)
    local_time = serializers.TimeField(required=False, allow_null=True)
    ab_test_percent = serializers.IntegerField(min_value=0, max_value=100, required=False)
    ab_window_hours = serializers.IntegerField(min_value=1, max_value=168, required=False)
    ab_metric = serializers.ChoiceField(choices=[("opens", "opens"), ("clicks", "clicks")], required=False)
    report_window_days = serializers.IntegerField(min_value=1, max_value=365, required=False)

    def validate(self, attrs):
        from smarketing.email.merge import check_merge

        errors = {}
        for name in ("subject", "subject_b", "preheader"):
            if attrs.get(name):
                try:
                    check_merge(attrs[name])
                except DjangoValidationError as exc:
                    errors[name] = exc.messages
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CampaignUpdateSerializer(CampaignInputSerializer):
    name = serializers.CharField(max_length=200, required=False)


EMAIL_CAMPAIGN_PREFETCH = ("include_segments", "include_lists", "exclude_segments", "exclude_lists")
