"""The audit log: one function that every service calls after a write."""

from typing import Any

from django.db import models

from smarketing.core.models import AuditEntry, Origin


def object_type_of(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if isinstance(value, models.Model):
        return value.pk
    return str(value)


def actor_user(actor):
    """The user an `actor` foreign key stores: the person; for the system actor (accounts.access.SystemActor),
    the person it acts for or None. Duck-typed because core sits below accounts."""
    if getattr(actor, "is_system_actor", False):
        actor = actor.on_behalf_of
    return actor if getattr(actor, "pk", None) else None


def actor_origin(actor, origin: str) -> str:
    """What caused the write: a system actor carries its own origin (import, workflow, seed, ...)."""
    return actor.origin if getattr(actor, "is_system_actor", False) else origin


def record_audit(
    *,
    actor,
    action: str,
    obj: models.Model,
    changes: dict | None = None,
    origin: str = Origin.UI,
    object_repr: str | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor_user(actor),
        origin=actor_origin(actor, origin),
        action=action,
        object_type=object_type_of(obj),
        object_id=str(obj.pk),
        object_repr=(object_repr if object_repr is not None else str(obj))[:200],
        changes={k: [jsonable(a), jsonable(b)] for k, (a, b) in (changes or {}).items()},
    )
