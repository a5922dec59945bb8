"""Publishing domain events into the outbox (core.Event). Services call publish() inside their transaction."""

from django.db import transaction

from smarketing.core.models import Event

# Every event name the product emits; webhooks subscribe to these.
EVENT_NAMES = {
    "contact.created": "Contact created",
    "contact.updated": "Contact updated",
    "contact.deleted": "Contact deleted",
    "contact.merged": "Contacts merged",
    "contact.lifecycle_changed": "Lifecycle stage changed",
    "contact.erased": "Contact erased (privacy request)",
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

_after_commit_hooks = []


def on_published(func):
    """Register a function to run after a transaction that published events commits (e.g. enqueue fan-out)."""
    _after_commit_hooks.append(func)
    return func


def publish(name: str, obj, payload: dict) -> Event:
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown event {name!r}")
    event = Event.objects.create(
        name=name,
        object_type=f"{obj._meta.app_label}.{obj._meta.model_name}",
        object_id=str(obj.pk),
        payload=payload,
    )
    notify_on_commit()
    return event


def notify_on_commit() -> None:
    """Run the subscribers' hooks after the current transaction commits.

    publish() calls it for each event; bulk writers that insert many Event rows at once call it once per batch.
    """
    for hook in _after_commit_hooks:
        transaction.on_commit(hook)
