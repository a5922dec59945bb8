"""The public form endpoints under /f/ (no login): the hosted page, the submit endpoint, the embed's definition
and script, and the double opt-in confirmation.

Hostile by design:
- Only live forms answer; an unknown, draft or archived form gets the same plain 404 (no detail, no echo).
- No session is used to accept a submission: the hosted page and the embed carry a signed fill token
  (forms/spam.py), so the submit endpoint is CSRF-exempt while CSRF stays on everywhere else in the app.
- CORS only here: a browser request from another origin is answered (Access-Control-Allow-Origin) only for the
  form's `allowed_origins`, or for any origin when that list is empty, never with credentials; a POST from an
  origin not on the list is refused before anything is read, since a form-encoded POST needs no preflight.
- Bodies above FORMS_MAX_BODY_BYTES get 413 before they are read; a flood gets 429 (per address, per form).
- The redirect after a submission goes only to the form's configured `redirect_url`, never to a URL from the
  request. Error messages are fixed sentences; the page refills only the form's own fields, escaped.
"""

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from smarketing.accounts.throttle import client_ip
from smarketing.forms import capture, spam
from smarketing.forms import fields as schema
from smarketing.forms.models import Form, FormStatus, SubmissionStatus

VISITOR_COOKIE = "smk_vid"  # the first-party visitor cookie of web tracking
NO_STORE = "no-store, private, max-age=0"
EMBED_MAX_AGE = 3600
TRUE_WORDS = {"1", "true", "on", "yes"}
INPUT_TYPES = {"text": "text", "email": "email", "phone": "tel", "number": "number", "date": "date"}


def _live_form(public_id: str) -> Form | None:
    return Form.objects.select_related("campaign").filter(public_id=public_id, status=FormStatus.LIVE).first()


# -- headers ------------------------------------------------------------------------------------------------


def _redirect_target(form: Form) -> str:
    """The form's own redirect URL when it is a plain http(s) URL; "" otherwise."""
    url = (form.redirect_url or "").strip()
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def _page_headers(response: HttpResponse, form: Form | None = None) -> HttpResponse:
    # The page's own policy: no script at all, styles from the app, and the form may post only here (and be
    # redirected to the form's configured URL, which form-action also governs in browsers).
    action = "'self'"
    target = _redirect_target(form) if form is not None else ""
    if target:
        parts = urlsplit(target)
        action += f" {parts.scheme}://{parts.netloc}"
    response["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        f"form-action {action}; frame-ancestors 'none'; base-uri 'none'"
    )
    response["Cache-Control"] = NO_STORE
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _allowed_origins(form: Form) -> set[str]:
    return {line.strip().rstrip("/").lower() for line in form.allowed_origins.splitlines() if line.strip()}


def _cors(request, form: Form) -> tuple[bool, str | None]:
    """(may this request proceed, the Access-Control-Allow-Origin value to send or None)."""
    origin = request.headers.get("Origin")
    if not origin:
        return True, None  # not a cross-origin browser request (curl, a server, an old browser's same-origin post)
    if origin.rstrip("/").lower() == f"{request.scheme}://{request.get_host()}".lower():
        return True, None
    allowed = _allowed_origins(form)
    if not allowed:
        return True, "*"
    if origin.rstrip("/").lower() in allowed:
        return True, origin
    return False, None


def _with_cors(response: HttpResponse, allow: str | None) -> HttpResponse:
    response["Vary"] = "Origin"
    if allow:
        response["Access-Control-Allow-Origin"] = allow
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _preflight(request, form: Form | None) -> HttpResponse:
    ok, allow = _cors(request, form) if form is not None else (False, None)
    if not ok or not allow:
        return _with_cors(HttpResponse(status=403 if form is not None else 404), None)
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type, Accept"
    response["Access-Control-Max-Age"] = "86400"
    return _with_cors(response, allow)


# -- simple answers -----------------------------------------------------------------------------------------


def _message(request, title: str, message: str, status: int, form: Form | None = None) -> HttpResponse:
    response = render(
        request, "forms/public/message.html", {"title": title, "message": message, "form": form}, status=status
    )
    return _page_headers(response, form)


def _not_found(request, *, as_json: bool = False) -> HttpResponse:
    if as_json:
        return JsonResponse({"ok": False, "error": "not_found"}, status=404)
    return _message(request, "Form not found", "This form does not exist or no longer takes answers.", 404)


def _wants_json(request) -> bool:
    content_type = request.content_type or ""
    return content_type == "application/json" or "application/json" in request.headers.get("Accept", "")


# -- the hosted page -----------------------------------------------------------------------------------------


def _rows(fields: list[schema.Field], values: dict, errors: dict) -> list[dict]:
    """What the page template needs per field: the field, its value(s) and its errors."""
    rows = []
    for f in fields:
        value = values.get(f.key, "")
        chosen = set(value) if isinstance(value, list) else {str(value)} if value not in ("", None) else set()
        rows.append(
            {
                "field": f,
                "id": f"f-{f.key}",
                "input_type": INPUT_TYPES.get(f.type, "text"),
                "value": "" if isinstance(value, list | bool) else value,
                "checked": value is True or str(value).lower() in TRUE_WORDS,
                "choices": [
                    {"value": c, "checked": c in chosen, "id": f"f-{f.key}-{i}"} for i, c in enumerate(f.choices)
                ],
                "errors": errors.get(f.key, []),
            }
        )
    return rows


def _hidden_values(fields: list[schema.Field], query) -> dict:
    """Hidden fields filled from the page's own query string (only their declared source names)."""
    values = {}
    for f in fields:
        if f.type == "hidden":
            values[f.key] = f.value if f.source == "static" else str(query.get(f.source, ""))[:500]
    return values


def _render_page(request, form, *, fields, values, errors, token, page_url, referrer, consent=False, status=200):
    context = {
        "form": form,
        "rows": _rows(fields, values, errors),
        "errors": errors,
        "form_errors": errors.get(capture.ALL, []),
        "consent_errors": errors.get(capture.CONSENT, []),
        "consent_checked": consent,
        "token": token,
        "page_url": page_url[:2000],
        "referrer": referrer[:2000],
        "honeypot": spam.HONEYPOT,
    }
    return _page_headers(render(request, "forms/public/page.html", context, status=status), form)


@login_not_required
@require_http_methods(["GET", "HEAD"])
def page(request, public_id: str):
    form = _live_form(public_id)
    if form is None:
        return _not_found(request)
    recognised = capture.visitor_contact(request.COOKIES.get(VISITOR_COOKIE, ""))
    fields = capture.visible_fields(form, recognised)
    return _render_page(
        request,
        form,
        fields=fields,
        values=_hidden_values(fields, request.GET),
        errors={},
        token=spam.fill_token(form),
        page_url=request.build_absolute_uri(),
        referrer=request.headers.get("Referer", ""),
    )


# -- the submit endpoint -------------------------------------------------------------------------------------


def _read_body(request, form: Form) -> dict | None:
    """The posted values (JSON object or form-encoded), or None when the body is not one."""
    if (request.content_type or "") == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(body, dict):
            return None
        return {k: v for k, v in body.items() if isinstance(k, str) and _scalar_or_list(v)}
    multi = {f["key"] for f in form.fields if f.get("type") == "checkboxes"}
    return {k: (request.POST.getlist(k) if k in multi else request.POST.get(k)) for k in request.POST}


def _scalar_or_list(value) -> bool:
    if isinstance(value, list):
        return len(value) <= 100 and all(isinstance(v, str | int | float | bool) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def _meta(request, form: Form, body: dict) -> capture.SubmitMeta:
    keys = {f["key"] for f in form.fields}
    page_url = str(body.get("_page") or request.headers.get("Referer", ""))[:2000]
    posted_visitor = "" if "visitor_id" in keys else str(body.get("visitor_id") or "")
    ip = client_ip(request)
    return capture.SubmitMeta(
        ip=ip if ip != "unknown" else None,
        user_agent=request.headers.get("User-Agent", ""),
        page_url=page_url,
        referrer=str(body.get("_referrer") or "")[:2000],
        visitor_id=(posted_visitor or request.COOKIES.get(VISITOR_COOKIE, ""))[:64],
        token=str(body.get(spam.TOKEN) or "")[:200],
        honeypot=str(body.get(spam.HONEYPOT) or ""),
        consent=str(body.get(capture.CONSENT, "")).lower() in TRUE_WORDS,
    )


@csrf_exempt  # authenticated by the signed fill token, not by a session (see the module docstring)
@login_not_required
@require_http_methods(["POST", "OPTIONS"])
def submit(request, public_id: str):
    form = _live_form(public_id)
    if request.method == "OPTIONS":
        return _preflight(request, form)
    as_json = _wants_json(request)
    if form is None:
        return _with_cors(_not_found(request, as_json=as_json), "*" if request.headers.get("Origin") else None)
    ok, allow = _cors(request, form)
    if not ok:
        return _with_cors(JsonResponse({"ok": False, "error": "origin_not_allowed"}, status=403), None)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = settings.FORMS_MAX_BODY_BYTES + 1
    if length > settings.FORMS_MAX_BODY_BYTES:
        return _with_cors(JsonResponse({"ok": False, "error": "too_large"}, status=413), allow)
    if spam.rate_limited(form, client_ip(request)):
        response = JsonResponse({"ok": False, "error": "rate_limited"}, status=429)
        response["Retry-After"] = "60"
        if not as_json:
            response = _message(request, "Please wait", "Too many submissions; please try again in a minute.", 429)
            response["Retry-After"] = "60"
        return _with_cors(response, allow)
    body = _read_body(request, form)
    if body is None:
        return _with_cors(JsonResponse({"ok": False, "error": "bad_body"}, status=400), allow)
    meta = _meta(request, form, body)
    result = capture.submit(form, body, meta=meta)
    if as_json:
        return _with_cors(_json_answer(form, result), allow)
    return _html_answer(request, form, body, meta, result)


def _json_answer(form: Form, result: capture.SubmitResult) -> JsonResponse:
    if not result.ok:
        answer = {"ok": False, "errors": result.errors}
        if result.stale:
            answer["token"] = spam.fill_token(form)
        return JsonResponse(answer, status=400)
    status = result.submission.status if not result.spam else SubmissionStatus.ACCEPTED
    return JsonResponse(
        {"ok": True, "status": status, "message": form.success_message, "redirect": _redirect_target(form) or None}
    )


def _html_answer(request, form, body, meta, result) -> HttpResponse:
    if result.ok:
        target = _redirect_target(form)
        if target:
            return HttpResponseRedirect(target, status=303)
        pending = not result.spam and result.submission.status == SubmissionStatus.PENDING
        message = form.success_message
        if pending:
            message += " Please check your inbox: we sent you a link to confirm."
        return _message(request, form.title or form.name, message, 200, form)
    recognised = capture.visitor_contact(meta.visitor_id)
    fields = capture.visible_fields(form, recognised)
    values = {f.key: body.get(f.key, "") for f in fields}
    return _render_page(
        request,
        form,
        fields=fields,
        values=values,
        errors=result.errors,
        token=spam.fill_token(form) if result.stale else meta.token,
        page_url=meta.page_url,
        referrer=meta.referrer,
        consent=meta.consent,
        status=400,
    )


# -- the embed -------------------------------------------------------------------------------------------------


def _definition(form: Form, fields: list[schema.Field]) -> dict:
    items = []
    for f in fields:
        item = {"key": f.key, "label": f.label, "type": f.type, "required": f.required}
        if f.choices:
            item["choices"] = list(f.choices)
        if f.placeholder:
            item["placeholder"] = f.placeholder
        if f.help_text:
            item["help_text"] = f.help_text
        if f.type == "hidden":
            item["source"] = f.source
            if f.source == "static":
                item["value"] = f.value
        items.append(item)
    return {
        "id": form.public_id,
        "title": form.title,
        "intro": form.intro,
        "submit_label": form.submit_label,
        "success_message": form.success_message,
        "fields": items,
        "consent": {"text": form.consent_text, "required": form.consent_required} if form.consent_enabled else None,
        "token": spam.fill_token(form),
        "submit_url": reverse("forms_public:submit", args=[form.public_id]),
        "honeypot": spam.HONEYPOT,
    }


@login_not_required
@require_http_methods(["GET", "OPTIONS"])
def definition(request, public_id: str):
    form = _live_form(public_id)
    if request.method == "OPTIONS":
        return _preflight(request, form)
    if form is None:
        return _with_cors(_not_found(request, as_json=True), "*" if request.headers.get("Origin") else None)
    ok, allow = _cors(request, form)
    if not ok:
        return _with_cors(JsonResponse({"ok": False, "error": "origin_not_allowed"}, status=403), None)
    visitor_id = request.GET.get("visitor_id", "") or request.COOKIES.get(VISITOR_COOKIE, "")
    fields = capture.visible_fields(form, capture.visitor_contact(visitor_id[:64]))
    response = JsonResponse(_definition(form, fields))
    response["Cache-Control"] = NO_STORE
    return _with_cors(response, allow)


@login_not_required
@require_http_methods(["GET", "HEAD"])
def embed(request, public_id: str):
    form = _live_form(public_id)
    if form is None:
        response = HttpResponse("/* form not found */", content_type="text/javascript; charset=utf-8", status=404)
        return _with_cors(response, None)
    response = render(
        request, "forms/public/embed.js", {"public_id": form.public_id}, content_type="text/javascript; charset=utf-8"
    )
    response["Cache-Control"] = f"public, max-age={EMBED_MAX_AGE}"
    return _with_cors(response, "*")


# -- double opt-in -----------------------------------------------------------------------------------------------


@login_not_required
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token: str):
    """GET shows a button, POST confirms: link scanners in mail systems follow GET links, and must not confirm
    on the person's behalf. The POST is CSRF-checked like any page of the app."""
    submission = capture.pending_for(token)
    if submission is None:
        return _message(request, "Link not valid", "This confirmation link is not valid or has expired.", 404)
    form = submission.form
    if submission.status == SubmissionStatus.CONFIRMED:
        return _message(request, "Already confirmed", "Thank you, this was already confirmed.", 200)
    if submission.status != SubmissionStatus.PENDING:
        return _message(request, "Link not valid", "This confirmation link is not valid or has expired.", 404)
    if request.method == "POST":
        capture.confirm(submission)
        return _message(request, "Confirmed", "Thank you, your request is confirmed.", 200)
    response = render(
        request,
        "forms/public/confirm.html",
        {"title": form.title or form.name},
    )
    return _page_headers(response)
