"""Pipelines and stages, custom property definitions, users and teams."""

from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.exceptions import ValidationError
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
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
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

    @transaction.atomic
    def perform_create(self, serializer):
        try:
            with transaction.atomic():
                obj = serializer.save()
        except IntegrityError:  # created concurrently by another admin
            raise ValidationError({"key": ["A property with this key already exists for that object."]})
        record_audit(actor=self.request.user, action="create", obj=obj, origin=Origin.API)

    @transaction.atomic
    def perform_update(self, serializer):
        before = {name: getattr(serializer.instance, name) for name in serializer.validated_data}
        obj = serializer.save()
        changes = {k: (v, getattr(obj, k)) for k, v in before.items() if v != getattr(obj, k)}
        record_audit(actor=self.request.user, action="update", obj=obj, changes=changes, origin=Origin.API)

    @transaction.atomic
    def destroy(self, request, pk=None):
        obj = self.get_object()
        record_audit(actor=request.user, action="delete", obj=obj, origin=Origin.API)
        obj.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
