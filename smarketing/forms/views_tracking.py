"""Web tracking's endpoints and pages.

Public (no login, no session, no CSRF cookie, nothing echoed): the script `/t.js`, the hit endpoint `/t/hit`
(sendBeacon's text/plain POST, or a form POST; always an empty 204) and the pixel `/t/p.gif` (the fallback
when sendBeacon is missing, or a <noscript> image). Each turns its parameters into a record with
`tracking.parse_hit` and hands it to the ingest (`core.ingest.accept`), which answers before the database is
written. CORS: the hit endpoint answers the allowed sites' origins (the script never needs to read the answer;
a fetch() fallback would). Rate limited per client address.

Signed in: the visits page `/tracking/` and the settings page `/settings/tracking/`.
"""

import hashlib
import json
import logging
import time
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from smarketing.accounts.throttle import client_ip
from smarketing.core import ingest
from smarketing.core.toasts import add_toast
from smarketing.forms import tracking
from smarketing.forms.models import TrackingSettings
from smarketing.forms.tracking import access, queries, services
from smarketing.forms.tracking.config import TrackingConfig, normalize_origin
from smarketing.forms.tracking.forms import TrackingSettingsForm, VisitFilterForm
from smarketing.forms.tracking.hits import MAX_BODY, first_values

logger = logging.getLogger(__name__)

PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_STORE = "no-store, no-cache, must-revalidate, private, max-age=0"
SCRIPT_SOURCE = Path(__file__).with_name("tracking") / "t.js"
SCRIPT_MAX_AGE = 300  # without ?v=: settings changes reach every site within five minutes


# -- the public endpoints ---------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def script_for(config: TrackingConfig) -> tuple[str, str]:
    """(the script with the settings it needs baked in, its version: a hash of that text)."""
    options = json.dumps({"consent": config.require_consent, "dnt": config.honour_dnt}, sort_keys=True)
    body = SCRIPT_SOURCE.read_text().replace("{/*CONFIG*/}", options)
    return body, hashlib.sha256(body.encode()).hexdigest()[:12]


def script_url() -> str:
    """The snippet's script URL (on the public base URL that mail links use too)."""
    return f"{settings.SMARKETING_BASE_URL}/t.js"


def _over_limit(request) -> bool:
    """Hits from one address in the current minute beyond TRACKING_RATE_PER_MINUTE (counted in the cache)."""
    key = f"trackhit:{client_ip(request)}:{int(time.time() // 60)}"
    if cache.add(key, 1, 120):
        return False
    try:
        return cache.incr(key) > settings.TRACKING_RATE_PER_MINUTE
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 120)
        return False


def _accept(request, params: dict) -> None:
    record = tracking.parse_hit(params, tracking.headers_from_meta(request.META), now=timezone.now())
    if record is None:
        return
    try:
        ingest.accept("page_view", record)
    except Exception:
        # The visitor's browser learns nothing from a failure; the log does.
        logger.exception("tracking hit not recorded")


def _cors(request, response: HttpResponse) -> HttpResponse:
    origin = normalize_origin(request.headers.get("Origin", ""))
    response["Vary"] = "Origin"
    if origin and tracking.current_settings().origin_allowed(origin):
        response["Access-Control-Allow-Origin"] = origin
    return response


@login_not_required
@require_http_methods(["GET", "HEAD"])
def script(request):
    body, version = script_for(tracking.current_settings())
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    immutable = request.GET.get("v") == version
    response["Cache-Control"] = (
        "public, max-age=31536000, immutable" if immutable else f"public, max-age={SCRIPT_MAX_AGE}"
    )
    response["ETag"] = f'"{version}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@csrf_exempt  # no cookie is read or set here: nothing for a forged request to ride on
@login_not_required
def hit(request):
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "POST"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        return _cors(request, response)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST, OPTIONS"})
    if _over_limit(request):
        return _cors(request, HttpResponse(status=429, headers={"Retry-After": "60"}))
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if 0 < length <= MAX_BODY:
        _accept(request, tracking.params_from_body(request.body))
    return _cors(request, HttpResponse(status=204))


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "HEAD"])
def pixel(request):
    # Always the GIF: an image that fails tells the page nothing, and a probe learns nothing either. A HEAD is a
    # prefetch or a probe, never a view.
    if request.method == "GET" and not _over_limit(request):
        _accept(request, first_values(request.GET.lists()))
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = NO_STORE
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


# -- the pages --------------------------------------------------------------------------------------------------


@login_required
@require_GET
def visits(request):
    if not access.can_view_visits(request.user):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("You cannot see the visits.")
    filters = VisitFilterForm(request.GET)
    data = filters.cleaned_data if filters.is_valid() else {}
    who, path = data.get("who", ""), data.get("path", "")
    page = queries.recent_views(who=who, path=path, cursor=request.GET.get("after"), size=settings.PAGE_SIZE)
    days = 30 if request.GET.get("days") == "30" else 7
    top = queries.top_pages(days)
    daily = queries.daily_views(days)
    charts = {
        "daily": {
            "type": "bar",
            "labels": [d.strftime("%b %-d") for d, _ in daily],
            "datasets": [{"label": "Page views", "data": [n for _, n in daily]}],
        },
        "top": {
            "type": "bar",
            "horizontal": True,
            "labels": [row["path"][:60] for row in top],
            "datasets": [{"label": "Views", "data": [row["views"] for row in top]}],
        },
    }
    query = {k: v for k, v in (("who", who), ("path", path), ("days", str(days) if days != 7 else "")) if v}
    return render(
        request,
        "forms/tracking/visits.html",
        {
            "page": page,
            "filters": filters,
            "who": who,
            "path": path,
            "days": days,
            "windows": queries.TOP_WINDOWS,
            "top": top,
            "total_views": sum(n for _, n in daily),
            "charts": charts,
            "query": query,
            "is_admin": access.can_change_settings(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    access.require_view_settings(request.user)
    can_change = access.can_change_settings(request.user)
    row = TrackingSettings.objects.filter(pk=1).first() or TrackingSettings()
    form = TrackingSettingsForm(request.POST or None, instance=row)
    if request.method == "POST":
        access.require_change_settings(request.user)
        if form.is_valid():
            services.update_settings(request.user, {name: form.cleaned_data[name] for name in services.FIELDS})
            return add_toast(request, redirect("tracking:settings"), "Tracking settings saved.")
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    config = tracking.current_settings()
    return render(
        request,
        "forms/tracking/settings.html",
        {
            "form": form,
            "can_change": can_change,
            "script_url": script_url(),
            "require_consent": config.require_consent,
            "app_origin": normalize_origin(settings.SMARKETING_BASE_URL) or settings.SMARKETING_BASE_URL,
        },
    )
