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

    def validate(self, attrs):
        if self.instance is not None:
            for name in ("object_type", "key", "type"):
                if name in attrs and attrs[name] != getattr(self.instance, name):
                    # Stored values were validated against the old definition; changing these would orphan them.
                    raise serializers.ValidationError({name: ["Cannot be changed; create a new property instead."]})
        kind = attrs.get("type", getattr(self.instance, "type", None))
        choices = attrs.get("choices", getattr(self.instance, "choices", []))
        if kind == PropertyDefinition.Type.CHOICE and not choices:
            raise serializers.ValidationError({"choices": ["A choice property needs at least one choice."]})
        if kind != PropertyDefinition.Type.CHOICE and choices:
            raise serializers.ValidationError({"choices": ["Only choice properties have choices."]})
        if len(set(choices)) != len(choices):
            raise serializers.ValidationError({"choices": ["Choices must be different from each other."]})
        if self.instance is None:
            exists = PropertyDefinition.objects.filter(object_type=attrs.get("object_type"), key=attrs.get("key"))
            if exists.exists():
                raise serializers.ValidationError({"key": ["A property with this key already exists for that object."]})
        return attrs
