"""Toasts: the confirmation after a quick action, with an Undo where undoing is cheap.

A toast reaches the browser the way the action came: an htmx response carries it in its `HX-Trigger` header, a
JSON answer (the board) in its body, and a plain form post that redirects keeps it in the session until the
next page shows it (`pending_toasts`, a context processor). `toast.js` shows the first two; `base.html`
renders the third, so a toast works without JavaScript too.

An Undo is a signed token, not a stored row: it names the action, the user who may use it and the values to
restore, and it expires after UNDO_SECONDS. The Undo button POSTs it (never a GET: prefetchers and crawlers
follow links), and the view that honours it still goes through the services, so permissions and history
apply to the undo exactly as to the action.
"""

import json

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied

UNDO_SECONDS = 120  # long enough to notice a slip, short enough that nobody undoes a stale state by surprise
_SALT = "smarketing.core.toasts.undo"
_SESSION_KEY = "smarketing_toasts"


class UndoRefused(Exception):
    """The Undo cannot be honoured (expired, tampered with, or the record changed since); says why."""


def undo_token(action: str, user, **data) -> str:
    """A signed, expiring Undo for `action` that only `user` may use."""
    return signing.dumps({"action": action, "user": user.pk, "data": data}, salt=_SALT, compress=True)


def read_undo_token(token: str, user) -> tuple[str, dict]:
    """The action and values of an Undo token; UndoRefused when it expired or was altered, PermissionDenied when
    it belongs to another user."""
    try:
        payload = signing.loads(token or "", salt=_SALT, max_age=UNDO_SECONDS)
    except signing.SignatureExpired:
        raise UndoRefused("Too late to undo: that was more than two minutes ago. Change it back by hand.") from None
    except signing.BadSignature:
        raise UndoRefused("That undo link is not valid; nothing was changed.") from None
    if payload.get("user") != user.pk:
        raise PermissionDenied("Only the person who made a change can undo it from its confirmation.")
    return payload["action"], payload.get("data") or {}


def toast_payload(
    message: str, undo_url: str = "", token: str = "", *, links: list[dict] = (), level: str = "success"
) -> dict:
    """What toast.js and base.html show: the message, its level, an Undo and links ({"url", "label"}) to where
    the user can do what the message asks."""
    toast = {"message": message, "level": level}
    if undo_url and token:
        toast["undo"] = {"url": undo_url, "token": token}
    if links:
        toast["links"] = list(links)
    return toast


def add_toast(request, response, message: str, *, undo_url="", token="", links=(), level="success"):
    """Confirm a quick action on `response`: in the HX-Trigger header of an htmx answer, else in the session for
    the page the redirect leads to (a Django message when there is nothing to undo or follow). Returns it."""
    toast = toast_payload(message, undo_url, token, links=links, level=level)
    if getattr(request, "htmx", False):
        # ensure_ascii: a header must be Latin-1; JSON escapes keep the typographic quotes intact.
        response["HX-Trigger"] = json.dumps({"sm:toast": toast}, ensure_ascii=True)
    elif "undo" in toast or "links" in toast:
        request.session[_SESSION_KEY] = [*request.session.get(_SESSION_KEY, []), toast][-3:]
    else:
        messages.add_message(request, messages.ERROR if level == "error" else messages.SUCCESS, message)
    return response


class _Pending:
    """The session's toasts, taken out when a template first reads them (partials that never show them keep
    them for the page that does)."""

    def __init__(self, request):
        self.request = request
        self.toasts = None

    def _take(self) -> list[dict]:
        if self.toasts is None:
            session = getattr(self.request, "session", None)
            self.toasts = session.pop(_SESSION_KEY, []) if session is not None and _SESSION_KEY in session else []
        return self.toasts

    def __iter__(self):
        return iter(self._take())

    def __bool__(self) -> bool:
        return bool(self._take())


def pending_toasts(request) -> dict:
    return {"pending_toasts": _Pending(request), "undo_seconds": UNDO_SECONDS}
