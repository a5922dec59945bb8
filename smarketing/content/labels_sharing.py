"""Words for the codes sharing stores and people see (declared when sharing.py is imported: the URLconf does)."""

from smarketing.content.models import Share
from smarketing.core.labels import declare_labels

declare_labels("audit_action", {"share": "Shared with a contact", "revoke": "Share link revoked"})
declare_labels("share_channel", Share.Channel.choices)
