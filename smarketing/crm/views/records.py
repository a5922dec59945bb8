"""Record pages (the 360° view), the unified timeline, quick actions, the deal page, the pipeline board,
"my work" home and tasks.

Every write goes through crm.services (permissions, history, touchpoints, audit). Every page runs a fixed
number of queries whatever the length of the timeline or the size of the pipeline: related rows are
fetched with select_related or one bounded query per panel, never per row.
"""

import datetime
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Count, F, Q, Subquery, Sum, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from smarketing.accounts.models import Role, User
from smarketing.core.queries import SortOption, keyset_page
from smarketing.crm import access, services
from smarketing.crm.models import (
    LIFECYCLE_ORDER,
    Company,
    Contact,
    Deal,
    DealContact,
    DealStatus,
    LifecycleStage,
    Note,
    Pipeline,
    PropertyDefinition,
    Stage,
    Task,
)
from smarketing.crm.sanitize import text_to_html
from smarketing.timeline.models import Kind, Team, Touchpoint
from smarketing.timeline.queries import timeline, timeline_page

RECORD_MODELS = {"contact": Contact, "company": Company, "deal": Deal}
TIMELINE_PAGE_SIZE = 30
# Related rows each timeline item links to; the record's own kind is left out (every touch points at it).
TIMELINE_RELATED = {"contact": ("deal",), "company": ("contact", "deal"), "deal": ("contact",)}
TEAM_TABS = [("", "All"), (Team.MARKETING, "Marketing"), (Team.SALES, "Sales"), (Team.SYSTEM, "System")]
BOARD_COLUMN_LIMIT = 50
BOARD_CLOSED_DAYS = 30  # won/lost columns show what closed recently, not every deal ever closed
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


# ---------------------------------------------------------------------------------------------------------
# Small helpers


def money(amount, currency: str) -> str:
    amount = Decimal(amount or 0)
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    sign = CURRENCY_SIGNS.get(currency)
    return f"{sign}{text}" if sign else f"{text} {currency}"


def duration(seconds: float | None) -> str:
    """A compact time span for stage history: "3 d 4 h", "5 h 12 min", "7 min"."""
    if seconds is None:
        return "—"
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "< 1 min"


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def is_htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


def _forbidden(request, exc: Exception):
    message = str(exc) or "You do not have permission to do that."
    if wants_json(request):
        return JsonResponse({"ok": False, "error": message}, status=403)
    if is_htmx(request):
        # records.js shows plain-text error bodies of htmx requests in a toast.
        return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
    return render(request, "crm/record_forbidden.html", {"message": message}, status=403)


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names when the form has it."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _record(kind: str, pk: int):
    model = RECORD_MODELS.get(kind)
    if model is None:
        raise Http404("Unknown record type")
    related = {Contact: ("company", "owner"), Company: ("owner",), Deal: ("company", "owner", "stage")}[model]
    return get_object_or_404(model.objects.select_related(*related), pk=pk)


def _record_url(kind: str, obj) -> str:
    return reverse(f"{kind}_detail", args=[obj.pk])


def _format_custom(definition: PropertyDefinition, value) -> str | None:
    if value in (None, "", []):
        return None
    kind = definition.type
    if kind == PropertyDefinition.Type.BOOLEAN:
        return "Yes" if value is True else "No" if value is False else str(value)
    if kind == PropertyDefinition.Type.DATE:
        try:
            return date_format(datetime.date.fromisoformat(str(value)), "M j, Y")
        except ValueError:
            return str(value)
    if kind == PropertyDefinition.Type.NUMBER and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _custom_props(kind: str, obj) -> list[tuple[str, str | None]]:
    custom = obj.custom if isinstance(obj.custom, dict) else {}
    return [
        (d.label, _format_custom(d, custom.get(d.key))) for d in PropertyDefinition.objects.filter(object_type=kind)
    ]


def _assignable_users():
    return User.objects.filter(is_active=True).exclude(role=Role.READ_ONLY)


# ---------------------------------------------------------------------------------------------------------
# Quick-action forms


OUTCOMES = {
    "call": ["Connected", "Left voicemail", "No answer", "Busy", "Wrong number"],
    "email": ["Sent", "Replied", "Bounced"],
    "meeting": ["Completed", "Scheduled", "Rescheduled", "No show", "Canceled"],
}
ACTIVITY_TITLES = {"call": "Log a call", "email": "Log an email", "meeting": "Log a meeting"}
SUMMARY_HINTS = {
    "call": "e.g. Discovery call: budget approved for Q3",
    "email": "e.g. Sent pricing and the security whitepaper",
    "meeting": "e.g. Demo with the IT team",
}


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value):
        if isinstance(value, datetime.datetime):
            return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if timezone.is_aware(value) else value
        return value


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k) for k in OUTCOMES], widget=forms.HiddenInput)
    summary = forms.CharField(max_length=300, label="What happened?")
    outcome = forms.ChoiceField(required=False)
    occurred_at = forms.DateTimeField(
        required=False, label="When", widget=DateTimeLocalInput, help_text="Leave empty for now."
    )
    body = forms.CharField(required=False, max_length=10000, label="Notes", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, activity: str = "call", **kwargs):
        kwargs.setdefault("auto_id", f"id_{activity}_%s")
        super().__init__(*args, **kwargs)
        self.activity = activity
        self.fields["kind"].initial = activity
        self.fields["outcome"].choices = [("", "—")] + [(o, o) for o in OUTCOMES[activity]]
        self.fields["summary"].widget.attrs["placeholder"] = SUMMARY_HINTS[activity]


class NoteForm(forms.Form):
    body = forms.CharField(
        max_length=20000,
        label="Note",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "What should the team know?"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_note_%s")
        super().__init__(*args, **kwargs)


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "e.g. Send the proposal"}))
    kind = forms.ChoiceField(choices=Task.Kind.choices, initial=Task.Kind.TODO, label="Type")
    due_at = forms.DateTimeField(required=False, label="Due", widget=DateTimeLocalInput)
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Me", label="Assign to")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_task_%s")
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _assignable_users()


class LifecycleForm(forms.Form):
    lifecycle_stage = forms.ChoiceField(choices=LifecycleStage.choices, label="Move to")
    recycle = forms.BooleanField(required=False, label="Recycle: move back to an earlier stage")
    reason = forms.CharField(max_length=300, required=False, label="Reason")

    def __init__(self, *args, contact: Contact, **kwargs):
        kwargs.setdefault("auto_id", "id_lifecycle_%s")
        super().__init__(*args, **kwargs)
        self.contact = contact
        self.fields["lifecycle_stage"].initial = contact.lifecycle_stage

    def clean(self):
        data = super().clean()
        to_stage, current = data.get("lifecycle_stage"), self.contact.lifecycle_stage
        if not to_stage:
            return data
        if to_stage == current:
            self.add_error("lifecycle_stage", "The contact is already at this stage.")
        elif to_stage in LIFECYCLE_ORDER and current in LIFECYCLE_ORDER:
            if LIFECYCLE_ORDER.index(to_stage) < LIFECYCLE_ORDER.index(current):
                labels = dict(LifecycleStage.choices)
                if not data.get("recycle"):
                    self.add_error(
                        "recycle",
                        f"{labels[to_stage]} comes before {labels[current]}. Tick “Recycle” and give a reason "
                        "to move the contact back.",
                    )
                elif not (data.get("reason") or "").strip():
                    self.add_error("reason", "Say why the contact is recycled.")
        return data


class DealMoveForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), empty_label=None, label="Move to stage")
    reason = forms.CharField(
        max_length=200, required=False, label="Reason", help_text="Required when the deal is lost."
    )

    def __init__(self, *args, deal: Deal, stages=None, **kwargs):
        kwargs.setdefault("auto_id", "id_move_%s")
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(pipeline_id=deal.pipeline_id)
        if stages is not None:
            # The page already loaded the stages: render the options from them instead of querying again.
            self.fields["stage"].choices = [(s.pk, s.name) for s in stages]
        self.fields["stage"].initial = deal.stage_id


# ---------------------------------------------------------------------------------------------------------
# Timeline


def _decorate_touches(touches: list[Touchpoint]) -> None:
    """Attach what the template shows besides the summary: the note's HTML, a logged call's notes, a reason."""
    note_ids = {}
    for touch in touches:
        details = touch.details if isinstance(touch.details, dict) else {}
        touch.body_text = details.get("body") if isinstance(details.get("body"), str) else ""
        touch.outcome = details.get("outcome") if isinstance(details.get("outcome"), str) else ""
        touch.reason = details.get("reason") if isinstance(details.get("reason"), str) else ""
        touch.note_html = ""
        note_id = details.get("note_id")
        if touch.kind == Kind.NOTE_ADDED and isinstance(note_id, int) and not isinstance(note_id, bool):
            note_ids[note_id] = touch
    if note_ids:
        # One query for every note on the page; the body was sanitized by services.add_note when stored.
        for note_id, body in Note.objects.filter(pk__in=list(note_ids)).values_list("id", "body"):
            note_ids[note_id].note_html = body


def _timeline_context(request, kind: str, obj, cursor: str | None = None) -> dict:
    team = request.GET.get("team", "")
    team = team if team in Team.values else ""
    touch_kind = request.GET.get("kind", "")
    touch_kind = touch_kind if touch_kind in Kind.values else ""
    qs = timeline(**{kind: obj}, team=team or None, kind=touch_kind or None).select_related(*TIMELINE_RELATED[kind])
    page = timeline_page(qs, cursor, TIMELINE_PAGE_SIZE)
    _decorate_touches(page.rows)
    filters = {k: v for k, v in (("team", team), ("kind", touch_kind)) if v}
    partial_url = reverse("timeline_partial", args=[kind, obj.pk])
    record_url = _record_url(kind, obj)
    more = None
    if page.next_cursor:
        query = urlencode({**filters, "cursor": page.next_cursor})
        more = {"partial": f"{partial_url}?{query}", "page": f"{record_url}?{query}#timeline"}
    tabs = []
    for value, label in TEAM_TABS:
        query = urlencode({k: v for k, v in (("team", value), ("kind", touch_kind)) if v})
        tabs.append(
            {
                "label": label,
                "active": value == team,
                "partial": f"{partial_url}?{query}",
                "page": f"{record_url}?{query}#timeline" if query else f"{record_url}#timeline",
            }
        )
    return {
        "touches": page.rows,
        "more": more,
        "team": team,
        "touch_kind": touch_kind,
        "team_tabs": tabs,
        "kind_choices": Kind.choices,
        "timeline_partial_url": partial_url,
        "filtered": bool(filters),
        "record_url": record_url,
        "timeline_cursor": cursor,
        "show_contact": kind != "contact",
        "show_deal": kind != "deal",
    }


def timeline_partial(request, kind: str, pk: int):
    """The timeline section (filters applied) or, with a cursor, the next items for "Load more"."""
    obj = _record(kind, pk)
    cursor = request.GET.get("cursor") or None
    context = {**_timeline_context(request, kind, obj, cursor), "record": obj, "record_kind": kind}
    template = "crm/timeline_items.html" if cursor else "crm/timeline_section.html"
    return render(request, template, context)


# ---------------------------------------------------------------------------------------------------------
# Record pages


def _open_tasks(kind: str, obj, limit: int = 10) -> list[Task]:
    return list(
        Task.objects.filter(**{kind: obj}, completed_at__isnull=True)
        .select_related("owner")
        .order_by(F("due_at").asc(nulls_last=True), "id")[:limit]
    )


def _completable(tasks: list[Task], user) -> list[Task]:
    """Mark the tasks this user may tick off, so the page offers the button only where it works."""
    for task in tasks:
        task.can_complete = services.can_change_task(user, task)
    return tasks


def _quick_forms(overrides: dict | None = None) -> dict:
    quick = {
        "note": NoteForm(),
        "call": ActivityForm(activity="call"),
        "email": ActivityForm(activity="email"),
        "meeting": ActivityForm(activity="meeting"),
        "task": TaskForm(),
    }
    quick.update(overrides or {})
    return quick


def _quick_panels(kind: str, obj, forms_by_panel: dict, active: str) -> list[dict]:
    urls = {
        "note": reverse("add_note", args=[kind, obj.pk]),
        "activity": reverse("log_activity", args=[kind, obj.pk]),
        "task": reverse("add_task", args=[kind, obj.pk]),
    }
    spec = [
        ("note", "Note", "Add note", urls["note"]),
        ("call", "Call", "Log call", urls["activity"]),
        ("email", "Email", "Log email", urls["activity"]),
        ("meeting", "Meeting", "Log meeting", urls["activity"]),
        ("task", "Task", "Create task", urls["task"]),
    ]
    return [
        {
            "key": key,
            "label": label,
            "submit": submit,
            "action": action,
            "form": forms_by_panel[key],
            "active": key == active,
        }
        for key, label, submit, action in spec
    ]


def _record_context(request, kind: str, obj, *, quick: dict | None = None, active: str = "note") -> dict:
    user = request.user
    can_write = access.can(user, "edit")
    context = {
        "record": obj,
        "record_kind": kind,
        "record_url": _record_url(kind, obj),
        "can_edit": access.can(user, "edit", obj),
        "can_delete": access.can(user, "delete", obj),
        "can_merge": kind != "deal" and access.can(user, "merge", obj),
        "can_write": can_write,
        "custom_props": _custom_props(kind, obj),
        "open_tasks": _completable(_open_tasks(kind, obj), user),
        **_timeline_context(request, kind, obj, request.GET.get("cursor") or None),
    }
    if can_write:
        context["panels"] = _quick_panels(kind, obj, _quick_forms(quick), active)
    return context


def _render_contact(request, contact: Contact, *, lifecycle_form=None, quick=None, active="note", status=200):
    context = _record_context(request, "contact", contact, quick=quick, active=active)
    company_contacts = []
    if contact.company_id:
        company_contacts = list(
            Contact.objects.filter(company_id=contact.company_id).exclude(pk=contact.pk).order_by("-id")[:10]
        )
    roles = list(
        DealContact.objects.filter(contact=contact)
        .select_related("deal__stage", "deal__company")
        .order_by("-deal_id")[:20]
    )
    for role in roles:
        role.deal.amount_display = money(role.deal.amount, role.deal.currency)
    context.update(
        contact=contact,
        company_contacts=company_contacts,
        deal_roles=roles,
        lifecycle_history=list(contact.lifecycle_changes.select_related("actor").order_by("-changed_at", "-id")[:20]),
        lifecycle_form=lifecycle_form or LifecycleForm(contact=contact),
        lifecycle_open=lifecycle_form is not None,
        deal_create_url=f"{reverse('deal_create')}?"
        + urlencode({"contact": contact.pk, **({"company": contact.company_id} if contact.company_id else {})}),
    )
    return render(request, "crm/record_contact.html", context, status=status)


def contact_detail(request, pk: int):
    return _render_contact(request, _record("contact", pk))


def _render_company(request, company: Company, *, quick=None, active="note", status=200):
    context = _record_context(request, "company", company, quick=quick, active=active)
    contacts = list(company.contacts.select_related("owner").order_by("-id")[:26])
    deals = list(company.deals.select_related("stage", "owner").order_by("-id")[:26])
    for deal in deals:
        deal.amount_display = money(deal.amount, deal.currency)
    context.update(
        company=company,
        contacts=contacts[:25],
        more_contacts=len(contacts) > 25,
        deals=deals[:25],
        more_deals=len(deals) > 25,
        deal_create_url=f"{reverse('deal_create')}?" + urlencode({"company": company.pk}),
    )
    return render(request, "crm/record_company.html", context, status=status)


def company_detail(request, pk: int):
    return _render_company(request, _record("company", pk))


def _stage_steps(stages: list[Stage], current: Stage) -> list[dict]:
    """The progress bar: open stages in order, then the outcome the deal reached (or "Won" as the goal)."""
    steps = []
    for stage in stages:
        if stage.outcome != Stage.Outcome.OPEN and stage.pk != current.pk:
            continue
        if stage.pk == current.pk:
            state = "current"
        elif current.outcome != Stage.Outcome.OPEN or stage.position < current.position:
            state = "done"
        else:
            state = "todo"
        steps.append({"stage": stage, "state": state})
    if current.outcome == Stage.Outcome.OPEN:
        won = next((s for s in stages if s.outcome == Stage.Outcome.WON), None)
        if won is not None:
            steps.append({"stage": won, "state": "todo"})
    return steps


def _exit_criteria(deal: Deal, stage: Stage, defs: list[PropertyDefinition]) -> list[dict]:
    """Each criterion of `stage` with whether `deal` meets it; services.missing_exit_criteria is the judge."""
    if not stage.exit_criteria:
        return []
    missing = set(services.missing_exit_criteria(deal, stage))
    labels = {d.key: d.label for d in defs}
    criteria = []
    for name in stage.exit_criteria:
        if name.startswith("custom."):
            key = name.split(".", 1)[1]
            label = labels.get(key, key)
        elif name == "contacts":
            label = "Contacts"
        else:
            try:
                label = str(Deal._meta.get_field(name).verbose_name).capitalize()
            except FieldDoesNotExist:  # a criterion naming a removed field no longer applies
                continue
        criteria.append({"label": label, "met": label not in missing})
    return criteria


def _render_deal(request, deal: Deal, *, move_form=None, quick=None, active="note", status=200):
    context = _record_context(request, "deal", deal, quick=quick, active=active)
    now = timezone.now()
    stages = list(Stage.objects.filter(pipeline_id=deal.pipeline_id).order_by("position"))
    current = next((s for s in stages if s.pk == deal.stage_id), deal.stage)
    changes = list(
        deal.stage_changes.select_related("from_stage", "to_stage", "actor").order_by("changed_at", "id")[:200]
    )
    # seconds_in_from sits on the row that left a stage, so a row's time-in-stage is on the row after it.
    history = []
    for index, change in enumerate(changes):
        if index + 1 < len(changes):
            spent = changes[index + 1].seconds_in_from
        else:
            spent = (now - deal.stage_entered_at).total_seconds()
        history.append({"change": change, "spent": duration(spent), "current": index + 1 == len(changes)})
    in_stage = (now - deal.stage_entered_at).total_seconds()
    stalled = bool(deal.status == DealStatus.OPEN and current.target_days and in_stage > current.target_days * 86400)
    defs = list(PropertyDefinition.objects.filter(object_type="deal"))
    context.update(
        deal=deal,
        pipeline=Pipeline.objects.filter(pk=deal.pipeline_id).first(),
        amount_display=money(deal.amount, deal.currency),
        roles=list(deal.deal_contacts.select_related("contact").order_by("id")[:50]),
        steps=_stage_steps(stages, current),
        history=list(reversed(history)),
        in_stage=duration(in_stage),
        target=current.target_days,
        stalled=stalled,
        criteria=_exit_criteria(deal, current, defs),
        move_form=move_form or DealMoveForm(deal=deal, stages=stages),
        move_open=move_form is not None,
        current_stage=current,
    )
    return render(request, "crm/record_deal.html", context, status=status)


def deal_detail(request, pk: int):
    return _render_deal(request, _record("deal", pk))


def _render_record(request, kind: str, obj, **kwargs):
    renderer = {"contact": _render_contact, "company": _render_company, "deal": _render_deal}[kind]
    return renderer(request, obj, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# Record actions


@require_POST
def contact_lifecycle(request, pk: int):
    contact = _record("contact", pk)
    if not access.can(request.user, "edit", contact):
        return _forbidden(request, PermissionDenied("You may not change this contact's lifecycle stage."))
    form = LifecycleForm(request.POST, contact=contact)
    if form.is_valid():
        try:
            change = services.change_lifecycle_stage(
                contact,
                form.cleaned_data["lifecycle_stage"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                allow_backward=form.cleaned_data["recycle"],
            )
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if change is not None:
                messages.success(request, f"Lifecycle stage set to {change.get_to_stage_display()}.")
            return redirect("contact_detail", pk=contact.pk)
    return _render_contact(request, contact, lifecycle_form=form, status=400)


def _quick_response(request, kind: str, obj, panel: str, form, *, touch=None, saved: str = ""):
    """htmx: the panel's form (fresh after a save) plus the new timeline item swapped in out of band.
    Plain POST: redirect to the record after a save, or the whole page with the form and its errors."""
    if touch is None and not form.errors:
        form.add_error(None, "Nothing was saved.")
    if is_htmx(request):
        panels = _quick_panels(kind, obj, _quick_forms({panel: form}), panel)
        context = {
            "panel": next(p for p in panels if p["key"] == panel),
            "record": obj,
            "record_kind": kind,
            "new_touch": touch,
            "show_contact": kind != "contact",
            "show_deal": kind != "deal",
        }
        if touch is not None:
            _decorate_touches([touch])
        if panel == "task" and touch is not None:
            context["open_tasks"] = _completable(_open_tasks(kind, obj), request.user)
            context["tasks_oob"] = True
        return render(request, "crm/record_quick_result.html", context)
    if touch is not None:
        messages.success(request, saved)
        return redirect(f"{_record_url(kind, obj)}#timeline")
    return _render_record(request, kind, obj, quick={panel: form}, active=panel, status=400)


def _newest_touch(kind: str, obj, touch_kind: str, actor) -> Touchpoint | None:
    return (
        Touchpoint.objects.filter(**{kind: obj}, kind=touch_kind, actor=actor)
        .select_related("actor", "campaign", *TIMELINE_RELATED[kind])
        .order_by("-id")
        .first()
    )


@require_POST
def log_activity(request, kind: str, pk: int):
    obj = _record(kind, pk)
    if not access.can(request.user, "edit"):
        return _forbidden(request, PermissionDenied("Read-only users cannot log activities."))
    activity = request.POST.get("kind")
    activity = activity if activity in OUTCOMES else "call"
    form = ActivityForm(request.POST, activity=activity)
    touch = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            touch = services.log_activity(
                obj,
                kind=activity,
                summary=data["summary"],
                body=data["body"],
                outcome=data["outcome"],
                occurred_at=data["occurred_at"],
                actor=request.user,
            )
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            touch = Touchpoint.objects.select_related("actor", "campaign", *TIMELINE_RELATED[kind]).get(pk=touch.pk)
            form = ActivityForm(activity=activity)
    return _quick_response(request, kind, obj, activity, form, touch=touch, saved=f"{activity.title()} logged.")


@require_POST
def add_note(request, kind: str, pk: int):
    obj = _record(kind, pk)
    if not access.can(request.user, "edit"):
        return _forbidden(request, PermissionDenied("Read-only users cannot add notes."))
    form = NoteForm(request.POST)
    touch = None
    if form.is_valid():
        try:
            services.add_note(obj, body_html=text_to_html(form.cleaned_data["body"]), actor=request.user)
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            touch = _newest_touch(kind, obj, Kind.NOTE_ADDED, request.user)
            form = NoteForm()
    return _quick_response(request, kind, obj, "note", form, touch=touch, saved="Note added.")


@require_POST
def add_task(request, kind: str, pk: int):
    obj = _record(kind, pk)
    if not access.can(request.user, "edit"):
        return _forbidden(request, PermissionDenied("Read-only users cannot create tasks."))
    form = TaskForm(request.POST)
    touch = None
    if form.is_valid():
        data = form.cleaned_data
        links = {kind: obj}
        if kind == "contact" and obj.company_id:
            links["company"] = obj.company
        elif kind == "deal" and obj.company_id:
            links["company"] = obj.company
        try:
            services.create_task(
                actor=request.user,
                title=data["title"],
                kind=data["kind"],
                due_at=data["due_at"],
                owner=data["owner"],
                **links,
            )
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            touch = _newest_touch(kind, obj, Kind.TASK_CREATED, request.user)
            form = TaskForm()
    return _quick_response(request, kind, obj, "task", form, touch=touch, saved="Task created.")


# ---------------------------------------------------------------------------------------------------------
# Pipeline board


class BoardQuery:
    """The deals a board shows: every open deal of its stages, won/lost ones closed recently, maybe only mine.

    Each column is filtered on its own stage (never on the pipeline), so the database can answer from the
    (stage, -id) index, and open columns need no status test: services keep status in step with the stage.
    """

    def __init__(self, stages: list[Stage], user, mine: bool):
        self.stages = stages
        self.owner = user if mine else None
        self.cutoff = timezone.now() - datetime.timedelta(days=BOARD_CLOSED_DAYS)

    def column(self, stage: Stage) -> Q:
        q = Q(stage_id=stage.pk)
        if stage.outcome != Stage.Outcome.OPEN:
            q &= Q(closed_at__gte=self.cutoff)
        if self.owner is not None:
            q &= Q(owner=self.owner)
        return q

    def deals(self, stages: list[Stage] | None = None):
        condition = Q()
        for stage in stages if stages is not None else self.stages:
            condition |= self.column(stage)
        return Deal.objects.filter(condition) if condition else Deal.objects.none()

    def totals(self, stages: list[Stage] | None = None) -> dict[int, dict]:
        """Count and amount per stage in ONE grouped query (per currency, so sums never mix currencies)."""
        rows = self.deals(stages).order_by().values("stage_id", "currency").annotate(n=Count("id"), total=Sum("amount"))
        totals: dict[int, dict] = {}
        for row in rows:
            entry = totals.setdefault(row["stage_id"], {"count": 0, "sums": []})
            entry["count"] += row["n"]
            entry["sums"].append((row["currency"], row["total"] or Decimal("0")))
        for entry in totals.values():
            biggest_first = sorted(entry["sums"], key=lambda pair: (-pair[1], pair[0]))
            entry["total"] = " · ".join(money(total, currency) for currency, total in biggest_first)
        return totals

    def cards(self) -> list[Deal]:
        """The newest BOARD_COLUMN_LIMIT deals of every column, in one query.

        PostgreSQL: a UNION ALL of one LIMITed query per stage, each a backward range scan of (stage, -id),
        so a stage holding 100,000 deals costs the same as one holding 10. SQLite cannot LIMIT inside a
        compound select, so it ranks rows with a window function instead (fine at SQLite installs' sizes).
        """
        if not self.stages:
            return []
        related = ("company", "owner")
        if connection.features.supports_slicing_ordering_in_compound:
            parts = [
                Deal.objects.filter(self.column(s)).select_related(*related).order_by("-id")[:BOARD_COLUMN_LIMIT]
                for s in self.stages
            ]
            return list(parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0])
        ranked = (
            self.deals()
            .annotate(board_rank=Window(RowNumber(), partition_by=[F("stage_id")], order_by=[F("id").desc()]))
            .filter(board_rank__lte=BOARD_COLUMN_LIMIT)
        )
        return list(ranked.select_related(*related).order_by("stage_id", "-id"))


def _url_pattern(name: str) -> str:
    """reverse() once for a whole board ("/deals/{}/move/") instead of once per card."""
    return reverse(name, args=[987654321]).replace("987654321", "{}")


def pipeline_board(request):
    pipelines = list(Pipeline.objects.all())
    pipeline_id = request.GET.get("pipeline", "")
    pipeline = next((p for p in pipelines if pipeline_id.isdigit() and p.pk == int(pipeline_id)), None)
    if pipeline is None:
        pipeline = next((p for p in pipelines if p.is_default), None) or (pipelines[0] if pipelines else None)
    if pipeline is None:
        return render(request, "crm/board_pipeline.html", {"pipeline": None, "pipelines": []})
    mine = request.GET.get("owner") == "me"
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
    board = BoardQuery(stages, request.user, mine)
    totals = board.totals()
    cards_by_stage: dict[int, list[Deal]] = {s.pk: [] for s in stages}
    now = timezone.now()
    targets = {s.pk: s.target_days for s in stages}
    can_edit_any = access.can(request.user, "edit")
    detail_url, move_url = _url_pattern("deal_detail"), _url_pattern("deal_move")
    for deal in board.cards():
        deal.amount_display = money(deal.amount, deal.currency)
        deal.days_in_stage = max((now - deal.stage_entered_at).days, 0)
        target = targets.get(deal.stage_id)
        deal.stalled = bool(deal.status == DealStatus.OPEN and target and deal.days_in_stage > target)
        deal.can_move = can_edit_any and access.can(request.user, "edit", deal)
        deal.key = str(deal.pk)
        deal.detail_url = detail_url.format(deal.pk)
        deal.move_url = move_url.format(deal.pk)
        cards_by_stage.setdefault(deal.stage_id, []).append(deal)
    filters = {"pipeline": pipeline.pk, **({"owner": "me"} if mine else {})}
    columns = []
    for stage in stages:
        cards = cards_by_stage.get(stage.pk, [])
        total = totals.get(stage.pk, {"count": 0, "total": money(0, "USD")})
        more_query = {"stage": stage.pk, **({"owner": "me"} if mine else {})}
        columns.append(
            {
                "stage": stage,
                "cards": cards,
                "count": total["count"],
                "total": total["total"],
                "more": max(total["count"] - len(cards), 0),
                "more_url": f"{reverse('deal_list')}?{urlencode(more_query)}",
                # Every card of a column offers the same "Move to" options: built once per column.
                "move_options": format_html_join(
                    "",
                    '<option value="{}" {}>{}</option>',
                    ((s.pk, "selected" if s.pk == stage.pk else "", s.name) for s in stages),
                ),
            }
        )
    context = {
        "pipeline": pipeline,
        "pipelines": pipelines,
        "columns": columns,
        "mine": mine,
        "board_url": f"{reverse('pipeline_board')}?{urlencode(filters)}",
        "closed_days": BOARD_CLOSED_DAYS,
        "column_limit": BOARD_COLUMN_LIMIT,
    }
    return render(request, "crm/board_pipeline.html", context)


@require_POST
def deal_move(request, pk: int):
    """Move a deal to another stage. JSON for board.js (Accept: application/json); redirects for plain forms."""
    deal = _record("deal", pk)
    json = wants_json(request)
    stage_id = request.POST.get("stage", "")
    stage = None
    if stage_id.isdigit():
        stage = Stage.objects.filter(pk=int(stage_id), pipeline_id=deal.pipeline_id).first()
    from_stage_id = deal.stage_id
    error, code = None, "invalid"
    if stage is None:
        error = "Choose a stage of this deal's pipeline."
    else:
        try:
            services.move_deal_stage(deal, stage, actor=request.user, reason=request.POST.get("reason", "")[:200])
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except ValidationError as exc:
            error, code = " ".join(exc.messages), getattr(exc, "code", None) or "invalid"
    if json:
        if error:
            return JsonResponse({"ok": False, "error": error, "code": code}, status=400)
        changed = list(Stage.objects.filter(pk__in=[from_stage_id, stage.pk]))
        board = BoardQuery(changed, request.user, request.POST.get("board_owner") == "me")
        totals = board.totals()
        empty = {"count": 0, "total": money(0, deal.currency)}
        return JsonResponse(
            {
                "ok": True,
                "deal": deal.pk,
                "stage": stage.pk,
                "stage_name": stage.name,
                "message": f"Moved “{deal.name}” to {stage.name}.",
                "columns": {
                    str(sid): {k: totals.get(sid, empty)[k] for k in ("count", "total")}
                    for sid in {from_stage_id, stage.pk}
                },
            }
        )
    if error and not request.POST.get("next"):
        # The deal page's move form: show the error on the form, keeping what was typed.
        form = DealMoveForm(request.POST, deal=deal)
        form.is_valid()
        form.add_error("reason" if code == "lost_reason" else None, error)
        return _render_deal(request, deal, move_form=form, status=400)
    if error:
        messages.error(request, f"“{deal.name}” was not moved: {error}")
    elif stage.pk != from_stage_id:
        messages.success(request, f"Moved “{deal.name}” to {stage.name}.")
    return redirect(_safe_next(request, reverse("deal_detail", args=[deal.pk])))


# ---------------------------------------------------------------------------------------------------------
# My work and tasks


def _day_bounds(now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """Start and end of today in the user's time zone (activated by UserTimezoneMiddleware)."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + datetime.timedelta(days=1)


HOME_OVERDUE_SHOWN = 8


def home(request):
    user = request.user
    now = timezone.now()
    _, end_of_today = _day_bounds(now)
    mine = Task.objects.filter(owner=user, completed_at__isnull=True).select_related("contact", "company", "deal")
    # 26 rows tell "25" from "more than 25" without counting; the page lists the first few.
    overdue = _completable(list(mine.filter(due_at__lt=now).order_by("due_at", "id")[:26]), user)
    today = _completable(
        list(mine.filter(due_at__gte=now, due_at__lt=end_of_today).order_by("due_at", "id")[:26]), user
    )
    upcoming = _completable(list(mine.filter(due_at__gte=end_of_today).order_by("due_at", "id")[:10]), user)
    undated = _completable(list(mine.filter(due_at__isnull=True).order_by("-id")[:10]), user)
    local = timezone.localtime(now)
    month_start = local.date().replace(day=1)
    next_month = (month_start + datetime.timedelta(days=32)).replace(day=1)
    closing = list(
        Deal.objects.filter(owner=user, status=DealStatus.OPEN, close_date__gte=month_start, close_date__lt=next_month)
        .select_related("stage", "company")
        .order_by("close_date", "id")[:21]
    )
    for deal in closing:
        deal.amount_display = money(deal.amount, deal.currency)
    closing_sums: dict[str, Decimal] = {}
    for deal in closing[:20]:
        closing_sums[deal.currency] = closing_sums.get(deal.currency, Decimal("0")) + deal.amount
    my_contacts = Contact.objects.filter(owner=user).select_related("company").order_by("-updated_at", "-id")[:10]
    my_deals = Deal.objects.filter(owner=user).select_related("stage").order_by("-updated_at", "-id")[:10]
    # Activity on my records: touches of my 200 newest contacts and deals. Bounded by LIMITs on the owner
    # indexes, so the cost does not grow with the touchpoint table.
    contact_ids = Contact.objects.filter(owner=user).order_by("-id").values("id")[:200]
    deal_ids = Deal.objects.filter(owner=user).order_by("-id").values("id")[:200]
    activity = list(
        Touchpoint.objects.filter(Q(contact_id__in=Subquery(contact_ids)) | Q(deal_id__in=Subquery(deal_ids)))
        .select_related("actor", "contact", "deal", "campaign")
        .order_by("-occurred_at", "-id")[:15]
    )
    _decorate_touches(activity)
    context = {
        "overdue": overdue[:HOME_OVERDUE_SHOWN],
        "overdue_hidden": len(overdue) > HOME_OVERDUE_SHOWN,
        "overdue_count": "25+" if len(overdue) > 25 else str(len(overdue)),
        "today": today[:25],
        "today_count": "25+" if len(today) > 25 else str(len(today)),
        "upcoming": upcoming,
        "undated": undated,
        "closing": closing[:20],
        "closing_more": len(closing) > 20,
        "closing_total": " · ".join(
            money(v, k) for k, v in sorted(closing_sums.items(), key=lambda pair: (-pair[1], pair[0]))
        )
        or money(0, "USD"),
        "month_label": date_format(local, "F Y"),
        "my_contacts": list(my_contacts),
        "my_deals": list(my_deals),
        "activity": activity,
        "next_url": reverse("home"),
    }
    return render(request, "crm/home_mywork.html", context)


TASK_PAGE_SIZE = 50
# Keyset sorts need NOT NULL columns, so open tasks come in two runs: dated ones by (due_at, id), then the
# undated ones by id. "Soonest first, undated last" then holds on every database without a computed column.
TASK_SORT_DUE = SortOption("Due date", ("due_at", "id"))
TASK_SORT_UNDATED = SortOption("Newest", ("-id",))
TASK_SORT_DONE = SortOption("Completed", ("-completed_at", "-id"))


def task_list(request):
    user = request.user
    who = request.GET.get("who", "mine")
    who = who if who in ("mine", "all") else "mine"
    state = request.GET.get("state", "open")
    state = state if state in ("open", "done", "overdue") else "open"
    cursor = request.GET.get("cursor") or None
    qs = Task.objects.select_related("owner", "contact", "company", "deal")
    if who == "mine":
        qs = qs.filter(owner=user)
    open_tasks = qs.filter(completed_at__isnull=True)
    undated_qs = open_tasks.filter(due_at__isnull=True)
    tasks, undated, next_query = [], [], None
    if state == "done":
        page = keyset_page(qs.filter(completed_at__isnull=False), TASK_SORT_DONE, cursor, TASK_PAGE_SIZE)
        tasks = page.rows
        next_query = {"cursor": page.next_cursor} if page.next_cursor else None
    elif state == "open" and request.GET.get("phase") == "undated":
        page = keyset_page(undated_qs, TASK_SORT_UNDATED, cursor, TASK_PAGE_SIZE)
        undated = page.rows
        next_query = {"phase": "undated", "cursor": page.next_cursor} if page.next_cursor else None
    else:
        dated = open_tasks.filter(due_at__isnull=False)
        if state == "overdue":
            dated = dated.filter(due_at__lt=timezone.now())
        page = keyset_page(dated, TASK_SORT_DUE, cursor, TASK_PAGE_SIZE)
        tasks = page.rows
        if page.next_cursor:
            next_query = {"cursor": page.next_cursor}
        elif state == "open":
            # The last page of dated tasks goes on with the first undated ones.
            rest = keyset_page(undated_qs, TASK_SORT_UNDATED, None, TASK_PAGE_SIZE)
            undated = rest.rows
            next_query = {"phase": "undated", "cursor": rest.next_cursor} if rest.next_cursor else None
    filters = {"who": who, "state": state}
    base = reverse("task_list")
    context = {
        "tasks": _completable(tasks, user),
        "undated": _completable(undated, user),
        "who": who,
        "state": state,
        "next_page": f"{base}?{urlencode({**filters, **next_query})}" if next_query else None,
        "first_page": f"{base}?{urlencode(filters)}" if cursor else None,
        "who_tabs": [(v, label, v == who, urlencode({"who": v, "state": state})) for v, label in WHO_TABS],
        "state_tabs": [(v, label, v == state, urlencode({"who": who, "state": v})) for v, label in STATE_TABS],
    }
    return render(request, "crm/task_list.html", context)


WHO_TABS = [("mine", "My tasks"), ("all", "Everyone's")]
STATE_TABS = [("open", "Open"), ("overdue", "Overdue"), ("done", "Done")]


@require_POST
def task_complete(request, pk: int):
    task = get_object_or_404(Task.objects.select_related("owner", "contact", "company", "deal"), pk=pk)
    try:
        task = services.complete_task(task, actor=request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    if is_htmx(request):
        return render(request, "crm/task_item.html", {"task": task, "now": timezone.now(), "just_done": True})
    messages.success(request, f"Task “{task.title}” completed.")
    return redirect(_safe_next(request, reverse("task_list")))
