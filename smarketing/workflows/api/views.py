"""/api/v1/workflows (list, read, create, update, POST …/activate and …/pause), /api/v1/workflows/{id}/enrollments
and /api/v1/enrollments (list, read with the step runs).

Writes go through workflows.services with the same permissions as the builder (marketing managers and admins);
the definition is validated step by step by each action, and a loop through enroll-in-workflow steps is refused.
"""

from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from smarketing.api.views.base import ApiViewSet, ReadOnlyViewSet
from smarketing.workflows import access, services
from smarketing.workflows.api.filters import EnrollmentFilter, WorkflowFilter
from smarketing.workflows.api.serializers import (
    EnrollmentDetailSerializer,
    EnrollmentSerializer,
    WorkflowInputSerializer,
    WorkflowSerializer,
    WorkflowUpdateSerializer,
    keep_secrets,
)
from smarketing.workflows.models import Enrollment, EnrollmentStatus, StepRun, Workflow


def _sync_step_emails(workflow: Workflow, actor) -> None:
    """Each send_email step's automated campaign, made or brought up to date (as the builder does on save)."""
    from smarketing.workflows.actions.send_email import save_step_email
    from smarketing.workflows.definition import iter_steps

    for step in iter_steps(workflow.definition or {}):
        if step["type"] == "send_email":
            save_step_email(workflow, step, by=actor)


@extend_schema_view(
    list=extend_schema(summary="List workflows"),
    retrieve=extend_schema(summary="Get a workflow"),
    create=extend_schema(
        summary="Create a workflow (a draft)",
        description="The trigger, the steps (each validated by its action) and the goal are checked as in the "
        "builder; step ids are made where missing and kept where given.",
        request=WorkflowInputSerializer,
        responses={201: WorkflowSerializer},
    ),
    partial_update=extend_schema(
        summary="Update some fields of a workflow",
        description="Enrollments keep their place by step id; those waiting at a removed step move on. A webhook "
        "step sent back without its secret keeps the one it had.",
        request=WorkflowUpdateSerializer,
        responses={200: WorkflowSerializer},
    ),
)
class WorkflowViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = WorkflowSerializer
    filterset_class = WorkflowFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = {"updated_at": "updated_at", "created_at": "created_at"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Workflow.objects.none()
        access.require_view(self.request.user)
        return Workflow.objects.all()

    def respond(self, workflow: Workflow, code: int = 200) -> Response:
        workflow = Workflow.objects.get(pk=workflow.pk)
        headers = {"Location": reverse("api:workflow-detail", args=[workflow.pk])} if code == 201 else {}
        return Response(self.get_serializer(workflow).data, status=code, headers=headers)

    def create(self, request):
        serializer = WorkflowInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workflow = services.create_workflow(actor=request.user, data=dict(serializer.validated_data))
        _sync_step_emails(workflow, request.user)
        return self.respond(workflow, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        workflow = self.get_object()
        serializer = WorkflowUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "definition" in data:
            data["definition"] = keep_secrets(workflow.definition, data["definition"])
        workflow = services.update_workflow(workflow, actor=request.user, data=data)
        if "definition" in data:
            _sync_step_emails(workflow, request.user)
        return self.respond(workflow)

    @extend_schema(
        summary="Activate a workflow: its trigger enrolls contacts", request=None, responses={200: WorkflowSerializer}
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self.respond(services.activate(self.get_object(), actor=request.user))

    @extend_schema(
        summary="The enrollments of a workflow (newest first, keyset pages)",
        description="Filter by status (active, completed, goal_met, exited, failed). "
        "GET /api/v1/enrollments/{id} has an enrollment's step runs.",
        request=None,
        responses={200: EnrollmentSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def enrollments(self, request, pk=None):
        workflow = self.get_object()
        qs = Enrollment.objects.filter(workflow=workflow).order_by("-id")
        status_ = request.query_params.get("status")
        if status_ is not None:
            if status_ not in EnrollmentStatus.values:
                raise ValidationError({"status": [f"One of: {', '.join(EnrollmentStatus.values)}."]})
            qs = qs.filter(status=status_)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(EnrollmentSerializer(page, many=True).data)

    @extend_schema(
        summary="Pause a workflow: nobody enrolls, no step runs", request=None, responses={200: WorkflowSerializer}
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self.respond(services.pause(self.get_object(), actor=request.user))


@extend_schema_view(
    list=extend_schema(summary="List enrollments (filter by contact, workflow, status)"),
    retrieve=extend_schema(summary="Get an enrollment with its step runs", responses={200: EnrollmentDetailSerializer}),
)
class EnrollmentViewSet(ReadOnlyViewSet):
    serializer_class = EnrollmentSerializer
    filterset_class = EnrollmentFilter

    def get_serializer_class(self):
        return EnrollmentDetailSerializer if self.action == "retrieve" else EnrollmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Enrollment.objects.none()
        access.require_view(self.request.user)
        qs = Enrollment.objects.all()
        if self.action == "retrieve":
            from django.db.models import Prefetch

            qs = qs.prefetch_related(Prefetch("step_runs", queryset=StepRun.objects.order_by("started_at", "id")))
        return qs
