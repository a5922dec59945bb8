"""The CRM's API serializers: contacts, companies and deals (one serializer each for reading and field-level
writing), their actions, pipelines and stages, custom property definitions, tasks and notes.

Writes are validated here for shape and type only; the values then go to crm.services, which normalizes,
checks permissions and uniqueness, and records history.
"""

from rest_framework import serializers

from smarketing.accounts.api.serializers import UserSerializer
from smarketing.accounts.models import User
from smarketing.api.fields import (
    ExpandableRelatedField,
    OptionalChoiceField,
    PropertiesField,
    StrictModelSerializer,
    StrictSerializer,
)
from smarketing.crm.models import (
    Company,
    Contact,
    Deal,
    DealContact,
    LeadStatus,
    LegalBasis,
    Note,
    ObjectType,
    Pipeline,
    PropertyDefinition,
    Stage,
    Task,
)

INT32_MAX = 2**31 - 1
RECORD_READ_ONLY = ["id", "created_at", "updated_at"]


def _users():
    return User.objects.filter(is_active=True)


def _owner_field():
    return ExpandableRelatedField(
        queryset=_users(), expand_with=lambda: UserSerializer, required=False, allow_null=True
    )


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = [
            "id",
            "pipeline",
            "name",
            "position",
            "probability",
            "team",
            "target_days",
            "exit_criteria",
            "outcome",
        ]
        read_only_fields = fields


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "position", "stages"]
        read_only_fields = fields


class PropertyDefinitionSerializer(StrictModelSerializer):
    choices = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=200, required=False, default=list
    )

    class Meta:
        model = PropertyDefinition
        fields = ["id", "object_type", "key", "label", "type", "choices", "position"]
        read_only_fields = ["id"]
        extra_kwargs = {"position": {"max_value": 32767}}


class CompanySerializer(StrictModelSerializer):
    owner = _owner_field()
    properties = PropertiesField(object_type=ObjectType.COMPANY)

    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "domain",
            "industry",
            "employees",
            "annual_revenue",
            "country",
            "owner",
            "external_id",
            "properties",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = RECORD_READ_ONLY
        extra_kwargs = {
            "employees": {"max_value": INT32_MAX},
            "version": {"required": False, "help_text": "Send the version you read to refuse concurrent edits."},
        }


class ContactSerializer(StrictModelSerializer):
    company = ExpandableRelatedField(
        queryset=Company.objects.all(), expand_with=lambda: CompanySerializer, required=False, allow_null=True
    )
    owner = _owner_field()
    lead_status = OptionalChoiceField(choices=LeadStatus.choices, required=False)
    consent_basis = OptionalChoiceField(choices=LegalBasis.choices, required=False)
    properties = PropertiesField(object_type=ObjectType.CONTACT)
    lifecycle_reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Why the lifecycle stage changes; with a reason, a contact may also move back (recycle).",
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "title",
            "phone",
            "company",
            "owner",
            "lifecycle_stage",
            "lifecycle_reason",
            "lifecycle_changed_at",
            "lead_status",
            "external_id",
            "first_source",
            "first_utm_source",
            "first_utm_medium",
            "first_utm_campaign",
            "first_touch_at",
            "last_source",
            "last_utm_source",
            "last_utm_medium",
            "last_utm_campaign",
            "last_touch_at",
            "consent_status",
            "consent_at",
            "consent_basis",
            "consent_source",
            "fit_score",
            "engagement_score",
            "properties",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [*RECORD_READ_ONLY, "lifecycle_changed_at", "fit_score", "engagement_score"]
        extra_kwargs = {
            "version": {"required": False, "help_text": "Send the version you read to refuse concurrent edits."},
        }


class DealContactSerializer(serializers.ModelSerializer):
    contact = ExpandableRelatedField(
        queryset=Contact.objects.all(), expand_with=lambda: ContactSerializer, expand_name="contacts"
    )

    class Meta:
        model = DealContact
        fields = ["contact", "role"]


class DealSerializer(StrictModelSerializer):
    company = ExpandableRelatedField(
        queryset=Company.objects.all(), expand_with=lambda: CompanySerializer, required=False, allow_null=True
    )
    owner = _owner_field()
    stage = ExpandableRelatedField(
        queryset=Stage.objects.select_related("pipeline"),
        expand_with=lambda: StageSerializer,
        required=False,
        help_text="Setting another stage moves the deal (exit criteria apply; a lost stage needs POST .../move).",
    )
    contacts = DealContactSerializer(
        many=True,
        source="deal_contacts",
        required=False,
        max_length=100,
        help_text="Contacts and their roles; writable on create (use POST /deals/{id}/contacts to add later).",
    )
    properties = PropertiesField(object_type=ObjectType.DEAL)

    class Meta:
        model = Deal
        fields = [
            "id",
            "name",
            "pipeline",
            "stage",
            "stage_entered_at",
            "status",
            "amount",
            "currency",
            "close_date",
            "closed_at",
            "close_reason",
            "company",
            "owner",
            "contacts",
            "source",
            "campaign",
            "external_id",
            "properties",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            *RECORD_READ_ONLY,
            "pipeline",
            "stage_entered_at",
            "status",
            "closed_at",
            "close_reason",
        ]
        extra_kwargs = {
            "version": {"required": False, "help_text": "Send the version you read to refuse concurrent edits."},
            "amount": {"min_value": 0},
        }


class MoveDealSerializer(serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AddDealContactSerializer(serializers.Serializer):
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all())
    role = serializers.ChoiceField(choices=DealContact.Role.choices, default=DealContact.Role.OTHER)


class LifecycleSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Contact._meta.get_field("lifecycle_stage").choices)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    allow_backward = serializers.BooleanField(
        required=False, default=False, help_text="Recycle the contact to an earlier stage (needs a reason)."
    )


# Tasks and notes (and touchpoints, in timeline/api/) point at one or more CRM records.


def targets(*, expand: bool) -> dict:
    """contact/company/deal fields: expandable on reads (null when the row has no such target), ids on writes."""
    if expand:
        return {
            "contact": ExpandableRelatedField(read_only=True, allow_null=True, expand_with=lambda: ContactSerializer),
            "company": ExpandableRelatedField(read_only=True, allow_null=True, expand_with=lambda: CompanySerializer),
            "deal": ExpandableRelatedField(read_only=True, allow_null=True, expand_with=lambda: DealSerializer),
        }
    return {
        "contact": serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), required=False),
        "company": serializers.PrimaryKeyRelatedField(queryset=Company.objects.all(), required=False),
        "deal": serializers.PrimaryKeyRelatedField(queryset=Deal.objects.all(), required=False),
    }


class TaskSerializer(serializers.ModelSerializer):
    owner = ExpandableRelatedField(read_only=True, allow_null=True, expand_with=lambda: UserSerializer)
    contact = targets(expand=True)["contact"]
    company = targets(expand=True)["company"]
    deal = targets(expand=True)["deal"]
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "kind",
            "title",
            "description",
            "due_at",
            "owner",
            "created_by",
            "contact",
            "company",
            "deal",
            "created_at",
            "completed_at",
            "is_overdue",
        ]
        read_only_fields = fields


class TaskInputSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Task.Kind.choices, default=Task.Kind.TODO)
    description = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, help_text="Defaults to you."
    )
    contact = targets(expand=False)["contact"]
    company = targets(expand=False)["company"]
    deal = targets(expand=False)["deal"]


class NoteSerializer(serializers.ModelSerializer):
    contact = targets(expand=True)["contact"]
    company = targets(expand=True)["company"]
    deal = targets(expand=True)["deal"]

    class Meta:
        model = Note
        fields = ["id", "body", "author", "contact", "company", "deal", "created_at"]
        read_only_fields = fields


class NoteInputSerializer(StrictSerializer):
    body = serializers.CharField(max_length=100_000, help_text="HTML; sanitized (scripts and styles removed).")
    contact = targets(expand=False)["contact"]
    company = targets(expand=False)["company"]
    deal = targets(expand=False)["deal"]

    def validate(self, attrs):
        targets = [name for name in ("contact", "company", "deal") if attrs.get(name) is not None]
        if len(targets) != 1:
            raise serializers.ValidationError({"contact": ["Attach the note to exactly one contact, company or deal."]})
        return attrs
