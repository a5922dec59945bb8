"""The catalogue of touchpoint kinds. Each app declares its own kinds in `<app>/kinds.py`; timeline collects them.

An app's kinds module holds a `KINDS` list of `TouchKind`s (and a constant per key for its own code). The
catalogue is the union over the installed apps, checked at startup (`TimelineConfig.ready`) so a duplicate or
malformed declaration stops the process there instead of on the first page view. Adding a kind touches one app
only: the column has no fixed choices (no migration), the timeline renders any declared kind (the generic item
or the kind's own template), and the API and the UI filters read this catalogue.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cache
from importlib import import_module

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import module_has_submodule

from smarketing.core.labels import words
from smarketing.timeline.models import Team, Touchpoint

KEY_MAX_LENGTH = Touchpoint._meta.get_field("kind").max_length
GENERIC_TEMPLATE = "timeline/item.html"


class UnknownKind(ValueError):
    """A kind no installed app declares."""


@dataclass(frozen=True)
class TouchKind:
    """One kind of touch, as the app that writes it declares it."""

    key: str
    label: str
    team: str  # who usually writes it: record_touch's default team, and the API's
    icon: str = ""  # a short symbol shown before the label; none keeps the plain look
    # A template extending timeline/item.html (overriding its blocks); empty renders the generic item.
    template: str = ""
    # API clients may record it. System facts (records created, stages moved) come from the services that make
    # those changes, so a client cannot forge them.
    api_creatable: bool = False
    # Called once per page with that kind's touches, to attach what its template shows in one query, not one
    # per row (the note's body, say).
    decorate: Callable[[list[Touchpoint]], None] | None = None
    app_label: str = ""  # filled in by the catalogue: the app that declared it

    def __str__(self) -> str:
        return self.key


def build_catalogue(declarations: Iterable[tuple[str, Iterable[TouchKind]]]) -> dict[str, TouchKind]:
    """Check and index (app label, kinds) pairs: every key once, in a known team, short enough for the column."""
    catalogue: dict[str, TouchKind] = {}
    for app_label, kinds in declarations:
        for declared in kinds:
            where = f"touchpoint kind {declared.key!r} declared by {app_label!r}"
            if declared.key in catalogue:
                first = catalogue[declared.key].app_label
                raise ImproperlyConfigured(f"{where} is already declared by {first!r}: each kind has one home.")
            if not declared.key or len(declared.key) > KEY_MAX_LENGTH:
                raise ImproperlyConfigured(f"{where}: a key has 1 to {KEY_MAX_LENGTH} characters.")
            if declared.team not in Team.values:
                raise ImproperlyConfigured(f"{where}: unknown team {declared.team!r}.")
            if declared.api_creatable and declared.team == Team.SYSTEM:
                raise ImproperlyConfigured(f"{where}: system facts are written by services, not API clients.")
            catalogue[declared.key] = replace(declared, app_label=app_label)
    return catalogue


def _installed_declarations() -> Iterable[tuple[str, list[TouchKind]]]:
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, "kinds"):
            module = import_module(f"{config.name}.kinds")
            yield config.label, getattr(module, "KINDS", [])


@cache
def _catalogue() -> dict[str, TouchKind]:
    return build_catalogue(_installed_declarations())


@receiver(setting_changed)
def _forget_on_app_change(*, setting: str, **kwargs) -> None:
    # Tests install an app (and its kinds) with modify_settings; the catalogue follows the installed apps.
    if setting == "INSTALLED_APPS":
        _catalogue.cache_clear()


def load() -> None:
    """Build the catalogue now: called at startup so a bad declaration fails there."""
    _catalogue.cache_clear()
    _catalogue()


def all_kinds() -> list[TouchKind]:
    """Every declared kind, in INSTALLED_APPS order, then each app's declaration order."""
    return list(_catalogue().values())


def api_creatable_kinds() -> list[TouchKind]:
    return [k for k in _catalogue().values() if k.api_creatable]


def is_declared(key: str) -> bool:
    return key in _catalogue()


def find_kind(key: str) -> TouchKind | None:
    return _catalogue().get(key)


def get_kind(key: str) -> TouchKind:
    try:
        return _catalogue()[key]
    except (KeyError, TypeError):
        raise UnknownKind(
            f"unknown touchpoint kind {key!r}: declare it in the KINDS list of its app's kinds.py"
        ) from None


def label(key: str) -> str:
    """The kind's label; a stored kind no app declares any more shows its key in words."""
    declared = _catalogue().get(key)
    return declared.label if declared else words(key)


def kind_labels() -> dict[str, str]:
    return {key: declared.label for key, declared in _catalogue().items()}


def kind_choices() -> list[tuple[str, str]]:
    """(key, label) pairs for filters and forms; pass the function itself where choices may be lazy."""
    return [(k.key, k.label) for k in _catalogue().values()]
