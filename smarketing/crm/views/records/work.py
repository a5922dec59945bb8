""" "My work" (the home page) and tasks."""

import datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.http import require_POST

from smarketing.core.queries import SortOption, keyset_page
from smarketing.crm import services
from smarketing.crm.models import Contact, Deal, DealStatus, Task
from smarketing.crm.views.records.common import completable, forbidden, is_htmx, money, safe_next
from smarketing.timeline.models import Touchpoint
from smarketing.timeline.render import decorate_touches


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
    overdue = completable(list(mine.filter(due_at__lt=now).order_by("due_at", "id")[:26]), user)
    today = completable(list(mine.filter(due_at__gte=now, due_at__lt=end_of_today).order_by("due_at", "id")[:26]), user)
    upcoming = completable(list(mine.filter(due_at__gte=end_of_today).order_by("due_at", "id")[:10]), user)
    undated = completable(list(mine.filter(due_at__isnull=True).order_by("-id")[:10]), user)
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
    decorate_touches(activity)
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
        "tasks": completable(tasks, user),
        "undated": completable(undated, user),
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
        return forbidden(request, exc)
    if is_htmx(request):
        return render(request, "crm/task_item.html", {"task": task, "now": timezone.now(), "just_done": True})
    messages.success(request, f"Task “{task.title}” completed.")
    return redirect(safe_next(request, reverse("task_list")))
