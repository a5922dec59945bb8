"""The one way to write the timeline: record_touch for one touch, record_touches for many (bulk writers)."""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from smarketing.core.audit import actor_user
from smarketing.core.bulk import bulk_insert
from smarketing.timeline.kinds import get_kind
from smarketing.timeline.models import Team, Touchpoint


def check_touch(kind: str, team: str | None = None) -> tuple[str, str]:
    """The (kind, team) of a touch of a declared kind (UnknownKind otherwise); the team defaults to the kind's.

    Every writer of the timeline asks this, the seed's COPY path included."""
    declared = get_kind(kind)
    team = team or declared.team
    if team not in Team.values:
        raise ValueError(f"unknown team {team!r}")
    return declared.key, team


def _refs(**refs) -> dict:
    """Foreign keys given as instances (kept, so the touch needs no query to reach them) or as plain ids (what
    bulk writers hold); anything else without a primary key counts as none."""
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
    summary: str,
    team: str | None = None,
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
    touches; references may be instances or ids; a system actor is stored as the person it acts for, or none."""
    kind, team = check_touch(kind, team)
    if company is None and contact is not None:
        company = getattr(contact, "company_id", None)
    return Touchpoint(
        occurred_at=occurred_at or timezone.now(),
        # Bulk writers hold the actor as a user id; objects go through actor_user (a system actor is stored as
        # the person it acts for, or none).
        **_refs(
            contact=contact,
            company=company,
            deal=deal,
            actor=actor if isinstance(actor, int) else actor_user(actor),
            campaign=campaign,
        ),
        kind=kind,
        team=team,
        source=(source or "")[:50],
        summary=summary[:300],
        details=details or {},
    )


def record_touch(**fields) -> Touchpoint:
    """Append one touchpoint (build_touch's keyword arguments)."""
    touch = build_touch(**fields)
    touch.save(force_insert=True)
    return touch


def record_touches(rows: Iterable[dict], *, batch_size: int = 1000) -> int:
    """Append many touchpoints: each row holds build_touch's keyword arguments. Returns how many were written.

    For set-based writers (the importer, bulk jobs): the same validation and defaults as record_touch, written
    with one INSERT per batch instead of one per touch.
    """
    return len(append_touches(rows, batch_size=batch_size))


def append_touches(rows: Iterable[dict], *, batch_size: int = 1000) -> list[Touchpoint]:
    """record_touches, returning the saved touches with their ids (PostgreSQL and SQLite both return them), for
    bulk writers that keep a link to each touch (web tracking's page views)."""
    touches = [build_touch(**row) for row in rows]
    bulk_insert(touches, batch_size=batch_size)
    return touches
