"""The allow-listed filters of the forms API lists."""

from django_filters import rest_framework as filters

from smarketing.api.filters import DateTimeRangeFilter, id_filter
from smarketing.forms.models import Form, FormStatus, FormSubmission, SubmissionStatus


class FormFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=FormStatus.choices)
    campaign = id_filter()
    updated_at = DateTimeRangeFilter()

    class Meta:
        model = Form
        fields = []


class SubmissionFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=SubmissionStatus.choices)
    contact = id_filter()
    created_at = DateTimeRangeFilter()

    class Meta:
        model = FormSubmission
        fields = []
