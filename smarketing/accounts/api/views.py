"""Users and teams (read-only)."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from smarketing.accounts.api.filters import TeamFilter, UserFilter
from smarketing.accounts.api.serializers import TeamSerializer, UserSerializer
from smarketing.accounts.models import Team, User
from smarketing.api.views.base import ReadOnlyViewSet


@extend_schema_view(list=extend_schema(summary="List users"), retrieve=extend_schema(summary="Get a user"))
class UserViewSet(ReadOnlyViewSet):
    queryset = User.objects.all()
    serializer_class = UserSerializer
    filterset_class = UserFilter
    ordering_fields = {"email": "email"}
    default_ordering = "id"


@extend_schema_view(list=extend_schema(summary="List teams"), retrieve=extend_schema(summary="Get a team"))
class TeamViewSet(ReadOnlyViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    ordering_fields = {"name": "name"}
    default_ordering = "id"
