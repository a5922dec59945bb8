"""The touchpoint and notification kinds of the content library."""

from smarketing.notifications.catalogue import NotificationKind
from smarketing.timeline.kinds import TouchKind
from smarketing.timeline.models import Team

CONTENT_VIEWED = "content_viewed"  # a contact opened an asset (a share link, or an API client's record of one)
CONTENT_DOWNLOADED = "content_downloaded"
CONTENT_SHARED = "content_shared"  # a rep shared an asset with the contact

KINDS = [
    TouchKind(CONTENT_VIEWED, "Content viewed", Team.MARKETING, api_creatable=True),
    TouchKind(CONTENT_DOWNLOADED, "Content downloaded", Team.MARKETING),
    TouchKind(CONTENT_SHARED, "Content shared", Team.SALES),
]

NOTIFY_FIRST_VIEW = "content_first_view"
NOTIFY_REVIEW = "content_review"
NOTIFY_DECIDED = "content_decided"
NOTIFY_EXPIRING = "content_expiring"
NOTIFICATION_KINDS = [
    NotificationKind(
        NOTIFY_FIRST_VIEW,
        "A contact opens content I shared",
        "The first time a contact opens a link you shared with them.",
        email_default=True,
    ),
    NotificationKind(
        NOTIFY_REVIEW,
        "I am asked to review content",
        "When an asset or a message is submitted for review and you are one of its reviewers.",
        email_default=True,
    ),
    NotificationKind(
        NOTIFY_DECIDED,
        "My content is approved or sent back",
        "When a reviewer approves your asset or message, or asks for changes.",
        email_default=False,
    ),
    NotificationKind(
        NOTIFY_EXPIRING,
        "My content is about to expire",
        "A week before the expiry date of an asset you own.",
        email_default=True,
    ),
]
