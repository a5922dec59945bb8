"""A host's external busy calendar: an iCalendar URL read every 15 minutes into BusyBlock(source=EXTERNAL) rows.

The URL is typed by a user, but the request leaves from our servers, so it goes through the webhooks' SSRF-safe
client: targets.check_url vets every address the host resolves to (WEBHOOK_ALLOWED_ADDRESSES lets tests and
private deployments reach more), and sender.get connects to a vetted address only, follows no redirect, and is
bounded in time and size. Only free/busy is kept: every block is titled "Busy", whatever the feed calls it.

A failed refresh (refused address, timeout, HTTP error, too big, unparsable) keeps the blocks of the last good
one and stores a short external_error for the availability page; refresh() never raises.
"""

import logging
from datetime import date, datetime, time, timedelta

import icalendar
import recurring_ical_events
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from smarketing.jobs.periodic import periodic
from smarketing.scheduling.availability import zone_of
from smarketing.scheduling.models import BusyBlock, Schedule
from smarketing.webhooks import sender, targets

logger = logging.getLogger(__name__)

HORIZON = timedelta(days=60)  # how far ahead a feed is expanded; blocks are clipped to [now, now + HORIZON]
MAX_BYTES = 2 * 1024 * 1024
MAX_BLOCKS = 5000  # a feed expanding to more busy periods than this is refused, not half-stored
TIMEOUT = 10.0  # seconds, connect and each read
EVERY = timedelta(minutes=15)
# The job runs every EVERY on the epoch grid; a fetch a few seconds after the last run must count as stale at
# the next one, so the threshold is a little under the period.
STALE_AFTER = EVERY - timedelta(minutes=1)
BUSY_TITLE = "Busy"


class FeedError(Exception):
    """Why a feed could not be read, in words for the host."""


def calendar_url(url: str) -> str:
    """The URL to fetch: webcal:// is the calendar apps' spelling of https://."""
    url = (url or "").strip()
    if url[:9].lower() == "webcal://":
        return "https://" + url[9:]
    return url


def refresh(schedule: Schedule, now: datetime | None = None) -> int:
    """Read the schedule's external calendar and replace its external busy blocks; the number stored, or 0.

    Never raises: a failure is recorded in schedule.external_error and the previous blocks stay.
    """
    now = now or timezone.now()
    if not schedule.external_calendar_url:
        return 0
    try:
        return _refresh(schedule, now)
    except FeedError as exc:
        return _failed(schedule, str(exc))
    except Exception:  # a bug, an odd feed or the database must not break the caller (a page, the periodic job)
        logger.exception("external calendar of schedule %s", schedule.pk)
        try:
            return _failed(schedule, "The calendar could not be read.")
        except Exception:
            logger.exception("could not record the failure of schedule %s", schedule.pk)
            return 0


def _refresh(schedule: Schedule, now: datetime) -> int:
    body = fetch(schedule.external_calendar_url)
    periods = busy_periods(body, zone_of(schedule.user.time_zone), now)
    with transaction.atomic():
        BusyBlock.objects.filter(user_id=schedule.user_id, source=BusyBlock.Source.EXTERNAL).delete()
        BusyBlock.objects.bulk_create(
            [
                BusyBlock(
                    user_id=schedule.user_id,
                    starts_at=start,
                    ends_at=end,
                    title=BUSY_TITLE,
                    source=BusyBlock.Source.EXTERNAL,
                )
                for start, end in periods
            ]
        )
        Schedule.objects.filter(pk=schedule.pk).update(external_fetched_at=now, external_error="")
    schedule.external_fetched_at, schedule.external_error = now, ""
    return len(periods)


def _failed(schedule: Schedule, error: str) -> int:
    error = error[:500]
    Schedule.objects.filter(pk=schedule.pk).update(external_error=error)
    schedule.external_error = error
    return 0


def fetch(url: str) -> bytes:
    """The feed's bytes through the SSRF-safe client; FeedError with a short reason otherwise."""
    try:
        target = targets.check_url(calendar_url(url))
    except targets.ResolutionFailed as exc:
        raise FeedError(f"The calendar address could not be reached: {exc}")
    except targets.UnsafeTarget as exc:
        # targets.py words its refusals for webhooks; the reason after the colon is what matters here.
        reason = str(exc).replace("Webhooks cannot be sent to", "Smarketing does not read calendars from")
        raise FeedError(reason.replace("can receive webhooks", "can be read"))
    fetched = sender.get(target, {"Accept": "text/calendar, */*;q=0.5"}, timeout=TIMEOUT, max_bytes=MAX_BYTES)
    if fetched.error and fetched.status is None:
        raise FeedError(f"The calendar could not be fetched: {fetched.error}.")
    if fetched.error:
        raise FeedError(f"The calendar was refused: {fetched.error}.")
    if 300 <= fetched.status < 400:
        where = f" to {fetched.location}" if fetched.location else ""
        raise FeedError(f"The calendar address redirects{where}; enter the final address.")
    if fetched.status != 200:
        raise FeedError(f"The calendar server answered HTTP {fetched.status}.")
    return fetched.body


def busy_periods(body: bytes, tz, now: datetime) -> list[tuple[datetime, datetime]]:
    """The busy periods of a feed over [now, now + HORIZON], clipped to it, sorted; FeedError when unreadable."""
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError, TypeError):
        raise FeedError("The address does not serve an iCalendar (.ics) file.")
    if calendar.name != "VCALENDAR":
        raise FeedError("The address does not serve an iCalendar (.ics) file.")
    horizon = now + HORIZON
    try:
        events = recurring_ical_events.of(calendar).between(now, horizon)
    except Exception as exc:  # the library raises its own types for broken recurrence rules
        raise FeedError(f"The calendar has an event that cannot be read ({type(exc).__name__}).")
    periods = []
    for event in events:
        if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
            continue  # "show as free"
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        period = _period(event, tz)
        if period is None:
            continue
        start, end = max(period[0], now), min(period[1], horizon)
        if start < end:
            periods.append((start, end))
        if len(periods) > MAX_BLOCKS:
            raise FeedError(f"The calendar has more than {MAX_BLOCKS} busy periods in the next 60 days.")
    return sorted(periods)


def _period(event, tz) -> tuple[datetime, datetime] | None:
    """An event's [start, end) as aware datetimes; an all-day event covers its whole dates in the user's zone."""
    if "DTSTART" not in event:
        return None
    start = event["DTSTART"].dt
    if "DTEND" in event:
        end = event["DTEND"].dt
    elif "DURATION" in event:
        end = start + event["DURATION"].dt
    elif isinstance(start, datetime):
        return None  # RFC 5545: a timed event without an end takes no time
    else:
        end = start + timedelta(days=1)  # an all-day event without an end is that one day
    return _aware(start, tz), _aware(end, tz)


def _aware(value: date | datetime, tz) -> datetime:
    if isinstance(value, datetime):
        # A floating time (no zone) means the same wall time wherever the reader is: the host's own.
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(), tz)


@periodic(every=EVERY)
@task()
def refresh_external_calendars() -> dict:
    """Refresh every external calendar not read in the last 15 minutes, each on its own."""
    now = timezone.now()
    due = (
        Schedule.objects.exclude(external_calendar_url="")
        .filter(user__is_active=True)
        .filter(Q(external_fetched_at__isnull=True) | Q(external_fetched_at__lt=now - STALE_AFTER))
        .select_related("user")
        .order_by("pk")
    )
    result = {"refreshed": 0, "failed": 0}
    for schedule in due:
        try:
            refresh(schedule, now=now)
        except Exception:  # refresh() does not raise; this keeps one bad row from stopping the rest if it ever does
            logger.exception("external calendar refresh of schedule %s", schedule.pk)
            result["failed"] += 1
            continue
        result["failed" if schedule.external_error else "refreshed"] += 1
    return result
