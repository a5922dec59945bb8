"""The one way to write the timeline."""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from smarketing.timeline.models import Kind, Team, Touchpoint

# Kinds that come from the sales team when a person logs them; everything else is typed by its writer.
SALES_ACTIVITY_KINDS = {Kind.CALL_LOGGED, Kind.EMAIL_LOGGED, Kind.MEETING_LOGGED}


def check_touch(kind: str, team: str) -> None:
    """Refuse a touch of an unknown kind or team (ValueError): every writer of the timeline asks this."""
    if kind not in Kind.values:
        raise ValueError(f"unknown touchpoint kind {kind!r}")
    if team not in Team.values:
        raise ValueError(f"unknown team {team!r}")


def _refs(**refs) -> dict:
    """Foreign keys given as instances (kept, so the touch needs no query to reach them) or as plain ids (what
    bulk writers hold); anything else without a primary key (a system stand-in) counts as none."""
    fields = {}
    for name, ref in refs.items():
        if ref is None or isinstance(ref, int):
            fields[f"{name}_id"] = ref
        elif getattr(ref, "pk", None):
            fields[name] = ref
        else:
            fields[f"{name}_id"] = None
    return fields


def build_touch(
    *,
    kind: str,
    team: str,
    summary: str,
    contact=None,
    company=None,
    deal=None,
    actor=None,
    campaign=None,
    source: str = "",
    details: dict | None = None,
    occurred_at: datetime | None = None,
) -> Touchpoint:
    """An unsaved touchpoint, validated. The company defaults to the contact's, so company timelines see contact
    touches; references may be instances or ids."""
    check_touch(kind, team)
    if company is None and contact is not None:
        company = getattr(contact, "company_id", None)
    return Touchpoint(
        occurred_at=occurred_at or timezone.now(),
        **_refs(contact=contact, company=company, deal=deal, actor=actor, campaign=campaign),
        kind=kind,
        team=team,
        source=(source or "")[:50],
        summary=summary[:300],
        details=details or {},
    )


def record_touch(
    *,
    kind: str,
    team: str,
    summary: str,
    contact=None,
    company=None,
    deal=None,
    actor=None,
    campaign=None,
    source: str = "",
    details: dict | None = None,
    occurred_at: datetime | None = None,
) -> Touchpoint:
    """Append one touchpoint. The company defaults to the contact's, so company timelines see contact touches."""
    touch = build_touch(
        kind=kind,
        team=team,
        summary=summary,
        contact=contact,
        company=company,
        deal=deal,
        actor=actor,
        campaign=campaign,
        source=source,
        details=details,
        occurred_at=occurred_at,
    )
    touch.save(force_insert=True)
    return touch


def record_touches(rows: Iterable[dict], *, batch_size: int = 1000) -> int:
    """Append many touchpoints: each row holds record_touch's keyword arguments. Returns how many were written.

    For set-based writers (the importer, bulk jobs): the same validation and defaults as record_touch, written
    with one INSERT per batch instead of one per touch.
    """
    touches = [build_touch(**row) for row in rows]
    Touchpoint.objects.bulk_create(touches, batch_size=batch_size)
    return len(touches)
