"""The schema of a form's fields (`Form.fields`), its validation, and the cleaning of one submitted value.

One field is a dict:

    key          a slug, unique in the form: the name of the input and of the value in `FormSubmission.data`
    label        what the visitor reads ("Work email")
    type         one of FIELD_TYPES
    maps_to      where the value goes: one of contact_targets() / company_targets(), or "" (submission only)
    required     bool
    choices      for select/radio/checkboxes: the allowed answers
    placeholder, help_text   optional words
    source       hidden fields only: where the page fills the value from: a query parameter of the page URL
                 (utm_source, utm_medium, utm_campaign, utm_term, utm_content, gclid, or any name in
                 HIDDEN_SOURCES) or "static" with `value`
    value        a hidden field's fixed value (source "static")
    progressive  bool: skipped for a recognised visitor whose contact already has a value there

Every submitted value goes through `clean_value()`; nothing outside the declared keys is ever kept.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

FIELD_TYPES = {
    "text": "Single line text",
    "textarea": "Paragraph",
    "email": "Email",
    "phone": "Phone",
    "number": "Number",
    "select": "Dropdown",
    "radio": "Radio buttons",
    "checkboxes": "Checkboxes",
    "checkbox": "Single checkbox",
    "date": "Date",
    "hidden": "Hidden",
}
CHOICE_TYPES = {"select", "radio", "checkboxes"}
HIDDEN_SOURCES = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "static")

# The built-in properties a form may write, with the longest value each column takes.
CONTACT_FIELDS = {
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "title": 150,
    "phone": 50,
    "time_zone": 64,
}
COMPANY_FIELDS = {"name": 200, "domain": 253, "industry": 100, "country": 100, "employees": None}

MAX_FIELDS = 50
MAX_TEXT = 2000  # a textarea's longest value; single-line fields stop at 500 or the column's length
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def custom_keys(object_type: str) -> dict[str, str]:
    """The custom properties of contacts or companies: {key: type}."""
    from smarketing.crm.models import PropertyDefinition

    return dict(PropertyDefinition.objects.filter(object_type=object_type).values_list("key", "type"))


def contact_targets() -> list[str]:
    return [f"contact.{name}" for name in CONTACT_FIELDS] + [f"contact.custom.{key}" for key in custom_keys("contact")]


def company_targets() -> list[str]:
    return [f"company.{name}" for name in COMPANY_FIELDS] + [f"company.custom.{key}" for key in custom_keys("company")]


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: str
    maps_to: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    placeholder: str = ""
    help_text: str = ""
    source: str = ""
    value: str = ""
    progressive: bool = False

    @property
    def max_length(self) -> int:
        if self.type == "textarea":
            return MAX_TEXT
        _, _, name = self.maps_to.partition(".")
        column = {**CONTACT_FIELDS, **COMPANY_FIELDS}.get(name) if self.maps_to.count(".") == 1 else None
        return column or 500


def parse(fields: list[dict]) -> list[Field]:
    """The form's stored fields as `Field`s (already validated when they were saved)."""
    return [
        Field(
            key=f["key"],
            label=f.get("label", ""),
            type=f["type"],
            maps_to=f.get("maps_to", ""),
            required=bool(f.get("required")),
            choices=tuple(f.get("choices") or ()),
            placeholder=f.get("placeholder", ""),
            help_text=f.get("help_text", ""),
            source=f.get("source", ""),
            value=f.get("value", ""),
            progressive=bool(f.get("progressive")),
        )
        for f in fields
    ]


def validate_definition(fields) -> list[dict]:
    """Check a whole field list (from the builder or the API); return it normalised, or raise ValidationError
    with one message per problem ("Field 3 (plan): a dropdown needs at least one choice")."""
    if not isinstance(fields, list):
        raise ValidationError("Fields must be a list.")
    if len(fields) > MAX_FIELDS:
        raise ValidationError(f"A form has at most {MAX_FIELDS} fields.")
    targets = set(contact_targets()) | set(company_targets())
    errors, seen_keys, seen_targets, clean = [], set(), set(), []
    for position, raw in enumerate(fields, start=1):
        if not isinstance(raw, dict):
            errors.append(f"Field {position}: must be an object.")
            continue
        key = str(raw.get("key", "")).strip()
        where = f"Field {position} ({key or 'no key'})"
        kind = raw.get("type")
        maps_to = str(raw.get("maps_to") or "")
        if not KEY_RE.match(key):
            errors.append(f"{where}: the key must be lowercase letters, digits and _, starting with a letter.")
        elif key in seen_keys:
            errors.append(f"{where}: another field already uses this key.")
        seen_keys.add(key)
        if kind not in FIELD_TYPES:
            errors.append(f"{where}: unknown type {kind!r}.")
        if maps_to and maps_to not in targets:
            errors.append(f"{where}: {maps_to!r} is not a contact or company property.")
        elif maps_to and maps_to in seen_targets:
            errors.append(f"{where}: another field already fills {maps_to}.")
        seen_targets.add(maps_to) if maps_to else None
        label = str(raw.get("label") or "").strip()[:200]
        if kind != "hidden" and not label:
            errors.append(f"{where}: a visible field needs a label.")
        choices = [str(c).strip()[:200] for c in raw.get("choices") or [] if str(c).strip()]
        if kind in CHOICE_TYPES and not choices:
            errors.append(f"{where}: a {FIELD_TYPES[kind].lower()} field needs at least one choice.")
        source = str(raw.get("source") or "")
        if kind == "hidden" and source not in HIDDEN_SOURCES:
            errors.append(f"{where}: a hidden field's source must be one of {', '.join(HIDDEN_SOURCES)}.")
        item = {"key": key, "label": label, "type": kind, "maps_to": maps_to, "required": bool(raw.get("required"))}
        if choices:
            item["choices"] = choices
        for text in ("placeholder", "help_text"):
            if raw.get(text):
                item[text] = str(raw[text]).strip()[:300]
        if kind == "hidden":
            item["source"] = source
            item["value"] = str(raw.get("value") or "")[:500]
            item["required"] = False
        if raw.get("progressive"):
            item["progressive"] = True
        clean.append(item)
    if "contact.email" not in seen_targets and not errors:
        errors.append("A form needs a field mapped to the contact's email, so each submission finds its contact.")
    if errors:
        raise ValidationError(errors)
    return clean


def clean_value(field: Field, raw):
    """One submitted value, cleaned for its field; raises ValidationError with a message for the visitor.
    Returns "" (or [] for checkboxes, False for a checkbox) when the visitor left it empty."""
    if field.type == "checkboxes":
        values = raw if isinstance(raw, list) else ([raw] if raw not in (None, "") else [])
        values = [str(v).strip() for v in values if str(v).strip()]
        unknown = [v for v in values if v not in field.choices]
        if unknown:
            raise ValidationError("Choose from the list.")
        if field.required and not values:
            raise ValidationError("This field is required.")
        return values
    if isinstance(raw, list):
        raw = raw[-1] if raw else ""
    text = "" if raw is None else str(raw).strip()
    if field.type == "checkbox":
        checked = text.lower() in {"1", "true", "on", "yes"}
        if field.required and not checked:
            raise ValidationError("Please tick this box.")
        return checked
    if not text:
        if field.required:
            raise ValidationError("This field is required.")
        return ""
    if len(text) > field.max_length:
        raise ValidationError(f"At most {field.max_length} characters.")
    if field.type == "email":
        text = text.lower()
        validate_email(text)
    elif field.type == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValidationError("Enter a number.") from None
        return int(number) if number.is_integer() else number
    elif field.type == "date":
        from datetime import date

        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValidationError("Enter a date as YYYY-MM-DD.") from None
    elif field.type in {"select", "radio"} and text not in field.choices:
        raise ValidationError("Choose from the list.")
    elif field.type == "phone" and not re.fullmatch(r"[0-9+()./\- ]{3,50}", text):
        raise ValidationError("Enter a phone number.")
    return text
