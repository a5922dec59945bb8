"""Words for the accounts' stored codes (core.labels): the audit actions of users and invitations."""

from smarketing.core.labels import declare_labels

declare_labels(
    "audit_action",
    {
        "invite": "Invited",
        "invite_resent": "Invitation re-sent",
        "invite_accepted": "Accepted the invitation",
        "password_reset": "Reset the password",
        "deactivate": "Deactivated",
        "reactivate": "Reactivated",
        "reassign": "Records reassigned",
    },
)
