"""The visits page's reads: recent page views (keyset pages) and top pages (from the daily counters)."""

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from smarketing.core.queries import SortOption, keyset_page
from smarketing.forms.models import PageView, PageViewDaily

NEWEST = SortOption("Newest first", ("-occurred_at", "-id"))
TOP_WINDOWS = (7, 30)


def recent_views(*, who: str = "", path: str = "", cursor: str | None = None, size: int = 50):
    qs = PageView.objects.select_related("contact", "visitor").only(
        "id",
        "occurred_at",
        "url",
        "path",
        "title",
        "referrer",
        "utm_source",
        "utm_campaign",
        "contact__id",
        "contact__first_name",
        "contact__last_name",
        "contact__email",
        "visitor__id",
        "visitor__public_id",
    )
    if who == "known":
        qs = qs.filter(contact__isnull=False)
    elif who == "anonymous":
        qs = qs.filter(contact__isnull=True)
    if path:
        qs = qs.filter(path__contains=path)
    return keyset_page(qs, NEWEST, cursor, size)


def top_pages(days: int, limit: int = 10) -> list[dict]:
    """The most viewed pages of the last `days` days (today included): [{host, path, views, known_views}]."""
    since = timezone.localdate() - timedelta(days=days - 1)
    return list(
        PageViewDaily.objects.filter(day__gte=since)
        .values("host", "path")
        .annotate(views=Sum("views"), known_views=Sum("known_views"))
        .order_by("-views", "host", "path")[:limit]
    )


def daily_views(days: int) -> list[tuple]:
    """[(day, views)] for each of the last `days` days, zeros included."""
    today = timezone.localdate()
    since = today - timedelta(days=days - 1)
    per_day = dict(
        PageViewDaily.objects.filter(day__gte=since).values("day").annotate(n=Sum("views")).values_list("day", "n")
    )
    return [(since + timedelta(days=i), per_day.get(since + timedelta(days=i), 0)) for i in range(days)]
