"""Record pages (the 360° view of a contact, company or deal), their timeline and quick actions.

Every write goes through crm.services. Every page runs a fixed number of queries whatever the length of
the timeline: related rows come with select_related or one bounded query per panel, never one per row.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from smarketing.core.toasts import add_toast
from smarketing.crm import access, services
from smarketing.crm import kinds as Kind
from smarketing.crm.models import (
    Company,
    Contact,
    Deal,
    DealContact,
    DealStatus,
    Pipeline,
    PropertyDefinition,
    Stage,
    Task,
)
from smarketing.crm.sanitize import text_to_html
from smarketing.crm.views.records.common import (
    add_errors,
    completable,
    criterion_fix,
    custom_props,
    duration,
    get_record,
    is_htmx,
    money,
    record_url,
)
from smarketing.crm.views.records.forms import (
    OUTCOMES,
    ActivityForm,
    DealContactForm,
    DealMoveForm,
    LifecycleForm,
    NoteForm,
    OwnerForm,
    TaskForm,
)
from smarketing.timeline.kinds import is_declared, kind_choices
from smarketing.timeline.models import Team, Touchpoint
from smarketing.timeline.queries import timeline, timeline_page
from smarketing.timeline.render import decorate_touches

TIMELINE_PAGE_SIZE = 30
# Related rows each timeline item links to; the record's own kind is left out (every touch points at it).
TIMELINE_RELATED = {"contact": ("deal",), "company": ("contact", "deal"), "deal": ("contact",)}
TEAM_TABS = [("", "All"), (Team.MARKETING, "Marketing"), (Team.SALES, "Sales"), (Team.SYSTEM, "System")]


# ---------------------------------------------------------------------------------------------------------
# Timeline


def _timeline_context(request, kind: str, obj, cursor: str | None = None) -> dict:
    team = request.GET.get("team", "")
    team = team if team in Team.values else ""
    touch_kind = request.GET.get("kind", "")
    touch_kind = touch_kind if is_declared(touch_kind) else ""
    qs = timeline(**{kind: obj}, team=team or None, kind=touch_kind or None).select_related(*TIMELINE_RELATED[kind])
    page = timeline_page(qs, cursor, TIMELINE_PAGE_SIZE)
    decorate_touches(page.rows)
    filters = {k: v for k, v in (("team", team), ("kind", touch_kind)) if v}
    partial_url = reverse("timeline_partial", args=[kind, obj.pk])
    page_url = record_url(kind, obj)
    more = None
    if page.next_cursor:
        query = urlencode({**filters, "cursor": page.next_cursor})
        more = {"partial": f"{partial_url}?{query}", "page": f"{page_url}?{query}#timeline"}
    tabs = []
    for value, label in TEAM_TABS:
        query = urlencode({k: v for k, v in (("team", value), ("kind", touch_kind)) if v})
        tabs.append(
            {
                "label": label,
                "active": value == team,
                "partial": f"{partial_url}?{query}",
                "page": f"{page_url}?{query}#timeline" if query else f"{page_url}#timeline",
            }
        )
    return {
        "touches": page.rows,
        "more": more,
        "team": team,
        "touch_kind": touch_kind,
        "team_tabs": tabs,
        "kind_choices": kind_choices(),
        "timeline_partial_url": partial_url,
        "filtered": bool(filters),
        "record_url": page_url,
        "timeline_cursor": cursor,
        "show_contact": kind != "contact",
        "show_deal": kind != "deal",
    }


def timeline_partial(request, kind: str, pk: int):
    """The timeline section (filters applied) or, with a cursor, the next items for "Load more"."""
    obj = get_record(kind, pk)
    cursor = request.GET.get("cursor") or None
    context = {**_timeline_context(request, kind, obj, cursor), "record": obj, "record_kind": kind}
    template = "timeline/items.html" if cursor else "timeline/section.html"
    return render(request, template, context)


# ---------------------------------------------------------------------------------------------------------
# Record pages


def _open_tasks(kind: str, obj, limit: int = 10) -> list[Task]:
    return list(
        Task.objects.filter(**{kind: obj}, completed_at__isnull=True)
        .select_related("owner")
        .order_by(F("due_at").asc(nulls_last=True), "id")[:limit]
    )


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
    can_write = access.can_log_activity(user)  # quick actions: on anyone's record (crm/access.py)
    context = {
        "record": obj,
        "record_kind": kind,
        "record_url": record_url(kind, obj),
        "can_edit": access.can(user, "edit", obj),
        "can_delete": access.can(user, "delete", obj),
        "can_merge": kind != "deal" and access.can(user, "merge", obj),
        "can_write": can_write,
        "custom_props": custom_props(kind, obj),
        "can_reassign": access.can(user, "reassign", obj),
        "open_tasks": completable(_open_tasks(kind, obj), user),
        **_timeline_context(request, kind, obj, request.GET.get("cursor") or None),
    }
    if can_write:
        context["panels"] = _quick_panels(kind, obj, _quick_forms(quick), active)
    if context["can_reassign"]:
        context["owner_form"] = OwnerForm(record=obj)
        context["owner_url"] = reverse("change_owner", args=[kind, obj.pk])
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
    return _render_contact(request, get_record("contact", pk))


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
    return _render_company(request, get_record("company", pk))


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
    """Each criterion of `stage` with whether `deal` meets it and, if not, a link to where it is filled in;
    services.unmet_exit_criteria is the judge."""
    pillars = services.pillar_criteria(deal, stage)
    if not stage.exit_criteria and not pillars:
        return []
    unmet = dict(services.unmet_exit_criteria(deal, stage))
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
        met = name not in unmet
        criteria.append({"label": label, "met": met, "fix": None if met else criterion_fix(deal, name, label)})
    for name, label, met in pillars:
        criteria.append({"label": label, "met": met, "fix": None if met else criterion_fix(deal, name, label)})
    return criteria


def render_deal(
    request, deal: Deal, *, move_form=None, move_fixes=(), contact_form=None, quick=None, active="note", status=200
):
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
        move_fixes=move_fixes,
        contact_form=contact_form or DealContactForm(),
        contact_form_open=contact_form is not None,
        current_stage=current,
    )
    return render(request, "crm/record_deal.html", context, status=status)


def deal_detail(request, pk: int):
    return render_deal(request, get_record("deal", pk))


def _render_record(request, kind: str, obj, **kwargs):
    renderer = {"contact": _render_contact, "company": _render_company, "deal": render_deal}[kind]
    return renderer(request, obj, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# Record actions


@require_POST
def contact_lifecycle(request, pk: int):
    contact = get_record("contact", pk)
    access.require(request.user, "edit", contact)  # refuse before judging the form: no errors for a 403
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
        except ValidationError as exc:
            add_errors(form, exc)
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
            "announce": saved if touch is not None else "",  # read out by a11y.js after the swap
            "show_contact": kind != "contact",
            "show_deal": kind != "deal",
        }
        if touch is not None:
            decorate_touches([touch])
        if panel == "task" and touch is not None:
            context["open_tasks"] = completable(_open_tasks(kind, obj), request.user)
            context["tasks_oob"] = True
        response = render(request, "crm/record_quick_result.html", context)
        return add_toast(request, response, saved) if touch is not None else response
    if touch is not None:
        messages.success(request, saved)
        return redirect(f"{record_url(kind, obj)}#timeline")
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
    obj = get_record(kind, pk)
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
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            touch = Touchpoint.objects.select_related("actor", "campaign", *TIMELINE_RELATED[kind]).get(pk=touch.pk)
            form = ActivityForm(activity=activity)
    return _quick_response(request, kind, obj, activity, form, touch=touch, saved=f"{activity.title()} logged.")


@require_POST
def add_note(request, kind: str, pk: int):
    obj = get_record(kind, pk)
    form = NoteForm(request.POST)
    touch = None
    if form.is_valid():
        try:
            services.add_note(obj, body_html=text_to_html(form.cleaned_data["body"]), actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            touch = _newest_touch(kind, obj, Kind.NOTE_ADDED, request.user)
            form = NoteForm()
    return _quick_response(request, kind, obj, "note", form, touch=touch, saved="Note added.")


@require_POST
def add_task(request, kind: str, pk: int):
    obj = get_record(kind, pk)
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
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            touch = _newest_touch(kind, obj, Kind.TASK_CREATED, request.user)
            form = TaskForm()
    return _quick_response(request, kind, obj, "task", form, touch=touch, saved="Task created.")
