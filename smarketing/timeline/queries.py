"""Reading the timeline: one record's merged marketing + sales history, newest first."""

from django.db.models import QuerySet

from smarketing.core.queries import Page, SortOption, keyset_page
from smarketing.timeline.kinds import is_declared
from smarketing.timeline.models import Team, Touchpoint

NEWEST_FIRST = SortOption("Newest first", ("-occurred_at", "-id"))


def timeline(
    *,
    contact=None,
    company=None,
    deal=None,
    team: str | None = None,
    kind: str | None = None,
) -> QuerySet:
    qs = Touchpoint.objects.select_related("actor", "campaign")
    if contact is not None:
        qs = qs.filter(contact=contact)
    elif company is not None:
        qs = qs.filter(company=company)
    elif deal is not None:
        qs = qs.filter(deal=deal)
    else:
        raise ValueError("timeline() needs a contact, company or deal")
    if team in Team.values:
        qs = qs.filter(team=team)
    if kind and is_declared(kind):
        qs = qs.filter(kind=kind)
    return qs


def timeline_page(qs: QuerySet, cursor: str | None, size: int = 30) -> Page:
    return keyset_page(qs, NEWEST_FIRST, cursor, size)
