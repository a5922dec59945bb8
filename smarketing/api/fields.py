"""Serializer building blocks shared by every resource: strict input, expandable associations, properties."""

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from smarketing.crm.properties import clean_custom

MAX_PROPERTY_KEYS = 200


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, read-only fields and values of the wrong JSON type, instead of silently
    dropping or converting them.

    A typo such as {"emial": ...} would otherwise "succeed" and lose the value.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name in data:
                field = self.fields.get(name) if isinstance(name, str) else None
                if field is None:
                    errors[str(name)[:100]] = ["Unknown field."]
                elif field.read_only:
                    errors[name] = ["This field is read-only."]
                elif not _json_type_fits(field, data[name]):
                    errors[name] = ["This value has the wrong type (see the schema)."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _json_type_fits(field, value) -> bool:
    """The JSON type the schema declares for `field`: DRF would turn 5 into "5", "5" into 5 and 1 into True."""
    if value is None:
        return True  # allow_null decides
    if isinstance(field, serializers.BooleanField):
        return isinstance(value, bool)
    if isinstance(field, serializers.IntegerField | serializers.PrimaryKeyRelatedField):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(field, serializers.CharField):
        return isinstance(value, str)
    return True


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    """A ModelSerializer without model-level uniqueness validators: the services report duplicates.

    (ModelSerializer would otherwise add one query per unique field to every write, and a second, racy, copy
    of checks the database and the services already make.)
    """

    def get_validators(self):
        return []

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if "validators" in kwargs:
            kwargs["validators"] = [v for v in kwargs["validators"] if type(v).__name__ != "UniqueValidator"]
        return field_class, kwargs


def expanded(context, name: str) -> bool:
    return name in (context or {}).get("expand", ())


class ExpandableRelatedField(serializers.PrimaryKeyRelatedField):
    """An association written and read as an id; with ?expand=<name> it is read as the object itself.

    The view adds select_related/prefetch_related for every expanded name, so expansion costs no per-row
    queries. Nested objects are not expanded further.
    """

    def __init__(self, *, expand_with, expand_name: str | None = None, **kwargs):
        self.expand_with = expand_with  # a callable returning the serializer class (allows forward references)
        self.expand_name = expand_name
        super().__init__(**kwargs)

    def _expanded(self) -> bool:
        return expanded(self.context, self.expand_name or self.field_name)

    def use_pk_only_optimization(self):
        return not self._expanded()

    def to_representation(self, value):
        if self._expanded():
            return self.expand_with()(value, context={**self.context, "expand": ()}).data
        return value.pk


class OptionalChoiceField(serializers.ChoiceField):
    """A choice the record may lack (stored as ""), read and written as null: "" is not one of the choices.

    An empty string is refused rather than taken as "none", so the schema's enum lists real values only and a
    client clears the value the way every generated client can: with null.
    """

    def __init__(self, **kwargs):
        kwargs["choices"] = [(value, label) for value, label in kwargs["choices"] if value not in ("", None)]
        kwargs["allow_null"] = True
        kwargs.pop("allow_blank", None)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data is None:
            # Turned into "" here (not by DRF, which would pass None through) because the column is NOT NULL.
            return True, ""
        return super().validate_empty_values(data)

    def to_representation(self, value):
        return None if value in ("", None) else super().to_representation(value)


class PropertiesField(serializers.Field):
    """Custom properties as a JSON object; keys must be defined, values are validated by their definition."""

    default_error_messages = {
        "not_object": "Expected an object of property keys to values.",
        "too_many": f"At most {MAX_PROPERTY_KEYS} properties.",
    }

    def __init__(self, *, object_type: str, **kwargs):
        self.object_type = object_type
        kwargs.setdefault("source", "custom")
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value or {}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_object")
        if len(data) > MAX_PROPERTY_KEYS:
            self.fail("too_many")
        errors = {}
        for key, value in data.items():
            if not (value is None or isinstance(value, str | int | float | bool)):
                errors[key] = ["Use a string, number, boolean or null."]
            elif isinstance(value, str) and "\x00" in value:
                errors[key] = ["Contains a NUL character."]
        if errors:
            raise serializers.ValidationError(errors)
        try:
            # Validates the keys and values now, so errors name the property; the service re-cleans and merges.
            clean_custom(self.object_type, data, defs=self.context.get("property_definitions"))
        except DjangoValidationError as exc:
            raise serializers.ValidationError({k: list(v) for k, v in exc.message_dict.items()})
        return data


class JSONObjectField(serializers.Field):
    """A free-form JSON object of bounded size (touchpoint details)."""

    default_error_messages = {
        "not_object": "Expected a JSON object.",
        "too_large": "At most {max_bytes} bytes once encoded.",
        "nul": "Contains a NUL character.",
    }

    def __init__(self, *, max_bytes: int = 10_000, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value or {}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_object")
        if len(json.dumps(data)) > self.max_bytes:
            self.fail("too_large", max_bytes=self.max_bytes)
        if _has_nul(data):  # PostgreSQL's jsonb refuses NUL characters
            self.fail("nul")
        return data


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
