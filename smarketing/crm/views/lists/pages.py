"""The contact, company and deal lists (search, filters, keyset pages) and the type-ahead lookups."""

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from smarketing.crm import access, queries
from smarketing.crm.models import LifecycleStage, ObjectType, PropertyDefinition
from smarketing.crm.views.lists.common import KINDS, Kind, custom_display

CUSTOM_COLUMNS = 4  # custom properties shown as list columns (all of them are in exports)


@require_GET
def contact_list(request):
    return _list_page(request, KINDS["contact"])


@require_GET
def company_list(request):
    return _list_page(request, KINDS["company"])


@require_GET
def deal_list(request):
    return _list_page(request, KINDS["deal"])


def _list_page(request, kind: Kind):
    user = request.user
    users = queries.active_users()
    definitions = list(PropertyDefinition.objects.filter(object_type=ObjectType(kind.key)))
    records = queries.build_list(kind.key, user, request.GET, users=users, definitions=definitions)
    page = records.page(request.GET.get("after") or None)
    columns = definitions[:CUSTOM_COLUMNS]
    for row in page.rows:
        row.custom_cells = [custom_display(d, row.custom.get(d.key)) for d in columns]
    params = records.params()
    after = request.GET.get("after")
    current = urlencode([*params, ("after", after)] if after and page.has_previous else params)
    list_url = reverse(kind.list)
    context = {
        "kind": kind,
        "records": records,
        "page": page,
        "columns": columns,
        "users": users,
        "query": urlencode(params),
        "next_query": urlencode([*params, ("after", page.next_cursor)]) if page.next_cursor else "",
        "can_edit": access.can(user, "edit"),
        "can_export": access.can(user, "export"),
        "can_delete": access.can(user, "delete"),
        "lifecycle_choices": LifecycleStage.choices,
        "list_url": list_url,
        "current_url": list_url + (f"?{current}" if current else ""),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = f"crm/list_{kind.plural}_rows.html" if partial else f"crm/list_{kind.plural}.html"
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
