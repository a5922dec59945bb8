"""The touchpoint kinds email marketing writes: every send, open, click, bounce, unsubscribe and complaint is a
touch on the contact's timeline, tied to its campaign (touchpoint.campaign)."""

from smarketing.timeline.kinds import TouchKind
from smarketing.timeline.models import Team

EMAIL_SENT = "email_sent"
EMAIL_OPENED = "email_opened"
EMAIL_CLICKED = "email_clicked"
EMAIL_BOUNCED = "email_bounced"
EMAIL_COMPLAINED = "email_complained"
UNSUBSCRIBED = "unsubscribed"
CONSENT_CHANGED = "consent_changed"
PREFERENCES_CHANGED = "email_preferences_changed"

KINDS = [
    # History imported from other tools may still be recorded through the API; the campaign report counts
    # only what Smarketing sent and tracked itself (email.EmailSend), so a recorded touch cannot inflate it.
    TouchKind(EMAIL_SENT, "Marketing email sent", Team.MARKETING, api_creatable=True),
    TouchKind(EMAIL_OPENED, "Email opened", Team.MARKETING, api_creatable=True),
    TouchKind(EMAIL_CLICKED, "Email link clicked", Team.MARKETING, api_creatable=True),
    TouchKind(EMAIL_BOUNCED, "Email bounced", Team.MARKETING),
    TouchKind(EMAIL_COMPLAINED, "Marked as spam", Team.MARKETING),
    # Unsubscribing changes consent, so it is not something a client may simply record as a touch.
    TouchKind(UNSUBSCRIBED, "Unsubscribed", Team.MARKETING),
    TouchKind(CONSENT_CHANGED, "Email consent changed", Team.MARKETING),
    TouchKind(PREFERENCES_CHANGED, "Email preferences changed", Team.MARKETING),
]
