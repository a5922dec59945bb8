"""The allow-listed filters of /api/v1/assets and /api/v1/messages."""

from django_filters import rest_framework as filters

from smarketing.api.filters import DateTimeRangeFilter, id_filter
from smarketing.content.models import Asset, AssetType, Message, MessageKind, Status
from smarketing.crm.models import LifecycleStage


class AssetFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Status.choices)
    asset_type = filters.ChoiceFilter(choices=AssetType.choices)
    owner = id_filter(field_name="owner_id")
    # One row per asset whatever the filter: each matches a single tag (the funnel pair is unique).
    deal_stage = id_filter(field_name="deal_stages")
    persona = id_filter(field_name="personas")
    product = id_filter(field_name="products")
    funnel_stage = filters.ChoiceFilter(field_name="funnel_stages__lifecycle_stage", choices=LifecycleStage.choices)
    language = filters.CharFilter()
    q = filters.CharFilter(field_name="title", lookup_expr="icontains", help_text="Part of the title.")
    updated_at = DateTimeRangeFilter()

    class Meta:
        model = Asset
        fields = []


class MessageFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=MessageKind.choices)
    status = filters.ChoiceFilter(choices=Status.choices)
    owner = id_filter(field_name="owner_id")
    deal_stage = id_filter(field_name="deal_stages")
    persona = id_filter(field_name="personas")
    product = id_filter(field_name="products")
    competitor = filters.CharFilter(lookup_expr="iexact")
    updated_at = DateTimeRangeFilter()

    class Meta:
        model = Message
        fields = []
