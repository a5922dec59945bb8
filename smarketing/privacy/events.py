"""The events the privacy app publishes into the outbox."""

from smarketing.core.events import declare_events

declare_events({"contact.erased": "Contact erased (privacy request)"})
