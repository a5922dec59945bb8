"""Words for the codes the handoff stores."""

from smarketing.core.labels import declare_labels

declare_labels(
    "audit_action",
    {
        "handoff_accept": "Lead accepted",
        "handoff_reject": "Lead rejected",
        "handoff_reassign": "Lead reassigned",
        "process_settings": "Handoff settings changed",
        "governance": "Stage governance changed",
    },
)
