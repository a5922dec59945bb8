"""The touchpoint and notification kinds of scheduling (meeting_booked stops the handoff's SLA clock)."""

from smarketing.notifications.catalogue import NotificationKind
from smarketing.timeline.kinds import TouchKind
from smarketing.timeline.models import Team

MEETING_BOOKED = "meeting_booked"  # listed in process.kinds.FIRST_TOUCH_KINDS: a booking is the first sales touch
MEETING_RESCHEDULED = "meeting_rescheduled"
MEETING_CANCELED = "meeting_canceled"
MEETING_HELD = "meeting_held"
MEETING_NO_SHOW = "meeting_no_show"

KINDS = [
    TouchKind(MEETING_BOOKED, "Meeting booked", Team.SALES, api_creatable=True),  # older API clients record it
    TouchKind(MEETING_RESCHEDULED, "Meeting rescheduled", Team.SALES),
    TouchKind(MEETING_CANCELED, "Meeting canceled", Team.SALES),
    TouchKind(MEETING_HELD, "Meeting held", Team.SALES),
    TouchKind(MEETING_NO_SHOW, "Meeting no-show", Team.SALES),
]

NOTIFY_BOOKED = "meeting_booked"
NOTIFY_CHANGED = "meeting_changed"
NOTIFICATION_KINDS = [
    NotificationKind(
        NOTIFY_BOOKED,
        "Someone books a meeting with me",
        "When a visitor books one of your meeting types, or a team type routes a booking to you.",
        email_default=True,
    ),
    NotificationKind(
        NOTIFY_CHANGED,
        "A booker reschedules or cancels",
        "When the person you meet moves or cancels the meeting through their link.",
        email_default=True,
    ),
]
