"""Custom properties: validation of values against admin-made definitions."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from smarketing.crm.models import PropertyDefinition

TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}


def definitions(object_type: str) -> list[PropertyDefinition]:
    return list(PropertyDefinition.objects.filter(object_type=object_type))


def clean_value(definition: PropertyDefinition, raw):
    """A JSON-storable value for `raw`, or None when empty; raises ValidationError with a clear message."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    label = definition.label
    kind = definition.type
    if kind == PropertyDefinition.Type.TEXT:
        value = str(raw).strip()
        if len(value) > 2000:
            raise ValidationError(f"{label}: at most 2000 characters.")
        return value
    if kind == PropertyDefinition.Type.NUMBER:
        if isinstance(raw, bool):
            raise ValidationError(f"{label}: {raw!r} is not a number.")
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            raise ValidationError(f"{label}: {raw!r} is not a number.")
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise ValidationError(f"{label}: {raw!r} is out of range.")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == PropertyDefinition.Type.DATE:
        if isinstance(raw, datetime.date):
            return raw.isoformat()
        try:
            return datetime.date.fromisoformat(str(raw).strip()[:10]).isoformat()
        except ValueError:
            raise ValidationError(f"{label}: {raw!r} is not a date (use YYYY-MM-DD).")
    if kind == PropertyDefinition.Type.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValidationError(f"{label}: {raw!r} is not yes or no.")
    if kind == PropertyDefinition.Type.CHOICE:
        value = str(raw).strip()
        if value not in definition.choices:
            allowed = ", ".join(definition.choices)
            raise ValidationError(f"{label}: {value!r} is not one of {allowed}.")
        return value
    raise ValidationError(f"{label}: unknown property type {kind!r}.")


def clean_custom(object_type: str, data: dict, *, existing: dict | None = None, defs=None) -> dict:
    """Merge `data` into `existing` after validating every key; unknown keys are an error, not dropped."""
    by_key = {d.key: d for d in (defs if defs is not None else definitions(object_type))}
    result = dict(existing or {})
    errors = {}
    for key, raw in data.items():
        definition = by_key.get(key)
        if definition is None:
            errors[key] = f"Unknown property {key!r}."
            continue
        try:
            value = clean_value(definition, raw)
        except ValidationError as exc:
            errors[key] = exc.messages[0]
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    if errors:
        raise ValidationError(errors)
    return result
