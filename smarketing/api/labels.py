"""Words for the API's audit actions (core.labels)."""

from smarketing.core.labels import declare_labels

declare_labels("audit_action", {"token_create": "API token created", "token_revoke": "API token revoked"})
