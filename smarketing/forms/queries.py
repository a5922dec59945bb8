"""Reusable reads of the form builder: the published addresses of a form, its overview figures, its
submission pages."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from smarketing.core.queries import Page, SortOption, keyset_page
from smarketing.forms.models import Form, FormSubmission, SubmissionStatus

NEWEST = SortOption("Newest first", ("-id",))
OVERVIEW_DAYS = 30
# The submissions list's status filter: "" shows everything but spam, which waits on its own tab.
STATUS_FILTERS = {
    "": "All but spam",
    SubmissionStatus.ACCEPTED: "Accepted",
    SubmissionStatus.PENDING: "Waiting for confirmation",
    SubmissionStatus.CONFIRMED: "Confirmed",
    SubmissionStatus.SPAM: "Spam",
}


def _path(name: str, public_id: str, fallback: str) -> str:
    # The public endpoints belong to the capture part (forms/urls_public.py); until they are mounted the
    # documented paths are shown.
    try:
        return reverse(name, args=[public_id])
    except NoReverseMatch:
        return fallback


@dataclass(frozen=True)
class PublicUrls:
    page: str
    embed: str
    submit: str
    snippet: str


def public_urls(form: Form) -> PublicUrls:
    """Where a published form answers, as absolute URLs on the public base URL, and its embed snippet."""
    origin = settings.SMARKETING_BASE_URL
    pid = form.public_id
    page = origin + _path("forms_public:page", pid, f"/f/{pid}/")
    embed = origin + _path("forms_public:embed", pid, f"/f/{pid}/embed.js")
    submit = origin + _path("forms_public:submit", pid, f"/f/{pid}/submit")
    snippet = f'<script src="{embed}" async></script>\n<div data-smarketing-form="{pid}"></div>'
    return PublicUrls(page=page, embed=embed, submit=submit, snippet=snippet)


def submissions(form: Form, status: str = ""):
    qs = FormSubmission.objects.filter(form=form)
    if status:
        return qs.filter(status=status)
    return qs.exclude(status=SubmissionStatus.SPAM)


def submission_page(form: Form, status: str, cursor: str | None, size: int) -> Page:
    qs = submissions(form, status).select_related("contact")
    return keyset_page(qs, NEWEST, cursor, size)


@dataclass(frozen=True)
class Overview:
    days: list[tuple[dt.date, int]]  # submissions (spam apart) per day, oldest first, every day present
    by_status: dict[str, int]  # in the last OVERVIEW_DAYS days
    contacts: int  # distinct contacts who submitted in that time
    window_total: int

    @property
    def spam_share(self) -> int:
        total = self.window_total + self.by_status.get(SubmissionStatus.SPAM, 0)
        return round(100 * self.by_status.get(SubmissionStatus.SPAM, 0) / total) if total else 0

    @property
    def confirm_rate(self) -> int | None:
        """Of the double opt-in submissions, the percentage whose person followed the emailed link."""
        confirmed = self.by_status.get(SubmissionStatus.CONFIRMED, 0)
        asked = confirmed + self.by_status.get(SubmissionStatus.PENDING, 0)
        return round(100 * confirmed / asked) if asked else None


def overview(form: Form, today: dt.date | None = None) -> Overview:
    """The last OVERVIEW_DAYS days of one form: two grouped reads of its (form, created_at) index range."""
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=OVERVIEW_DAYS - 1)
    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    recent = FormSubmission.objects.filter(form=form, created_at__gte=since)
    by_status = dict(recent.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    per_day = dict(
        recent.exclude(status=SubmissionStatus.SPAM)
        .order_by()
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    contacts = (
        recent.exclude(status=SubmissionStatus.SPAM)
        .exclude(contact=None)
        .order_by()
        .values("contact_id")
        .distinct()
        .count()
    )
    days = [(start + dt.timedelta(days=i), 0) for i in range(OVERVIEW_DAYS)]
    days = [(day, per_day.get(day, 0)) for day, _ in days]
    window_total = sum(n for status, n in by_status.items() if status != SubmissionStatus.SPAM)
    return Overview(days=days, by_status=by_status, contacts=contacts, window_total=window_total)
