"""The events lead capture publishes into the outbox (webhooks and workflow triggers read them)."""

from smarketing.core.events import declare_events

declare_events(
    {
        "form.submitted": "Form submitted",
        "page.viewed": "Known contact viewed a page",
    }
)
