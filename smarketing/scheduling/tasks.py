"""Scheduling's background jobs: the booker's reminder before each meeting (every 5 minutes)."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django_tasks import task

from smarketing.jobs.periodic import periodic

logger = logging.getLogger(__name__)

BATCH = 500


def due_reminders(now=None) -> list[int]:
    """Ids of booked meetings not reminded yet whose start minus their type's reminder_minutes has come.

    The scan reads the partial index meeting_to_remind_idx up to the longest reminder lead of any type; each
    type's own lead is applied in Python (SQLite cannot multiply an interval by a column).
    """
    from smarketing.scheduling.models import Meeting, MeetingType

    now = now or timezone.now()
    longest = MeetingType.objects.filter(reminder_minutes__gt=0).aggregate(m=Max("reminder_minutes"))["m"]
    if not longest:
        return []
    rows = (
        Meeting.objects.filter(
            status=Meeting.Status.BOOKED,
            reminder_sent_at=None,
            starts_at__gt=now,
            starts_at__lte=now + timedelta(minutes=longest),
            meeting_type__reminder_minutes__gt=0,
        )
        .order_by("starts_at")
        .values_list("pk", "starts_at", "meeting_type__reminder_minutes")[:BATCH]
    )
    return [pk for pk, starts_at, minutes in rows if starts_at - timedelta(minutes=minutes) <= now]


def remind(meeting_id: int, now=None) -> bool:
    """Claim one meeting's reminder and queue its email in one transaction: True when this call sent it.

    The claim is a conditional UPDATE (reminder_sent_at null → now): of two workers only one matches, and a crash
    before the commit leaves neither the claim nor the queued email, so the next run sends it once.
    """
    from smarketing.scheduling import services
    from smarketing.scheduling.models import Meeting

    now = now or timezone.now()
    with transaction.atomic():
        claimed = Meeting.objects.filter(
            pk=meeting_id, status=Meeting.Status.BOOKED, reminder_sent_at__isnull=True
        ).update(reminder_sent_at=now)
        if not claimed:
            return False
        meeting = Meeting.objects.select_related("meeting_type", "host").get(pk=meeting_id)
        services.send_booker_email(meeting, kind="booking_reminder", method="REQUEST")
    return True


def send_reminders(now=None) -> int:
    sent = 0
    for meeting_id in due_reminders(now):
        try:
            sent += remind(meeting_id, now)
        except ValueError:  # an address the mail stream refuses: logged, the others still go
            logger.warning("meeting %s: reminder not sendable", meeting_id)
    return sent


@periodic(every=timedelta(minutes=5))
@task()
def meeting_reminders() -> dict:
    """The booker's reminder of each meeting whose reminder time has come (each once)."""
    return {"reminded": send_reminders()}
