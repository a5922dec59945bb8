"""/api/v1/segments and /api/v1/lists: CRUD, a segment's count and members, a list's members added and removed.

Writes go through segments.services (access checks, validation of the definition, audit); a Django
ValidationError from there becomes a problem+json 400 in the API's exception handler.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from smarketing.api.views.base import ApiViewSet
from smarketing.core.models import Origin
from smarketing.crm.api.serializers import ContactSerializer
from smarketing.crm.models import Contact
from smarketing.segments import queries, services
from smarketing.segments.api.serializers import (
    AddedSerializer,
    ContactListSerializer,
    CountSerializer,
    MemberIdsSerializer,
    RemovedSerializer,
    SegmentSerializer,
)
from smarketing.segments.models import ContactList, Segment

MEMBER_FIELDS = ("company", "owner")


class _CrudViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    default_ordering = "-id"

    def members_page(self, contacts):
        page = self.paginate_queryset(contacts.select_related(*MEMBER_FIELDS))
        return self.get_paginated_response(
            ContactSerializer(page, many=True, context=self.get_serializer_context()).data
        )


@extend_schema_view(
    list=extend_schema(summary="List segments"),
    retrieve=extend_schema(summary="Get a segment"),
    create=extend_schema(summary="Create a segment (its definition is validated)"),
    partial_update=extend_schema(summary="Change a segment's name, description, definition or archived flag"),
    destroy=extend_schema(summary="Delete a segment no other segment refers to"),
)
class SegmentViewSet(_CrudViewSet):
    queryset = Segment.objects.all()
    serializer_class = SegmentSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.create_segment(
            self.request.user,
            name=data.get("name", ""),
            description=data.get("description", ""),
            definition=data.get("definition"),
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        segment = serializer.instance
        archived = data.pop("archived", None)
        if data:
            services.update_segment(self.request.user, segment, **data)
        if archived is not None:
            services.archive_segment(self.request.user, segment, archived)

    def destroy(self, request, pk=None):
        services.delete_segment(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Count a segment's contacts now", request=None, responses={200: CountSerializer})
    @action(detail=True, methods=["get"])
    def count(self, request, pk=None):
        segment = self.get_object()
        queries.record_count(segment)
        return Response({"count": segment.last_count, "counted_at": segment.counted_at})

    @extend_schema(
        summary="The contacts in a segment now (keyset pages)",
        request=None,
        responses={200: ContactSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def members(self, request, pk=None):
        return self.members_page(queries.members(self.get_object()))


@extend_schema_view(
    list=extend_schema(summary="List static lists"),
    retrieve=extend_schema(summary="Get a static list"),
    create=extend_schema(summary="Create a static list"),
    partial_update=extend_schema(summary="Change a list's name, description or archived flag"),
    destroy=extend_schema(summary="Delete a list no segment refers to (the contacts stay)"),
)
class ContactListViewSet(_CrudViewSet):
    queryset = ContactList.objects.all()
    serializer_class = ContactListSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        contact_list = services.create_list(
            self.request.user, name=data.get("name", ""), description=data.get("description", "")
        )
        if data.get("archived"):
            services.update_list(self.request.user, contact_list, archived=True)
        serializer.instance = contact_list

    def perform_update(self, serializer):
        serializer.instance = services.update_list(self.request.user, serializer.instance, **serializer.validated_data)

    def destroy(self, request, pk=None):
        services.delete_list(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _ids(self, request) -> list[int]:
        serializer = MemberIdsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["contact_ids"]

    @extend_schema(
        methods=["get"],
        summary="The contacts on a list (keyset pages)",
        request=None,
        responses={200: ContactSerializer(many=True)},
    )
    @extend_schema(
        methods=["post"],
        summary="Add contacts to a list by id",
        request=MemberIdsSerializer,
        responses={200: AddedSerializer},
    )
    @extend_schema(
        methods=["delete"],
        summary="Remove contacts from a list by id",
        request=MemberIdsSerializer,
        responses={200: RemovedSerializer},
    )
    @action(detail=True, methods=["get", "post", "delete"])
    def members(self, request, pk=None):
        contact_list = self.get_object()
        if request.method == "GET":
            return self.members_page(Contact.objects.filter(list_memberships__contact_list=contact_list))
        ids = self._ids(request)
        if request.method == "POST":
            return Response({"added": services.add_to_list(request.user, contact_list, ids, Origin.API)})
        return Response({"removed": services.remove_from_list(request.user, contact_list, ids, Origin.API)})

    @extend_schema(
        summary="Remove contacts from a list by id (for clients that cannot send a DELETE body)",
        request=MemberIdsSerializer,
        responses={200: RemovedSerializer},
    )
    @action(detail=True, methods=["post"], url_path="members/remove")
    def remove_members(self, request, pk=None):
        contact_list = self.get_object()
        return Response(
            {"removed": services.remove_from_list(request.user, contact_list, self._ids(request), Origin.API)}
        )
