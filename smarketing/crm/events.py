"""The events the CRM publishes into the outbox (webhooks and later consumers subscribe to these)."""

from smarketing.core.events import declare_events

declare_events(
    {
        "contact.created": "Contact created",
        "contact.updated": "Contact updated",
        "contact.deleted": "Contact deleted",
        "contact.merged": "Contacts merged",
        "contact.lifecycle_changed": "Lifecycle stage changed",
        "company.created": "Company created",
        "company.updated": "Company updated",
        "company.deleted": "Company deleted",
        "deal.created": "Deal created",
        "deal.updated": "Deal updated",
        "deal.deleted": "Deal deleted",
        "deal.stage_changed": "Deal stage changed",
        "deal.won": "Deal won",
        "deal.lost": "Deal lost",
    }
)
