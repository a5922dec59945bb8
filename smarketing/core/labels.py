"""Words, not codes: the one place that turns a stored code ("no_answer", "import_done", "paid") into a label.

Apps declare the exact labels of their own codes in their `labels.py` (`declare_labels("source", {...})`),
found at startup like their `events.py`. A code nobody declared still reads as words ("no_answer" becomes
"No answer"), and a value that is already text ("Paid Search", kept raw by an import) is shown as it is.
Templates use the `label` and `field_label` filters (`{% load labels %}`); Python code calls `label()`.
"""

import re

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

_vocabularies: dict[str, dict[str, str]] = {}
# A stored code: lowercase words joined by "_", "-" or "." ("no_answer", "import_done", "deal.won").
_CODE = re.compile(r"^[a-z0-9]+(?:[_.\-][a-z0-9]+)*$")


def declare_labels(vocabulary: str, labels: dict[str, str] | list[tuple[str, str]]) -> None:
    """Add labels ({code: label} or Django `choices`) to a vocabulary such as "source" or "audit_action"."""
    _vocabularies.setdefault(vocabulary, {}).update(dict(labels))


def words(code) -> str:
    """A code nobody declared, in words: "no_answer" → "No answer". Text that is not a code stays as it is."""
    text = "" if code is None else str(code)
    if not _CODE.match(text):
        return text
    spaced = re.sub(r"[_.\-]+", " ", text)
    return spaced[:1].upper() + spaced[1:]


def label(code, vocabulary: str = "") -> str:
    """The declared label of `code` in `vocabulary`, or the code in words."""
    if code in (None, ""):
        return ""
    declared = _vocabularies.get(vocabulary, {}).get(str(code))
    return declared if declared is not None else words(code)


def field_label(object_type: str, name: str) -> str:
    """A field of an audited object ("crm.deal", "close_date") as its model calls it ("Close date")."""
    name = str(name or "")
    if name.startswith("custom."):
        return words(name.split(".", 1)[1])
    try:
        model = apps.get_model(object_type)
        return str(model._meta.get_field(name).verbose_name).capitalize()
    except (LookupError, ValueError, FieldDoesNotExist):
        return words(name)


# The actions every app records (core.audit.record_audit); apps declare their own in their labels.py.
declare_labels(
    "audit_action",
    {
        "create": "Created",
        "update": "Changed",
        "delete": "Deleted",
        "merge": "Merged",
        "export": "Exported",
        "import": "Import started",
        # The importer's summary entry (dataio records it; declared here because every import writes one).
        "import_done": "Import finished",
    },
)
