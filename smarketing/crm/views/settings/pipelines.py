"""Pipelines and their stages. Admins change them; managers may look. Reordering works by drag (settings.js)
and by the up/down buttons, which are plain form posts: keyboard and no-JavaScript users reorder the same way."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from smarketing.accounts.access import is_admin, require_admin, require_manager_or_admin
from smarketing.crm import services
from smarketing.crm.models import Deal, DealStageChange, Pipeline, Stage
from smarketing.crm.services.pipelines import ADMINS_ONLY, criteria_labels, exit_criteria_choices
from smarketing.crm.views.settings.forms import PipelineForm, StageForm, StageRemoveForm


def _disable(form) -> None:
    for field in form.fields.values():
        field.disabled = True


@require_http_methods(["GET", "POST"])
def pipeline_list(request):
    require_manager_or_admin(request.user)
    form = PipelineForm(request.POST or None)
    if request.method == "POST":
        require_admin(request.user, ADMINS_ONLY)
        if form.is_valid():
            try:
                pipeline = services.create_pipeline(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Created {pipeline}. Now add its stages.")
                return redirect("settings_pipeline", pk=pipeline.pk)
    pipelines = Pipeline.objects.annotate(stage_count=Count("stages")).order_by("position", "id")
    context = {"pipelines": pipelines, "form": form, "can_edit": is_admin(request.user)}
    return render(request, "crm/settings/pipelines.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def pipeline_detail(request, pk: int):
    require_manager_or_admin(request.user)
    pipeline = get_object_or_404(Pipeline, pk=pk)
    can_edit = is_admin(request.user)
    which = request.POST.get("form") if request.method == "POST" else None
    pipeline_form = PipelineForm(
        request.POST if which == "pipeline" else None,
        initial={"name": pipeline.name, "is_default": pipeline.is_default},
    )
    stage_form = StageForm(request.POST if which == "stage" else None)
    if request.method == "POST":
        require_admin(request.user, ADMINS_ONLY)
        form = pipeline_form if which == "pipeline" else stage_form
        if form.is_valid():
            try:
                if which == "pipeline":
                    services.update_pipeline(pipeline, actor=request.user, **form.cleaned_data)
                    message = f"Saved {form.cleaned_data['name']}."
                else:
                    stage = services.add_stage(pipeline, actor=request.user, data=form.cleaned_data)
                    message = f"Added the stage {stage}."
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, message)
                return redirect("settings_pipeline", pk=pipeline.pk)
    if not can_edit:
        _disable(pipeline_form)
    choices = exit_criteria_choices()
    stages = list(pipeline.stages.order_by("position"))
    for stage in stages:
        stage.criteria_labels = criteria_labels(stage.exit_criteria, choices)
    context = {
        "pipeline": pipeline,
        "stages": stages,
        "pipeline_form": pipeline_form,
        "stage_form": stage_form,
        "can_edit": can_edit,
        "invalid": which,
    }
    status = 400 if pipeline_form.errors or stage_form.errors else 200
    return render(request, "crm/settings/pipeline_detail.html", context, status=status)


@require_POST
def pipeline_delete(request, pk: int):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    try:
        services.delete_pipeline(pipeline, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("settings_pipeline", pk=pipeline.pk)
    messages.success(request, f"Deleted the pipeline {pipeline}.")
    return redirect("settings_pipelines")


@require_POST
def stage_order(request, pk: int):
    """The stage table's form: `move=<id>:up|down` from a button, or the full `order` after a drag."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    require_admin(request.user, ADMINS_ONLY)
    anchor = ""
    try:
        move = request.POST.get("move", "")
        if move:
            stage_id, _, direction = move.partition(":")
            stage = get_object_or_404(Stage, pk=int(stage_id) if stage_id.isdigit() else 0, pipeline=pipeline)
            services.move_stage(stage, actor=request.user, direction="up" if direction == "up" else "down")
            anchor = f"#stage-{stage.pk}"
        else:
            order = [int(v) for v in request.POST.getlist("order") if v.isdigit()]
            services.reorder_stages(pipeline, actor=request.user, order=order)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Stage order saved.")
    return redirect(reverse("settings_pipeline", args=[pipeline.pk]) + anchor)


@require_http_methods(["GET", "POST"])
def stage_edit(request, pk: int):
    require_manager_or_admin(request.user)
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    initial = {n: getattr(stage, n) for n in ("name", "probability", "team", "target_days", "outcome", "exit_criteria")}
    form = StageForm(request.POST or None, initial=initial)
    can_edit = is_admin(request.user)
    if request.method == "POST":
        require_admin(request.user, ADMINS_ONLY)
        if form.is_valid():
            try:
                services.update_stage(stage, actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Saved the stage {form.cleaned_data['name']}.")
                return redirect("settings_pipeline", pk=stage.pipeline_id)
    if not can_edit:
        _disable(form)
    context = {"stage": stage, "form": form, "can_edit": can_edit}
    return render(request, "crm/settings/stage_form.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def stage_delete(request, pk: int):
    """Asks where the stage's deals go (when it holds any) before removing it."""
    require_admin(request.user, ADMINS_ONLY)
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    deal_count = Deal.objects.filter(stage=stage).count()  # one stage: a range of the (stage, -id) index
    form = StageRemoveForm(request.POST or None, stage=stage)
    if request.method == "POST" and (deal_count == 0 or form.is_valid()):
        move_to = form.cleaned_data["move_to"] if deal_count else None
        try:
            moved = services.remove_stage(stage, actor=request.user, move_to=move_to)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            where = f" and moved its {moved} deal{'s' if moved != 1 else ''} to {move_to}" if moved else ""
            messages.success(request, f"Removed the stage {stage}{where}.")
            return redirect("settings_pipeline", pk=stage.pipeline_id)
    context = {
        "stage": stage,
        "form": form,
        "deal_count": deal_count,
        "history_count": DealStageChange.objects.filter(to_stage=stage).count(),
        "others": form.fields["move_to"].queryset.exists(),
    }
    return render(request, "crm/settings/stage_delete.html", context, status=400 if form.errors else 200)
