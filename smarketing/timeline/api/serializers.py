"""Touchpoints: the read serializer (any declared kind) and the strict input serializer (API-creatable kinds)."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from smarketing.api.fields import JSONObjectField, StrictSerializer
from smarketing.campaigns.models import Campaign
from smarketing.crm.api.serializers import targets
from smarketing.crm.services import ACTIVITY_KINDS
from smarketing.timeline.kinds import all_kinds, api_creatable_kinds
from smarketing.timeline.models import Team, Touchpoint

# Touches an API client may record are those their app declares `api_creatable` (timeline/kinds.py). System facts
# (records created, stages changed, merges) are written by the services that make those changes, and notes and
# tasks through their own endpoints, so they cannot be forged here. Calls, sales emails and meetings go through
# crm.services.log_activity: touchpoint kind -> its activity name there.
SALES_ACTIVITY_KINDS = {kind: activity for activity, kind in ACTIVITY_KINDS.items()}
FUTURE_TOLERANCE = timedelta(minutes=5)


class KindField(serializers.ChoiceField):
    """A touchpoint kind from the catalogue. DRF builds fields anew for each serializer, so a kind declared by any
    app is offered without an edit here."""

    def __init__(self, *, creatable_only: bool = False, **kwargs):
        declared = api_creatable_kinds() if creatable_only else all_kinds()
        super().__init__(choices=[(k.key, k.label) for k in declared], **kwargs)


class TouchpointSerializer(serializers.ModelSerializer):
    kind = KindField(read_only=True)
    contact = targets(expand=True)["contact"]
    company = targets(expand=True)["company"]
    deal = targets(expand=True)["deal"]
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
    contact = targets(expand=False)["contact"]
    company = targets(expand=False)["company"]
    deal = targets(expand=False)["deal"]
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
