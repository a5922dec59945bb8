"""One error format for the whole API: RFC 9457 problem details (application/problem+json).

Every 4xx and 5xx answer has the same shape::

    {"type": "/api/docs/#problem-validation-error", "title": "Invalid request", "status": 400,
     "detail": "2 fields are invalid: email, amount.", "errors": {"email": ["..."], "amount": ["..."]}}

`errors` maps a field (dotted for nested fields: "properties.plan", "records.3.email") to its messages; it is
empty when the problem is not about fields.
"""

import logging
import math
from http import HTTPStatus

from django.core import exceptions as django_exceptions
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from smarketing.crm.services import ConflictError

logger = logging.getLogger("smarketing.api")

CONTENT_TYPE = "application/problem+json"
NON_FIELD = "non_field_errors"

# type slug -> title; each slug has an anchor on /api/docs/ explaining it.
TYPES = {
    "validation-error": "Invalid request",
    "parse-error": "Malformed request body",
    "not-authenticated": "Authentication required",
    "permission-denied": "Permission denied",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "not-acceptable": "Not acceptable",
    "unsupported-media-type": "Unsupported media type",
    "payload-too-large": "Request too large",
    "conflict": "Conflict",
    "precondition-failed": "Precondition failed",
    "idempotency-key-reused": "Idempotency key reused",
    "request-in-progress": "Request in progress",
    "throttled": "Too many requests",
    "server-error": "Server error",
}


def type_uri(slug: str) -> str:
    return f"/api/docs/#problem-{slug}"


class Problem(exceptions.APIException):
    """An API error with an explicit problem type; raise it from views and helpers."""

    def __init__(self, status_code: int, slug: str, detail: str, errors: dict | None = None, headers=None):
        super().__init__(detail=detail)
        self.status_code = status_code
        self.slug = slug
        self.errors = errors or {}
        self.headers = headers or {}


class PayloadTooLarge(Problem):
    def __init__(self, detail: str):
        super().__init__(413, "payload-too-large", detail)


class Replay(Exception):
    """Not an error: a stored idempotent response to send back instead of running the view."""

    def __init__(self, response: Response):
        self.response = response


def problem_body(status_code: int, slug: str, detail: str, errors: dict | None = None) -> dict:
    return {
        "type": type_uri(slug),
        "title": TYPES.get(slug) or HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "errors": errors or {},
    }


def problem_response(status_code: int, slug: str, detail: str, errors: dict | None = None, headers=None) -> Response:
    response = Response(problem_body(status_code, slug, detail, errors), status=status_code, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def plain_problem(status_code: int, slug: str, detail: str) -> JsonResponse:
    """A problem answered outside DRF (URL not found under /api/v1/)."""
    return JsonResponse(problem_body(status_code, slug, detail), status=status_code, content_type=CONTENT_TYPE)


# ---------------------------------------------------------------------------------------------------------
# Turning exceptions into problems


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error details -> {"field.sub": ["message", ...]}."""
    out: dict[str, list[str]] = {}

    def add(key, message):
        out.setdefault(key or NON_FIELD, []).append(str(message))

    def walk(value, key):
        if isinstance(value, dict):
            for name, sub in value.items():
                name = NON_FIELD if name in (NON_FIELD, NON_FIELD_ERRORS) and not key else str(name)
                walk(sub, f"{key}.{name}" if key else name)
        elif isinstance(value, list | tuple):
            if value and all(not isinstance(v, dict | list | tuple) for v in value):
                for message in value:
                    add(key, message)
            else:
                for index, sub in enumerate(value):
                    if sub:
                        walk(sub, f"{key}.{index}" if key else str(index))
        else:
            add(key, value)

    walk(detail, prefix)
    return out


def django_errors(exc: django_exceptions.ValidationError, rename: dict | None = None) -> dict[str, list[str]]:
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        errors = {}
        for name, messages in exc.message_dict.items():
            key = NON_FIELD if name == NON_FIELD_ERRORS else rename.get(name, name)
            errors.setdefault(key, []).extend(messages)
        return errors
    return {NON_FIELD: list(exc.messages)}


def validation_detail(errors: dict) -> str:
    fields = [name for name in errors if name != NON_FIELD]
    if not fields:
        messages = errors.get(NON_FIELD) or ["The request is invalid."]
        return messages[0]
    noun = "field is" if len(fields) == 1 else "fields are"
    shown = ", ".join(fields[:10]) + (", …" if len(fields) > 10 else "")
    return f"{len(fields)} {noun} invalid: {shown}."


def validation_problem(errors: dict) -> Response:
    return problem_response(400, "validation-error", validation_detail(errors), errors)


_DRF_SLUGS = [
    (exceptions.ParseError, "parse-error"),
    (exceptions.NotAuthenticated, "not-authenticated"),
    (exceptions.AuthenticationFailed, "not-authenticated"),
    (exceptions.PermissionDenied, "permission-denied"),
    (exceptions.NotFound, "not-found"),
    (exceptions.MethodNotAllowed, "method-not-allowed"),
    (exceptions.NotAcceptable, "not-acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported-media-type"),
    (exceptions.Throttled, "throttled"),
]


def exception_handler(exc, context):
    """The view's exception handler (see views.base.ApiView.get_exception_handler)."""
    view = context.get("view")
    rename = getattr(view, "error_field_names", None)
    if isinstance(exc, Replay):
        return exc.response
    if isinstance(exc, Problem):
        return problem_response(exc.status_code, exc.slug, str(exc.detail), exc.errors, exc.headers)
    if isinstance(exc, django_exceptions.ValidationError):
        return validation_problem(django_errors(exc, rename))
    if isinstance(exc, exceptions.ValidationError):
        return validation_problem(flatten_errors(exc.detail))
    if isinstance(exc, ConflictError):
        return problem_response(409, "conflict", str(exc))
    if isinstance(exc, RequestDataTooBig):
        return problem_response(413, "payload-too-large", "The request body is larger than this server accepts.")
    if isinstance(exc, SuspiciousOperation):  # e.g. more than DATA_UPLOAD_MAX_NUMBER_FIELDS query parameters
        return problem_response(400, "validation-error", "The request was refused as malformed.")
    if isinstance(exc, Http404):
        return problem_response(404, "not-found", "No such object, or you cannot see it.")
    if isinstance(exc, django_exceptions.PermissionDenied):
        return problem_response(403, "permission-denied", str(exc) or "You may not do this.")
    if isinstance(exc, exceptions.APIException):
        slug = next((s for cls, s in _DRF_SLUGS if isinstance(exc, cls)), None)
        if slug is None:
            slug = "validation-error" if exc.status_code == 400 else "server-error"
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem_response(exc.status_code, slug, detail, headers=headers)
    # A bug. Log it (and let the test client re-raise it), but still answer in the one format.
    request = context.get("request")
    logger.error("API error on %s", getattr(request, "path", "?"), exc_info=exc)
    got_request_exception.send(sender=None, request=getattr(request, "_request", None))
    return problem_response(
        status.HTTP_500_INTERNAL_SERVER_ERROR, "server-error", "Something went wrong on our side; it was logged."
    )
