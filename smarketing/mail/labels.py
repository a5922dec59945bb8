"""Words for mail's stored codes (core.labels): audit actions, suppression reasons and feedback kinds."""

from smarketing.core.labels import declare_labels
from smarketing.mail.models import FeedbackKind, SuppressionReason

declare_labels(
    "audit_action",
    {"suppress": "Address suppressed", "unsuppress": "Address removed from the suppression list"},
)
declare_labels("suppression_reason", SuppressionReason.choices)
declare_labels("feedback_kind", FeedbackKind.choices)
