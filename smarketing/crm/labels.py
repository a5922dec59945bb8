"""Words for the CRM's stored codes (core.labels): its audit actions and logged-activity outcomes."""

from smarketing.core.labels import declare_labels
from smarketing.crm.sources import SOURCES
from smarketing.crm.views.records.forms import OUTCOMES

declare_labels(
    "audit_action",
    {
        "associate": "Contact added",
        "dissociate": "Contact removed",
        "lifecycle": "Lifecycle stage changed",
        "stage": "Stage moved",
        "reopen": "Reopened",
        "reorder": "Stages reordered",
    },
)
# The UI stores an outcome's label; the API, imports and the seed may store its code ("no_answer").
declare_labels("outcome", {label.lower().replace(" ", "_"): label for labels in OUTCOMES.values() for label in labels})
# A record's source: the channels (campaigns/labels.py) and the sources with no campaign behind them (crm.sources).
declare_labels("source", SOURCES)
