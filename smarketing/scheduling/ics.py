"""iCalendar (RFC 5545) for meetings: the invitation attached to every confirmation, update and cancellation, and
a host's private feed.

Times are written in UTC (a trailing Z), which every calendar app reads without a VTIMEZONE; the UID never changes
for a meeting, so a reschedule updates the same event (SEQUENCE higher) and a cancel removes it (METHOD:CANCEL).
"""

from datetime import UTC, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Smarketing//Scheduling//EN"
METHODS = ("REQUEST", "CANCEL")
FEED_DAYS_BACK = 60


def _address(email: str, name: str, role: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    address.params["ROLE"] = vText(role)
    return address


def _event(meeting, *, canceled: bool) -> Event:
    event = Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", meeting.ends_at.astimezone(UTC))
    event.add("sequence", meeting.sequence)
    event.add("summary", meeting.title)
    if meeting.location:
        event.add("location", meeting.location)
    host = meeting.host
    event.add("organizer", _address(host.email, host.display_name, "CHAIR"))
    if meeting.booker_email:
        attendee = _address(meeting.booker_email, meeting.booker_name, "REQ-PARTICIPANT")
        attendee.params["PARTSTAT"] = vText("ACCEPTED")
        event.add("attendee", attendee)
    event.add("status", "CANCELLED" if canceled else "CONFIRMED")
    event.add("url", settings.SMARKETING_BASE_URL + reverse("scheduling:meeting", args=[meeting.pk]))
    return event


def _calendar(method: str = "") -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    return cal


def invitation(meeting, method: str = "REQUEST") -> bytes:
    """The .ics of one meeting for an email: METHOD:REQUEST (new or changed) or METHOD:CANCEL."""
    if method not in METHODS:
        raise ValueError(f"unknown iCalendar method {method!r}")
    cal = _calendar(method)
    cal.add_component(_event(meeting, canceled=method == "CANCEL"))
    return cal.to_ical()


def feed(user) -> bytes:
    """A host's feed: their meetings from FEED_DAYS_BACK days ago on; canceled ones kept as STATUS:CANCELLED so a
    subscribed calendar drops them. No METHOD: a feed is published, not sent."""
    from smarketing.scheduling.models import Meeting

    since = timezone.now() - timedelta(days=FEED_DAYS_BACK)
    cal = _calendar()
    cal.add("x-wr-calname", f"Smarketing meetings of {user.display_name}")
    meetings = Meeting.objects.filter(host=user, ends_at__gte=since).select_related("host").order_by("starts_at")
    for meeting in meetings[:5000]:  # a feed of years stays bounded
        cal.add_component(_event(meeting, canceled=meeting.status == Meeting.Status.CANCELED))
    return cal.to_ical()
