"""The events workflows publish into the outbox."""

from smarketing.core.events import declare_events

declare_events(
    {
        "workflow.enrolled": "Contact enrolled in a workflow",
        "workflow.completed": "Contact completed a workflow",
    }
)
