"""The workflow API's serializers: shape and type only; the rules live in workflows/definition.py, the actions'
validate() and workflows/services.py, whose ValidationError becomes a problem+json 400."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from smarketing.api.fields import JSONObjectField, StrictModelSerializer, StrictSerializer
from smarketing.workflows.models import Enrollment, Reenrollment, StepRun, Workflow

SECRET_STEPS = {"call_webhook": "secret"}


def hide_secrets(definition: dict) -> dict:
    """The definition without the webhook steps' signing secrets (shown only to those who may edit)."""
    import copy

    from smarketing.workflows.builder import walk

    clean = copy.deepcopy(definition or {})
    for step in walk(clean):
        key = SECRET_STEPS.get(step.get("type"))
        if key and key in (step.get("params") or {}):
            step["params"][key] = ""
    return clean


def keep_secrets(old: dict, new: dict) -> dict:
    """A definition sent back without a webhook step's secret keeps the one it had (a read hides it)."""
    from smarketing.workflows.builder import walk

    secrets = {s["id"]: s.get("params", {}).get("secret") for s in walk(old or {}) if s.get("type") in SECRET_STEPS}
    for step in walk(new or {}):
        if isinstance(step, dict) and step.get("type") in SECRET_STEPS and step.get("id") in secrets:
            params = step.setdefault("params", {})
            if isinstance(params, dict) and not params.get("secret"):
                params["secret"] = secrets[step["id"]]
    return new


@extend_schema_field({"type": "object", "additionalProperties": True})
class ObjectField(serializers.JSONField):
    """A JSON object (a trigger, a definition), documented as one."""


@extend_schema_field({"type": "object", "additionalProperties": True, "nullable": True})
class NullableObjectField(serializers.JSONField):
    """A JSON object or null (a goal)."""


class WorkflowSerializer(StrictModelSerializer):
    trigger = ObjectField(
        help_text='{"type": "form_submitted", "params": {"form": 3}}; the types are in docs/workflows.md.'
    )
    definition = ObjectField(
        help_text='{"steps": [{"id": "s1", "type": "wait", "params": {"duration": {"days": 2}}}, '
        '{"id": "s2", "type": "if", "params": {...}, "yes": [...], "no": [...]}]}'
    )
    goal = NullableObjectField(allow_null=True, help_text="A segments definition, or null for no goal.")

    class Meta:
        model = Workflow
        fields = [
            "id",
            "name",
            "description",
            "status",
            "trigger",
            "definition",
            "goal",
            "reenrollment",
            "reenroll_after_days",
            "version",
            "owner",
            "enrolled_count",
            "active_count",
            "completed_count",
            "activated_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        from smarketing.workflows import access

        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not access.can_edit(request.user):
            data["definition"] = hide_secrets(data["definition"])
        return data


class WorkflowInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    trigger = JSONObjectField(required=False, max_bytes=10_000)
    definition = JSONObjectField(required=False, max_bytes=200_000)
    goal = JSONObjectField(required=False, allow_null=True, max_bytes=50_000)
    reenrollment = serializers.ChoiceField(choices=Reenrollment.choices, required=False)
    reenroll_after_days = serializers.IntegerField(min_value=1, max_value=3650, required=False, allow_null=True)


class WorkflowUpdateSerializer(WorkflowInputSerializer):
    name = serializers.CharField(max_length=200, required=False)


class StepRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepRun
        fields = [
            "id",
            "step_id",
            "step_type",
            "status",
            "summary",
            "result",
            "error",
            "attempts",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class EnrollmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Enrollment
        fields = [
            "id",
            "workflow",
            "contact",
            "sequence",
            "status",
            "current_step",
            "next_run_at",
            "trigger_event",
            "enrolled_by_workflow",
            "entered_at",
            "ended_at",
            "end_reason",
        ]
        read_only_fields = fields


class EnrollmentDetailSerializer(EnrollmentSerializer):
    step_runs = StepRunSerializer(many=True, read_only=True)

    class Meta(EnrollmentSerializer.Meta):
        fields = [*EnrollmentSerializer.Meta.fields, "step_runs"]
        read_only_fields = fields
