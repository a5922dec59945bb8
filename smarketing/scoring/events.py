"""The events lead scoring publishes into the outbox."""

from smarketing.core.events import declare_events

declare_events({"contact.score_changed": "Lead score changed"})
