"""Reusable reads of scheduling: the hosts' lists and the calendar week, each a fixed number of queries."""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch
from django.urls import reverse

from smarketing.scheduling import access
from smarketing.scheduling.models import BusyBlock, Meeting, MeetingType, MeetingTypeHost


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def public_url(meeting_type: MeetingType) -> str:
    return settings.SMARKETING_BASE_URL + reverse("meet:page", args=[meeting_type.slug])


def link_url(link) -> str:
    return settings.SMARKETING_BASE_URL + reverse("meet:link", args=[link.token])


def feed_url(schedule) -> str:
    try:
        path = reverse("meet:feed", args=[schedule.feed_token])
    except Exception:  # the feed view is the booking part's; until it is wired, the documented path
        path = f"/meet/feed/{schedule.feed_token}.ics"
    return settings.SMARKETING_BASE_URL + path


def embed_snippet(meeting_type: MeetingType) -> str:
    base = settings.SMARKETING_BASE_URL
    from django.templatetags.static import static

    script = static("scheduling/embed.js")
    if not script.startswith("http"):
        script = base + script
    return f'<script src="{script}" async></script>\n<div data-smarketing-meet="{meeting_type.slug}"></div>'


def type_list(user) -> list[MeetingType]:
    """The types a user sees, with owner, team and hosts (three queries whatever their number)."""
    queryset = access.visible_types(user, MeetingType.objects.all()).select_related("owner", "team")
    types = list(
        queryset.prefetch_related(
            Prefetch("host_rows", queryset=MeetingTypeHost.objects.select_related("user").order_by("id"))
        ).order_by("-is_active", "team_id", "name")[:200]
    )
    for mt in types:
        mt.can_manage = access.can_manage_type(user, mt)
        mt.url = public_url(mt)
    return types


def week_start(value: str | None, tz) -> date:
    """The Monday of the week `value` (YYYY-MM-DD) falls in; this week in `tz` when missing or bad."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        day = datetime.now(tz).date()
    return day - timedelta(days=day.weekday())


@dataclass
class Day:
    date: date
    items: list = field(default_factory=list)
    is_today: bool = False


def calendar_week(user, monday: date) -> list[Day]:
    """The host's meetings and busy blocks in the week from `monday`, by day in the host's time zone (two
    queries). Canceled meetings stay visible, struck through, so a host sees what moved."""
    tz = zone(user.time_zone)
    start = datetime.combine(monday, datetime.min.time(), tz)
    end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tz)
    meetings = (
        Meeting.objects.filter(host=user, starts_at__lt=end, ends_at__gt=start)
        .select_related("contact", "meeting_type")
        .order_by("starts_at")[:500]
    )
    blocks = BusyBlock.objects.filter(user=user, starts_at__lt=end, ends_at__gt=start).order_by("starts_at")[:500]
    today = datetime.now(tz).date()
    days = [Day(date=monday + timedelta(days=i), is_today=monday + timedelta(days=i) == today) for i in range(7)]
    for item in [*meetings, *blocks]:
        item.local_start = item.starts_at.astimezone(tz)
        item.local_end = item.ends_at.astimezone(tz)
        item.is_meeting = isinstance(item, Meeting)
        index = (item.local_start.date() - monday).days
        days[max(0, min(6, index))].items.append(item)
    for day in days:
        day.items.sort(key=lambda i: i.local_start)
    return days


def upcoming(user, now, limit: int = 10) -> list[Meeting]:
    return list(
        Meeting.objects.filter(host=user, status=Meeting.Status.BOOKED, ends_at__gte=now)
        .select_related("contact", "meeting_type")
        .order_by("starts_at")[:limit]
    )
