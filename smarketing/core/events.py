"""Publishing domain events into the outbox (core.Event), and the catalogue of declared event names.

Each app declares the events it emits in its own `events.py`, next to its code:

    # smarketing/crm/events.py
    from smarketing.core.events import declare_events

    declare_events({"deal.won": "Deal won", ...})

CoreConfig.ready() imports every installed app's `events` module, so the catalogue is complete once Django has
started. publish() refuses a name nobody declared; webhooks offer the catalogue as subscription choices. Adding an
event touches only the app that emits it.

Services call publish() inside their transaction. After a commit that published events, the hooks registered
with on_published() run (the outbox wakes its consumers, see smarketing/jobs/outbox.py).
"""

import inspect
from dataclasses import dataclass

from django.db import transaction

from smarketing.core.models import Event


@dataclass(frozen=True)
class EventType:
    """One declared event name, its label for people, and the module that declared it."""

    name: str
    label: str
    declared_by: str


_catalogue: dict[str, EventType] = {}
_after_commit_hooks = []


def declare_events(events: dict[str, str], *, declared_by: str = "") -> None:
    """Declare event names ({name: label}) an app publishes. Declaring a name twice from two modules is an error."""
    declared_by = declared_by or inspect.currentframe().f_back.f_globals.get("__name__", "")
    for name, label in events.items():
        known = _catalogue.get(name)
        if known and known.declared_by != declared_by:
            raise ValueError(f"event {name!r} is already declared by {known.declared_by}")
        _catalogue[name] = EventType(name=name, label=label, declared_by=declared_by)


def event_types() -> list[EventType]:
    """Every declared event, in declaration order (apps in INSTALLED_APPS order)."""
    return list(_catalogue.values())


def event_label(name: str) -> str:
    known = _catalogue.get(name)
    return known.label if known else name


def check_declared(name: str) -> None:
    """Raise ValueError for an event name no app declared (a typo would otherwise reach subscribers)."""
    if name not in _catalogue:
        raise ValueError(f"unknown event {name!r}: declare it in its app's events.py")


def on_published(func):
    """Register a function to run after a transaction that published events commits (e.g. wake consumers)."""
    if func not in _after_commit_hooks:
        _after_commit_hooks.append(func)
    return func


def publish(name: str, obj, payload: dict) -> Event:
    check_declared(name)
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
