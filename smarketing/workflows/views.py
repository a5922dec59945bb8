"""Workflow pages: the list, the builder (a vertical flow with a side panel), the dry run, the enrollments.

Views parse and render; every write goes through `workflows.services` (which checks access and validates the
whole definition with each step's action) or the send_email step's campaign service. The side panel's pages
are htmx partials; without JavaScript the same URLs render the whole builder with the panel filled in.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.core.queries import SortOption, keyset_page
from smarketing.workflows import access, builder, services
from smarketing.workflows import definition as wfdef
from smarketing.workflows.actions import all_actions
from smarketing.workflows.actions import get as get_action
from smarketing.workflows.models import (
    Enrollment,
    EnrollmentStatus,
    Reenrollment,
    StepRun,
    Workflow,
    WorkflowStatus,
)

PAGE_SIZE = 50
LIST_SORT = SortOption("Recently changed", ("-updated_at", "-id"))
ENROLLMENT_SORT = SortOption("Newest first", ("-id",))
FLOW_TYPES = ("wait", "if")
# The add-step menu: flow steps first, then the actions in the order a marketer thinks of them.
MENU_ORDER = (
    "wait",
    "if",
    "send_email",
    "set_property",
    "change_lifecycle_stage",
    "add_to_list",
    "remove_from_list",
    "adjust_score",
    "assign_owner",
    "create_task",
    "notify_user",
    "call_webhook",
    "enroll_in_workflow",
)


def _workflow(pk: int) -> Workflow:
    return get_object_or_404(Workflow.objects.select_related("owner"), pk=pk)


def _done(request, workflow: Workflow, anchor: str = "") -> HttpResponse:
    """After a successful edit: back to the builder (a full load, so the flow and the panel agree)."""
    url = reverse("workflows:builder", args=[workflow.pk]) + (f"#{anchor}" if anchor else "")
    if request.htmx:
        # HX-Refresh too: from the builder to the builder plus an #anchor is only a fragment change for the browser,
        # which would keep the old page (the new step not shown, the panel's form still there to save it twice).
        return HttpResponse(status=204, headers={"HX-Redirect": url, "HX-Refresh": "true"})
    return redirect(url)


def _errors(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [message for messages_ in error.message_dict.values() for message in messages_]
    return error.messages


# -- the list ----------------------------------------------------------------------------------------------------
STATUS_FILTERS = [("", "All")] + [(s.value, s.label) for s in WorkflowStatus]


@login_required
@require_GET
def workflow_list(request):
    access.require_view(request.user)
    status = request.GET.get("status", "")
    qs = Workflow.objects.select_related("owner")
    if status in WorkflowStatus.values:
        qs = qs.filter(status=status)
    else:
        status = ""
        qs = qs.exclude(status=WorkflowStatus.ARCHIVED)
    page = keyset_page(qs, LIST_SORT, request.GET.get("after"), PAGE_SIZE)
    return render(
        request,
        "workflows/workflow_list.html",
        {
            "page": page,
            "status": status,
            "status_filters": STATUS_FILTERS,
            "can_edit": access.can_edit(request.user),
            "triggers": {key: spec.label for key, spec in wfdef.TRIGGERS.items()},
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def workflow_create(request):
    access.require_edit(request.user)
    values = {"name": "", "description": "", "trigger_type": "manual"}
    errors: list[str] = []
    trigger_params: dict = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in ("name", "description", "trigger_type")}
        trigger_params = trigger_params_from_post(request.POST)
        try:
            workflow = services.create_workflow(
                actor=request.user,
                data={
                    "name": values["name"],
                    "description": values["description"],
                    "trigger": {"type": values["trigger_type"], "params": trigger_params},
                    "definition": {"steps": []},
                },
            )
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(request, "Workflow created. Add its first step with the + button.")
            return redirect("workflows:builder", workflow.pk)
    return render(
        request,
        "workflows/workflow_create.html",
        {"values": values, "errors": errors, **_trigger_context(values["trigger_type"], trigger_params)},
    )


# -- the trigger -------------------------------------------------------------------------------------------------
TRIGGER_PARAM_KEYS = (
    "form",
    "field",
    "value",
    "stage",
    "threshold",
    "group",
    "campaign",
    "url_contains",
    "pipeline",
    "segment",
    "days_before",
)


def trigger_params_from_post(post) -> dict:
    return {k: post.get(f"t_{k}", "").strip() for k in TRIGGER_PARAM_KEYS if f"t_{k}" in post}


def _trigger_context(trigger_type: str, params: dict) -> dict:
    from smarketing.campaigns.models import Campaign
    from smarketing.crm.models import LifecycleStage, Stage
    from smarketing.forms.models import Form
    from smarketing.segments import schema
    from smarketing.segments.models import Segment

    fields = schema.all_fields()
    return {
        "trigger_type": trigger_type if trigger_type in wfdef.TRIGGERS else "manual",
        "trigger_params": params or {},
        "trigger_choices": [(key, spec.label) for key, spec in wfdef.TRIGGERS.items()],
        "forms": list(Form.objects.order_by("name").only("id", "name")[:200]),
        "stages": LifecycleStage.choices,
        "deal_stages": list(Stage.objects.select_related("pipeline").order_by("pipeline_id", "position")[:200]),
        "segments": list(Segment.objects.filter(archived=False).only("id", "name")[:200]),
        "campaigns": list(Campaign.objects.order_by("-id").only("id", "name")[:200]),
        "property_fields": [
            (k, f.label)
            for k, f in fields.items()
            if f.type not in (schema.LIST, schema.SEGMENT) and not k.startswith("company.")
        ],
        "date_fields": [(k, f.label) for k, f in fields.items() if f.type in (schema.DATE, schema.DATETIME)],
    }


@login_required
@require_GET
def trigger_fields(request):
    """The trigger's own inputs, swapped in when the trigger type changes."""
    access.require_view(request.user)
    return render(request, "workflows/_trigger_fields.html", _trigger_context(request.GET.get("trigger_type", ""), {}))


@login_required
@require_http_methods(["GET", "POST"])
def trigger_edit(request, pk: int):
    workflow = _workflow(pk)
    access.require_edit(request.user)
    trigger = workflow.trigger or {"type": "manual", "params": {}}
    errors: list[str] = []
    trigger_type, params = trigger.get("type", "manual"), trigger.get("params") or {}
    if request.method == "POST":
        trigger_type, params = request.POST.get("trigger_type", ""), trigger_params_from_post(request.POST)
        try:
            services.update_workflow(
                workflow, actor=request.user, data={"trigger": {"type": trigger_type, "params": params}}
            )
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(request, "Trigger saved.")
            return _done(request, workflow, "trigger")
    return _panel(
        request, workflow, "workflows/_panel_trigger.html", {"errors": errors, **_trigger_context(trigger_type, params)}
    )


# -- the builder -------------------------------------------------------------------------------------------------
def _describe(step: dict, definition: dict | None = None) -> str:
    try:
        action = get_action(step["type"])
        if step["type"] == "if":
            return action.describe(step.get("params") or {}, definition)
        return action.describe(step.get("params") or {})
    except (ValidationError, KeyError, TypeError, AttributeError):
        return step.get("type", "")


def flow_tree(steps: list, parent: str = "", branch: str = "", definition: dict | None = None) -> list[dict]:
    """The definition as the template draws it: each step with its words, place and branches."""
    actions = all_actions()
    out = []
    for index, step in enumerate(steps or []):
        action = actions.get(step["type"])
        node = {
            "id": step["id"],
            "type": step["type"],
            "label": action.label if action else step["type"],
            "summary": _describe(step, definition),
            "parent": parent,
            "branch": branch,
            "index": index,
            "first": index == 0,
            "last": index == len(steps) - 1,
            "flow": step["type"] in FLOW_TYPES,
        }
        if step["type"] == "if":
            node["yes"] = flow_tree(step.get("yes") or [], step["id"], "yes", definition)
            node["no"] = flow_tree(step.get("no") or [], step["id"], "no", definition)
        out.append(node)
    return out


def _trigger_summary(workflow: Workflow) -> str:
    trigger = workflow.trigger or {}
    spec = wfdef.TRIGGERS.get(trigger.get("type") or "manual")
    label = spec.label if spec else trigger.get("type", "")
    params = {k: v for k, v in (trigger.get("params") or {}).items() if v not in (None, "")}
    if not params:
        return label
    words = ", ".join(_trigger_param_words(trigger.get("type"), key, value) for key, value in params.items())
    return f"{label} ({words})"


def _trigger_param_words(trigger_type: str, key: str, value) -> str:
    """One trigger parameter as people say it: the form's name, not its id (a deleted one says so)."""
    from smarketing.campaigns.models import Campaign
    from smarketing.crm.models import LifecycleStage, Pipeline, Stage
    from smarketing.forms.models import Form
    from smarketing.segments import schema
    from smarketing.segments.models import Segment

    named = {"form": Form, "segment": Segment, "campaign": Campaign, "pipeline": Pipeline}
    if trigger_type == "deal_stage_changed":
        named["stage"] = Stage
    if key in named:
        name = named[key].objects.filter(pk=value).values_list("name", flat=True).first()
        return f"{key} “{name}”" if name else f"a deleted {key}"
    if key == "stage":
        return f"to {LifecycleStage(value).label}" if value in LifecycleStage.values else f"to {value}"
    if key == "field":
        field = schema.all_fields().get(value)
        return field.label if field else str(value)
    if key == "url_contains":
        return f"address contains “{value}”"
    return f"{key.replace('_', ' ')} {value}"


def _builder_context(request, workflow: Workflow) -> dict:
    return {
        "workflow": workflow,
        "flow": flow_tree((workflow.definition or {}).get("steps") or [], definition=workflow.definition or {}),
        "trigger_summary": _trigger_summary(workflow),
        "can_edit": access.can_edit(request.user) and workflow.status != WorkflowStatus.ARCHIVED,
        "tab": "builder",
    }


def _panel(request, workflow: Workflow, template: str, context: dict) -> HttpResponse:
    context = {"workflow": workflow, "panel_template": template, **context}
    if request.htmx:
        return render(request, template, context)
    return render(request, "workflows/builder.html", {**_builder_context(request, workflow), **context})


@login_required
@require_GET
def workflow_builder(request, pk: int):
    access.require_view(request.user)
    workflow = _workflow(pk)
    return render(request, "workflows/builder.html", _builder_context(request, workflow))


def _place(source) -> dict:
    parent = source.get("parent", "")
    branch = source.get("branch", "")
    index = source.get("index", "")
    return {"parent": parent, "branch": branch, "index": int(index) if str(index).isdigit() else None}


@login_required
@require_GET
def step_menu(request, pk: int):
    """The menu of step types for one "+" between cards."""
    workflow = _workflow(pk)
    access.require_edit(request.user)
    actions = all_actions()
    choices = [(t, actions[t].label) for t in MENU_ORDER if t in actions]
    choices += sorted(((t, a.label) for t, a in actions.items() if t not in MENU_ORDER), key=lambda c: c[1])
    return _panel(request, workflow, "workflows/_panel_menu.html", {"choices": choices, "place": _place(request.GET)})


def _step_form_context(workflow: Workflow, step_type: str, params: dict, step_id: str = "") -> dict:
    from smarketing.accounts.models import Team
    from smarketing.crm.models import LifecycleStage, Task
    from smarketing.crm.services.common import assignable_users
    from smarketing.email.models import EmailTemplate
    from smarketing.mail.models import SenderIdentity
    from smarketing.segments.models import ContactList, Segment
    from smarketing.workflows.actions import assign_owner, set_property
    from smarketing.workflows.actions.wait import WEEKDAYS

    context = {
        "step_type": step_type,
        "step_label": all_actions()[step_type].label,
        "params": params or {},
        "step_id": step_id,
        "form_template": f"workflows/steps/{step_type}.html",
    }
    if step_type == "send_email":
        context["templates"] = list(EmailTemplate.objects.filter(archived=False).only("id", "name", "subject"))
        context["senders"] = list(SenderIdentity.objects.all())
    elif step_type == "set_property":
        context["fields"] = set_property.field_choices()
    elif step_type == "change_lifecycle_stage":
        context["stages"] = LifecycleStage.choices
    elif step_type in ("add_to_list", "remove_from_list"):
        context["lists"] = list(ContactList.objects.filter(archived=False).only("id", "name"))
    elif step_type == "assign_owner":
        context["teams"] = list(Team.objects.order_by("name"))
        context["users"] = list(assignable_users().order_by("full_name", "email"))
        context["rule_fields"] = list(assign_owner.RULE_FIELDS.items())
        rules = list((params or {}).get("rules") or [])
        context["rules"] = rules + [{}] * max(1, 3 - len(rules))
    elif step_type == "create_task":
        context["task_kinds"] = Task.Kind.choices
        context["users"] = list(assignable_users().order_by("full_name", "email"))
    elif step_type == "notify_user":
        from smarketing.accounts.models import User

        context["users"] = list(User.objects.filter(is_active=True).order_by("full_name", "email"))
    elif step_type == "enroll_in_workflow":
        context["workflows"] = list(
            Workflow.objects.exclude(status=WorkflowStatus.ARCHIVED).exclude(pk=workflow.pk).only("id", "name")
        )
    elif step_type == "wait":
        context["weekdays"] = list(enumerate(WEEKDAYS))
    elif step_type == "if":
        from smarketing.segments import schema

        context["values"] = builder.condition_form_values(params or {})
        context["email_steps"] = [
            (s["id"], _describe(s)) for s in wfdef.iter_steps(workflow.definition or {}) if s["type"] == "send_email"
        ]
        context["stages"] = LifecycleStage.choices
        context["segments"] = list(Segment.objects.filter(archived=False).only("id", "name"))
        context["lists"] = list(ContactList.objects.filter(archived=False).only("id", "name"))
        context["custom_fields"] = [(f.key, f.label) for f in schema.custom_fields()]
    return context


def _save_definition(request, workflow: Workflow, definition: dict, step_id: str) -> Workflow:
    """Validate and save the whole definition; then bring the send_email steps' campaigns up to date."""
    from smarketing.workflows.actions.send_email import save_step_email

    workflow = services.update_workflow(workflow, actor=request.user, data={"definition": definition})
    step = wfdef.find_step(workflow.definition, step_id) if step_id else None
    if step is not None and step["type"] == "send_email":
        save_step_email(workflow, step, by=request.user)
    return workflow


@login_required
@require_http_methods(["GET", "POST"])
def step_new(request, pk: int):
    workflow = _workflow(pk)
    access.require_edit(request.user)
    source = request.POST if request.method == "POST" else request.GET
    step_type = source.get("type", "")
    if step_type not in all_actions():
        raise Http404("Unknown step type")
    place = _place(source)
    params: dict = {}
    errors: list[str] = []
    if request.method == "POST":
        params = builder.params_from_post(step_type, request.POST)
        try:
            get_action(step_type).validate(params)  # the step's own words first, before the whole definition's
            step_id = builder.new_step_id(workflow.definition)
            definition = builder.insert_step(
                workflow.definition or {"steps": []}, {"id": step_id, "type": step_type, "params": params}, **place
            )
            _save_definition(request, workflow, definition, step_id)
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(request, f"Step added: {all_actions()[step_type].label}.")
            return _done(request, workflow, f"step-{step_id}")
    context = _step_form_context(workflow, step_type, params)
    return _panel(request, workflow, "workflows/_panel_step.html", {**context, "errors": errors, "place": place})


@login_required
@require_http_methods(["GET", "POST"])
def step_edit(request, pk: int, step_id: str):
    workflow = _workflow(pk)
    access.require_edit(request.user)
    step = wfdef.find_step(workflow.definition or {}, step_id)
    if step is None:
        raise Http404("No such step")
    params = step.get("params") or {}
    errors: list[str] = []
    if request.method == "POST":
        params = builder.params_from_post(step["type"], request.POST)
        try:
            get_action(step["type"]).validate(params)
            definition = builder.replace_params(workflow.definition, step_id, params)
            _save_definition(request, workflow, definition, step_id)
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(request, "Step saved.")
            return _done(request, workflow, f"step-{step_id}")
    context = _step_form_context(workflow, step["type"], params, step_id)
    return _panel(request, workflow, "workflows/_panel_step.html", {**context, "errors": errors})


@login_required
@require_POST
def step_delete(request, pk: int, step_id: str):
    workflow = _workflow(pk)
    access.require_edit(request.user)
    try:
        definition = builder.remove_step(workflow.definition or {}, step_id)
        services.update_workflow(workflow, actor=request.user, data={"definition": definition})
    except ValidationError as error:
        for message in _errors(error):
            messages.error(request, message)
    else:
        messages.success(request, "Step deleted. Contacts waiting there move on to the next step.")
    return _done(request, workflow, "flow")


@login_required
@require_POST
def step_move(request, pk: int, step_id: str):
    workflow = _workflow(pk)
    access.require_edit(request.user)
    direction = "up" if request.POST.get("direction") == "up" else "down"
    try:
        definition = builder.move_step(workflow.definition or {}, step_id, direction)
        services.update_workflow(workflow, actor=request.user, data={"definition": definition})
    except ValidationError as error:
        for message in _errors(error):
            messages.error(request, message)
    return _done(request, workflow, f"step-{step_id}")


# -- settings: name, goal, re-enrollment ---------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def settings_edit(request, pk: int):
    from smarketing.crm.models import LifecycleStage
    from smarketing.segments.models import Segment

    workflow = _workflow(pk)
    access.require_edit(request.user)
    goal_rule = ((workflow.goal or {}).get("rules") or [{}])[0]
    values = {
        "name": workflow.name,
        "description": workflow.description,
        "reenrollment": workflow.reenrollment,
        "reenroll_after_days": workflow.reenroll_after_days or "",
        "goal_kind": goal_rule.get("field", "") if goal_rule.get("field") in ("lifecycle_stage", "segment") else "",
        "goal_value": goal_rule.get("value", ""),
    }
    errors: list[str] = []
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in values}
        goal = None
        if values["goal_kind"] == "lifecycle_stage" and values["goal_value"]:
            goal = {
                "op": "and",
                "negate": False,
                "rules": [{"field": "lifecycle_stage", "operator": "in", "value": [values["goal_value"]]}],
            }
        elif values["goal_kind"] == "segment" and values["goal_value"]:
            goal = {
                "op": "and",
                "negate": False,
                "rules": [{"field": "segment", "operator": "in", "value": values["goal_value"]}],
            }
        try:
            services.update_workflow(
                workflow,
                actor=request.user,
                data={
                    "name": values["name"],
                    "description": values["description"],
                    "reenrollment": values["reenrollment"],
                    "reenroll_after_days": values["reenroll_after_days"] or None,
                    "goal": goal,
                },
            )
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(request, "Settings saved.")
            return _done(request, workflow, "settings")
    return _panel(
        request,
        workflow,
        "workflows/_panel_settings.html",
        {
            "values": values,
            "errors": errors,
            "stages": LifecycleStage.choices,
            "segments": list(Segment.objects.filter(archived=False).only("id", "name")),
            "reenrollment_choices": Reenrollment.choices,
        },
    )


# -- status ------------------------------------------------------------------------------------------------------
def _status_change(request, pk: int, func, done: str):
    workflow = _workflow(pk)
    try:
        func(workflow, actor=request.user)
    except ValidationError as error:
        for message in _errors(error):
            messages.error(request, message)
    else:
        messages.success(request, done)
    return _done(request, workflow)


@login_required
@require_POST
def workflow_activate(request, pk: int):
    return _status_change(request, pk, services.activate, "Workflow active: new triggers enroll contacts.")


@login_required
@require_POST
def workflow_pause(request, pk: int):
    return _status_change(request, pk, services.pause, "Workflow paused: nobody enrolls and no step runs.")


@login_required
@require_POST
def workflow_archive(request, pk: int):
    return _status_change(request, pk, services.archive, "Workflow archived; its active enrollments ended.")


# -- test on a contact -------------------------------------------------------------------------------------------
@login_required
@require_GET
def workflow_test(request, pk: int):
    """The dry run: the path a chosen contact would take now and what each step would do. Writes nothing."""
    from smarketing.crm.models import Contact
    from smarketing.crm.queries import suggest_contacts

    access.require_view(request.user)
    workflow = _workflow(pk)
    term = request.GET.get("q", "").strip()[:200]
    contact = None
    if str(request.GET.get("contact", "")).isdigit():
        contact = Contact.objects.for_user(request.user, "view").filter(pk=int(request.GET["contact"])).first()
    suggestions = suggest_contacts(term, limit=8) if term and contact is None else []
    path = services.dry_run(workflow, contact) if contact is not None else None
    context = {"workflow": workflow, "term": term, "contact": contact, "suggestions": suggestions, "path": path}
    if request.htmx and request.GET.get("partial"):
        return render(request, "workflows/_test_result.html", context)
    return render(request, "workflows/workflow_test.html", {**context, "tab": "test"})


# -- enrollments -------------------------------------------------------------------------------------------------
ENROLLMENT_FILTERS = [("", "All")] + [(s.value, s.label) for s in EnrollmentStatus]


@login_required
@require_GET
def enrollment_list(request, pk: int):
    access.require_view(request.user)
    workflow = _workflow(pk)
    status = request.GET.get("status", "")
    qs = Enrollment.objects.filter(workflow=workflow).select_related("contact")
    if status in EnrollmentStatus.values:
        qs = qs.filter(status=status)
    else:
        status = ""
    page = keyset_page(qs, ENROLLMENT_SORT, request.GET.get("after"), PAGE_SIZE)
    steps = {s["id"]: s for s in wfdef.iter_steps(workflow.definition or {})}
    for enrollment in page.rows:
        step = steps.get(enrollment.current_step)
        enrollment.step_summary = _describe(step, workflow.definition) if step else ""
    return render(
        request,
        "workflows/enrollment_list.html",
        {
            "workflow": workflow,
            "page": page,
            "status": status,
            "status_filters": ENROLLMENT_FILTERS,
            "tab": "enrollments",
        },
    )


@login_required
@require_GET
def enrollment_detail(request, pk: int):
    access.require_view(request.user)
    enrollment = get_object_or_404(Enrollment.objects.select_related("workflow", "contact"), pk=pk)
    runs = list(StepRun.objects.filter(enrollment=enrollment).order_by("started_at", "id")[:500])
    labels = {t: a.label for t, a in all_actions().items()}
    for run in runs:
        run.label = labels.get(run.step_type, run.step_type)
    return render(
        request,
        "workflows/enrollment_detail.html",
        {"enrollment": enrollment, "workflow": enrollment.workflow, "runs": runs, "tab": "enrollments"},
    )


@login_required
@require_GET
def contact_workflows(request, contact_id: int):
    """The small card of a contact's enrollments (newest first), for the contact page."""
    from smarketing.crm.models import Contact

    access.require_view(request.user)
    contact = get_object_or_404(Contact.objects.for_user(request.user, "view"), pk=contact_id)
    enrollments = list(Enrollment.objects.filter(contact=contact).select_related("workflow").order_by("-id")[:20])
    return render(request, "workflows/_contact_card.html", {"contact": contact, "enrollments": enrollments})
