"""Read serializers of lead scoring: groups with their rules, and the score history."""

from rest_framework import serializers

from smarketing.scoring.models import ScoreChange, ScoreGroup, ScoringRule


class ScoringRuleSerializer(serializers.ModelSerializer):
    condition = serializers.JSONField(
        help_text="Fit: a segment definition. Engagement: {kinds, url_contains, campaign, within_days}."
    )

    class Meta:
        model = ScoringRule
        fields = ["id", "dimension", "name", "condition", "points", "max_times", "active", "position"]
        read_only_fields = fields


class ScoreGroupSerializer(serializers.ModelSerializer):
    rules = ScoringRuleSerializer(many=True, read_only=True)
    mql_segment = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = ScoreGroup
        fields = [
            "id",
            "name",
            "description",
            "is_primary",
            "fit_cap",
            "engagement_cap",
            "half_life_days",
            "mql_threshold",
            "mql_segment",
            "rules",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ScoreChangeSerializer(serializers.ModelSerializer):
    contact = serializers.IntegerField(source="contact_id", read_only=True)
    group = serializers.IntegerField(source="group_id", read_only=True)
    rule = serializers.IntegerField(source="rule_id", read_only=True, allow_null=True)
    touchpoint = serializers.IntegerField(source="touchpoint_id", read_only=True, allow_null=True)
    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)

    class Meta:
        model = ScoreChange
        fields = [
            "id",
            "contact",
            "group",
            "dimension",
            "delta",
            "score_after",
            "source",
            "reason",
            "rule",
            "touchpoint",
            "actor",
            "occurred_at",
        ]
        read_only_fields = fields
