"""Words for the privacy requests' audit actions (core.labels)."""

from smarketing.core.labels import declare_labels

declare_labels("audit_action", {"privacy_export": "Personal data exported", "privacy_erase": "Personal data erased"})
