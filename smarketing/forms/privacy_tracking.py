"""Web tracking's part of the forms app's privacy hooks (forms/privacy.py calls these; see privacy.hooks).

Export: the person's visitors (the browsers stitched to them) and every page view of those visitors. Erasure:
the page views and the visitors are deleted (their timeline touches are the timeline's to scrub); the daily
page counters hold no person and stay. If the person comes back with the same cookie, they are a new,
anonymous visitor.
"""

from collections.abc import Iterator
from typing import Any

from smarketing.forms.models import PageView, Visitor
from smarketing.privacy.hooks import CHUNK, Erasure, Subject

VISITOR_FIELDS = ("public_id", "first_seen_at", "last_seen_at", "stitched_at", "stitched_by")
VIEW_FIELDS = (
    "occurred_at",
    "url",
    "title",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)


def _visitors(contact):
    return Visitor.objects.filter(contact=contact)


def _views(contact):
    # Views of the person's visitors, and any still naming the person (a visitor re-stitched since).
    return PageView.objects.filter(visitor__in=_visitors(contact).values("id")) | PageView.objects.filter(
        contact=contact
    )


def _page_views(subject: Subject) -> Iterator[dict]:
    yield from _views(subject.contact).order_by("occurred_at", "id").values(*VIEW_FIELDS).iterator(chunk_size=CHUNK)


def export(subject: Subject) -> dict[str, Any]:
    return {
        "web_visitors": list(_visitors(subject.contact).order_by("id").values(*VISITOR_FIELDS)),
        "page_views": _page_views(subject),
    }


def erase(erasure: Erasure) -> dict[str, int]:
    views, _ = _views(erasure.contact).delete()
    visitors, _ = _visitors(erasure.contact).delete()
    return {"delete_page_views": views, "delete_web_visitors": visitors}
