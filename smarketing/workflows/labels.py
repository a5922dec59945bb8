"""Words for the codes workflows store and people see."""

from smarketing.core.labels import declare_labels

declare_labels(
    "audit_action",
    {
        "workflow_activate": "Workflow activated",
        "workflow_pause": "Workflow paused",
        "workflow_archive": "Workflow archived",
        "workflow_enroll": "Enrolled in a workflow",
        "workflow_unenroll": "Removed from a workflow",
        "workflow_enroll_matching": "Enrolled a segment in a workflow",
    },
)
