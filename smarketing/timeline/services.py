"""The one way to write the timeline."""

from datetime import datetime

from django.utils import timezone

from smarketing.core.audit import actor_user
from smarketing.timeline.kinds import get_kind
from smarketing.timeline.models import Team, Touchpoint


def record_touch(
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
    """Append one touchpoint of a declared kind (UnknownKind otherwise); the team defaults to the kind's.

    The company defaults to the contact's, so company timelines see contact touches."""
    declared = get_kind(kind)
    team = team or declared.team
    if team not in Team.values:
        raise ValueError(f"unknown team {team!r}")
    if company is None and contact is not None and contact.company_id:
        company_id = contact.company_id
    else:
        company_id = company.pk if company is not None else None
    return Touchpoint.objects.create(
        occurred_at=occurred_at or timezone.now(),
        contact_id=contact.pk if contact is not None else None,
        company_id=company_id,
        deal_id=deal.pk if deal is not None else None,
        kind=declared.key,
        team=team,
        actor=actor_user(actor),
        campaign=campaign,
        source=source[:50],
        summary=summary[:300],
        details=details or {},
    )
