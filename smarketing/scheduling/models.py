"""Online scheduling: meeting types, hosts' availability, booked meetings, and the rows that forbid double booking.

A booked meeting holds its hosts' time through `HostHold` rows (one per host, the meeting's time widened by the
type's buffers). On PostgreSQL an exclusion constraint (btree_gist) refuses two active holds of one host that
overlap; on SQLite every write transaction is BEGIN IMMEDIATE (settings), so the service's check-then-insert runs
one booking at a time (scheduling/services.py). Either way two visitors racing for one slot: exactly one wins.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Assignment(models.TextChoices):
    PERSONAL = "personal", "One host (the type's owner)"
    ROUND_ROBIN = "round_robin", "Round robin (least recently booked)"
    WEIGHTED = "weighted", "Weighted round robin"
    COLLECTIVE = "collective", "Collective (everyone must be free)"
    OWNER_FIRST = "owner_first", "Contact's owner first, else round robin"


class LocationKind(models.TextChoices):
    PHONE = "phone", "Phone call"
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video call"


class MeetingType(models.Model):
    """A kind of meeting people can book: one user's own, or a team's with several hosts."""

    name = models.CharField(max_length=120)
    # The public address: /meet/<slug>/. Unique across the instance; chosen by the owner, never the pk.
    slug = models.SlugField(max_length=80, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="meeting_types"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="meeting_types"
    )
    assignment = models.CharField(max_length=20, choices=Assignment.choices, default=Assignment.PERSONAL)
    hosts = models.ManyToManyField(settings.AUTH_USER_MODEL, through="MeetingTypeHost", related_name="hosted_types")
    # Minutes; the first is the default and a booker may pick another: [30] or [15, 30, 60].
    durations = models.JSONField(default=list)
    location_kind = models.CharField(max_length=20, choices=LocationKind.choices, default=LocationKind.VIDEO)
    # The address for in-person, "we call you" text for phone, or a video link template ({meeting} → its id).
    location_detail = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    # [{"key": "company", "label": "Company", "maps_to": "company.name", "required": false, "type": "text"}]
    questions = models.JSONField(default=list, blank=True)
    buffer_before = models.PositiveSmallIntegerField(default=0)  # minutes kept free before a meeting
    buffer_after = models.PositiveSmallIntegerField(default=0)
    min_notice = models.PositiveIntegerField(default=240)  # minutes between now and the earliest bookable start
    max_days_ahead = models.PositiveSmallIntegerField(default=30)
    max_per_day = models.PositiveSmallIntegerField(default=0)  # per host and host-local day; 0 = no limit
    slot_interval = models.PositiveSmallIntegerField(default=0)  # minutes between starts; 0 = the duration
    confirmation_text = models.TextField(blank=True)
    reminder_text = models.TextField(blank=True)
    reminder_minutes = models.PositiveIntegerField(default=1440)  # before the start; 0 = no reminder
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            # A personal type belongs to a user; a team type to a team (its hosts are MeetingTypeHost rows).
            models.CheckConstraint(
                condition=Q(owner__isnull=False, team__isnull=True) | Q(owner__isnull=True, team__isnull=False),
                name="meeting_type_owner_xor_team",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def default_duration(self) -> int:
        return (self.durations or [30])[0]

    @property
    def is_team(self) -> bool:
        return self.team_id is not None


class MeetingTypeHost(models.Model):
    """A host of a team meeting type, with a weight for weighted round robin (0 = takes no bookings)."""

    meeting_type = models.ForeignKey(MeetingType, on_delete=models.CASCADE, related_name="host_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    weight = models.PositiveSmallIntegerField(default=1)
    # Round robin's memory: least recently booked first; bookings counted for the weighted share.
    last_booked_at = models.DateTimeField(null=True, blank=True)
    booked_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting_type", "user"], name="meeting_type_host_once")]

    def __str__(self) -> str:
        return f"{self.user} hosts {self.meeting_type}"


class Schedule(models.Model):
    """A user's scheduling profile: the calendar feed token and an external busy calendar.

    Weekly working hours live on the user (accounts.User.working_hours, in the user's time zone); date overrides
    in AvailabilityOverride; this row also serializes a host's bookings on SQLite (services lock it first).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="schedule")
    # The private iCalendar feed: /scheduling/feed/<token>.ics. Revoking issues a new token; the old URL is dead.
    feed_token = models.CharField(max_length=64, unique=True, default=new_token)
    external_calendar_url = models.URLField(max_length=1000, blank=True)
    external_fetched_at = models.DateTimeField(null=True, blank=True)
    external_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"Schedule of {self.user}"


class AvailabilityOverride(models.Model):
    """A date whose hours differ from the week's: other ranges, or none (a day off). In the user's time zone."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_overrides")
    date = models.DateField()
    ranges = models.JSONField(default=list, blank=True)  # [["10:00", "12:00"]]; [] = not available that day
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["user", "date"], name="availability_override_once")]

    def __str__(self) -> str:
        return f"{self.user} on {self.date}"


class BusyBlock(models.Model):
    """Time a user is busy outside Smarketing's meetings: typed in, or read from their external calendar."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Added here"
        EXTERNAL = "external", "External calendar"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="busy_blocks")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    title = models.CharField(max_length=200, blank=True)  # never shown on public pages: they see free/busy only
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)

    class Meta:
        indexes = [models.Index(fields=["user", "starts_at"], name="busy_user_start_idx")]

    def __str__(self) -> str:
        return f"{self.user} busy {self.starts_at:%Y-%m-%d %H:%M}"


class Meeting(models.Model):
    """A booked meeting: its type, organizer host, the contact (and deal), its time and its iCalendar identity."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELED = "canceled", "Canceled"
        HELD = "held", "Held"
        NO_SHOW = "no_show", "No-show"

    meeting_type = models.ForeignKey(
        MeetingType, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hosted_meetings")
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    deal = models.ForeignKey("crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    booker_name = models.CharField(max_length=200, blank=True)
    booker_email = models.EmailField(blank=True)
    booker_time_zone = models.CharField(max_length=64, default="UTC")
    location = models.CharField(max_length=500, blank=True)
    answers = models.JSONField(default=dict, blank=True)  # {question label: answer}, as the booker gave them
    # iCalendar: UID never changes (reschedules update the same event), SEQUENCE goes up with each change.
    uid = models.CharField(max_length=100, unique=True)
    sequence = models.PositiveIntegerField(default=0)
    # The booker's reschedule/cancel links carry this in a signed token: one meeting's, replaced on each change.
    manage_nonce = models.CharField(max_length=32, default=new_token)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    canceled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)  # when the host recorded held / no-show

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["host", "starts_at"], name="meeting_host_start_idx"),
            models.Index(fields=["contact", "starts_at"], name="meeting_contact_start_idx"),
            # The reminder job's scan: booked meetings not yet reminded, by start.
            models.Index(
                fields=["starts_at"], name="meeting_to_remind_idx", condition=Q(status="booked", reminder_sent_at=None)
            ),
        ]

    def __str__(self) -> str:
        return self.title


class HostHold(models.Model):
    """One host's hold on time for a meeting (the meeting widened by its buffers); active while the meeting is on.

    The database refuses two active holds of one host that overlap (an exclusion constraint on PostgreSQL, added
    in migration 0002; on SQLite the booking service's serialized check).
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="holds")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    active = models.BooleanField(default=True)

    class Meta:
        indexes = [models.Index(fields=["user", "starts_at"], name="hold_user_start_idx", condition=Q(active=True))]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="hold_once_per_meeting"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="hold_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.user} held for {self.meeting_id}"


class BookingLink(models.Model):
    """A one-off booking link a rep sends for a deal or contact: opens their meeting type, ties the booking back."""

    token = models.CharField(max_length=64, unique=True, default=new_token)
    meeting_type = models.ForeignKey(MeetingType, on_delete=models.CASCADE, related_name="links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey("crm.Deal", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)  # one-off: a second booking through it is refused
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Booking link for {self.meeting_type}"
