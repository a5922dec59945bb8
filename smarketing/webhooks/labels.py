"""Words for the webhooks' audit actions (core.labels)."""

from smarketing.core.labels import declare_labels

declare_labels("audit_action", {"rotate_secret": "Signing secret rotated", "redeliver": "Delivery sent again"})
