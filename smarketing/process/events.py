"""The outbox events of the handoff."""

from smarketing.core.events import declare_events

declare_events(
    {
        "lead.routed": "MQL handed to a sales rep",
        "lead.accepted": "Lead accepted by sales",
        "lead.rejected": "Lead rejected by sales",
        "sla.breached": "Handoff SLA breached",
    }
)
