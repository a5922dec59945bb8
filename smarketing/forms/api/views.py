"""/api/v1/forms (list, read, create, update; status "live" publishes, "archived" archives) and
/api/v1/forms/{id}/submissions (read-only keyset pages).

Writes go through forms.services with origin=API (the same rules as the builder: marketing, managers and
admins); the field list is checked by forms.fields.validate_definition, and a Django ValidationError becomes a
problem+json 400 in the API's exception handler.
"""

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from smarketing.api.views.base import ApiViewSet
from smarketing.core.models import Origin
from smarketing.forms import access, services
from smarketing.forms.api.filters import FormFilter, SubmissionFilter
from smarketing.forms.api.serializers import (
    FormSerializer,
    FormUpdateSerializer,
    FormWriteSerializer,
    SubmissionSerializer,
)
from smarketing.forms.models import Form, FormStatus, FormSubmission


def _settings(data: dict) -> dict:
    if "allowed_origins" in data:
        data["allowed_origins"] = "\n".join(data["allowed_origins"])
    return data


@extend_schema_view(
    list=extend_schema(summary="List forms"),
    retrieve=extend_schema(summary="Get a form, with its public URLs and embed snippet"),
    create=extend_schema(
        summary="Create a form (a draft unless status is live)",
        request=FormWriteSerializer,
        responses={201: FormSerializer},
    ),
    partial_update=extend_schema(
        summary="Change some settings or the fields of a form; status live publishes, archived archives",
        request=FormUpdateSerializer,
        responses={200: FormSerializer},
    ),
)
class FormViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = FormSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = {"updated_at": "updated_at", "created_at": "created_at"}

    @property
    def filterset_class(self):
        return SubmissionFilter if getattr(self, "action", None) == "submissions" else FormFilter

    def get_queryset(self):
        if getattr(self, "action", None) == "submissions":
            return FormSubmission.objects.all()  # what the schema's filters describe
        # One prefetch for the people notified: a page costs the same whatever its length.
        return Form.objects.prefetch_related("notify_users")

    def respond(self, form: Form, code: int = 200) -> Response:
        form = self.get_queryset().get(pk=form.pk)
        headers = {"Location": reverse("api:form-detail", args=[form.pk])} if code == 201 else {}
        return Response(self.get_serializer(form).data, status=code, headers=headers)

    def _set_status(self, form: Form, wanted: str | None) -> Form:
        if wanted == FormStatus.LIVE:
            return services.publish_form(self.request.user, form, origin=Origin.API)
        if wanted == FormStatus.ARCHIVED:
            return services.archive_form(self.request.user, form, origin=Origin.API)
        return form

    def create(self, request):
        serializer = FormWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = _settings(dict(serializer.validated_data))
        wanted = data.pop("status", None)
        with transaction.atomic():
            form = services.create_form(
                request.user,
                name=data.pop("name"),
                starter=data.pop("starter", "blank"),
                origin=Origin.API,
                **data,
            )
            form = self._set_status(form, wanted)
        return self.respond(form, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        form = self.get_object()
        serializer = FormUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = _settings(dict(serializer.validated_data))
        wanted = data.pop("status", None)
        with transaction.atomic():
            if data:
                form = services.update_form(request.user, form, origin=Origin.API, **data)
            else:
                access.require_build(request.user)
            form = self._set_status(form, wanted)
        return self.respond(form)

    @extend_schema(
        summary="A form's submissions, newest first (keyset pages)",
        description="Spam is included, with status spam; filter with ?status=.",
        request=None,
        responses={200: SubmissionSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def submissions(self, request, pk=None):
        # Not get_object(): that would apply the submissions' filters to the forms.
        form = get_object_or_404(Form.objects.only("id"), pk=pk)
        access.require_view(request.user)
        rows = self.filter_queryset(FormSubmission.objects.filter(form=form))
        page = self.paginate_queryset(rows)
        data = SubmissionSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)
