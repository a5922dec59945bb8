"""The endpoints a recipient reaches from a marketing email, without logging in.

Hostile by default: the token in the URL is signed (email/tokens.py) and checked before the database is read;
a bad or unknown token gets the same friendly page (or the same GIF) as any other, so nothing tells whether an
address or a send exists; the click redirect goes only to the URL stored for that campaign's link; every
endpoint is rate limited per client address.

The pixel and the redirect do one narrow INSERT of a TrackingHit and answer: counting, machine detection,
touchpoints and events happen later in a job (email/tracking.py), so a burst of opens never waits on them.
They read no session and set no cookie (a mail client has none); the pages (unsubscribe, preferences) do not
need one either, except for the preference form's CSRF cookie.
"""

import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from smarketing.accounts.throttle import client_ip
from smarketing.email import links, preferences, tokens
from smarketing.email.models import EmailLink, EmailSend, Frequency, HitKind, TrackingHit
from smarketing.forms import tracking as web_tracking

# The smallest transparent GIF: 43 bytes.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_STORE = "no-store, no-cache, must-revalidate, private, max-age=0"
_HIT = TrackingHit._meta.db_table
_SEND = EmailSend._meta.db_table
_LINK = EmailLink._meta.db_table
_UA_LENGTH = TrackingHit._meta.get_field("user_agent").max_length
_MAX_POSITION = 32767  # EmailLink.position is a small integer


def _over_limit(request) -> bool:
    """Requests from one address in the current minute beyond EMAIL_TRACKING_RATE_PER_MINUTE (cache-based)."""
    key = f"emailhit:{client_ip(request)}:{int(time.time() // 60)}"
    if cache.add(key, 1, 120):
        return False
    try:
        return cache.incr(key) > settings.EMAIL_TRACKING_RATE_PER_MINUTE
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 120)
        return False


def _ip(request) -> str | None:
    ip = client_ip(request)
    return ip if ip and ip != "unknown" else None


def _prefetched(request) -> bool:
    """A request the client says is not a person looking: HEAD, or a prefetch (Sec-Purpose / Purpose / X-Moz)."""
    if request.method == "HEAD":
        return True
    purpose = " ".join(request.META.get(h, "") for h in ("HTTP_SEC_PURPOSE", "HTTP_PURPOSE", "HTTP_X_MOZ"))
    return "prefetch" in purpose.lower()


def _ip_param() -> str:
    # In INSERT ... SELECT a bound string is text to PostgreSQL, which does not assign text to inet implicitly.
    return "CAST(%s AS inet)" if connection.vendor == "postgresql" else "%s"


def _insert_hit(*, kind: str, token: str, request, link_id: int | None = None, send_id: int | None = None) -> int:
    """One narrow INSERT; with only the token, the send is looked up in the same statement (INSERT ... SELECT),
    so an open costs one round trip and an unknown token inserts nothing."""
    ua = request.META.get("HTTP_USER_AGENT", "")[:_UA_LENGTH].replace("\x00", "")
    values = [kind, link_id, timezone.now(), ua, _ip(request), _prefetched(request), False]
    columns = "send_id, kind, link_id, at, user_agent, ip, machine, processed"
    select = f"%s, %s, %s, %s, {_ip_param()}, %s, %s"
    with connection.cursor() as cursor:
        if send_id is not None:
            cursor.execute(f"INSERT INTO {_HIT} ({columns}) VALUES (%s, {select})", [send_id, *values])
        else:
            sql = f"INSERT INTO {_HIT} ({columns}) SELECT s.id, {select} FROM {_SEND} s WHERE s.token = %s"
            cursor.execute(sql, [*values, token])
        return cursor.rowcount


def _pixel_response() -> HttpResponse:
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = NO_STORE
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    return response


TITLES = {
    "invalid": "Link not valid",
    "too_many": "Please wait",
    "unsubscribe": "Unsubscribe",
    "unsubscribed": "Unsubscribed",
    "preferences": "Email preferences",
}


def _public_page(request, card: str, context: dict | None = None, status: int = 200) -> HttpResponse:
    context = {**(context or {}), "card": f"email/public/_{card}.html", "title": TITLES[card]}
    response = render(request, "email/public/page.html", context, status=status)
    response["Cache-Control"] = NO_STORE
    response["X-Robots-Tag"] = "noindex, nofollow"
    # The token must not leak to other sites; same-origin (not no-referrer) keeps the form's Origin header, which
    # the CSRF check of the preference form needs.
    response["Referrer-Policy"] = "same-origin"
    return response


def _invalid(request) -> HttpResponse:
    """The one answer to a tampered, unknown or mistyped link, whichever it was."""
    return _public_page(request, "invalid", status=404)


def _too_many(request) -> HttpResponse:
    response = _public_page(request, "too_many", status=429)
    response["Retry-After"] = "60"
    return response


@csrf_exempt
@login_not_required
def open_pixel(request, signed: str):
    # Always the GIF, whatever happened: an image that fails to load tells the sender nothing, and a probe
    # learns nothing either.
    token = tokens.unsign(signed)
    if token and request.method in ("GET", "HEAD") and not _over_limit(request):
        _insert_hit(kind=HitKind.OPEN, token=token, request=request)
    return _pixel_response()


@csrf_exempt
@login_not_required
def click(request, signed: str, position: int):
    token = tokens.unsign(signed)
    if not token or position > _MAX_POSITION:
        return _invalid(request)
    if _over_limit(request):
        return _too_many(request)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.id, l.id, l.url, s.contact_id FROM {_SEND} s JOIN {_LINK} l ON l.campaign_id = s.campaign_id "
            "WHERE s.token = %s AND l.position = %s",
            [token, position],
        )
        row = cursor.fetchone()
    # Stored at the freeze as http(s) only; checked again so that a row written some other way cannot make
    # this a redirect to javascript: or data:.
    if row is None or not links.trackable(row[2]):
        return _invalid(request)
    send_id, link_id, url, contact_id = row
    _insert_hit(kind=HitKind.CLICK, token=token, request=request, link_id=link_id, send_id=send_id)
    # Web tracking: a link to a tracked site carries a token naming the recipient, so the visit is stitched.
    url = web_tracking.with_click_token(url, contact_id, web_tracking.current_settings())
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = NO_STORE
    response["Referrer-Policy"] = "no-referrer"
    return response


def _send_of(signed: str) -> EmailSend | None:
    token = tokens.unsign(signed)
    if not token:
        return None
    return (
        EmailSend.objects.select_related("campaign__campaign", "campaign__sender", "contact")
        .filter(token=token)
        .first()
    )


@csrf_exempt  # RFC 8058: the mail provider's one-click POST carries no cookie and no CSRF token
@login_not_required
def unsubscribe(request, signed: str):
    """GET shows a confirmation and changes nothing (link scanners follow GETs); POST unsubscribes, whether it is
    the provider's one-click ("List-Unsubscribe=One-Click") or the person's button, and answers 200."""
    if _over_limit(request):
        return _too_many(request)
    send = _send_of(signed)
    if send is None:
        return _invalid(request)
    context = {
        "send": send,
        "sender_name": _sender_name(send),
        "preferences_url": links.PREFERENCES_PATH.format(signed),
    }
    # RFC 8058's body, which the confirmation button sends too; any other POST (a scanner, a stray form) only
    # shows the confirmation.
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        preferences.unsubscribe(send, one_click=not request.POST.get("confirm"))
        return _public_page(request, "unsubscribed", context)
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    return _public_page(request, "unsubscribe", context)


def _sender_name(send: EmailSend) -> str:
    return send.campaign.sender.from_name if send.campaign.sender_id else ""


@login_not_required
def preferences_view(request, signed: str):
    """The preference center: topics, frequency, unsubscribe from all, and subscribing again. A page in the
    browser, so the form is CSRF-protected (the cookie is the only one set, and only here)."""
    if _over_limit(request):
        return _too_many(request)
    send = _send_of(signed)
    if send is None:
        return _invalid(request)
    saved: list[str] = []
    error = ""
    if request.method == "POST":
        try:
            kept = {int(v) for v in request.POST.getlist("topics") if v.isdigit()}
        except ValueError:
            kept = set()
        frequency = request.POST.get("frequency", Frequency.ALL)
        if frequency not in Frequency.values:
            error = "Choose how often you want to hear from us."
        else:
            saved = preferences.save_preferences(
                send,
                topics_kept=kept,
                frequency=frequency,
                unsubscribe_all=request.POST.get("unsubscribe_all") == "1",
            )
            send.contact = send.contact and type(send.contact).objects.get(pk=send.contact_id)
            if not saved:
                saved = ["Nothing to change: your preferences were already these."]
    elif request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    state = preferences.state_of(send)
    context = {
        "send": send,
        "state": state,
        "topics": [(t, t.pk not in state.topics_left) for t in state.topics],
        "frequencies": Frequency.choices,
        "saved": saved,
        "error": error,
        "sender_name": _sender_name(send),
    }
    return _public_page(request, "preferences", context, status=400 if error else 200)
