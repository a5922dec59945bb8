"""Global search: the header's dropdown and the /search/ page, over contacts, companies and deals at once.

Both read through the list searches of crm.queries (search_contacts, search_companies, search_deals), so a
term finds here exactly what it finds on each list, within what the user may view, newest first: that is the
order the candidate reads answer without sorting the matches (see _search_any), and the lists' default, so
"Show all" continues where a group stops. Nothing is counted: each group reads one row more than it shows.
"""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from smarketing.crm import queries
from smarketing.crm.models import Company, Contact, Deal
from smarketing.crm.views.records.common import money

MENU_SHOWN = 5  # per group in the header's dropdown
PAGE_SHOWN = 20  # per group on the results page


@dataclass
class Group:
    """One kind of record found: its rows (at most `shown`), whether there are more, and the list that has them."""

    kind: str
    title: str
    rows: list
    more: bool
    list_url: str


def _group(kind: str, title: str, found: QuerySet, rows: QuerySet, list_name: str, term: str, shown: int) -> Group:
    # Keys first, then rows (as RecordList.page does): the joins apply to the few rows shown, not to every match.
    ids = list(found.order_by("-id").values_list("pk", flat=True)[: shown + 1])
    rows = queries.rows_in_order(rows, ids)
    return Group(kind, title, rows[:shown], len(rows) > shown, f"{reverse(list_name)}?{urlencode({'q': term})}")


def find(user, raw: str, shown: int) -> tuple[str, list[Group]]:
    """The normalized term and its groups (contacts, companies, deals), each limited to what `user` may view."""
    term = queries.search_term(raw)
    if not term:
        return "", []
    contacts = queries.search_contacts(Contact.objects.for_user(user, "view"), term)
    companies = queries.search_companies(Company.objects.for_user(user, "view"), term)
    deals = queries.search_deals(Deal.objects.for_user(user, "view"), term)
    groups = [
        _group(
            "contact",
            "Contacts",
            contacts,
            Contact.objects.select_related("company", "owner"),
            "contact_list",
            term,
            shown,
        ),
        _group("company", "Companies", companies, Company.objects.select_related("owner"), "company_list", term, shown),
        _group(
            "deal", "Deals", deals, Deal.objects.select_related("stage", "company", "owner"), "deal_list", term, shown
        ),
    ]
    for deal in groups[2].rows:
        deal.amount_display = money(deal.amount, deal.currency)
    return term, groups


@require_GET
def global_search(request):
    """The full results page, /search/?q=…: up to PAGE_SHOWN of each kind, with links to the filtered lists."""
    term, groups = find(request.user, request.GET.get("q", ""), PAGE_SHOWN)
    context = {"q": term, "groups": groups, "found": any(g.rows for g in groups)}
    return render(request, "crm/search.html", context)


@require_GET
def search_menu(request):
    """The header's dropdown (htmx): up to MENU_SHOWN of each kind and a link to the full results."""
    term, groups = find(request.user, request.GET.get("q", ""), MENU_SHOWN)
    page_url = f"{reverse('search')}?{urlencode({'q': term})}"
    context = {"q": term, "groups": [g for g in groups if g.rows], "page_url": page_url}
    return render(request, "crm/search_menu.html", context)
