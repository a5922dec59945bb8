"""Words for the codes the form builder stores: its audit actions (core.labels)."""

from smarketing.core.labels import declare_labels

declare_labels("audit_action", {"publish": "Published", "archive": "Archived", "duplicate": "Duplicated"})
