"""The public JSON endpoints of a booking page and a host's calendar feed (no login):

    GET  /meet/<slug>/slots.json?start=YYYY-MM-DD&days=7&tz=Europe/Berlin&duration=30
         → {"time_zone": "Europe/Berlin", "slots": [{"start": "2026-12-07T08:00:00Z", "local": "...+01:00"}]}
    POST /meet/<slug>/book.json  (JSON or form-encoded: name, email, start, duration, tz, answers, consent; a
         ticked consent is recorded with the booking page's wording, services.CONSENT_TEXT)
         → 201 {"meeting": {...}, "manage_url": ...}; 409 just taken; 400 {"errors": {field: [message]}}; 429
    GET  /meet/feed/<token>.ics → the host's meetings (text/calendar); 404 for an unknown or revoked token

Hostile input: only allow-listed fields are read; the booking POST is rate-limited per address
(SCHEDULING_BOOK_RATE_PER_IP a minute, core.ratelimit) and carries a honeypot (`website`: filled → a fake success,
nothing booked); errors are fixed sentences, never an exception's text; the slots say free/busy only, nothing about
other meetings. CSRF-exempt like the forms' public endpoint: no session or cookie is read, so there is nothing for
a forged cross-site request to ride on.
"""

import json
import zoneinfo
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from smarketing.accounts.throttle import client_ip
from smarketing.core.ratelimit import over_limit
from smarketing.scheduling import availability, ics, services
from smarketing.scheduling.models import BookingLink, MeetingType, Schedule

MAX_DAYS = 31
HONEYPOT = "website"
TRUE_WORDS = {"1", "true", "on", "yes"}
NO_STORE = "no-store, private, max-age=0"


def _json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status)
    response["Cache-Control"] = NO_STORE
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _error(message: str, status: int, **extra) -> JsonResponse:
    return _json({"error": message, **extra}, status=status)


def _live_type(slug: str) -> MeetingType | None:
    return MeetingType.objects.select_related("owner", "team").filter(slug=slug, is_active=True).first()


def _zone(name: str):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@login_not_required
@require_GET
def slots_json(request, slug: str):
    meeting_type = _live_type(slug)
    if meeting_type is None:
        return _error("No such booking page.", 404)
    tz_name = (request.GET.get("tz") or "UTC")[:64]
    tz = _zone(tz_name)
    if tz is None:
        return _error("Unknown time zone; use a name such as Europe/Berlin.", 400)
    today = timezone.now().astimezone(tz).date()
    try:
        first = date.fromisoformat(request.GET["start"]) if request.GET.get("start") else today
        days = int(request.GET.get("days") or 7)
        duration = int(request.GET["duration"]) if request.GET.get("duration") else None
    except ValueError:
        return _error("Give start as YYYY-MM-DD and days and duration as whole numbers.", 400)
    if not 1 <= days <= MAX_DAYS:
        return _error(f"days must be from 1 to {MAX_DAYS}.", 400)
    if duration is not None and duration not in (meeting_type.durations or [30]):
        return _error("Choose one of the offered durations.", 400, durations=meeting_type.durations or [30])
    # The visitor's days, widened by one UTC day on each side, then cut to their local window.
    slots = availability.free_slots(
        meeting_type, start=first - timedelta(days=1), end=first + timedelta(days=days), duration=duration
    )
    start = datetime.combine(first, datetime.min.time(), tz)
    end = datetime.combine(first + timedelta(days=days), datetime.min.time(), tz)
    shown = [
        {"start": _utc_iso(s.starts_at), "local": s.starts_at.astimezone(tz).isoformat()}
        for s in slots
        if start <= s.starts_at < end
    ]
    return _json({"time_zone": tz_name, "duration": duration or meeting_type.default_duration, "slots": shown})


def _read_body(request) -> dict | None:
    if (request.content_type or "") == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        return body if isinstance(body, dict) else None
    return {k: request.POST.get(k) for k in request.POST}


def _answers(meeting_type, body: dict) -> dict:
    """The type's own questions only: `answers: {key: value}` in JSON, or `q_<key>` fields in a form post."""
    given = body.get("answers") if isinstance(body.get("answers"), dict) else {}
    answers = {}
    for question in meeting_type.questions or []:
        key = question.get("key")
        value = given.get(key, body.get(f"q_{key}"))
        if isinstance(value, str | int | float):
            answers[key] = str(value)
    return answers


def _start(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


@csrf_exempt  # no session or cookie is read: nothing for a forged cross-site request to ride on
@login_not_required
@require_POST
def book_json(request, slug: str):
    meeting_type = _live_type(slug)
    if meeting_type is None:
        return _error("No such booking page.", 404)
    if over_limit(f"meet:book:{client_ip(request)}", limit=settings.SCHEDULING_BOOK_RATE_PER_IP, window=60):
        response = _error("Too many tries; please wait a minute.", 429)
        response["Retry-After"] = "60"
        return response
    body = _read_body(request)
    if body is None:
        return _error("Send a JSON object or a form.", 400)
    if str(body.get(HONEYPOT) or ""):
        # A bot filled the hidden field: it is told it succeeded and learns nothing; nothing is booked.
        return _json({"meeting": None, "manage_url": None}, status=201)
    starts_at = _start(body.get("start"))
    if starts_at is None:
        return _error("Pick a time.", 400, errors={"start": ["Give the slot's start as an ISO time with its offset."]})
    link = None
    if body.get("link"):
        link = BookingLink.objects.filter(token=str(body["link"])[:64], meeting_type=meeting_type).first()
        if link is None:
            return _error("This booking link doesn't work.", 400, errors={"link": ["Unknown booking link."]})
    try:
        duration = int(body["duration"]) if body.get("duration") not in (None, "") else None
    except (TypeError, ValueError):
        return _error("Check the fields.", 400, errors={"duration": ["A whole number of minutes."]})
    booker = {
        "name": str(body.get("name") or ""),
        "email": str(body.get("email") or ""),
        "time_zone": str(body.get("tz") or body.get("time_zone") or "UTC")[:64],
        "answers": _answers(meeting_type, body),
        "consent": str(body.get("consent", "")).lower() in TRUE_WORDS or body.get("consent") is True,
        "consent_text": services.CONSENT_TEXT,  # the wording we show, whatever the client sends
    }
    try:
        meeting = services.book(
            meeting_type,
            starts_at=starts_at,
            duration=duration,
            booker=booker,
            link=link,
            meta={"ip": client_ip(request)},
        )
    except (services.SlotTaken, availability.SlotUnavailable):
        return _error(services.TAKEN, 409)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return _error("Check the fields.", 400, errors=errors)
    return _json(
        {
            "meeting": {
                "title": meeting.title,
                "start": _utc_iso(meeting.starts_at),
                "end": _utc_iso(meeting.ends_at),
                "time_zone": meeting.booker_time_zone,
                "location": meeting.location,
                "host": meeting.host.display_name,
            },
            "manage_url": services.manage_url(meeting),
        },
        status=201,
    )


@login_not_required
@require_GET
def feed(request, token: str):
    schedule = Schedule.objects.select_related("user").filter(feed_token=token[:64], user__is_active=True).first()
    if schedule is None:
        raise Http404
    response = HttpResponse(ics.feed(schedule.user), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = NO_STORE
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
