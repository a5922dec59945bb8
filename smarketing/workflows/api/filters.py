"""The allow-listed filters of the workflow API lists."""

from django_filters import rest_framework as filters

from smarketing.api.filters import DateTimeRangeFilter, id_filter
from smarketing.workflows.models import Enrollment, EnrollmentStatus, Workflow, WorkflowStatus


class WorkflowFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=WorkflowStatus.choices)
    updated_at = DateTimeRangeFilter()

    class Meta:
        model = Workflow
        fields = []


class EnrollmentFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=EnrollmentStatus.choices)
    contact = id_filter()
    workflow = id_filter()
    entered_at = DateTimeRangeFilter()

    class Meta:
        model = Enrollment
        fields = []
