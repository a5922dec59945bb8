"""The allow-listed filters of the email API lists (templates and campaigns)."""

from django_filters import rest_framework as filters

from smarketing.api.filters import DateTimeRangeFilter
from smarketing.email.models import CampaignStatus, EditorMode, EmailCampaign, EmailTemplate


class EmailTemplateFilter(filters.FilterSet):
    archived = filters.BooleanFilter()
    mode = filters.ChoiceFilter(choices=EditorMode.choices)
    updated_at = DateTimeRangeFilter()

    class Meta:
        model = EmailTemplate
        fields = []


class CampaignFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=CampaignStatus.choices)
    created_at = DateTimeRangeFilter()
    started_at = DateTimeRangeFilter()

    class Meta:
        model = EmailCampaign
        fields = []
