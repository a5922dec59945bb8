"""Allow-listed filters of each API list (django-filter). Nothing from the query string reaches filter() unchecked.

Custom properties filter by equality as `properties.<key>=<value>`, only for keys an admin has defined; the value
is parsed by the property's type (so `properties.seats=5` matches the number 5).
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils.choices import CallableChoiceIterator
from django_filters import fields as filter_fields
from django_filters import rest_framework as filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from smarketing.accounts.models import Role, Team, TeamKind, User
from smarketing.api.serializers.activity import KindField
from smarketing.crm import queries as queryset_search
from smarketing.crm.models import (
    Company,
    Contact,
    Deal,
    DealStatus,
    LeadStatus,
    LifecycleStage,
    Note,
    ObjectType,
    PropertyDefinition,
    Stage,
    Task,
)
from smarketing.crm.normalize import normalize_domain
from smarketing.crm.properties import clean_value
from smarketing.timeline.kinds import kind_choices
from smarketing.timeline.models import Team as TouchTeam
from smarketing.timeline.models import Touchpoint

PROPERTY_PREFIX = "properties."


def _term(value: str) -> str:
    """A search term as the UI's search reads it: lowercased, single spaces."""
    return " ".join(value.lower().split())


MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.Filter):
    field_class = forms.IntegerField


def _id(**kwargs):
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


class PropertyFilterSet(filters.FilterSet):
    """Adds `properties.<key>` equality filters for the object type's defined properties."""

    object_type: str = ""

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        wanted = {k[len(PROPERTY_PREFIX) :]: v for k, v in self.data.items() if k.startswith(PROPERTY_PREFIX)}
        if not wanted:
            return queryset
        defined = {d.key: d for d in PropertyDefinition.objects.filter(object_type=self.object_type)}
        errors = {}
        for key, raw in wanted.items():
            definition = defined.get(key)
            if definition is None:
                errors[PROPERTY_PREFIX + key[:50]] = ["No such property; see GET /api/v1/properties/."]
                continue
            try:
                value = clean_value(definition, raw)
            except DjangoValidationError as exc:
                errors[PROPERTY_PREFIX + key] = exc.messages
                continue
            if value is None:
                queryset = queryset.filter(Q(**{f"custom__{key}__isnull": True}))
            else:
                # `key` comes from a PropertyDefinition (a slug), never straight from the query string.
                queryset = queryset.filter(**{f"custom__{key}": value})
        if errors:
            raise ValidationError(errors)
        return queryset


class ContactFilter(PropertyFilterSet):
    object_type = ObjectType.CONTACT

    q = filters.CharFilter(method="search", max_length=100, help_text="Prefix of the email, full name or last name.")
    email = filters.CharFilter(method="exact_lower", max_length=254)
    lifecycle_stage = filters.ChoiceFilter(choices=LifecycleStage.choices)
    lead_status = filters.ChoiceFilter(choices=LeadStatus.choices)
    owner = _id(field_name="owner_id")
    company = _id(field_name="company_id")
    first_source = filters.CharFilter(max_length=50)
    external_id = filters.CharFilter(max_length=100)
    created_at = DateTimeRangeFilter()
    updated_at = DateTimeRangeFilter()

    class Meta:
        model = Contact
        fields = []

    def search(self, queryset, name, value):
        term = _term(value)
        return queryset_search.search_contacts(queryset, term) if term else queryset

    def exact_lower(self, queryset, name, value):
        return queryset.filter(**{name: value.strip().lower()})


class CompanyFilter(PropertyFilterSet):
    object_type = ObjectType.COMPANY

    q = filters.CharFilter(method="search", max_length=100, help_text="Prefix of the name or domain.")
    domain = filters.CharFilter(
        method="by_domain", max_length=253, help_text="Any form: acme.com, https://www.acme.com"
    )
    owner = _id(field_name="owner_id")
    industry = filters.CharFilter(max_length=100)
    country = filters.CharFilter(max_length=100)
    external_id = filters.CharFilter(max_length=100)
    created_at = DateTimeRangeFilter()
    updated_at = DateTimeRangeFilter()

    class Meta:
        model = Company
        fields = []

    def search(self, queryset, name, value):
        term = _term(value)
        return queryset_search.search_companies(queryset, term) if term else queryset

    def by_domain(self, queryset, name, value):
        try:
            domain = normalize_domain(value)
        except DjangoValidationError as exc:
            raise ValidationError({"domain": exc.messages})
        return queryset.filter(domain=domain) if domain else queryset


class DealFilter(PropertyFilterSet):
    object_type = ObjectType.DEAL

    q = filters.CharFilter(method="search", max_length=100, help_text="Part of the deal name.")
    pipeline = _id(field_name="pipeline_id")
    stage = _id(field_name="stage_id")
    status = filters.ChoiceFilter(choices=DealStatus.choices)
    owner = _id(field_name="owner_id")
    company = _id(field_name="company_id")
    contact = _id(field_name="deal_contacts__contact", method="by_contact", help_text="Deals this contact is on.")
    source = filters.CharFilter(max_length=50)
    external_id = filters.CharFilter(max_length=100)
    amount = filters.RangeFilter()
    close_date = filters.DateFromToRangeFilter()
    created_at = DateTimeRangeFilter()
    updated_at = DateTimeRangeFilter()

    class Meta:
        model = Deal
        fields = []

    def search(self, queryset, name, value):
        term = _term(value)
        return queryset_search.search_deals(queryset, term) if term else queryset

    def by_contact(self, queryset, name, value):
        return queryset.filter(deal_contacts__contact_id=value)


class StageFilter(filters.FilterSet):
    pipeline = _id(field_name="pipeline_id")
    outcome = filters.ChoiceFilter(choices=Stage.Outcome.choices)

    class Meta:
        model = Stage
        fields = []


@extend_schema_field(KindField)  # documented as the TouchpointKind enum, like the touchpoint's own field
class KindFilter(filters.MultipleChoiceFilter):
    """Touchpoint kinds, read from the catalogue on every request: a kind any app declares is filterable."""


class TouchpointFilter(filters.FilterSet):
    contact = _id(field_name="contact_id")
    company = _id(field_name="company_id")
    deal = _id(field_name="deal_id")
    campaign = _id(field_name="campaign_id")
    kind = KindFilter(choices=CallableChoiceIterator(kind_choices))
    team = filters.ChoiceFilter(choices=TouchTeam.choices)
    occurred_at = DateTimeRangeFilter()

    class Meta:
        model = Touchpoint
        fields = []


class TaskFilter(filters.FilterSet):
    owner = _id(field_name="owner_id")
    contact = _id(field_name="contact_id")
    company = _id(field_name="company_id")
    deal = _id(field_name="deal_id")
    kind = filters.ChoiceFilter(choices=Task.Kind.choices)
    completed = filters.BooleanFilter(method="by_completed")
    due_at = DateTimeRangeFilter()

    class Meta:
        model = Task
        fields = []

    def by_completed(self, queryset, name, value):
        return queryset.filter(completed_at__isnull=not value)


class NoteFilter(filters.FilterSet):
    contact = _id(field_name="contact_id")
    company = _id(field_name="company_id")
    deal = _id(field_name="deal_id")
    author = _id(field_name="author_id")

    class Meta:
        model = Note
        fields = []


class PropertyDefinitionFilter(filters.FilterSet):
    object_type = filters.ChoiceFilter(choices=ObjectType.choices)

    class Meta:
        model = PropertyDefinition
        fields = []


class UserFilter(filters.FilterSet):
    team = _id(field_name="team_id")
    role = filters.ChoiceFilter(choices=Role.choices)
    is_active = filters.BooleanFilter()

    class Meta:
        model = User
        fields = []


class TeamFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=TeamKind.choices)

    class Meta:
        model = Team
        fields = []
