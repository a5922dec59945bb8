"""The CRM's API resources: contacts, companies and deals (list, read, create, field-level update, delete, batch
upsert, actions), pipelines and stages, custom property definitions, tasks and notes.

Every write goes through crm.services (with origin=API), which checks the same permissions as the UI.
"""

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from smarketing.api import batch
from smarketing.api.permissions import AdminWritesPermission, TokenScopePermission
from smarketing.api.problems import Problem
from smarketing.api.views.base import ApiViewSet, ListCreateViewSet, ReadOnlyViewSet
from smarketing.core.models import Origin
from smarketing.crm import access, services
from smarketing.crm.api import batch as matching
from smarketing.crm.api.filters import (
    CompanyFilter,
    ContactFilter,
    DealFilter,
    NoteFilter,
    PropertyDefinitionFilter,
    StageFilter,
    TaskFilter,
)
from smarketing.crm.api.serializers import (
    AddDealContactSerializer,
    CompanySerializer,
    ContactSerializer,
    DealSerializer,
    LifecycleSerializer,
    MoveDealSerializer,
    NoteInputSerializer,
    NoteSerializer,
    PipelineSerializer,
    PropertyDefinitionSerializer,
    StageSerializer,
    TaskInputSerializer,
    TaskSerializer,
)
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Company, Contact, Deal, DealContact, Note, Pipeline, PropertyDefinition, Stage, Task
from smarketing.crm.services import ConflictError

_ETAG = re.compile(r'^(?:W/)?"?([0-9]{1,9})"?$')

PROPERTIES_FILTER_HELP = (
    "Filters are allow-listed (see parameters). Custom properties filter by equality with "
    "`properties.<key>=<value>` for defined keys only, e.g. `properties.plan=pro`."
)


TARGET_EXPANSIONS = {
    "contact": {"select": ["contact"]},
    "company": {"select": ["company"]},
    # An expanded deal lists its contact ids: one more query for the page, not one per row.
    "deal": {"select": ["deal"], "prefetch": ["deal__deal_contacts"]},
}


def etag(obj) -> str:
    return f'"{obj.version}"'


class RecordViewSet(ApiViewSet):
    """The shared behaviour of contacts, companies and deals."""

    model = None
    route_name = ""
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        # The same gate as the UI: what the user may view. Changes are checked again, per object, by services.
        return self.with_expansions(self.model.objects.for_user(self.request.user, "view"))

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "property_definitions", None) is not None:
            context["property_definitions"] = self.property_definitions
        return context

    # -- reads ------------------------------------------------------------------------------------------

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        obj = self.get_object()
        return Response(self.get_serializer(obj).data, headers={"ETag": etag(obj)})

    def respond(self, obj, code: int = 200) -> Response:
        """The record as stored now (re-read with the requested expansions)."""
        obj = self.get_queryset().get(pk=obj.pk)
        headers = {"ETag": etag(obj)}
        if code == 201:
            headers["Location"] = reverse(f"api:{self.route_name}-detail", args=[obj.pk])
        return Response(self.get_serializer(obj).data, status=code, headers=headers)

    # -- writes -----------------------------------------------------------------------------------------

    def validated(self, data, *, instance=None) -> dict:
        serializer = self.get_serializer(instance, data=data, partial=instance is not None)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def create(self, request):
        data = self.validated(request.data)
        data.pop("version", None)
        return self.respond(self.create_record(data), status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        header_version = self._if_match(request)
        data = self.validated(request.data, instance=obj)
        body_version = data.pop("version", None)
        try:
            obj = self.update_existing(
                obj, data, expected_version=header_version if header_version is not None else body_version
            )
        except ConflictError as exc:
            if header_version is not None:
                raise Problem(412, "precondition-failed", str(exc))
            raise
        return self.respond(obj)

    def destroy(self, request, pk=None):
        services.delete_record(self.get_object(), actor=request.user, origin=Origin.API)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def create_record(self, data: dict):
        raise NotImplementedError

    def update_existing(self, obj, data: dict, *, expected_version: int | None = None):
        return services.update_record(
            obj, actor=self.request.user, data=data, expected_version=expected_version, origin=Origin.API
        )

    def find_existing(self, data: dict):
        """The record a batch-upsert row refers to, or None to create one."""
        raise NotImplementedError

    def batch_update(self, obj, data: dict) -> bool:
        """Apply a batch-upsert row to an existing record; True when anything changed."""
        before = obj.version
        return self.update_existing(obj, data).version != before

    @staticmethod
    def _if_match(request) -> int | None:
        raw = request.headers.get("If-Match")
        if raw is None or raw.strip() == "*":
            return None
        match = _ETAG.match(raw.strip())
        if not match:
            raise Problem(
                400, "validation-error", "Invalid If-Match header.", {"If-Match": ['Send the ETag you read, e.g. "3".']}
            )
        return int(match.group(1))

    # -- batch ------------------------------------------------------------------------------------------

    def batch_upsert(self, request):
        access.require(request.user, "edit")  # a read-only user gets one 403, not 1,000 rejections
        records = batch.records_from(request.data)
        self.property_definitions = matching.definitions_for(self.model)
        results = batch.upsert(self, records)
        return Response(batch.summary(results))


def _batch_schema(serializer_class, match_rule: str):
    return extend_schema(
        summary="Create or update up to 1,000 records",
        description=(
            f"Each record is shaped like a create. {match_rule} Every record gets exactly one outcome: created, "
            "updated, unchanged or rejected (with field errors); a rejected record does not undo the others. "
            "Re-sending the same batch reports every record unchanged. More than 1,000 records: 413."
        ),
        request=batch.request_serializer(serializer_class),
        responses={200: batch.BatchResultSerializer},
    )


@extend_schema_view(
    list=extend_schema(summary="List contacts", description=PROPERTIES_FILTER_HELP),
    retrieve=extend_schema(summary="Get a contact"),
    create=extend_schema(summary="Create a contact"),
    partial_update=extend_schema(
        summary="Update some fields of a contact",
        description="Only the fields sent are changed. A later lifecycle stage moves the contact forward; "
        "moving back (recycling) needs a lifecycle_reason.",
    ),
    destroy=extend_schema(summary="Delete a contact (admins and managers)"),
)
class ContactViewSet(RecordViewSet):
    model = Contact
    route_name = "contact"
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    ordering_fields = {
        "created_at": "created_at",
        "updated_at": "updated_at",
        "email": "email",
        "last_name": "last_key",
        "lifecycle_stage": "lifecycle_stage",
    }
    expandable = {"company": {"select": ["company"]}, "owner": {"select": ["owner"]}}

    def create_record(self, data):
        reason = data.pop("lifecycle_reason", "")
        return services.create_contact(actor=self.request.user, data=data, origin=Origin.API, reason=reason)

    def update_existing(self, obj, data, *, expected_version=None):
        return services.update_record(
            obj,
            actor=self.request.user,
            data=data,
            expected_version=expected_version,
            origin=Origin.API,
            lifecycle_reason=data.pop("lifecycle_reason", ""),
        )

    def find_existing(self, data):
        return matching.match_contact(data)

    @extend_schema(
        summary="Change a contact's lifecycle stage",
        description="Forward moves need no reason; moving back (recycling) needs allow_backward and a reason.",
        request=LifecycleSerializer,
        responses={200: ContactSerializer},
    )
    @action(detail=True, methods=["post"])
    def lifecycle(self, request, pk=None):
        contact = self.get_object()
        serializer = LifecycleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        services.change_lifecycle_stage(
            contact,
            params["stage"],
            actor=request.user,
            reason=params["reason"],
            allow_backward=params["allow_backward"],
            origin=Origin.API,
        )
        return self.respond(contact)

    @_batch_schema(ContactSerializer, "Contacts are matched by normalized email (or external_id when no email).")
    @action(detail=False, methods=["post"], url_path="batch/upsert", url_name="batch-upsert")
    def upsert(self, request):
        return self.batch_upsert(request)


@extend_schema_view(
    list=extend_schema(summary="List companies", description=PROPERTIES_FILTER_HELP),
    retrieve=extend_schema(summary="Get a company"),
    create=extend_schema(summary="Create a company"),
    partial_update=extend_schema(summary="Update some fields of a company"),
    destroy=extend_schema(summary="Delete a company (admins and managers)"),
)
class CompanyViewSet(RecordViewSet):
    model = Company
    route_name = "company"
    serializer_class = CompanySerializer
    filterset_class = CompanyFilter
    ordering_fields = {"created_at": "created_at", "updated_at": "updated_at", "name": "name_key"}
    expandable = {"owner": {"select": ["owner"]}}

    def create_record(self, data):
        return services.create_company(actor=self.request.user, data=data, origin=Origin.API)

    def find_existing(self, data):
        return matching.match_company(data)

    @_batch_schema(CompanySerializer, "Companies are matched by external_id when given, else by normalized domain.")
    @action(detail=False, methods=["post"], url_path="batch/upsert", url_name="batch-upsert")
    def upsert(self, request):
        return self.batch_upsert(request)


@extend_schema_view(
    list=extend_schema(summary="List deals", description=PROPERTIES_FILTER_HELP),
    retrieve=extend_schema(summary="Get a deal"),
    create=extend_schema(
        summary="Create a deal",
        description="The pipeline follows from `stage`; without one, the deal starts in the first stage of the "
        "default pipeline.",
    ),
    partial_update=extend_schema(
        summary="Update some fields of a deal",
        description="Sending `stage` moves the deal after the other fields are saved (exit criteria apply). "
        "Moving to a lost stage needs a reason: use POST /deals/{id}/move.",
    ),
    destroy=extend_schema(summary="Delete a deal (admins and managers)"),
)
class DealViewSet(RecordViewSet):
    model = Deal
    route_name = "deal"
    serializer_class = DealSerializer
    filterset_class = DealFilter
    ordering_fields = {
        "created_at": "created_at",
        "updated_at": "updated_at",
        "amount": "amount",
        "name": "name",
        "stage_entered_at": "stage_entered_at",
    }
    expandable = {
        "company": {"select": ["company"]},
        "owner": {"select": ["owner"]},
        "stage": {"select": ["stage"]},
        "contacts": {"prefetch": ["deal_contacts__contact"]},
    }

    def get_queryset(self):
        # The contact ids (and roles) are always listed: one query for the whole page.
        return super().get_queryset().prefetch_related("deal_contacts")

    def create_record(self, data):
        stage = data.pop("stage", None) or self._first_stage()
        contacts = [(link["contact"], link.get("role") or "") for link in data.pop("deal_contacts", [])]
        return services.create_deal(
            actor=self.request.user, data=data, stage=stage, contacts=contacts, origin=Origin.API
        )

    @staticmethod
    def _first_stage() -> Stage:
        """Where a deal created without a stage starts: the default pipeline's first stage (as in the UI)."""
        pipeline = default_pipeline()
        stage = pipeline.stages.order_by("position").first() if pipeline else None
        if stage is None:
            raise ValidationError({"stage": "There is no pipeline with stages yet; give a stage."})
        return stage

    def update_existing(self, obj, data, *, expected_version=None):
        if "deal_contacts" in data:
            raise ValidationError({"contacts": "Add contacts with POST /deals/{id}/contacts."})
        stage = data.pop("stage", None)
        with transaction.atomic():
            obj = super().update_existing(obj, data, expected_version=expected_version)
            if stage is not None:
                self._move(obj, stage, reason="")
                obj.refresh_from_db()
        return obj

    def _move(self, deal, stage, *, reason: str) -> None:
        try:
            services.move_deal_stage(deal, stage, actor=self.request.user, reason=reason, origin=Origin.API)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise
            raise ValidationError({"stage": exc.messages})

    def find_existing(self, data):
        return matching.match_deal(data)

    def batch_update(self, obj, data):
        links = data.pop("deal_contacts", [])
        changed = super().batch_update(obj, data)
        roles = dict(DealContact.objects.filter(deal=obj).values_list("contact_id", "role"))
        for link in links:
            role = link.get("role") or DealContact.Role.OTHER
            if roles.get(link["contact"].pk) != role:
                services.add_deal_contact(obj, link["contact"], role=role, actor=self.request.user)
                changed = True
        return changed

    @extend_schema(
        summary="Move a deal to another stage",
        description="Exit criteria of the current stage apply; a lost stage needs a reason.",
        request=MoveDealSerializer,
        responses={200: DealSerializer},
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        deal = self.get_object()
        serializer = MoveDealSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self._move(deal, serializer.validated_data["stage"], reason=serializer.validated_data["reason"])
        return self.respond(deal)

    @extend_schema(
        summary="Add a contact to a deal (or change its role)",
        request=AddDealContactSerializer,
        responses={200: DealSerializer},
    )
    @action(detail=True, methods=["post"], url_path="contacts")
    def add_contact(self, request, pk=None):
        deal = self.get_object()
        serializer = AddDealContactSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        services.add_deal_contact(deal, params["contact"], role=params["role"], actor=request.user)
        return self.respond(deal)

    @_batch_schema(DealSerializer, "Deals are matched by external_id, which every record must carry.")
    @action(detail=False, methods=["post"], url_path="batch/upsert", url_name="batch-upsert")
    def upsert(self, request):
        return self.batch_upsert(request)


# -- reference data ---------------------------------------------------------------------------------------


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


# -- tasks and notes ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List tasks"),
    retrieve=extend_schema(summary="Get a task"),
    create=extend_schema(summary="Create a task", request=TaskInputSerializer, responses={201: TaskSerializer}),
)
class TaskViewSet(ListCreateViewSet):
    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    input_serializer_class = TaskInputSerializer
    filterset_class = TaskFilter
    route_name = "task"
    ordering_fields = {"created_at": "created_at"}
    expandable = {"owner": {"select": ["owner"]}, **TARGET_EXPANSIONS}

    def perform_write(self, data):
        return services.create_task(actor=self.request.user, origin=Origin.API, **data)

    @extend_schema(summary="Complete a task", request=None, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = services.complete_task(self.get_object(), actor=request.user)
        return self.respond(task)


@extend_schema_view(
    list=extend_schema(summary="List notes"),
    retrieve=extend_schema(summary="Get a note"),
    create=extend_schema(summary="Add a note", request=NoteInputSerializer, responses={201: NoteSerializer}),
)
class NoteViewSet(ListCreateViewSet):
    queryset = Note.objects.all()
    serializer_class = NoteSerializer
    input_serializer_class = NoteInputSerializer
    filterset_class = NoteFilter
    route_name = "note"
    ordering_fields = {"created_at": "created_at"}
    expandable = TARGET_EXPANSIONS

    def perform_write(self, data):
        target = data.get("contact") or data.get("company") or data.get("deal")
        return services.add_note(target, body_html=data["body"], actor=self.request.user, origin=Origin.API)
