"""The contract between privacy and the apps that hold personal data: each app answers for its own rows.

An app adds a module `<app>/privacy.py` with one or both of these plain functions:

    def export(subject: Subject) -> dict[str, Any]:
        '''Sections for the contact's export: JSON-ready values, or iterators (streamed as arrays).'''

    def erase(erasure: Erasure) -> dict[str, int]:
        '''Rewrite or delete this app's rows about the person; rows changed per part, e.g. {"scrub_tasks": 3}.'''

and, optionally, `ORDER = <int>` (default 50): hooks run, and export sections appear, by ascending ORDER, then
in INSTALLED_APPS order. privacy.services finds these modules in every installed app and only orchestrates:
the admin check, the audit entries, the one erasure transaction and the streamed JSON. An `erase` runs
inside that transaction (raise to abort the whole erasure); its counts land in ErasureRecord.summary.

This module imports nothing above core, so any app's privacy.py may use it, together with the helpers below
that every scrubber needs (the marker, whole-word matching of identifiers, batched UPDATEs).
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING

from django.apps import apps
from django.utils.module_loading import module_has_submodule

if TYPE_CHECKING:
    from smarketing.crm.models import Contact

MODULE = "privacy"
DEFAULT_ORDER = 50
ERASED = "[erased]"
CONTACT_TYPE = "crm.contact"
# Rows fetched per round trip while exporting or scrubbing; keeps memory flat whatever the history size.
CHUNK = 2000
# Rows changed per UPDATE ... WHERE id IN (...): below SQLite's bound-parameter limit, small enough for PG.
BATCH = 500


@dataclass
class Subject:
    """Whom a privacy request is about, as every export hook receives it."""

    contact: "Contact"
    # The contact's id and the ids of duplicates merged into it, as strings: audit entries and events
    # written about a merged-away duplicate still carry the person's data under the old id.
    object_ids: list[str]


@dataclass
class Erasure(Subject):
    """What each erase hook receives."""

    # `contact` is locked and still holds the original (personal) values: read them, never save them.
    at: datetime
    actor: object
    identifiers: list[str]  # strings that identify the person (email, names, phone, ...), lowercased
    deal_ids: list[int]  # the deals the person is on (their timelines may quote the person)


def erased_email(contact_id: int) -> str:
    """The address an erased contact keeps: unique (the column is), undeliverable (.invalid is reserved)."""
    return f"erased-{contact_id}@erased.invalid"


def hook_modules() -> list[ModuleType]:
    """Every installed app's privacy module, by ORDER then INSTALLED_APPS order (looked up per call, so an
    app installed by a test is found; Python caches the imports)."""
    found = []
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, MODULE):
            found.append(import_module(f"{config.name}.{MODULE}"))
    return sorted(found, key=lambda module: getattr(module, "ORDER", DEFAULT_ORDER))


# ---------------------------------------------------------------------------------------------------------
# Helpers for the hooks


def person(full_name: str | None, email: str | None) -> str | None:
    """How a colleague who touched the record appears in an export."""
    return full_name or email or None


_TOKEN = re.compile(r"[A-Za-z0-9_.:+-]{0,64}\Z")


def mentions(text: str, identifiers: Iterable[str]) -> bool:
    """Does `text` contain one of the identifiers as a whole word (or, for emails, anywhere)?"""
    lowered = text.lower()
    for ident in identifiers:
        if "@" in ident:
            if ident in lowered:
                return True
        elif re.search(r"(?<!\w)" + re.escape(ident) + r"(?!\w)", lowered):
            return True
    return False


def strong_identifiers(identifiers: Iterable[str]) -> list[str]:
    """The identifiers that single the person out (email, full name, phone, external id), for rows that
    belong to no record: a bare first or last name there would also match other people."""
    return [i for i in identifiers if "@" in i or " " in i or any(c.isdigit() for c in i)]


def safe_value(value, identifiers: Iterable[str]) -> bool:
    """Numbers, booleans, null and short code-like strings (no spaces, no "@") that name nobody."""
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and bool(_TOKEN.match(value)) and not mentions(value, identifiers)


def replace_in(value, pattern: re.Pattern):
    """`value` (any JSON) with the pattern replaced by the marker in every string inside it."""
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [replace_in(item, pattern) for item in value]
    if isinstance(value, dict):
        return {key: replace_in(item, pattern) for key, item in value.items()}
    return value


def update_grouped(model, groups: dict[tuple, list[int]], field_names: tuple[str, ...]) -> int:
    """One UPDATE per group of rows that end up identical; `groups` maps the new values (JSON fields as
    json.dumps text, so they can be dict keys) to row ids. Empties `groups`; returns rows changed."""
    changed = 0
    for key, ids in groups.items():
        values = dict(zip(field_names, key, strict=True))
        for name in field_names:
            if name in ("details", "changes"):
                values[name] = json.loads(values[name])
        changed += model.objects.filter(pk__in=ids).update(**values)
    groups.clear()
    return changed
