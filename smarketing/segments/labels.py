"""Words for the codes segments stores: its audit actions (core.labels)."""

from smarketing.core.labels import declare_labels

declare_labels(
    "audit_action",
    {
        "add_members": "Contacts added to the list",
        "remove_members": "Contacts removed from the list",
        "archive": "Archived",
        "restore": "Restored",
    },
)
