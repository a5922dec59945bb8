"""Mail pages: the bounce/complaint endpoint (public, signed), the suppression list, sender identities (settings)
and the demo's mail viewer."""

import email
import email.policy
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.accounts.throttle import client_ip
from smarketing.core.queries import SortOption, keyset_page, prefix_q
from smarketing.core.toasts import add_toast
from smarketing.mail import access, feedback, senders, suppression
from smarketing.mail.forms import SenderIdentityForm, SuppressionAddForm, SuppressionSearchForm
from smarketing.mail.models import CapturedMessage, FeedbackKind, SenderIdentity, Suppression

SIGNATURE_HEADER = "HTTP_X_SMARKETING_SIGNATURE"
SIGNATURE_TOLERANCE = 300  # seconds: a captured request cannot be replayed after five minutes
MAX_NOTICES = 1000
PROBLEM = "application/problem+json"

# -- the inbound endpoint -------------------------------------------------------------------------------------


def _problem(status: int, slug: str, title: str, detail: str, errors: dict | None = None, headers=None):
    body = {"type": f"/docs/email-delivery#{slug}", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=PROBLEM)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def sign_body(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The X-Smarketing-Signature value for `body`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`.
    The timestamp is inside the MAC, so it cannot be refreshed to replay an old body."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _signature_ok(header: str, body: bytes, secret: str) -> bool:
    timestamp, macs = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            macs.append(value)  # several v1 values while a secret is being rotated
    if timestamp is None or not macs or abs(time.time() - timestamp) > SIGNATURE_TOLERANCE:
        return False
    expected = sign_body(body, secret, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, mac) for mac in macs)


def _rate_limited(request) -> int:
    """Seconds to wait when this client passed MAIL_FEEDBACK_RATE_PER_MINUTE in the current minute, else 0."""
    now = time.time()
    key = f"mailfeedback:{client_ip(request)}:{int(now // 60)}"
    cache.add(key, 0, 70)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, 70)
        count = 1
    return 60 - int(now % 60) if count > settings.MAIL_FEEDBACK_RATE_PER_MINUTE else 0


def _timestamp(value):
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 < value < 2**33:
            raise ValidationError("a unix timestamp in seconds")
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("an ISO 8601 date and time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValidationError("an ISO 8601 date and time or a unix timestamp")


def _string(item: dict, key: str, limit: int) -> str:
    value = item.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValidationError("must be a string")
    value = str(value)
    if len(value) > limit or (key != "diagnostic" and any(c in value for c in "\r\n")):
        raise ValidationError(f"at most {limit} characters on one line" if key != "diagnostic" else "too long")
    return value


def _notice_kwargs(item) -> tuple[dict | None, dict]:
    """The record_notice arguments of one posted notice (only the documented fields are read), or its errors."""
    if not isinstance(item, dict):
        return None, {"": ["must be a JSON object"]}
    errors: dict[str, list[str]] = {}
    kind = None
    if item.get("type") == "complaint":
        kind = FeedbackKind.COMPLAINT
    elif item.get("type") == "bounce":
        kind = {"hard": FeedbackKind.HARD_BOUNCE, "soft": FeedbackKind.SOFT_BOUNCE}.get(item.get("bounce_type"))
        if kind is None:
            errors["bounce_type"] = ['must be "hard" or "soft"']
    else:
        errors["type"] = ['must be "bounce" or "complaint"']
    kwargs = {"kind": kind, "channel": "webhook"}
    address = item.get("email")
    try:
        if not isinstance(address, str) or len(address) > 254:
            raise ValidationError("x")
        validate_email(address.strip())
        kwargs["email"] = address
    except ValidationError:
        errors["email"] = ["must be an email address"]
    for key, target, limit in (
        ("message_id", "message_id", 255),
        ("id", "notice_id", 255),
        ("diagnostic", "diagnostic", 2000),
    ):
        try:
            kwargs[target] = _string(item, key, limit)
        except ValidationError as exc:
            errors[key] = exc.messages
    try:
        kwargs["received_at"] = _timestamp(item.get("timestamp"))
    except ValidationError as exc:
        errors["timestamp"] = exc.messages
    kwargs["notice_id"] = kwargs.get("notice_id") or None
    return (None, errors) if errors else (kwargs, {})


@login_not_required
@csrf_exempt  # authenticated by its signature, never by a cookie
@require_POST
def feedback_endpoint(request):
    secret = settings.MAIL_FEEDBACK_SECRET
    if not secret:
        return _problem(404, "feedback-off", "Not found", "The feedback endpoint is not configured.")
    wait = _rate_limited(request)
    if wait:
        return _problem(429, "throttled", "Too many requests", "Slow down.", headers={"Retry-After": str(wait)})
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.MAIL_FEEDBACK_MAX_BYTES
    if length > limit:
        return _problem(413, "too-large", "Request too large", f"Send at most {limit} bytes per request.")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _problem(413, "too-large", "Request too large", f"Send at most {limit} bytes per request.")
    if not _signature_ok(request.META.get(SIGNATURE_HEADER, ""), body, secret):
        # One answer for a missing, malformed, stale or wrong signature: nothing to learn from the difference.
        return _problem(401, "bad-signature", "Unauthorized", "Missing, expired or invalid X-Smarketing-Signature.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _problem(400, "invalid", "Invalid request", "The body is not JSON.")
    items = data if isinstance(data, list) else [data]
    if not items or len(items) > MAX_NOTICES:
        return _problem(400, "invalid", "Invalid request", f"Send between 1 and {MAX_NOTICES} notices.")
    parsed, errors = [], {}
    for index, item in enumerate(items):
        kwargs, item_errors = _notice_kwargs(item)
        if item_errors:
            prefix = f"{index}." if isinstance(data, list) else ""
            errors.update({f"{prefix}{k}".rstrip("."): v for k, v in item_errors.items()})
        parsed.append(kwargs)
    if errors:
        return _problem(400, "invalid", "Invalid request", "Some notices are invalid; none was recorded.", errors)
    recorded = 0
    # All or nothing: a notifier that retries the whole batch after an error gets each notice recorded once.
    with transaction.atomic():
        for kwargs in parsed:
            if feedback.record_notice(**kwargs) is not None:
                recorded += 1
    return JsonResponse({"received": len(parsed), "recorded": recorded, "duplicates": len(parsed) - recorded})


# -- the suppression list -------------------------------------------------------------------------------------

NEWEST = SortOption("Newest", ("-created_at", "-id"))


@login_required
@require_http_methods(["GET", "POST"])
def suppression_list(request):
    access.require_manage_suppressions(request.user)
    add_form = SuppressionAddForm(request.POST or None)
    if request.method == "POST" and add_form.is_valid():
        row, created = suppression.add_by_hand(
            request.user, add_form.cleaned_data["email"], add_form.cleaned_data["note"]
        )
        verb = "added to" if created else "was already on"
        return add_toast(request, redirect("mail:suppressions"), f"{row.email} {verb} the suppression list.")
    search = SuppressionSearchForm(request.GET)
    q = suppression.normalize(search.data.get("q", "")) if search.is_valid() else ""
    qs = Suppression.objects.all()
    if q:
        qs = qs.filter(prefix_q("email", q))
    page = keyset_page(qs, NEWEST, request.GET.get("cursor"), settings.PAGE_SIZE)
    return render(request, "mail/suppressions.html", {"page": page, "q": q, "form": add_form, "search": search})


@login_required
@require_POST
def suppression_remove(request, pk: int):
    access.require_manage_suppressions(request.user)
    row = get_object_or_404(Suppression, pk=pk)
    suppression.remove(request.user, row)
    message = f"{row.email} removed from the suppression list: marketing email may go to it again."
    return add_toast(request, redirect("mail:suppressions"), message)


# -- sender identities (settings, admins) ---------------------------------------------------------------------


@login_required
@require_GET
def sender_list(request):
    if not access.can_manage_senders(request.user):
        raise PermissionDenied("Only admins can change sender identities.")
    return render(request, "mail/senders.html", {"senders": list(SenderIdentity.objects.order_by("name", "id"))})


@login_required
@require_http_methods(["GET", "POST"])
def sender_edit(request, pk: int | None = None):
    access.require_manage_senders(request.user)
    sender = get_object_or_404(SenderIdentity, pk=pk) if pk else None
    form = SenderIdentityForm(request.POST or None, instance=sender)
    if request.method == "POST" and form.is_valid():
        if sender is None:
            sender = senders.create_sender(request.user, form.cleaned_data)
            message = f"Sender “{sender.name}” added."
        else:
            sender = senders.update_sender(request.user, sender, form.cleaned_data)
            message = f"Sender “{sender.name}” saved."
        return add_toast(request, redirect("settings_senders"), message)
    return render(request, "mail/sender_form.html", {"form": form, "sender": sender})


# -- the demo's mail viewer -----------------------------------------------------------------------------------

VIEWER_ORDER = SortOption("Newest", ("-received_at", "-id"))
# The message's own HTML: no scripts, no forms, no plugins, nothing fetched but images; framed only by us.
VIEWER_CSP = (
    "default-src 'none'; img-src data: http: https:; style-src 'unsafe-inline'; font-src data:; "
    "form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox allow-popups allow-popups-to-escape-sandbox"
)


def _viewer_on(request):
    if not settings.MAIL_VIEWER:
        raise Http404("The mail viewer is off (it is a demo feature: MAIL_VIEWER).")
    if not access.can_view_captured_mail(request.user):
        raise PermissionDenied


@login_required
@require_GET
def viewer(request):
    _viewer_on(request)
    # `raw` is deferred: a page of 50 messages must not read 50 bodies.
    qs = CapturedMessage.objects.defer("raw")
    page = keyset_page(qs, VIEWER_ORDER, request.GET.get("cursor"), settings.PAGE_SIZE)
    return render(request, "mail/viewer.html", {"page": page})


def _parts(raw: bytes) -> tuple[list[tuple[str, str]], str, str]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    headers = []
    for name in msg.keys():
        try:
            value = str(msg.get(name, ""))
        except (ValueError, TypeError, IndexError, LookupError):  # a header the strict policy cannot decode
            value = "(undecodable)"
        headers.append((name, value))
    text = html = ""
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        try:
            content = part.get_content()
        except (LookupError, ValueError):
            continue
        if kind == "text/plain" and not text and isinstance(content, str):
            text = content
        elif kind == "text/html" and not html and isinstance(content, str):
            html = content
    return headers, text, html


@login_required
@require_GET
def viewer_message(request, pk: int):
    _viewer_on(request)
    message = get_object_or_404(CapturedMessage, pk=pk)
    headers, text, html = _parts(bytes(message.raw))
    return render(
        request,
        "mail/viewer_message.html",
        {"message": message, "headers": headers, "text": text, "has_html": bool(html), "size": len(message.raw)},
    )


@xframe_options_sameorigin
@login_required
@require_GET
def viewer_html(request, pk: int):
    _viewer_on(request)
    message = get_object_or_404(CapturedMessage, pk=pk)
    _, _, html = _parts(bytes(message.raw))
    # Links open in a new tab (the sandbox forbids navigating the frame's parent).
    response = HttpResponse('<base target="_blank">' + html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = VIEWER_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


def viewer_url(message: CapturedMessage) -> str:
    return reverse("mail:viewer_message", args=[message.pk])
