"""The one place a refused action becomes a response outside the API (which answers problem+json itself).

Services and access functions raise `PermissionDenied` with a sentence the user can read; Django hands it to
`permission_denied` (the project's `handler403`), so views need not catch it or check beforehand.
"""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render


def permission_denied(request, exception: Exception | None = None) -> HttpResponse:
    """The styled 403 page; JSON for fetch calls; plain text for htmx, which records.js shows in a toast."""
    message = str(exception or "") or "You do not have permission to do that."
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"ok": False, "error": message}, status=403)
    if getattr(request, "htmx", False):
        return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
    return render(request, "403.html", {"message": message}, status=403)
