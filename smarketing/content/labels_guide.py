"""Words for the codes the messaging guide, the stage panel and the influence report show (declared when guide.py
or panels.py is imported; content/apps.py imports panels at startup)."""

from smarketing.content.models import MessageKind
from smarketing.core.labels import declare_labels

declare_labels("message_kind", MessageKind.choices)
declare_labels("review_decision", {"approved": "Approved", "changes_requested": "Changes requested"})
# The stage progression report's outcomes (influence.StageProgression).
declare_labels("stage_outcome", {"forward": "Moved forward", "stalled": "Stalled", "lost": "Lost"})
