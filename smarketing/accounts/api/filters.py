"""The allow-listed filters of the users and teams lists."""

from django_filters import rest_framework as filters

from smarketing.accounts.models import Role, Team, TeamKind, User
from smarketing.api.filters import id_filter


class UserFilter(filters.FilterSet):
    team = id_filter(field_name="team_id")
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
