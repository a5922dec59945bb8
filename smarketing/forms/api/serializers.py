"""The forms API's serializers: shape and type only; the rules (the field schema, origins, redirect URL, consent)
live in forms.fields and forms.services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from smarketing.api.fields import StrictSerializer
from smarketing.forms import queries
from smarketing.forms.models import Form, FormStatus, FormSubmission
from smarketing.forms.starters import STARTERS

FIELDS_HELP = (
    "The form's fields, in order: [{key, label, type, maps_to, required, choices, placeholder, help_text, "
    "source, value, progressive}]. type is one of text, textarea, email, phone, number, select, radio, "
    "checkboxes, checkbox, date, hidden; maps_to is contact.<field>, contact.custom.<key>, company.<field>, "
    'company.custom.<key> or "". One field must map to contact.email. See docs/forms.md.'
)


class PublicUrlsSerializer(serializers.Serializer):
    page = serializers.URLField(help_text="The hosted page.")
    embed = serializers.URLField(help_text="The embed script; see `snippet`.")
    submit = serializers.URLField(help_text="The public POST endpoint.")
    snippet = serializers.CharField(help_text="The HTML to paste into a website.")


class FormSerializer(serializers.ModelSerializer):
    fields = serializers.JSONField(help_text=FIELDS_HELP)
    redirect_url = serializers.CharField(help_text='Where a submission goes next (http or https), or "".')
    allowed_origins = serializers.SerializerMethodField(help_text="Origins allowed to embed and post; [] = any.")
    notify_users = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Form
        fields = [
            "id",
            "public_id",
            "name",
            "status",
            "fields",
            "title",
            "intro",
            "submit_label",
            "success_message",
            "redirect_url",
            "consent_enabled",
            "consent_required",
            "consent_text",
            "double_opt_in",
            "allowed_origins",
            "min_fill_seconds",
            "campaign",
            "default_owner",
            "lifecycle_stage",
            "notify_users",
            "owner",
            "submission_count",
            "last_submission_at",
            "created_at",
            "updated_at",
            "urls",
        ]
        read_only_fields = fields

    def get_allowed_origins(self, form: Form) -> list[str]:
        return [line for line in form.allowed_origins.splitlines() if line]

    @extend_schema_field(PublicUrlsSerializer)
    def get_urls(self, form: Form) -> dict:
        urls = queries.public_urls(form)
        return {"page": urls.page, "embed": urls.embed, "submit": urls.submit, "snippet": urls.snippet}


class FormWriteSerializer(StrictSerializer):
    """Create (name required) or change a form; only the given keys change."""

    name = serializers.CharField(max_length=200)
    starter = serializers.ChoiceField(
        choices=list(STARTERS),
        required=False,
        help_text="Create only: the fields to start from when `fields` is left out.",
    )
    status = serializers.ChoiceField(
        choices=[FormStatus.LIVE, FormStatus.ARCHIVED],
        required=False,
        help_text="live publishes the form (its fields must be valid), archived stops it accepting submissions.",
    )
    fields = serializers.JSONField(required=False, help_text=FIELDS_HELP)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    intro = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    submit_label = serializers.CharField(max_length=60, required=False, allow_blank=True)
    success_message = serializers.CharField(max_length=500, required=False, allow_blank=True)
    redirect_url = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text="http(s) only; blank shows success_message."
    )
    consent_enabled = serializers.BooleanField(required=False)
    consent_required = serializers.BooleanField(required=False)
    consent_text = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    double_opt_in = serializers.BooleanField(required=False)
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=300),
        max_length=20,
        required=False,
        help_text='e.g. ["https://www.example.com"]',
    )
    min_fill_seconds = serializers.IntegerField(min_value=0, max_value=600, required=False)
    campaign = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    default_owner = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    lifecycle_stage = serializers.CharField(max_length=20, required=False, allow_blank=True)
    notify_users = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=20, required=False)


class FormUpdateSerializer(FormWriteSerializer):
    name = serializers.CharField(max_length=200, required=False)
    starter = None


class SubmissionSerializer(serializers.ModelSerializer):
    data = serializers.JSONField(help_text="The cleaned values by field key.")
    utm = serializers.JSONField()

    class Meta:
        model = FormSubmission
        fields = [
            "id",
            "form",
            "contact",
            "status",
            "data",
            "consent_given",
            "consent_text",
            "page_url",
            "referrer",
            "utm",
            "spam_reason",
            "created_at",
            "confirmed_at",
        ]
        read_only_fields = fields
