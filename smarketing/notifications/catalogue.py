"""The catalogue of notification kinds: each app declares the ones it sends, next to its code.

An app lists them in its `kinds.py` (the module where it already declares its touchpoint kinds):

    from smarketing.notifications.catalogue import NotificationKind

    TASK_ASSIGNED = "task_assigned"
    NOTIFICATION_KINDS = [
        NotificationKind(TASK_ASSIGNED, "A task is assigned to me", email_default=True),
    ]

`notify()` refuses a kind no app declares, and the preferences page offers every declared kind. The label
says what happened in the words of the person notified: it is the line on the preferences page.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from importlib import import_module

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import module_has_submodule

KEY_MAX_LENGTH = 50


@dataclass(frozen=True)
class NotificationKind:
    """One kind of notification: its key, its label for people, and whether email is on until a user says."""

    key: str
    label: str
    description: str = ""
    email_default: bool = False
    app_label: str = ""  # filled in by the catalogue


class UnknownNotificationKind(ValueError):
    """notify() was given a kind no installed app declares."""


def build_catalogue(declarations: Iterable[tuple[str, Iterable[NotificationKind]]]) -> dict[str, NotificationKind]:
    catalogue: dict[str, NotificationKind] = {}
    for app_label, kinds in declarations:
        for declared in kinds:
            where = f"notification kind {declared.key!r} of {app_label!r}"
            if declared.key in catalogue:
                raise ImproperlyConfigured(f"{where} is already declared by {catalogue[declared.key].app_label!r}.")
            if not declared.key or len(declared.key) > KEY_MAX_LENGTH:
                raise ImproperlyConfigured(f"{where}: a key has 1 to {KEY_MAX_LENGTH} characters.")
            catalogue[declared.key] = replace(declared, app_label=app_label)
    return catalogue


def _installed_declarations() -> Iterable[tuple[str, list[NotificationKind]]]:
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, "kinds"):
            module = import_module(f"{config.name}.kinds")
            yield config.label, getattr(module, "NOTIFICATION_KINDS", [])


@cache
def _catalogue() -> dict[str, NotificationKind]:
    return build_catalogue(_installed_declarations())


@receiver(setting_changed)
def _forget_on_app_change(*, setting: str, **kwargs) -> None:
    if setting == "INSTALLED_APPS":
        _catalogue.cache_clear()


def load() -> None:
    _catalogue.cache_clear()
    _catalogue()


def all_kinds() -> list[NotificationKind]:
    """Every declared kind, in INSTALLED_APPS order, then each app's declaration order."""
    return list(_catalogue().values())


def get_kind(key: str) -> NotificationKind:
    try:
        return _catalogue()[key]
    except (KeyError, TypeError):
        raise UnknownNotificationKind(
            f"unknown notification kind {key!r}: declare it in NOTIFICATION_KINDS in its app's kinds.py"
        ) from None


def label(key: str) -> str:
    """The kind's label; a stored kind no app declares any more shows its key in words."""
    declared = _catalogue().get(key)
    return declared.label if declared else key.replace("_", " ").capitalize()
