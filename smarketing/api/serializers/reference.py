"""Users, teams, pipelines, stages and custom property definitions."""

from rest_framework import serializers

from smarketing.accounts.models import Team, User
from smarketing.api.serializers.fields import StrictModelSerializer
from smarketing.crm.models import Pipeline, PropertyDefinition, Stage


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "kind"]
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "team", "role", "time_zone", "is_active"]
        read_only_fields = fields


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
