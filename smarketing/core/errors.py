"""The one place an error becomes a response outside the API (which answers problem+json itself).

Services and access functions raise `PermissionDenied` with a sentence the user can read; Django hands it to
`permission_denied` (the project's `handler403`), so views need not catch it or check beforehand. Missing pages
(`handler404`) and crashes (`handler500`) get the same styled pages inside the app's layout. With DEBUG on,
Django shows its technical pages instead; these only answer in production.
"""

import logging

from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader

logger = logging.getLogger(__name__)

NOT_FOUND = "There is no page at this address, or the record it showed was deleted or merged."
SERVER_ERROR = "Something went wrong on our side and nothing was changed. Try again in a minute."

# Last resort when even the 500 template cannot render (a broken template or a missing static manifest entry).
BARE_500 = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Server error · Smarketing</title></head>'
    f'<body><main><h1>Server error</h1><p>{SERVER_ERROR}</p><p><a href="/">Back to my work</a></p></main></body></html>'
)


def _short_answer(request, message: str, status: int) -> HttpResponse | None:
    """JSON for fetch calls; plain text for htmx, which records.js shows in a toast; None for a page."""
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"ok": False, "error": message}, status=status)
    if getattr(request, "htmx", False):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    return None


def permission_denied(request, exception: Exception | None = None) -> HttpResponse:
    """The styled 403 page."""
    message = str(exception or "") or "You do not have permission to do that."
    return _short_answer(request, message, 403) or render(request, "403.html", {"message": message}, status=403)


def page_not_found(request, exception: Exception | None = None) -> HttpResponse:
    """The styled 404 page. Django's own Http404 messages are developer text, so the user reads ours."""
    return _short_answer(request, NOT_FOUND, 404) or render(
        request, "404.html", {"message": NOT_FOUND, "path": request.path}, status=404
    )


def server_error(request) -> HttpResponse:
    """The styled 500 page, rendered without the request: no context processors, no session, no database.

    Whatever broke (the database, a context processor, the session) may break again while rendering, so the
    page needs nothing but templates and static URLs; if even that fails the bare page above answers.
    """
    short = _short_answer(request, SERVER_ERROR, 500)
    if short is not None:
        return short
    try:
        html = loader.get_template("500.html").render({"error_shell": True, "message": SERVER_ERROR})
    except Exception:  # the 500 page must answer whatever went wrong; the original error is already logged
        logger.exception("The 500 page itself failed to render")
        html = BARE_500
    return HttpResponseServerError(html)
