"""The allow-listed filters of the touchpoints list."""

from django.utils.choices import CallableChoiceIterator
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from smarketing.api.filters import DateTimeRangeFilter, id_filter
from smarketing.timeline.api.serializers import KindField
from smarketing.timeline.kinds import kind_choices
from smarketing.timeline.models import Team, Touchpoint


@extend_schema_field(KindField)  # documented as the TouchpointKind enum, like the touchpoint's own field
class KindFilter(filters.MultipleChoiceFilter):
    """Touchpoint kinds, read from the catalogue on every request: a kind any app declares is filterable."""


class TouchpointFilter(filters.FilterSet):
    contact = id_filter(field_name="contact_id")
    company = id_filter(field_name="company_id")
    deal = id_filter(field_name="deal_id")
    campaign = id_filter(field_name="campaign_id")
    kind = KindFilter(choices=CallableChoiceIterator(kind_choices))
    team = filters.ChoiceFilter(choices=Team.choices)
    occurred_at = DateTimeRangeFilter()

    class Meta:
        model = Touchpoint
        fields = []
