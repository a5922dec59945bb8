"""The home pages, one per role: a rep's work, the marketing view of new leads, a manager's team pipeline.

They live in `metrics` (the top floor) rather than in `crm` because they are dashboards: they show metrics,
and `metrics` may import every app below it while `crm` may not import `metrics` (docs/architecture.md).
`/` shows the home that fits the user (`home_kind_for`); tabs link to the other two, so anyone can look
at the marketing or the team view. Every block that has nothing to show says what to do and links there.
"""

import datetime

from django.db.models import F, OuterRef, Subquery
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from smarketing.accounts.access import is_manager_or_admin
from smarketing.accounts.models import Team, TeamKind
from smarketing.crm.models import Contact, Deal, DealStatus, LeadStatus, LifecycleStage, Task
from smarketing.crm.views.records.common import completable, money
from smarketing.dataio.access import can_import, sees_everyones_files
from smarketing.dataio.models import Import
from smarketing.metrics.deals import ClosingThisMonth
from smarketing.metrics.leads import LeadsBySource
from smarketing.metrics.pipeline import StalledDeals, TeamPipeline
from smarketing.timeline.models import Touchpoint
from smarketing.timeline.render import decorate_touches

HOME_OVERDUE_SHOWN = 8
ACTIVITY_RECORDS = 200  # the user's newest contacts and deals whose touches feed "recent activity"
ACTIVITY_SHOWN = 15
LEADS_SHOWN = 8
DEALS_SHOWN = 8
IMPORTS_SHOWN = 6
MQLS_SHOWN = 10
LEAD_DAYS = 30
STALLED_IDLE_DAYS = 14  # an open deal without a touch for this long counts as stalled

REP, MARKETING, MANAGER = "rep", "marketing", "manager"
HOMES = {REP: "My work", MARKETING: "Marketing", MANAGER: "Team pipeline"}
# Stages a rep works a lead in, and the lead statuses that mean "nobody has worked it yet".
WORKABLE_STAGES = (LifecycleStage.LEAD, LifecycleStage.MQL, LifecycleStage.SQL)
NOT_WORKED = ("", LeadStatus.NEW)


def home_kind_for(user) -> str:
    """Which home `/` shows: the marketing team's (whatever the role: Maya manages marketing, not deals),
    then managers' and admins' team pipeline, then everyone else's own work."""
    team = user.team
    if team is not None and team.kind == TeamKind.MARKETING:
        return MARKETING
    if is_manager_or_admin(user):
        return MANAGER
    return REP


def home(request):
    return _render(request, home_kind_for(request.user))


def home_tab(request, kind: str):
    if kind not in HOMES:
        raise Http404("There is no such home page.")
    return _render(request, kind)


def _render(request, kind: str):
    build = {REP: _rep, MARKETING: _marketing, MANAGER: _manager}[kind]
    context = build(request)
    context["tabs"] = [(key, label, reverse("home_tab", args=[key])) for key, label in HOMES.items()]
    context["home_kind"] = kind
    context["own_kind"] = home_kind_for(request.user)
    return render(request, f"metrics/home_{kind}.html", context)


# ---------------------------------------------------------------------------------------------------------
# The rep's home: my tasks, my new leads, my open deals with their next step, my month, my records' activity


def _day_bounds(now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """Start and end of today in the user's time zone (activated by UserTimezoneMiddleware)."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + datetime.timedelta(days=1)


def recent_activity(user) -> list[Touchpoint]:
    """The newest touches on the user's 200 newest contacts and 200 newest deals, in two queries.

    One `contact IN (…) OR deal IN (…)` condition makes PostgreSQL scan the whole touchpoint table (4 s at
    20M rows, even for a user who owns nothing). Written as a UNION, each half is a nested loop over the
    owner index and the (contact|deal, occurred_at) timeline index, reading only those records' index
    entries; the second query fetches the 15 winning rows with their relations.
    """
    contact_ids = Contact.objects.filter(owner=user).order_by("-id").values("id")[:ACTIVITY_RECORDS]
    deal_ids = Deal.objects.filter(owner=user).order_by("-id").values("id")[:ACTIVITY_RECORDS]
    on_contacts = Touchpoint.objects.filter(contact_id__in=contact_ids).values_list("id", "occurred_at")
    on_deals = Touchpoint.objects.filter(deal_id__in=deal_ids).values_list("id", "occurred_at")
    newest = on_contacts.union(on_deals).order_by("-occurred_at", "-id")[:ACTIVITY_SHOWN]
    ids = [pk for pk, _ in newest]
    if not ids:
        return []
    touches = list(
        Touchpoint.objects.filter(id__in=ids)
        .select_related("actor", "contact", "deal", "campaign")
        .order_by("-occurred_at", "-id")
    )
    decorate_touches(touches)
    return touches


def leads_to_work(user) -> list[Contact]:
    """The user's newest leads nobody has worked yet: a walk of the (owner, -id) index, filtered."""
    return list(
        Contact.objects.filter(owner=user, lifecycle_stage__in=WORKABLE_STAGES, lead_status__in=NOT_WORKED)
        .select_related("company")
        .order_by("-id")[: LEADS_SHOWN + 1]
    )


def deals_with_next_steps(user) -> list[Deal]:
    """The user's open deals, soonest close first, each with its next open task (an indexed probe per deal)."""
    next_task = Task.objects.filter(deal_id=OuterRef("pk"), completed_at__isnull=True).order_by(
        F("due_at").asc(nulls_last=True), "id"
    )
    deals = list(
        Deal.objects.filter(owner=user, status=DealStatus.OPEN)
        .select_related("stage", "company")
        .annotate(next_step=Subquery(next_task.values("title")[:1]), next_due=Subquery(next_task.values("due_at")[:1]))
        .order_by(F("close_date").asc(nulls_last=True), "id")[: DEALS_SHOWN + 1]
    )
    now = timezone.now()
    for deal in deals:
        deal.amount_display = money(deal.amount, deal.currency)
        deal.next_overdue = deal.next_due is not None and deal.next_due < now
    return deals


def _rep(request) -> dict:
    user = request.user
    now = timezone.now()
    _, end_of_today = _day_bounds(now)
    mine = Task.objects.filter(owner=user, completed_at__isnull=True).select_related("contact", "company", "deal")
    # 26 rows tell "25" from "more than 25" without counting; the page lists the first few.
    overdue = completable(list(mine.filter(due_at__lt=now).order_by("due_at", "id")[:26]), user)
    today = completable(list(mine.filter(due_at__gte=now, due_at__lt=end_of_today).order_by("due_at", "id")[:26]), user)
    upcoming = completable(list(mine.filter(due_at__gte=end_of_today).order_by("due_at", "id")[:10]), user)
    undated = completable(list(mine.filter(due_at__isnull=True).order_by("-id")[:10]), user)
    local = timezone.localtime(now)
    metric = ClosingThisMonth(owner_id=user.pk, month=local.date().replace(day=1))
    closing = list(
        Deal.objects.filter(
            owner=user, status=DealStatus.OPEN, close_date__gte=metric.month, close_date__lt=metric.next_month()
        )
        .select_related("stage", "company")
        .order_by("close_date", "id")[:21]
    )
    for deal in closing:
        deal.amount_display = money(deal.amount, deal.currency)
    closing_total = metric.result()
    leads = leads_to_work(user)
    deals = deals_with_next_steps(user)
    return {
        "overdue": overdue[:HOME_OVERDUE_SHOWN],
        "overdue_hidden": len(overdue) > HOME_OVERDUE_SHOWN,
        "overdue_count": "25+" if len(overdue) > 25 else str(len(overdue)),
        "today": today[:25],
        "today_count": "25+" if len(today) > 25 else str(len(today)),
        "upcoming": upcoming,
        "undated": undated,
        "closing": closing[:20],
        "closing_more": len(closing) > 20,
        "closing_total": " · ".join(money(m.amount, m.currency) for m in closing_total.totals) or money(0, "USD"),
        "month_label": date_format(local, "F Y"),
        "leads": leads[:LEADS_SHOWN],
        "leads_more": len(leads) > LEADS_SHOWN,
        "deals": deals[:DEALS_SHOWN],
        "deals_more": len(deals) > DEALS_SHOWN,
        "activity": recent_activity(user),
        "next_url": reverse("home"),
    }


# ---------------------------------------------------------------------------------------------------------
# The marketing home: new leads and MQLs by source, the newest MQLs and who has them, imports


def _marketing(request) -> dict:
    user = request.user
    today = timezone.now().astimezone(datetime.UTC).date()
    by_source = LeadsBySource(today=today, days=LEAD_DAYS).result()
    mqls = list(
        Contact.objects.filter(lifecycle_stage=LifecycleStage.MQL)
        .select_related("owner", "company")
        .order_by("-lifecycle_changed_at", "-id")[:MQLS_SHOWN]
    )
    imports = Import.objects.select_related("created_by").order_by("-id")
    if not sees_everyones_files(user):
        imports = imports.filter(created_by=user)
    return {
        "by_source": by_source,
        "lead_days": LEAD_DAYS,
        "mqls": mqls,
        "imports": list(imports[:IMPORTS_SHOWN]) if can_import(user) else [],
        "can_import": can_import(user),
    }


# ---------------------------------------------------------------------------------------------------------
# The manager's home: one sales team's open pipeline by stage and rep, and its stalled deals


def _manager(request) -> dict:
    user = request.user
    teams = list(Team.objects.filter(kind=TeamKind.SALES).order_by("name"))
    chosen = None
    wanted = request.GET.get("team", "")
    if wanted.isdigit():
        chosen = next((t for t in teams if t.pk == int(wanted)), None)
    if chosen is None:
        chosen = next((t for t in teams if t.pk == user.team_id), teams[0] if teams else None)
    context = {"teams": teams, "team": chosen, "idle_days": STALLED_IDLE_DAYS}
    if chosen is not None:
        context["pipeline"] = TeamPipeline(team_id=chosen.pk).result()
        context["stalled"] = StalledDeals(team_id=chosen.pk, idle_days=STALLED_IDLE_DAYS).result()
        context["money"] = money
    return context
