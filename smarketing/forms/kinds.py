"""The touchpoint kinds lead capture writes: a form submission, and each page view of a known visitor (an
anonymous visitor's views join the timeline when they are stitched to a contact)."""

from smarketing.timeline.kinds import TouchKind
from smarketing.timeline.models import Team

FORM_SUBMITTED = "form_submitted"
PAGE_VIEWED = "page_viewed"

KINDS = [
    TouchKind(FORM_SUBMITTED, "Form submitted", Team.MARKETING, api_creatable=True),
    TouchKind(PAGE_VIEWED, "Page viewed", Team.MARKETING, api_creatable=True),
]

# What lead capture tells people (smarketing/notifications): the form's notify_users, on each submission
# (formscapture, forms/capture.py).
from smarketing.notifications.catalogue import NotificationKind  # noqa: E402

NOTIFY_FORM_SUBMITTED = "form_submission_received"
NOTIFICATION_KINDS = [
    NotificationKind(
        NOTIFY_FORM_SUBMITTED,
        "Someone submits a form I watch",
        "When a form lists you among the people to notify and a visitor sends it (spam is not notified).",
        email_default=True,
    ),
]
