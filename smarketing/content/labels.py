"""Words for the codes the content library stores and people see (core.labels finds this module at startup)."""

from smarketing.content.models import AssetType, Status, VersionStatus
from smarketing.core.labels import declare_labels

declare_labels(
    "audit_action",
    {
        "version_add": "New version uploaded",
        "submit": "Submitted for review",
        "approve": "Approved",
        "request_changes": "Changes requested",
        "retire": "Retired",
        "restore": "Restored",
        "comment": "Commented",
    },
)
declare_labels("asset_type", AssetType.choices)
declare_labels("content_status", Status.choices)
declare_labels("version_status", VersionStatus.choices)
# Short words for the lifecycle stages an asset is tagged with, for its badges (the forms use crm's full labels).
declare_labels(
    "funnel_stage",
    {
        "subscriber": "Subscriber",
        "lead": "Lead",
        "mql": "MQL",
        "sql": "SQL",
        "opportunity": "Opportunity",
        "customer": "Customer",
        "evangelist": "Evangelist",
    },
)

# The guide's and sharing's words live beside their code; found at startup through this module.
from smarketing.content import labels_guide, labels_sharing  # noqa: E402, F401
