"""Touchpoints, tasks and notes: a read serializer and a strict input serializer each."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from smarketing.accounts.models import User
from smarketing.api.serializers.fields import ExpandableRelatedField, JSONObjectField, StrictSerializer
from smarketing.api.serializers.records import CompanySerializer, ContactSerializer, DealSerializer
from smarketing.api.serializers.reference import UserSerializer
from smarketing.campaigns.models import Campaign
from smarketing.crm.models import Company, Contact, Deal, Note, Task
from smarketing.crm.services import ACTIVITY_KINDS
from smarketing.timeline.kinds import all_kinds, api_creatable_kinds
from smarketing.timeline.models import Team, Touchpoint

# Touches an API client may record are those their app declares `api_creatable` (timeline/kinds.py). System facts
# (records created, stages changed, merges) are written by the services that make those changes, and notes and
# tasks through their own endpoints, so they cannot be forged here. Calls, sales emails and meetings go through
# crm.services.log_activity: touchpoint kind -> its activity name there.
SALES_ACTIVITY_KINDS = {kind: activity for activity, kind in ACTIVITY_KINDS.items()}
FUTURE_TOLERANCE = timedelta(minutes=5)


def _targets(*, expand: bool):
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


class KindField(serializers.ChoiceField):
    """A touchpoint kind from the catalogue. DRF builds fields anew for each serializer, so a kind declared by any
    app is offered without an edit here."""

    def __init__(self, *, creatable_only: bool = False, **kwargs):
        declared = api_creatable_kinds() if creatable_only else all_kinds()
        super().__init__(choices=[(k.key, k.label) for k in declared], **kwargs)


class TouchpointSerializer(serializers.ModelSerializer):
    kind = KindField(read_only=True)
    contact = _targets(expand=True)["contact"]
    company = _targets(expand=True)["company"]
    deal = _targets(expand=True)["deal"]
    details = JSONObjectField(read_only=True)

    class Meta:
        model = Touchpoint
        fields = [
            "id",
            "occurred_at",
            "kind",
            "team",
            "contact",
            "company",
            "deal",
            "actor",
            "campaign",
            "source",
            "summary",
            "details",
        ]
        read_only_fields = fields


class TouchpointInputSerializer(StrictSerializer):
    kind = KindField(creatable_only=True)
    team = serializers.ChoiceField(
        choices=[Team.MARKETING, Team.SALES],
        required=False,
        help_text="Defaults to marketing for marketing touches and to your team for sales touches.",
    )
    contact = _targets(expand=False)["contact"]
    company = _targets(expand=False)["company"]
    deal = _targets(expand=False)["deal"]
    occurred_at = serializers.DateTimeField(required=False, help_text="Defaults to now; never in the future.")
    summary = serializers.CharField(max_length=300)
    source = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all(), required=False, allow_null=True)
    details = JSONObjectField(required=False, default=dict, help_text="Free-form, at most 10,000 bytes.")

    def validate(self, attrs):
        targets = [name for name in ("contact", "company", "deal") if attrs.get(name) is not None]
        if not targets:
            raise serializers.ValidationError({"contact": ["Attach the touch to a contact, company or deal."]})
        if attrs["kind"] in SALES_ACTIVITY_KINDS and len(targets) > 1:
            raise serializers.ValidationError(
                {targets[1]: ["A call, sales email or meeting is logged against one record only."]}
            )
        when = attrs.get("occurred_at")
        if when is not None and when > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError({"occurred_at": ["A touch cannot be in the future."]})
        return attrs


class TaskSerializer(serializers.ModelSerializer):
    owner = ExpandableRelatedField(read_only=True, allow_null=True, expand_with=lambda: UserSerializer)
    contact = _targets(expand=True)["contact"]
    company = _targets(expand=True)["company"]
    deal = _targets(expand=True)["deal"]
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
    contact = _targets(expand=False)["contact"]
    company = _targets(expand=False)["company"]
    deal = _targets(expand=False)["deal"]


class NoteSerializer(serializers.ModelSerializer):
    contact = _targets(expand=True)["contact"]
    company = _targets(expand=True)["company"]
    deal = _targets(expand=True)["deal"]

    class Meta:
        model = Note
        fields = ["id", "body", "author", "contact", "company", "deal", "created_at"]
        read_only_fields = fields


class NoteInputSerializer(StrictSerializer):
    body = serializers.CharField(max_length=100_000, help_text="HTML; sanitized (scripts and styles removed).")
    contact = _targets(expand=False)["contact"]
    company = _targets(expand=False)["company"]
    deal = _targets(expand=False)["deal"]

    def validate(self, attrs):
        targets = [name for name in ("contact", "company", "deal") if attrs.get(name) is not None]
        if len(targets) != 1:
            raise serializers.ValidationError({"contact": ["Attach the note to exactly one contact, company or deal."]})
        return attrs
