"""The form builder's pages: the list of forms, a new form, the editor (fields, settings, live preview), the
overview with the publish panel, and the submissions (list, detail, export through dataio).

Views parse and render; every write goes through `forms.services`, which checks access and raises
PermissionDenied (the styled 403 page).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from smarketing.campaigns.models import Campaign
from smarketing.crm import access as crm_access
from smarketing.crm.models import LifecycleStage
from smarketing.crm.queries import active_users
from smarketing.forms import access, editor, fields, queries, services
from smarketing.forms.models import Form, FormStatus, FormSubmission
from smarketing.forms.starters import starter_choices

PAGE_SIZE = 50
LIST_FILTERS = {
    "": "Draft and live",
    FormStatus.LIVE: "Live",
    FormStatus.DRAFT: "Draft",
    FormStatus.ARCHIVED: "Archived",
}
SUBMISSION_COLUMNS = 4  # the first visible fields shown as columns of the submissions list


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


@require_GET
def form_list(request):
    access.require_view(request.user)
    status = request.GET.get("status", "")
    status = status if status in LIST_FILTERS else ""
    forms = Form.objects.select_related("owner").order_by("-updated_at", "-id")
    forms = forms.filter(status=status) if status else forms.exclude(status=FormStatus.ARCHIVED)
    return render(
        request,
        "forms/form_list.html",
        {
            "forms": forms,
            "status": status,
            "filters": LIST_FILTERS.items(),
            "can_build": access.can_build(request.user),
        },
    )


def form_create(request):
    access.require_build(request.user)
    errors, name, starter = {}, "", "blank"
    if request.method == "POST":
        name, starter = request.POST.get("name", ""), request.POST.get("starter", "blank")
        try:
            form = services.create_form(request.user, name=name, starter=starter)
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, f"Form “{form.name}” created as a draft. Add its fields, then publish it.")
            return redirect("forms:edit", form_id=form.pk)
    return render(
        request,
        "forms/form_create.html",
        {"errors": errors, "name": name, "starter": starter, "starters": starter_choices()},
        status=400 if errors else 200,
    )


def _editor_context(form: Form, rows: list[dict], settings: dict, errors: dict | None = None) -> dict:
    targets = fields.contact_targets() + fields.company_targets()
    return {
        "form": form,
        "rows": rows,
        "settings": settings,
        "errors": errors or {},
        "preview": editor.preview_fields(rows),
        "field_types": fields.FIELD_TYPES.items(),
        "choice_types": fields.CHOICE_TYPES,
        "hidden_sources": fields.HIDDEN_SOURCES,
        "targets": [(t, _target_label(t)) for t in targets],
        "users": active_users(),
        "campaigns": list(Campaign.objects.order_by("-id").only("id", "name")[:200]),
        "stages": LifecycleStage.choices,
    }


def _target_label(target: str) -> str:
    parts = target.split(".")
    record = parts[0].capitalize()
    name = parts[-1].replace("_", " ")
    return f"{record}: {name} (custom)" if len(parts) == 3 else f"{record}: {name}"


def _settings_of(form: Form) -> dict:
    data = {name: getattr(form, name) for name in editor.SETTINGS if name not in ("campaign", "default_owner")}
    data.update({flag: getattr(form, flag) for flag in editor.SETTING_FLAGS})
    data["campaign"] = form.campaign_id or ""
    data["default_owner"] = form.default_owner_id or ""
    data["notify_users"] = [str(pk) for pk in form.notify_users.values_list("pk", flat=True)]
    return data


def _action(post) -> str:
    action = post.get("action", "")
    return f"add:{post.get('add_type', '')}" if action == "add" else action


def form_edit(request, form_id: int):
    form = get_object_or_404(Form, pk=form_id)
    access.require_build(request.user)
    if request.method != "POST":
        return render(request, "forms/form_edit.html", _editor_context(form, form.fields, _settings_of(form)))
    rows, settings = editor.parse_fields(request.POST), editor.parse_settings(request.POST)
    if request.POST.get("action") and not request.POST.get("save"):
        # Without JavaScript the builder's buttons post the whole editor here: apply the button, show it again.
        rows = editor.apply_action(rows, _action(request.POST))
        return render(request, "forms/form_edit.html", _editor_context(form, rows, settings))
    try:
        services.update_form(request.user, form, fields=rows, **settings)
    except ValidationError as exc:
        context = _editor_context(form, rows, settings, _errors(exc))
        return render(request, "forms/form_edit.html", context, status=400)
    live = form.status == FormStatus.LIVE
    messages.success(request, "Form saved." + (" It is live: the change shows at once." if live else ""))
    return redirect("forms:edit", form_id=form.pk)


@require_POST
def form_builder(request, form_id: int):
    """htmx: apply an add/remove/move button to the posted fields; answers the field list and the preview."""
    form = get_object_or_404(Form, pk=form_id)
    access.require_build(request.user)
    rows = editor.apply_action(editor.parse_fields(request.POST), _action(request.POST))
    context = _editor_context(form, rows, editor.parse_settings(request.POST))
    context["oob"] = True
    return render(request, "forms/_builder_update.html", context)


@require_POST
def form_preview(request, form_id: int):
    """htmx: the live preview of the posted editor (debounced by the page)."""
    get_object_or_404(Form, pk=form_id)
    access.require_build(request.user)
    rows, settings = editor.parse_fields(request.POST), editor.parse_settings(request.POST)
    return render(request, "forms/_preview.html", {"preview": editor.preview_fields(rows), "settings": settings})


@require_GET
def form_overview(request, form_id: int):
    access.require_view(request.user)
    form = get_object_or_404(Form.objects.select_related("owner", "campaign", "default_owner"), pk=form_id)
    overview = queries.overview(form)
    charts = {
        "per_day": {
            "type": "bar",
            "labels": [day.strftime("%b %-d") for day, _ in overview.days],
            "datasets": [{"label": "Submissions", "data": [n for _, n in overview.days]}],
        }
    }
    return render(
        request,
        "forms/form_overview.html",
        {
            "form": form,
            "overview": overview,
            "charts": charts,
            "urls": queries.public_urls(form),
            "can_build": access.can_build(request.user),
            "field_count": len(form.fields),
        },
    )


def _status_action(request, form_id: int, service, done: str):
    form = get_object_or_404(Form, pk=form_id)
    try:
        form = service(request.user, form)
    except ValidationError as exc:
        for messages_ in _errors(exc).values():
            for message in messages_:
                messages.error(request, message)
        return redirect("forms:edit", form_id=form.pk)
    messages.success(request, done)
    return redirect("forms:overview", form_id=form.pk)


@require_POST
def form_publish(request, form_id: int):
    return _status_action(request, form_id, services.publish_form, "Form published: it now accepts submissions.")


@require_POST
def form_archive(request, form_id: int):
    return _status_action(
        request, form_id, services.archive_form, "Form archived: it no longer accepts submissions. They all stay."
    )


@require_POST
def form_duplicate(request, form_id: int):
    form = get_object_or_404(Form, pk=form_id)
    copy = services.duplicate_form(request.user, form)
    messages.success(request, f"“{copy.name}” created as a draft.")
    return redirect("forms:edit", form_id=copy.pk)


def display(value) -> str:
    """A submitted value as text: Yes/No for a checkbox, the ticked answers joined for checkboxes."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _columns(form: Form) -> list:
    return [f for f in fields.parse(form.fields) if f.type != "hidden"][:SUBMISSION_COLUMNS]


@require_GET
def submission_list(request, form_id: int):
    access.require_view(request.user)
    form = get_object_or_404(Form, pk=form_id)
    status = request.GET.get("status", "")
    status = status if status in queries.STATUS_FILTERS else ""
    page = queries.submission_page(form, status, request.GET.get("after"), PAGE_SIZE)
    columns = _columns(form)
    rows = [(s, [(c.label or c.key, display(s.data.get(c.key))) for c in columns]) for s in page.rows]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "columns": columns,
        "status": status,
        "filters": queries.STATUS_FILTERS.items(),
        "can_export": crm_access.can(request.user, "export"),
    }
    return render(request, "forms/submission_list.html", context)


@require_GET
def submission_detail(request, form_id: int, submission_id: int):
    access.require_view(request.user)
    submission = get_object_or_404(
        FormSubmission.objects.select_related("form", "contact"), pk=submission_id, form_id=form_id
    )
    form = submission.form
    known = fields.parse(form.fields)
    answers = [(f.label or f.key, display(submission.data[f.key]), f.type) for f in known if f.key in submission.data]
    # Values of fields removed from the form since: still shown, under their key.
    gone = sorted(set(submission.data) - {f.key for f in known})
    answers += [(key, display(submission.data[key]), "removed") for key in gone]
    return render(request, "forms/submission_detail.html", {"form": form, "submission": submission, "answers": answers})
