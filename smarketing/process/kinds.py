"""The touchpoint and notification kinds of the handoff."""

from smarketing.notifications.catalogue import NotificationKind
from smarketing.timeline.kinds import TouchKind
from smarketing.timeline.models import Team

LEAD_ROUTED = "lead_routed"
LEAD_ACCEPTED = "lead_accepted"
LEAD_REJECTED = "lead_rejected"
SLA_BREACHED = "sla_breached"
SALES_EMAIL_SENT = "sales_email_sent"  # captured by BCC or IMAP: process/capture/
SALES_EMAIL_RECEIVED = "sales_email_received"

KINDS = [
    TouchKind(LEAD_ROUTED, "Handed to sales", Team.SYSTEM),
    TouchKind(LEAD_ACCEPTED, "Lead accepted by sales", Team.SALES),
    TouchKind(LEAD_REJECTED, "Lead rejected by sales", Team.SALES),
    TouchKind(SLA_BREACHED, "Handoff SLA breached", Team.SYSTEM),
    TouchKind(SALES_EMAIL_SENT, "Sales email sent", Team.SALES),
    TouchKind(SALES_EMAIL_RECEIVED, "Sales email received", Team.SALES),
]

# The touches that stop the SLA clock: a sales conversation started (logged, booked, or an email the rep sent and
# capture logged); "meeting_booked" is scheduling's kind (named by its string: process does not import scheduling).
FIRST_TOUCH_KINDS = ("call_logged", "email_logged", "meeting_logged", "meeting_booked", SALES_EMAIL_SENT)

NOTIFY_NEW_LEAD = "handoff_new_lead"
NOTIFY_SLA_REMINDER = "handoff_sla_reminder"
NOTIFY_SLA_BREACHED = "handoff_sla_breached"
NOTIFICATION_KINDS = [
    NotificationKind(
        NOTIFY_NEW_LEAD,
        "A new lead is handed to me",
        "When marketing hands you an MQL: the time the SLA gives you to reach out.",
        email_default=True,
    ),
    NotificationKind(
        NOTIFY_SLA_REMINDER,
        "A lead of mine nears its SLA",
        "Before the first-touch deadline of a lead you have not contacted yet.",
        email_default=True,
    ),
    NotificationKind(
        NOTIFY_SLA_BREACHED,
        "A lead in my team breached its SLA",
        "For managers: a lead nobody contacted in time.",
        email_default=True,
    ),
]
