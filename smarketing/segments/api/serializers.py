"""The segment and list API's serializers: shape and type only; the rules live in segments.schema and services."""

from rest_framework import serializers

from smarketing.api.fields import StrictModelSerializer, StrictSerializer
from smarketing.segments.models import ContactList, Segment


class SegmentSerializer(StrictModelSerializer):
    definition = serializers.JSONField(
        required=False,
        help_text=(
            'The condition tree: {"op": "and"|"or", "negate": false, "rules": [...]}; each rule is '
            '{"field", "operator", "value"}, {"event": {...}} or a nested group. See docs/segments.md.'
        ),
    )

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "definition",
            "owner",
            "archived",
            "last_count",
            "counted_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "owner", "last_count", "counted_at", "created_at", "updated_at"]


class ContactListSerializer(StrictModelSerializer):
    class Meta:
        model = ContactList
        fields = ["id", "name", "description", "owner", "archived", "created_at"]
        read_only_fields = ["id", "owner", "created_at"]


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    counted_at = serializers.DateTimeField()


class MemberIdsSerializer(StrictSerializer):
    contact_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), max_length=10_000, allow_empty=False
    )


class AddedSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="Contacts that were not on the list yet (unknown ids are skipped).")


class RemovedSerializer(serializers.Serializer):
    removed = serializers.IntegerField(help_text="Contacts that were on the list.")
