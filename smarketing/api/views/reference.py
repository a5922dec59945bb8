"""Pipelines and stages, custom property definitions, users and teams."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from smarketing.accounts.models import Team, User
from smarketing.api.filters import PropertyDefinitionFilter, StageFilter, TeamFilter, UserFilter
from smarketing.api.permissions import AdminWritesPermission, TokenScopePermission
from smarketing.api.serializers.reference import (
    PipelineSerializer,
    PropertyDefinitionSerializer,
    StageSerializer,
    TeamSerializer,
    UserSerializer,
)
from smarketing.api.views.base import ApiViewSet
from smarketing.core.models import Origin
from smarketing.crm import services
from smarketing.crm.models import Pipeline, PropertyDefinition, Stage


class ReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    http_method_names = ["get", "head", "options"]


@extend_schema_view(
    list=extend_schema(summary="List pipelines with their stages"), retrieve=extend_schema(summary="Get a pipeline")
)
class PipelineViewSet(ReadOnlyViewSet):
    queryset = Pipeline.objects.prefetch_related("stages")
    serializer_class = PipelineSerializer
    ordering_fields = {"position": "position"}
    default_ordering = "position"


@extend_schema_view(list=extend_schema(summary="List deal stages"), retrieve=extend_schema(summary="Get a stage"))
class StageViewSet(ReadOnlyViewSet):
    queryset = Stage.objects.all()
    serializer_class = StageSerializer
    filterset_class = StageFilter
    ordering_fields = {"position": "position"}
    default_ordering = "id"


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


@extend_schema_view(
    list=extend_schema(summary="List custom property definitions"),
    retrieve=extend_schema(summary="Get a custom property definition"),
    create=extend_schema(summary="Define a custom property (admins)"),
    partial_update=extend_schema(summary="Change a property's label, choices or position (admins)"),
    destroy=extend_schema(summary="Delete a custom property definition (admins)"),
)
class PropertyDefinitionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    queryset = PropertyDefinition.objects.all()
    serializer_class = PropertyDefinitionSerializer
    filterset_class = PropertyDefinitionFilter
    permission_classes = [IsAuthenticated, TokenScopePermission, AdminWritesPermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    default_ordering = "id"

    # The rules (key format, uniqueness, frozen fields, choices) live in crm.services; a Django
    # ValidationError from there becomes a problem+json 400 in the exception handler.
    def perform_create(self, serializer):
        serializer.instance = services.define_property(
            actor=self.request.user, origin=Origin.API, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.update_property(
            serializer.instance, actor=self.request.user, data=serializer.validated_data, origin=Origin.API
        )

    def destroy(self, request, pk=None):
        services.delete_property(self.get_object(), actor=request.user, origin=Origin.API)
        return Response(status=status.HTTP_204_NO_CONTENT)
