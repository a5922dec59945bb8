"""Saved views and column choices of the lists: POSTs from the list page that redirect back to it."""

from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from smarketing.crm import access, columns, queries, services
from smarketing.crm.models import SavedView
from smarketing.crm.views.lists.common import KINDS, Kind, back_url


def _kind(key: str) -> Kind:
    if key not in KINDS:
        raise Http404("Unknown list")
    return KINDS[key]


def _list_params(request, kind: Kind) -> list[tuple[str, str]]:
    """The list's parameters as the page showed them, validated again by the list's own parser (build_list),
    so a view stores only what the page accepted."""
    query = QueryDict(request.POST.get("query", "")[:4000])
    return queries.build_list(kind.key, request.user, query).params()


def _view_url(kind: Kind, view: SavedView) -> str:
    return reverse(kind.list) + "?" + urlencode([*view.list_params(), ("view", view.pk)])


def _current_columns(request, kind: Kind) -> list[str]:
    return [k for k in request.POST.get("columns", "").split(",") if k]


def _errors(request, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


@require_POST
def view_create(request, kind: str):
    kind = _kind(kind)
    try:
        view = services.create_view(
            request.user,
            kind=kind.key,
            name=request.POST.get("name", ""),
            params=_list_params(request, kind),
            column_keys=_current_columns(request, kind),
            shared=bool(request.POST.get("shared")),
        )
    except ValidationError as exc:
        _errors(request, exc)
        return redirect(back_url(request, kind))
    messages.success(request, f"View “{view.name}” saved{' and shared with your team' if view.shared else ''}.")
    return redirect(_view_url(kind, view))


def _own_view(request, pk: int) -> tuple[SavedView, Kind]:
    view = get_object_or_404(access.visible_views(request.user), pk=pk)
    return view, _kind(view.kind)


@require_POST
def view_update(request, pk: int):
    """Rename and share/unshare (the Manage views form), or store the current filters and sort (`query`)."""
    view, kind = _own_view(request, pk)
    changes = {}
    if request.POST.get("rename"):
        changes["name"] = request.POST.get("name", "")
        changes["shared"] = bool(request.POST.get("shared"))
    elif "query" in request.POST:
        changes["params"] = _list_params(request, kind)
    try:
        view = services.update_view(request.user, view, **changes)
    except ValidationError as exc:
        _errors(request, exc)
        return redirect(back_url(request, kind))
    messages.success(request, f"View “{view.name}” updated.")
    return redirect(_view_url(kind, view))


@require_POST
def view_delete(request, pk: int):
    view, kind = _own_view(request, pk)
    name = view.name
    services.delete_view(request.user, view)
    messages.success(request, f"View “{name}” deleted.")
    back = back_url(request, kind)
    # Returning to the deleted view's address would show its filters under no name: drop the view from it.
    path, _, query = back.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query) if k != "view"]
    return redirect(path + (f"?{urlencode(kept)}" if kept else ""))


@require_POST
def columns_save(request, kind: str):
    """The Columns panel: the ticked columns in the panel's order, after an optional one-step move.

    Saved into the open view when it is the user's own, otherwise as the user's columns for this list.
    """
    kind = _kind(kind)
    order = request.POST.getlist("order")
    shown = set(request.POST.getlist("show"))
    move = request.POST.get("move", "")
    direction, _, key = move.partition(":")
    if key in order and direction in ("up", "down"):
        i = order.index(key)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
    keys = [k for k in order if k in shown]
    if request.POST.get("reset"):
        keys = columns.defaults(kind.key)
    view_id = request.POST.get("view", "")
    view = None
    if view_id.isdigit():
        view = SavedView.objects.filter(pk=int(view_id), kind=kind.key).first()
    if view is not None:
        services.update_view(request.user, view, column_keys=keys)  # refuses views the user does not own
    else:
        services.save_columns(request.user, kind=kind.key, column_keys=keys)
    if not move:
        messages.success(request, "Columns saved.")
    return redirect(back_url(request, kind))
