"""The allow-listed filters of the CRM's API lists.

Custom properties filter by equality as `properties.<key>=<value>`, only for keys an admin has defined; the value
is parsed by the property's type (so `properties.seats=5` matches the number 5).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError

from smarketing.api.filters import DateTimeRangeFilter, id_filter
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

PROPERTY_PREFIX = "properties."


def _term(value: str) -> str:
    """A search term as the UI's search reads it: lowercased, single spaces."""
    return " ".join(value.lower().split())


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
    owner = id_filter(field_name="owner_id")
    company = id_filter(field_name="company_id")
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
    owner = id_filter(field_name="owner_id")
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
    pipeline = id_filter(field_name="pipeline_id")
    stage = id_filter(field_name="stage_id")
    status = filters.ChoiceFilter(choices=DealStatus.choices)
    owner = id_filter(field_name="owner_id")
    company = id_filter(field_name="company_id")
    contact = id_filter(field_name="deal_contacts__contact", method="by_contact", help_text="Deals this contact is on.")
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
    pipeline = id_filter(field_name="pipeline_id")
    outcome = filters.ChoiceFilter(choices=Stage.Outcome.choices)

    class Meta:
        model = Stage
        fields = []


class TaskFilter(filters.FilterSet):
    owner = id_filter(field_name="owner_id")
    contact = id_filter(field_name="contact_id")
    company = id_filter(field_name="company_id")
    deal = id_filter(field_name="deal_id")
    kind = filters.ChoiceFilter(choices=Task.Kind.choices)
    completed = filters.BooleanFilter(method="by_completed")
    due_at = DateTimeRangeFilter()

    class Meta:
        model = Task
        fields = []

    def by_completed(self, queryset, name, value):
        return queryset.filter(completed_at__isnull=not value)


class NoteFilter(filters.FilterSet):
    contact = id_filter(field_name="contact_id")
    company = id_filter(field_name="company_id")
    deal = id_filter(field_name="deal_id")
    author = id_filter(field_name="author_id")

    class Meta:
        model = Note
        fields = []


class PropertyDefinitionFilter(filters.FilterSet):
    object_type = filters.ChoiceFilter(choices=ObjectType.choices)

    class Meta:
        model = PropertyDefinition
        fields = []
