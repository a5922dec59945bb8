"""The touchpoint kinds the workflow engine writes on a contact's timeline, and what workflows tell people."""

from smarketing.notifications.catalogue import NotificationKind
from smarketing.timeline.kinds import TouchKind
from smarketing.timeline.models import Team

WORKFLOW_ENROLLED = "workflow_enrolled"
WORKFLOW_COMPLETED = "workflow_completed"

KINDS = [
    TouchKind(WORKFLOW_ENROLLED, "Enrolled in a workflow", Team.MARKETING),
    # Completed, reached the goal, left, or failed: the summary says which.
    TouchKind(WORKFLOW_COMPLETED, "Left a workflow", Team.MARKETING),
]

# wfactions: the notify_user step.
NOTIFY_WORKFLOW = "workflow_notice"
NOTIFICATION_KINDS = [
    NotificationKind(
        NOTIFY_WORKFLOW,
        "A workflow tells me about a contact",
        "When a workflow's “Notify a user” step names you or the contact's owner.",
        email_default=True,
    ),
]
