""" "My work", the home page: the signed-in user's tasks, deals closing this month, records and their activity.

It lives in `metrics` (the top floor) rather than in `crm` because it is a dashboard: it shows metrics, and
`metrics` may import every app below it while `crm` may not import `metrics` (docs/architecture.md).
"""

import datetime

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from smarketing.crm.models import Contact, Deal, DealStatus, Task
from smarketing.crm.views.records.common import completable, money
from smarketing.metrics.deals import ClosingThisMonth
from smarketing.timeline.models import Touchpoint
from smarketing.timeline.render import decorate_touches

HOME_OVERDUE_SHOWN = 8
ACTIVITY_RECORDS = 200  # the user's newest contacts and deals whose touches feed "recent activity"
ACTIVITY_SHOWN = 15


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
    my_contacts = Contact.objects.filter(owner=user).select_related("company").order_by("-updated_at", "-id")[:10]
    my_deals = Deal.objects.filter(owner=user).select_related("stage").order_by("-updated_at", "-id")[:10]
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
        "closing_total": " · ".join(money(m.amount, m.currency) for m in closing_total.totals) or money(0, "USD"),
        "month_label": date_format(local, "F Y"),
        "my_contacts": list(my_contacts),
        "my_deals": list(my_deals),
        "activity": recent_activity(user),
        "next_url": reverse("home"),
    }
    return render(request, "metrics/home.html", context)
