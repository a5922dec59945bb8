"""The filter machinery every API list uses (django-filter): the backend, id and date-time filters.

Each app's filter sets live in its own `api/filters.py`; nothing from the query string reaches filter() unchecked.
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import fields as filter_fields
from django_filters import rest_framework as filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.Filter):
    field_class = forms.IntegerField


def id_filter(**kwargs) -> IdFilter:
    """A positive id (a record's or a related one's), documented with its bounds."""
    return IdFilter(min_value=1, max_value=MAX_ID, **kwargs)


class FilterBackend(DjangoFilterBackend):
    """django-filter, except that an empty value (`?owner=`, `?lifecycle_stage=`) is refused, not ignored, and a
    boolean is true or false.

    Only text filters take "" (and ignore it); for an id, a choice, a date or a boolean, "" is no value of the
    parameter's type, so the schema does not allow it and the API says so instead of returning everything.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            errors = {
                name: ["Give a value, or leave the parameter out."]
                for name in request.query_params
                if _takes_no_blank(filterset_class, name) and "" in request.query_params.getlist(name)
            }
            # django-filter reads anything but true/false ("null", "unknown") as "no filter": refuse it instead.
            errors |= {
                name: ["Use true or false."]
                for name, filter_ in filterset_class.base_filters.items()
                if isinstance(filter_, filters.BooleanFilter)
                and any(v not in ("true", "false") for v in request.query_params.getlist(name))
            }
            if errors:
                raise ValidationError(errors)
        return super().filter_queryset(request, queryset, view)


def _takes_no_blank(filterset_class, name: str) -> bool:
    base = name.removesuffix("_after").removesuffix("_before").removesuffix("_min").removesuffix("_max")
    filter_ = filterset_class.base_filters.get(name) or filterset_class.base_filters.get(base)
    return filter_ is not None and not isinstance(filter_, filters.CharFilter)


class UtcDateTimeField(filter_fields.IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC (refused if it does not exist there: year 1 at +01:00)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            # In UTC: PostgreSQL refuses offsets beyond ±15:59 that Python parses happily ("+20:26").
            return value.astimezone(datetime.UTC)
        except OverflowError:
            raise DjangoValidationError("This date-time is out of range.")


class UtcDateTimeRangeField(filter_fields.RangeField):
    widget = filter_fields.DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((UtcDateTimeField(), UtcDateTimeField()), *args, **kwargs)


class DateTimeRangeFilter(filters.RangeFilter):
    """`<name>_after` and `<name>_before` (inclusive), ISO 8601 with a time zone offset."""

    field_class = UtcDateTimeRangeField
