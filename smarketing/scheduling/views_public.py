"""The public booking pages under /meet/ (no login): a type's page with its free slots, the one-off link, the
booking form's POST, and the booker's manage page (reschedule, cancel).

Hostile by design:
- Everything shown is escaped by the templates; the only data about hosts is their display name, and about other
  meetings nothing but the absence of a slot (free_slots).
- Redirects go only to this app's own URLs (reverse), never to a URL from the request.
- Only allow-listed fields are read: name, email, the type's own questions, consent, the honeypot; a filled
  honeypot gets the same thank-you page and books nothing.
- The booking POST is rate-limited per address (core.ratelimit); over it: 429.
- A forged, stale or foreign manage token gets the same friendly 404.
"""

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from smarketing.accounts.throttle import client_ip
from smarketing.core.ratelimit import over_limit
from smarketing.scheduling import availability, services
from smarketing.scheduling.forms import BookingForm
from smarketing.scheduling.models import BookingLink, Meeting, MeetingType
from smarketing.scheduling.queries import zone

BOOK_WINDOW = 60
CONSENT_TEXT = services.CONSENT_TEXT
TAKEN = "That time was just taken. Pick another."
EMBED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors *; base-uri 'self'; object-src 'none'"
)


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    return tuple(
        sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV")))
    )


def _tz_name(value: str | None, default: str = "UTC") -> str:
    return value if value and (value in _zones() or value == "UTC") else default


def _finish(request, response: HttpResponse, embed: bool) -> HttpResponse:
    response["Cache-Control"] = "no-store, private, max-age=0"
    response["X-Robots-Tag"] = "noindex, nofollow"
    if embed:  # the iframe of embed.js: any site may frame the booking page, nothing else of the app
        response.xframe_options_exempt = True
        response["Content-Security-Policy"] = EMBED_CSP
    return response


def _not_found(request, embed: bool = False) -> HttpResponse:
    response = render(
        request,
        "scheduling/public/message.html",
        {
            "title": "This link doesn't work any more",
            "message": "The meeting may have been moved or canceled, or the link is incomplete. "
            "Check the latest email about it, or ask the person you were meeting.",
            "embed": embed,
        },
        status=404,
    )
    return _finish(request, response, embed)


def _live_type(slug: str) -> MeetingType | None:
    return MeetingType.objects.select_related("owner", "team").filter(slug=slug, is_active=True).first()


def host_names(meeting_type: MeetingType) -> list[str]:
    """Display names only: a personal type's owner, a team type's hosts who take bookings."""
    if not meeting_type.is_team:
        return [meeting_type.owner.display_name] if meeting_type.owner_id else []
    rows = meeting_type.host_rows.select_related("user").filter(weight__gt=0, user__is_active=True).order_by("id")
    return [row.user.display_name for row in rows]


def _duration(meeting_type: MeetingType, value) -> int:
    options = meeting_type.durations or [30]
    try:
        chosen = int(value)
    except (TypeError, ValueError):
        return options[0]
    return chosen if chosen in options else options[0]


def _week(value: str | None, tz, today: date) -> date:
    """The first day shown: the given date, never before today (in the visitor's zone)."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        day = today
    return max(day, today)


def slot_days(meeting_type, tz, first: date, duration: int, now=None) -> list[dict]:
    """Seven days from `first` in the visitor's zone, each with its free slots' local times."""
    now = now or timezone.now()
    # free_slots takes UTC dates; a local week touches the UTC day before and after it.
    slots = availability.free_slots(
        meeting_type, start=first - timedelta(days=1), end=first + timedelta(days=8), duration=duration, now=now
    )
    days = [{"date": first + timedelta(days=i), "slots": []} for i in range(7)]
    for slot in slots:
        local = slot.starts_at.astimezone(tz)
        index = (local.date() - first).days
        if 0 <= index < 7:
            days[index]["slots"].append({"local": local, "iso": slot.starts_at.astimezone(UTC).isoformat()})
    return days


def parse_start(value: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat((value or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def _page_context(request, meeting_type, *, link=None, params=None, embed=False) -> dict:
    params = params if params is not None else request.GET
    tz_given = bool(params.get("tz"))
    tz_name = _tz_name(params.get("tz"))
    tz = zone(tz_name)
    now = timezone.now()
    today = now.astimezone(tz).date()
    first = _week(params.get("week"), tz, today)
    duration = _duration(meeting_type, params.get("duration"))
    last_day = today + timedelta(days=meeting_type.max_days_ahead)
    days = slot_days(meeting_type, tz, first, duration, now)
    chosen = parse_start(params.get("start"))
    chosen_local = None
    if chosen is not None:
        offered = {s["iso"] for d in days for s in d["slots"]}
        if chosen.isoformat() in offered:
            chosen_local = chosen.astimezone(tz)
        else:
            chosen = None
    base = {"tz": tz_name, "duration": duration}
    if embed:
        base["embed"] = 1
    prev_first = max(today, first - timedelta(days=7))
    return {
        "mt": meeting_type,
        "link": link,
        "hosts": host_names(meeting_type),
        "tz_name": tz_name,
        "tz_given": tz_given,
        "zones": _zones(),
        "duration": duration,
        "first": first,
        "days": days,
        "has_slots": any(d["slots"] for d in days),
        "prev_query": urlencode({**base, "week": prev_first.isoformat()}) if first > today else "",
        "next_query": urlencode({**base, "week": (first + timedelta(days=7)).isoformat()})
        if first + timedelta(days=7) <= last_day
        else "",
        "slot_query": urlencode({**base, "week": first.isoformat()}),
        "duration_options": [
            (d, urlencode({**base, "duration": d, "week": first.isoformat()})) for d in meeting_type.durations or [30]
        ],
        "chosen": chosen,
        "chosen_local": chosen_local,
        "chosen_end": chosen_local + timedelta(minutes=duration) if chosen_local else None,
        "embed": embed,
        "consent_text": CONSENT_TEXT,
        "week": first.isoformat(),
        "slot_base": reverse("meet:link", args=[link.token])
        if link
        else reverse("meet:page", args=[meeting_type.slug]),
        "keep": [("duration", duration), ("week", first.isoformat())] + ([("embed", 1)] if embed else []),
    }


def _render_page(request, meeting_type, *, link=None, params=None, form=None, error="", status=200) -> HttpResponse:
    embed = (params or request.GET).get("embed") == "1"
    context = _page_context(request, meeting_type, link=link, params=params, embed=embed)
    if context["chosen"] is not None and form is None:
        form = BookingForm(meeting_type=meeting_type, consent_text=CONSENT_TEXT)
    context.update(form=form, error=error, book_url=reverse("meet:book", args=[meeting_type.slug]))
    response = render(request, "scheduling/public/page.html", context, status=status)
    return _finish(request, response, embed)


@login_not_required
@require_GET
def page(request, slug: str):
    meeting_type = _live_type(slug)
    if meeting_type is None:
        return _not_found(request, request.GET.get("embed") == "1")
    return _render_page(request, meeting_type)


def _usable_link(token: str) -> BookingLink | None:
    return (
        BookingLink.objects.select_related("meeting_type__owner", "meeting_type__team")
        .filter(token=token, used_at__isnull=True, expires_at__gt=timezone.now(), meeting_type__is_active=True)
        .first()
    )


@login_not_required
@require_GET
def link_page(request, token: str):
    link = _usable_link(token)
    if link is None:
        return _not_found(request, request.GET.get("embed") == "1")
    return _render_page(request, link.meeting_type, link=link)


@login_not_required
@require_POST
def book(request, slug: str):
    """The booking form's POST: services.book, then the booker's manage page as the confirmation."""
    meeting_type = _live_type(slug)
    post = request.POST
    embed = post.get("embed") == "1"
    if meeting_type is None:
        return _not_found(request, embed)
    link = None
    if post.get("link"):
        link = _usable_link(post["link"])
        if link is None or link.meeting_type_id != meeting_type.pk:
            return _not_found(request, embed)
    if over_limit(f"meet:book:{client_ip(request)}", limit=settings.SCHEDULING_BOOK_RATE_PER_IP, window=BOOK_WINDOW):
        response = render(
            request,
            "scheduling/public/message.html",
            {"title": "Too many tries", "message": "Please wait a minute and try again.", "embed": embed},
            status=429,
        )
        response["Retry-After"] = str(BOOK_WINDOW)
        return _finish(request, response, embed)
    form = BookingForm(post, meeting_type=meeting_type, consent_text=CONSENT_TEXT)
    if post.get("website"):  # the honeypot: a bot filled the hidden field; it sees success, nothing is booked
        response = render(
            request,
            "scheduling/public/message.html",
            {
                "title": "Thank you",
                "message": "We got your request. Watch your inbox for the confirmation.",
                "embed": embed,
            },
        )
        return _finish(request, response, embed)
    params = post.copy()
    starts_at = parse_start(post.get("start"))
    if starts_at is None:
        return _render_page(request, meeting_type, link=link, params=params, error=TAKEN, status=409)
    if not form.is_valid():
        return _render_page(request, meeting_type, link=link, params=params, form=form, status=400)
    tz_name = _tz_name(post.get("tz"))
    try:
        meeting = services.book(
            meeting_type,
            starts_at=starts_at,
            duration=_duration(meeting_type, post.get("duration")),
            booker=form.booker(tz_name, CONSENT_TEXT),
            link=link,
            meta={"ip": client_ip(request), "user_agent": request.headers.get("User-Agent", "")[:300]},
        )
    except (services.SlotTaken, availability.SlotUnavailable):
        params.pop("start", None)
        return _render_page(request, meeting_type, link=link, params=params, error=TAKEN, status=409)
    except ValidationError as exc:
        _add_errors(form, exc)
        return _render_page(request, meeting_type, link=link, params=params, form=form, status=400)
    target = reverse("meet:manage", args=[services.manage_token(meeting)]) + "?booked=1"
    if embed:
        target += "&embed=1"
    return redirect(target)


def _add_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, messages in exc.message_dict.items():
        key = name if name in form.fields else (f"q_{name}" if f"q_{name}" in form.fields else None)
        form.add_error(key, messages)


# -- the booker's manage page --------------------------------------------------------------------------------


def _meeting(token: str) -> Meeting | None:
    if not token or len(token) > 500:
        return None
    return services.meeting_for_token(token)


def _manage_context(request, meeting: Meeting, token: str, params, embed: bool) -> dict:
    tz_name = _tz_name(params.get("tz"), _tz_name(meeting.booker_time_zone))
    tz = zone(tz_name)
    now = timezone.now()
    changeable = meeting.status == Meeting.Status.BOOKED and meeting.starts_at > now
    context = {
        "meeting": meeting,
        "token": token,
        "tz_name": tz_name,
        "local_start": meeting.starts_at.astimezone(tz),
        "local_end": meeting.ends_at.astimezone(tz),
        "host_name": meeting.host.display_name,
        "changeable": changeable,
        "booked": params.get("booked") == "1",
        "embed": embed,
        "rescheduling": False,
        "zones": _zones(),
        "tz_given": True,
        "ics_url": _ics_url(token),
    }
    mt = meeting.meeting_type
    if changeable and mt is not None and mt.is_active and params.get("reschedule") == "1":
        today = now.astimezone(tz).date()
        first = _week(params.get("week"), tz, today)
        duration = int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)
        days = slot_days(mt, tz, first, duration, now)
        base = {"tz": tz_name, "reschedule": 1, **({"embed": 1} if embed else {})}
        chosen = parse_start(params.get("start"))
        offered = {s["iso"] for d in days for s in d["slots"]}
        context.update(
            slot_base=reverse("meet:manage", args=[token]),
            keep=[("reschedule", 1), ("week", first.isoformat())] + ([("embed", 1)] if embed else []),
            rescheduling=True,
            days=days,
            has_slots=bool(offered),
            first=first,
            slot_query=urlencode({**base, "week": first.isoformat()}),
            prev_query=urlencode({**base, "week": max(today, first - timedelta(days=7)).isoformat()})
            if first > today
            else "",
            next_query=urlencode({**base, "week": (first + timedelta(days=7)).isoformat()})
            if first + timedelta(days=7) <= today + timedelta(days=mt.max_days_ahead)
            else "",
            chosen=chosen if chosen and chosen.isoformat() in offered else None,
            chosen_local=chosen.astimezone(tz) if chosen and chosen.isoformat() in offered else None,
        )
    return context


def _ics_url(token: str) -> str:
    """The booker's .ics download, when the booking part has wired one (meet:manage_ics)."""
    from django.urls import NoReverseMatch

    try:
        return reverse("meet:manage_ics", args=[token])
    except NoReverseMatch:
        return ""


@login_not_required
@require_GET
def manage(request, token: str):
    embed = request.GET.get("embed") == "1"
    meeting = _meeting(token)
    if meeting is None:
        return _not_found(request, embed)
    context = _manage_context(request, meeting, token, request.GET, embed)
    return _finish(request, render(request, "scheduling/public/manage.html", context), embed)


@login_not_required
@require_POST
def manage_reschedule(request, token: str):
    embed = request.POST.get("embed") == "1"
    meeting = _meeting(token)
    if meeting is None:
        return _not_found(request, embed)
    starts_at = parse_start(request.POST.get("start"))
    error = ""
    if starts_at is None:
        error = TAKEN
    else:
        try:
            meeting = services.reschedule(meeting, starts_at=starts_at, actor=None)
        except (services.SlotTaken, availability.SlotUnavailable):
            error = TAKEN
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if error:
        params = request.POST.copy()
        params["reschedule"] = "1"
        params.pop("start", None)
        context = _manage_context(request, meeting, token, params, embed)
        context["error"] = error
        return _finish(request, render(request, "scheduling/public/manage.html", context, status=409), embed)
    target = reverse("meet:manage", args=[services.manage_token(meeting)]) + "?moved=1"
    return redirect(target + ("&embed=1" if embed else ""))


@login_not_required
@require_POST
def manage_cancel(request, token: str):
    embed = request.POST.get("embed") == "1"
    meeting = _meeting(token)
    if meeting is None:
        return _not_found(request, embed)
    if meeting.status == Meeting.Status.BOOKED:
        try:
            meeting = services.cancel(meeting, reason=(request.POST.get("reason") or "").strip()[:500], actor=None)
        except ValidationError as exc:
            context = _manage_context(request, meeting, token, request.POST, embed)
            context["error"] = " ".join(exc.messages)
            return _finish(request, render(request, "scheduling/public/manage.html", context, status=400), embed)
    response = render(
        request,
        "scheduling/public/message.html",
        {
            "title": "Meeting canceled",
            "message": f"Your meeting “{meeting.title}” is canceled. We let {meeting.host.display_name} know.",
            "embed": embed,
        },
    )
    return _finish(request, response, embed)
