"""The contact, company and deal lists (search, filters, sortable columns, saved views, keyset pages) and the
type-ahead lookups."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.formats import number_format
from django.views.decorators.http import require_GET

from smarketing.crm import access, columns, queries
from smarketing.crm.models import LifecycleStage, ListColumns, ObjectType, PropertyDefinition, SavedView
from smarketing.crm.views.lists.common import KINDS, Kind


@require_GET
def contact_list(request):
    return _list_page(request, KINDS["contact"])


@require_GET
def company_list(request):
    return _list_page(request, KINDS["company"])


@require_GET
def deal_list(request):
    return _list_page(request, KINDS["deal"])


@dataclass
class Header:
    """A column header: its label, and the link that sorts by it (this way, or the other way when it already is)."""

    column: columns.Column
    url: str = ""
    aria_sort: str = ""  # "ascending" / "descending" on the column the list is sorted by
    next_label: str = ""  # what following the link does, for screen readers and the tooltip


def _headers(shown, records, link_params, list_url) -> list[Header]:
    base = [(k, v) for k, v in link_params if k != "sort"]
    out = []
    for column in shown:
        if not column.sort or column.sort not in records.sorts:
            out.append(Header(column))
            continue
        current = records.sort_key
        active = current in (column.sort, queries.reverse_sort(column.sort))
        target = queries.reverse_sort(current) if active else column.sort
        aria = ""
        if active:
            aria = "descending" if records.sort.fields[0].startswith("-") else "ascending"
        query = urlencode(base + ([("sort", target)] if target != "newest" else []))
        out.append(Header(column, list_url + (f"?{query}" if query else ""), aria, records.sorts[target].label))
    return out


def _total_label(total: int, kind: Kind) -> str:
    if total > queries.TOTAL_CAP:
        return f"More than {number_format(queries.TOTAL_CAP, force_grouping=True)} {kind.plural}"
    noun = kind.label if total == 1 else kind.plural
    return f"{number_format(total, force_grouping=True)} {noun}"


def _column_choices(kind: Kind, shown, definitions) -> list[dict]:
    """Every column for the Columns panel: the shown ones in their order, then the others."""
    shown_keys = [c.key for c in shown]
    rest = [c for c in columns.available(kind.key, definitions) if c.key not in shown_keys]
    return [{"column": c, "shown": True} for c in shown] + [{"column": c, "shown": False} for c in rest]


def _active_view(raw: str, views: list[SavedView]) -> SavedView | None:
    return next((v for v in views if str(v.pk) == raw), None) if raw else None


def _list_page(request, kind: Kind):
    user = request.user
    users = queries.active_users()
    definitions = list(PropertyDefinition.objects.filter(object_type=ObjectType(kind.key)))
    records = queries.build_list(kind.key, user, request.GET, users=users, definitions=definitions)
    page = records.page(request.GET.get("after") or None)
    total = records.total(page)
    list_url = reverse(kind.list)

    views = list(access.visible_views(user, kind.key).select_related("owner"))
    active_view = _active_view(request.GET.get("view", ""), views)
    own_columns = ListColumns.objects.filter(user_id=user.pk, kind=kind.key).values_list("columns", flat=True).first()
    keys = active_view.columns if active_view is not None and active_view.columns else own_columns
    shown = columns.chosen(kind.key, keys, definitions)
    for row in page.rows:
        row.cells = [(c, c.cell(row)) for c in shown]

    params = records.params()
    link_params = [*params, ("view", str(active_view.pk))] if active_view is not None else params
    for view in views:
        view.url = list_url + "?" + urlencode([*view.list_params(), ("view", view.pk)])
    after = request.GET.get("after")
    current = urlencode([*link_params, ("after", after)] if after and page.has_previous else link_params)
    own_active = active_view is not None and access.can_change_view(user, active_view)
    context = {
        "kind": kind,
        "records": records,
        "page": page,
        "total_label": _total_label(total, kind),
        "headers": _headers(shown, records, link_params, list_url),
        "column_count": len(shown) + 1,
        "column_choices": _column_choices(kind, shown, definitions),
        "users": users,
        "views": views,
        "own_views": [v for v in views if v.owner_id == user.pk],
        "active_view": active_view,
        "own_active_view": own_active,
        "view_changed": own_active and [list(p) for p in params] != active_view.params,
        "columns_locked": active_view is not None and not own_active and bool(active_view.columns),
        "can_share": user.team_id is not None,
        "query": urlencode(link_params),
        "filter_query": urlencode(params),
        "next_query": urlencode([*link_params, ("after", page.next_cursor)]) if page.next_cursor else "",
        "can_edit": access.can(user, "edit"),
        "can_export": access.can(user, "export"),
        "can_delete": access.can(user, "delete"),
        "lifecycle_choices": LifecycleStage.choices,
        "list_url": list_url,
        "current_url": list_url + (f"?{current}" if current else ""),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "crm/list_rows.html" if partial else f"crm/list_{kind.plural}.html"
    response = render(request, template, context)
    if partial:
        # The address bar gets the accepted parameters only, not every empty field of the filter form.
        response["HX-Push-Url"] = context["current_url"]
    # The same URL answers a full page or the rows partial; caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
def record_lookup(request, kind: str):
    """Suggestions for a company or contact box: <option>s for its <datalist>, refreshed as the user types."""
    term = next((request.GET[n] for n in ("q", "company", "primary_contact", "duplicate") if request.GET.get(n)), "")
    if kind == "company":
        options = [(queries.company_label(c), c.industry or "") for c in queries.suggest_companies(term)]
    elif kind == "contact":
        options = [(c.email, c.full_name) for c in queries.suggest_contacts(term)]
    else:
        raise Http404("Unknown lookup")
    return render(request, "crm/list_lookup_options.html", {"options": options})
