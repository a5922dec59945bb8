"""The handoff API's serializers: shape and type only; the rules live in process/handoff.py and access.py."""

from rest_framework import serializers

from smarketing.api.fields import StrictModelSerializer, StrictSerializer
from smarketing.process.models import Handoff, RejectionReason, StageGovernance


class RejectionReasonSerializer(StrictModelSerializer):
    class Meta:
        model = RejectionReason
        fields = ["id", "label", "position", "active"]
        read_only_fields = fields


class HandoffSerializer(StrictModelSerializer):
    contact_email = serializers.CharField(source="contact.email", read_only=True)
    owner_email = serializers.CharField(source="owner.email", read_only=True, allow_null=True, default=None)
    reason = serializers.CharField(source="reason.label", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Handoff
        fields = [
            "id",
            "contact",
            "contact_email",
            "owner",
            "owner_email",
            "team",
            "status",
            "routed_how",
            "started_at",
            "due_at",
            "first_touch_at",
            "first_touch_kind",
            "reminded_at",
            "breached_at",
            "escalated_at",
            "decided_at",
            "decided_by",
            "reason",
            "reason_text",
            "source",
            "campaign",
            "form_id",
            "form_name",
            "score",
        ]
        read_only_fields = fields


class RejectInputSerializer(StrictSerializer):
    reason = serializers.IntegerField(help_text="A rejection reason's id (GET /api/v1/rejection-reasons).")
    text = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class StageGovernanceSerializer(StrictModelSerializer):
    class Meta:
        model = StageGovernance
        fields = [
            "id",
            "stage",
            "lifecycle_stage",
            "role",
            "checklist",
            "required_records",
            "playbook",
            "playbook_tasks",
            "target_days",
            "updated_at",
        ]
        read_only_fields = fields


class StageGovernanceInputSerializer(StrictSerializer):
    """A step's governance; every field optional on a change. The rules live in process/governance.py."""

    stage = serializers.IntegerField(required=False, help_text="A pipeline stage's id (creating only).")
    lifecycle_stage = serializers.CharField(required=False, max_length=20, help_text="Or a lifecycle stage.")
    role = serializers.CharField(required=False, allow_blank=True, max_length=60)
    checklist = serializers.ListField(child=serializers.CharField(max_length=200), required=False, max_length=12)
    required_records = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=8)
    playbook = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    playbook_tasks = serializers.ListField(child=serializers.DictField(), required=False, max_length=8)
    target_days = serializers.IntegerField(required=False, allow_null=True, help_text="Lifecycle stages only.")
