"""The handoff's pages under /handoff/: the rep's inbox, the manager's team queue, the report, the settings."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from smarketing.accounts.access import is_admin
from smarketing.accounts.models import Team, TeamKind
from smarketing.core.labels import label
from smarketing.core.toasts import add_toast
from smarketing.process import access, forms, handoff, queries, routing, sla
from smarketing.process.models import Handoff, HandoffStatus, MqlCommitment, RejectionReason, RepRouting


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


def _decorate(rows, now):
    for h in rows:
        h.left, h.urgency = queries.time_left(h, now)
    return rows


def _reasons():
    return list(RejectionReason.objects.filter(active=True))


def _checklists(rows) -> list[str]:
    """The MQL stage's checklist (asked on each card's Accept) and each card's answers so far (two queries)."""
    from smarketing.process import governance

    asked = governance.lifecycle_checklist("mql")
    answered = governance.answered_for([h.contact_id for h in rows], "mql") if asked else {}
    for h in rows:
        h.answered = answered.get(h.contact_id, set())
    return asked


def _card_context(h, **extra) -> dict:
    h.left, h.urgency = queries.time_left(h)
    queries.attach_context([h])
    return {"h": h, "reasons": _reasons(), "mql_checklist": _checklists([h]), **extra}


@login_required
@require_GET
def inbox(request):
    """My new leads, soonest due first, with what I need to call them well."""
    now = timezone.now()
    rows = _decorate(queries.inbox(Handoff.objects.filter(owner=request.user)), now)
    decided = list(
        Handoff.objects.filter(owner=request.user)
        .exclude(status=HandoffStatus.OPEN)
        .select_related("contact", "reason")
        .order_by("-decided_at", "-id")[:10]
    )
    return render(
        request,
        "process/inbox.html",
        {
            "handoffs": rows,
            "mql_checklist": _checklists(rows),
            "limit": queries.INBOX_LIMIT,
            "decided": decided,
            "reasons": _reasons(),
            "can_see_team": access.can_see_team(request.user),
        },
    )


@login_required
@require_GET
def team(request):
    """The team's queue for managers: every open lead with its owner and clock; breaches first on request."""
    access.require_team_view(request.user)
    now = timezone.now()
    show = request.GET.get("show", "open")
    queryset = access.team_queue(request.user, Handoff.objects.all())
    if show == "breached":
        queryset = queryset.filter(breached_at__isnull=False)
    rows = _decorate(
        list(
            queryset.filter(status=HandoffStatus.OPEN)
            .select_related("contact", "contact__company", "owner")
            .order_by("due_at", "id")[:200]
        ),
        now,
    )
    members = list(routing.assignable_users().filter(team_id=request.user.team_id or 0))
    if is_admin(request.user):
        members = list(routing.assignable_users())
    return render(request, "process/team.html", {"handoffs": rows, "show": show, "members": members})


def _card_response(request, h: Handoff, message: str):
    """An htmx decision swaps the card for its outcome; a plain form post goes back to the inbox."""
    if request.htmx:
        response = render(request, "process/_decided.html", {"h": h, "message": message})
    else:
        response = redirect("process:team" if request.POST.get("next") == "team" else "process:inbox")
    return add_toast(request, response, message)


def _open_or_error(request, h: Handoff, exc: ValidationError):
    if request.htmx:
        h.left, h.urgency = queries.time_left(h)
        queries.attach_context([h])
        return render(request, "process/_card.html", {"h": h, "reasons": _reasons(), "error": _errors(exc)}, status=400)
    return add_toast(request, redirect("process:inbox"), _errors(exc), level="error")


@login_required
@require_POST
def accept(request, handoff_id: int):
    from smarketing.process import governance

    h = get_object_or_404(Handoff.objects.select_related("contact", "owner"), pk=handoff_id)
    try:
        with transaction.atomic():
            if governance.lifecycle_checklist("mql") and h.is_open:
                access.require_decide(request.user, h)
                governance.answer_contact(
                    h.contact, stage="mql", questions=request.POST.getlist("yes"), actor=request.user
                )
            h = handoff.accept(h, actor=request.user)
    except ValidationError as exc:
        return _open_or_error(request, h, exc)
    return _card_response(request, h, f"{h.contact} accepted: now a sales-qualified lead.")


@login_required
@require_POST
def reject(request, handoff_id: int):
    h = get_object_or_404(Handoff.objects.select_related("contact", "owner"), pk=handoff_id)
    try:
        h = handoff.reject(
            h, actor=request.user, reason_id=request.POST.get("reason"), text=request.POST.get("text", "")
        )
    except ValidationError as exc:
        return _open_or_error(request, h, exc)
    return _card_response(request, h, f"{h.contact} went back to marketing: {h.reason}.")


@login_required
@require_POST
def log_touch(request, handoff_id: int):
    """Log the first call or email from the card; it stops the SLA clock at once."""
    from smarketing.crm.services.activities import log_activity

    h = get_object_or_404(Handoff.objects.select_related("contact", "owner"), pk=handoff_id)
    access.require_decide(request.user, h)
    kind = request.POST.get("kind", "call")
    summary = (request.POST.get("summary") or "").strip() or {"call": "Called", "email": "Emailed"}.get(kind, "")
    try:
        with transaction.atomic():
            log_activity(h.contact, kind=kind, summary=summary[:300], actor=request.user)
            sla.fill_first_touches(ids=[h.pk])
    except ValidationError as exc:
        return _open_or_error(request, h, exc)
    h.refresh_from_db()
    if request.htmx:
        response = render(request, "process/_card.html", _card_context(h))
    else:
        response = redirect("process:inbox")
    return add_toast(request, response, f"Logged: {summary}. The SLA clock stopped.")


@login_required
@require_POST
def reassign(request, handoff_id: int):
    from smarketing.accounts.models import User

    h = get_object_or_404(Handoff.objects.select_related("contact", "owner"), pk=handoff_id)
    to_user = (
        User.objects.filter(pk=request.POST.get("owner") or 0).first()
        if str(request.POST.get("owner", "")).isdigit()
        else None
    )
    response = redirect(reverse("process:team") + ("?show=breached" if request.POST.get("show") == "breached" else ""))
    try:
        handoff.reassign(h, to_user=to_user, actor=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        return add_toast(request, response, _errors(exc), level="error")
    return add_toast(request, response, f"{h.contact} is now {to_user}'s.")


def _period(request) -> tuple[dt.date, dt.date, str]:
    today = timezone.localdate()
    try:
        start = dt.date.fromisoformat(request.GET.get("start", ""))
    except ValueError:
        start = today - dt.timedelta(days=30)
    try:
        end = dt.date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        end = today + dt.timedelta(days=1)
    return start, end, request.GET.get("by", "source")


@login_required
@require_GET
def report(request):
    """Both sides of the contract: what marketing handed over and how sales answered, per source and rep."""
    start, end, by = _period(request)
    error = ""
    try:
        summary = queries.HandoffSummary(start=start, end=end).result()
        sources = queries.AcceptanceBySource(start=start, end=end).result()
        reasons = queries.RejectionReasons(start=start, end=end, by=by).result()
        reps = queries.SlaByRep(start=start, end=end).result()
        teams = [
            {"team": team, **queries.HandoffSummary(start=start, end=end, team_id=team.pk).result()}
            for team in Team.objects.filter(kind=TeamKind.SALES).order_by("name")
        ]
    except ValueError as exc:
        error, summary, sources, reasons, reps, teams = str(exc), {}, [], [], [], []
    month = timezone.localdate().replace(day=1)
    commitment = queries.CommitmentProgress(month=month).result()
    charts = {
        "acceptance": {
            "type": "bar",
            "horizontal": True,
            "percent": True,
            "labels": [label(r["source"], "source") if r["source"] else "(none)" for r in sources],
            "datasets": [{"label": "Accepted, % of decided", "data": [r["rate"] or 0 for r in sources]}],
        },
        "sla": {
            "type": "bar",
            "horizontal": True,
            "percent": True,
            "labels": [r["owner"] for r in reps],
            "datasets": [{"label": "SLA met, %", "data": [r["rate"] or 0 for r in reps]}],
        },
    }
    return render(
        request,
        "process/report.html",
        {
            "start": start,
            "end": end,
            "by": by,
            "error": error,
            "summary": summary,
            "sources": sources,
            "reasons": reasons,
            "reps": reps,
            "teams": teams,
            "commitment": commitment,
            "charts": charts,
            "by_choices": [("source", "Source"), ("campaign", "Campaign"), ("form", "Form")],
        },
    )


@login_required
def settings_page(request):
    """Admins: the SLA, routing, rejection reasons, reps' shares and time away, marketing's commitment."""
    access.require_settings(request.user)
    routing_row = handoff.routing_settings()
    policy = handoff.policy_for(routing_row.team_id)
    month = timezone.localdate().replace(day=1)
    commitment = MqlCommitment.objects.filter(month=month).first()
    bound = request.method == "POST"
    part = request.POST.get("part", "")
    sla_form = forms.SlaForm(request.POST if bound and part == "sla" else None, instance=policy)
    routing_form = forms.RoutingForm(request.POST if bound and part == "routing" else None, instance=routing_row)
    reason_form = forms.ReasonForm(request.POST if bound and part == "reason" else None)
    commitment_form = forms.CommitmentForm(
        request.POST if bound and part == "commitment" else None, instance=commitment, month=month
    )
    chosen = {"sla": sla_form, "routing": routing_form, "reason": reason_form, "commitment": commitment_form}.get(part)
    if bound and part == "reps":
        try:
            forms.save_reps(request.POST, actor=request.user)
        except ValidationError as exc:
            return add_toast(request, redirect("process:settings"), _errors(exc), level="error")
        return add_toast(request, redirect("process:settings"), "Saved the reps' shares and time away.")
    if bound and part == "retire":
        RejectionReason.objects.filter(pk=request.POST.get("reason") or 0).update(
            active=request.POST.get("active") == "1"
        )
        return redirect("process:settings")
    if chosen is not None and chosen.is_valid():
        forms.save(chosen, actor=request.user)
        return add_toast(request, redirect("process:settings"), "Saved.")
    members = list(routing.assignable_users().filter(team_id=routing_row.team_id or 0))
    rows = {r.user_id: r for r in RepRouting.objects.filter(user__in=members)}
    for member in members:
        member.routing_row = rows.get(member.pk) or RepRouting(user=member)
    return render(
        request,
        "process/settings.html",
        {
            "sla_form": sla_form,
            "routing_form": routing_form,
            "reason_form": reason_form,
            "commitment_form": commitment_form,
            "reasons": list(RejectionReason.objects.all()),
            "members": members,
            "policy": policy,
            "month": month,
        },
    )


@login_required
@require_GET
def analytics(request):
    """Where the process holds and where it falls flat: the funnels, time in stage against targets, the weakest step."""
    from smarketing.crm.defaults import default_pipeline
    from smarketing.crm.models import Pipeline
    from smarketing.process import analytics as pa

    pipelines = list(Pipeline.objects.order_by("position", "id"))
    chosen = request.GET.get("pipeline", "")
    pipeline = next((p for p in pipelines if str(p.pk) == chosen), None) or default_pipeline()
    today = timezone.localdate()
    try:
        start = dt.date.fromisoformat(request.GET.get("start", ""))
    except ValueError:
        start = today - dt.timedelta(days=90)
    try:
        end = dt.date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        end = today + dt.timedelta(days=1)
    owner = request.GET.get("owner", "")
    owner_id = int(owner) if owner.isdigit() and len(owner) < 12 else None
    source = request.GET.get("source", "")[:50]
    error, funnel, times, lifecycle, weakest = "", [], [], [], None
    if pipeline is not None:
        params = {"pipeline_id": pipeline.pk, "start": start, "end": end, "owner_id": owner_id, "source": source}
        try:
            funnel = pa.StageFunnel(**params).result()
            times = pa.TimeInStage(**params).result()
            weakest = pa.WeakestStep(**params).result()
            lifecycle = pa.LifecycleFunnel(start=start, end=end, source=source).result()
        except ValueError as exc:
            error = str(exc)
    charts = {
        "deal_funnel": {
            "type": "bar",
            "labels": [r["name"] for r in funnel],
            "datasets": [{"label": "Deals that reached the stage", "data": [r["reached"] for r in funnel]}],
        },
        "lifecycle_funnel": {
            "type": "bar",
            "labels": [r["label"] for r in lifecycle],
            "datasets": [{"label": "Contacts that reached the stage", "data": [r["reached"] for r in lifecycle]}],
        },
    }
    return render(
        request,
        "process/analytics.html",
        {
            "pipelines": pipelines,
            "pipeline": pipeline,
            "start": start,
            "end": end,
            "owner_id": owner_id,
            "source": source,
            "owners": list(routing.assignable_users().order_by("full_name", "email")),
            "error": error,
            "funnel": funnel,
            "times": times,
            "lifecycle": lifecycle,
            "weakest": weakest,
            "charts": charts,
        },
    )


def _steps():
    """The journey in order: lifecycle stages (subscriber … customer), then each pipeline's stages."""
    from smarketing.crm.models import LIFECYCLE_ORDER, LifecycleStageSetting, Pipeline
    from smarketing.process.models import StageGovernance

    rows = {(g.stage_id, g.lifecycle_stage): g for g in StageGovernance.objects.all()}
    settings_by_stage = {s.stage: s for s in LifecycleStageSetting.objects.select_related("team")}
    lifecycle = []
    for stage in LIFECYCLE_ORDER:
        setting = settings_by_stage.get(stage.value)
        lifecycle.append(
            {
                "key": f"lifecycle:{stage.value}",
                "code": stage.value,
                "name": stage.label,
                "team": setting.team.kind if setting and setting.team_id else "",
                "team_name": setting.team.name if setting and setting.team_id else "",
                "description": setting.description if setting else "",
                "gov": rows.get((None, stage.value)),
            }
        )
    pipelines = []
    for pipeline in Pipeline.objects.prefetch_related("stages").order_by("position", "id"):
        stages = []
        for stage in sorted(pipeline.stages.all(), key=lambda s: (s.position, s.pk)):
            stages.append({"key": f"stage:{stage.pk}", "stage": stage, "gov": rows.get((stage.pk, None))})
        pipelines.append({"pipeline": pipeline, "stages": stages})
    return lifecycle, pipelines


@login_required
@require_GET
def process_map(request):
    """The whole journey on one page: who is responsible at each step, what it asks, how it converts."""
    from smarketing.crm.services.pipelines import criteria_labels, exit_criteria_choices
    from smarketing.process import analytics as pa
    from smarketing.process import governance

    lifecycle, pipelines = _steps()
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=90), today + dt.timedelta(days=1)
    funnel = {r["stage"]: r for r in pa.LifecycleFunnel(start=start, end=end).result()}
    for step in lifecycle:
        records = step["gov"].required_records if step["gov"] is not None else []
        step["records"] = [governance.LIFECYCLE_RECORD_LABELS.get(r, r) for r in records]
        step["reached"] = funnel.get(step["code"], {}).get("reached")
        step["conversion"] = funnel.get(step["code"], {}).get("conversion")
    choices = exit_criteria_choices()
    for entry in pipelines:
        params = {"pipeline_id": entry["pipeline"].pk, "start": start, "end": end}
        conversions = {r["id"]: r for r in pa.StageFunnel(**params).result()}
        times = {r["id"]: r for r in pa.TimeInStage(**params).result()}
        for step in entry["stages"]:
            stage, gov = step["stage"], step["gov"]
            step["criteria"] = criteria_labels(stage.exit_criteria, choices)
            if gov is not None:
                step["criteria"] += [f"Checklist: {q}" for q in gov.checklist]
                step["criteria"] += [governance.RECORD_LABELS.get(r, r) for r in gov.required_records]
            step["conversion"] = conversions.get(stage.pk, {}).get("conversion")
            step["reached"] = conversions.get(stage.pk, {}).get("reached")
            step["time"] = times.get(stage.pk)
    return render(
        request,
        "process/map.html",
        {"lifecycle": lifecycle, "pipelines": pipelines, "start": start, "can_edit": is_admin(request.user)},
    )


@login_required
def stage_settings(request):
    """Admins: each step's role, checklist, required records, playbook text and tasks, with their history."""
    from smarketing.core.models import AuditEntry
    from smarketing.crm.models import LifecycleStage, Stage
    from smarketing.process import governance

    access.require_settings(request.user)
    if request.method == "POST":
        key = request.POST.get("step", "")
        kind, _, ident = key.partition(":")
        target = {}
        if kind == "stage" and ident.isdigit():
            target["stage"] = get_object_or_404(Stage, pk=int(ident))
        elif kind == "lifecycle" and ident in LifecycleStage.values:
            target["lifecycle_stage"] = ident
        else:
            return add_toast(request, redirect("process:stages"), "Choose a stage.", level="error")
        data = {
            "role": request.POST.get("role", ""),
            "checklist": request.POST.get("checklist", ""),
            "required_records": request.POST.getlist("required_records"),
            "playbook": request.POST.get("playbook", ""),
            "playbook_tasks": request.POST.get("playbook_tasks", ""),
        }
        if kind == "lifecycle":
            data["target_days"] = request.POST.get("target_days", "")
        response = redirect(reverse("process:stages") + f"#step-{kind}-{ident}")
        try:
            governance.save(actor=request.user, data=data, **target)
        except ValidationError as exc:
            return add_toast(request, response, _errors(exc), level="error")
        return add_toast(request, response, "Saved the stage's governance.")
    lifecycle, pipelines = _steps()
    history = list(AuditEntry.objects.filter(action="governance").select_related("actor").order_by("-at", "-id")[:30])
    return render(
        request,
        "process/stages.html",
        {
            "lifecycle": lifecycle,
            "pipelines": pipelines,
            "record_choices": governance.RECORD_CHOICES,
            "lifecycle_record_choices": governance.LIFECYCLE_RECORD_CHOICES,
            "history": history,
        },
    )


@login_required
def checklist(request, deal_id: int):
    """The deal's stage checklist and playbook: the rep answers before the deal moves on."""
    from smarketing.crm import access as crm_access
    from smarketing.crm.models import Deal
    from smarketing.process import governance

    deal = get_object_or_404(Deal.objects.for_user(request.user, "view").select_related("stage"), pk=deal_id)
    row = governance.for_stage(deal.stage_id)
    if request.method == "POST":
        governance.answer(deal, questions=request.POST.getlist("yes"), actor=request.user)
        response = redirect("deal_detail", deal.pk)
        return add_toast(request, response, "Saved the checklist.")
    answered = set(
        governance.ChecklistAnswer.objects.filter(deal_id=deal.pk, stage_id=deal.stage_id).values_list(
            "question", flat=True
        )
    )
    return render(
        request,
        "process/checklist.html",
        {
            "deal": deal,
            "gov": row,
            "answered": answered,
            "can_edit": crm_access.can(request.user, "edit", deal),
        },
    )


@login_required
def mail_capture(request):
    """My sales email capture: the BCC logging address, one IMAP folder, what was captured lately."""
    from smarketing.process.capture import services as capture
    from smarketing.process.models import CapturedEmail

    mc = capture.settings_for(request.user)
    form = forms.MailCaptureForm(request.POST or None, instance=mc)
    if request.method == "POST":
        if request.POST.get("sync") == "1":
            from smarketing.process.tasks import sync_mailbox

            sync_mailbox.enqueue(mc.pk)
            return add_toast(request, redirect("process:mail"), "Syncing the folder in the background.")
        if form.is_valid():
            form.apply()
            return add_toast(request, redirect("process:mail"), "Saved your email capture settings.")
    recent = list(CapturedEmail.objects.filter(user=request.user).order_by("-captured_at", "-id")[:20])
    return render(
        request,
        "process/mail.html",
        {"mc": mc, "form": form, "address": capture.bcc_address(mc), "recent": recent},
    )
