"""Admin-defined custom properties: creating, changing and removing their definitions."""

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.crm import access
from smarketing.crm.models import Company, Contact, Deal, ObjectType, PropertyDefinition

MODELS = {ObjectType.CONTACT: Contact, ObjectType.COMPANY: Company, ObjectType.DEAL: Deal}
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
# Stored values were validated against these; changing them would orphan or silently reinterpret data.
FROZEN = ("object_type", "key", "type")


def _check(object_type: str, key: str, kind: str, choices: list, label: str) -> dict:
    errors = {}
    if object_type not in ObjectType.values:
        errors["object_type"] = "Choose contact, company or deal."
    # "__" would read as an ORM lookup in custom__<key> filters; built-in names would shadow real fields.
    if not KEY_RE.match(key or "") or "__" in key:
        errors["key"] = "Use lowercase letters, digits and single underscores, starting with a letter (e.g. deal_size)."
    elif object_type in MODELS and key in {f.name for f in MODELS[object_type]._meta.get_fields()} | {"id", "custom"}:
        errors["key"] = f"{key!r} is a built-in field of {MODELS[object_type]._meta.verbose_name_plural}."
    if kind not in PropertyDefinition.Type.values:
        errors["type"] = "Choose text, number, date, choice or yes/no."
    if not (label or "").strip():
        errors["label"] = "A property needs a label."
    if not isinstance(choices, list) or not all(isinstance(c, str) and c.strip() for c in choices):
        errors["choices"] = "Choices must be a list of non-empty texts."
    elif kind == PropertyDefinition.Type.CHOICE and not choices:
        errors["choices"] = "A choice property needs at least one choice."
    elif kind != PropertyDefinition.Type.CHOICE and choices:
        errors["choices"] = "Only choice properties have choices."
    elif len({c.strip() for c in choices}) != len(choices):
        errors["choices"] = "Choices must be different from each other."
    elif len(choices) > 200 or any(len(c) > 100 for c in choices):
        errors["choices"] = "At most 200 choices of at most 100 characters."
    if errors:
        raise ValidationError(errors)
    return {"choices": [c.strip() for c in choices]}


def _help(text) -> str:
    text = str(text or "").strip()
    if len(text) > 300:
        raise ValidationError({"help_text": "At most 300 characters."})
    return text


def _taken(object_type: str, key: str) -> str:
    return f"{MODELS[object_type]._meta.verbose_name_plural.capitalize()} already have a {key!r}."


def _describe(definition: PropertyDefinition) -> str:
    return f"{definition.get_object_type_display()} property {definition.key}"


@transaction.atomic
def define_property(
    *,
    actor,
    object_type: str,
    key: str,
    label: str,
    type: str,
    choices: list | None = None,
    position: int = 0,
    help_text: str = "",
    required: bool = False,
    origin: str = Origin.UI,
) -> PropertyDefinition:
    access.require_property_admin(actor)
    cleaned = _check(object_type, key, type, choices or [], label)
    try:
        with transaction.atomic():
            definition = PropertyDefinition.objects.create(
                object_type=object_type,
                key=key,
                label=label.strip()[:100],
                type=type,
                choices=cleaned["choices"],
                position=position,
                help_text=_help(help_text),
                required=bool(required),
            )
    except IntegrityError:  # the unique constraint also catches two admins defining the same key at once
        raise ValidationError({"key": _taken(object_type, key)})
    record_audit(
        actor=actor,
        action="create",
        obj=definition,
        origin=origin,
        object_repr=_describe(definition),
        changes={"type": (None, definition.get_type_display()), "choices": (None, definition.choices)},
    )
    return definition


@transaction.atomic
def update_property(definition: PropertyDefinition, *, actor, data: dict, origin: str = Origin.UI):
    """Change a definition's label, help, choices, required flag or position; its object type, key and type are
    frozen. A choice removed stays on the records that hold it (the record form keeps offering it there)."""
    access.require_property_admin(actor)
    unknown = set(data) - {"label", "choices", "position", "help_text", "required", *FROZEN}
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    for name in FROZEN:
        if name in data and data[name] != getattr(definition, name):
            raise ValidationError({name: "Cannot be changed; create a new property instead."})
    label = data.get("label", definition.label)
    cleaned = _check(
        definition.object_type, definition.key, definition.type, data.get("choices", definition.choices), label
    )
    changes = {}
    for name, value in (
        ("label", label.strip()[:100]),
        ("choices", cleaned["choices"]),
        ("position", data.get("position", definition.position)),
        ("help_text", _help(data.get("help_text", definition.help_text))),
        ("required", bool(data.get("required", definition.required))),
    ):
        if getattr(definition, name) != value:
            changes[name] = (getattr(definition, name), value)
            setattr(definition, name, value)
    if changes:
        definition.save(update_fields=list(changes))
        record_audit(
            actor=actor,
            action="update",
            obj=definition,
            origin=origin,
            object_repr=_describe(definition),
            changes=changes,
        )
    return definition


@transaction.atomic
def delete_property(definition: PropertyDefinition, *, actor, origin: str = Origin.UI) -> None:
    """Values already stored on records stay in their `custom` data; they are no longer shown or validated."""
    access.require_property_admin(actor)
    record_audit(actor=actor, action="delete", obj=definition, origin=origin, object_repr=_describe(definition))
    definition.delete()
