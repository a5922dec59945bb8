"""The scheduling API's serializers: shape and type only; the rules live in scheduling/services.py and access.py."""

from rest_framework import serializers

from smarketing.api.fields import StrictModelSerializer, StrictSerializer
from smarketing.scheduling.models import Assignment, LocationKind, Meeting, MeetingType


class HostSerializer(StrictSerializer):
    user = serializers.IntegerField(min_value=1)
    weight = serializers.IntegerField(min_value=0, max_value=100, default=1)


class QuestionSerializer(StrictSerializer):
    key = serializers.CharField(max_length=40)
    label = serializers.CharField(max_length=200)
    maps_to = serializers.CharField(max_length=80, allow_blank=True, default="")
    required = serializers.BooleanField(default=False)
    type = serializers.ChoiceField(choices=["text"], default="text")


class MeetingTypeSerializer(StrictModelSerializer):
    hosts = serializers.SerializerMethodField()

    class Meta:
        model = MeetingType
        fields = [
            "id",
            "name",
            "slug",
            "owner",
            "team",
            "assignment",
            "hosts",
            "durations",
            "location_kind",
            "location_detail",
            "description",
            "questions",
            "buffer_before",
            "buffer_after",
            "min_notice",
            "max_days_ahead",
            "max_per_day",
            "slot_interval",
            "confirmation_text",
            "reminder_text",
            "reminder_minutes",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields

    def get_hosts(self, obj) -> list[dict]:
        # host_rows is prefetched by the view: a page costs the same whatever its length.
        return [{"user": row.user_id, "weight": row.weight} for row in obj.host_rows.all()]


class MeetingTypeWriteSerializer(StrictSerializer):
    """A new type (or, on PATCH, the fields to change). `team` only when creating; `hosts` for team types."""

    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=80)
    team = serializers.IntegerField(min_value=1, required=False, help_text="A team's id: a team type (creating).")
    assignment = serializers.ChoiceField(choices=Assignment.choices, required=False)
    hosts = HostSerializer(many=True, required=False)
    durations = serializers.ListField(child=serializers.IntegerField(min_value=5, max_value=480), max_length=6)
    location_kind = serializers.ChoiceField(choices=LocationKind.choices, required=False)
    location_detail = serializers.CharField(max_length=500, allow_blank=True, required=False)
    description = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    questions = QuestionSerializer(many=True, required=False)
    buffer_before = serializers.IntegerField(min_value=0, max_value=240, required=False)
    buffer_after = serializers.IntegerField(min_value=0, max_value=240, required=False)
    min_notice = serializers.IntegerField(min_value=0, max_value=60 * 24 * 30, required=False)
    max_days_ahead = serializers.IntegerField(min_value=1, max_value=365, required=False)
    max_per_day = serializers.IntegerField(min_value=0, max_value=100, required=False)
    slot_interval = serializers.IntegerField(min_value=0, max_value=480, required=False)
    confirmation_text = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    reminder_text = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    reminder_minutes = serializers.IntegerField(min_value=0, max_value=60 * 24 * 14, required=False)
    is_active = serializers.BooleanField(required=False)


class MeetingSerializer(StrictModelSerializer):
    host_email = serializers.CharField(source="host.email", read_only=True)
    contact_email = serializers.CharField(source="contact.email", read_only=True, allow_null=True, default=None)
    # Empty after a privacy erasure (and for meetings made without a booker): text, not an email format.
    booker_email = serializers.CharField(read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "meeting_type",
            "title",
            "status",
            "host",
            "host_email",
            "contact",
            "contact_email",
            "deal",
            "starts_at",
            "ends_at",
            "location",
            "booker_name",
            "booker_email",
            "booker_time_zone",
            "answers",
            "uid",
            "sequence",
            "created_at",
            "canceled_at",
            "cancel_reason",
            "outcome_at",
        ]
        read_only_fields = fields


class CancelInputSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class OutcomeInputSerializer(StrictSerializer):
    outcome = serializers.ChoiceField(choices=[Meeting.Status.HELD, Meeting.Status.NO_SHOW])
