"""The one way to write the timeline."""

from datetime import datetime

from django.utils import timezone

from smarketing.core.audit import actor_user
from smarketing.timeline.models import Kind, Team, Touchpoint

# Kinds that come from the sales team when a person logs them; everything else is typed by its writer.
SALES_ACTIVITY_KINDS = {Kind.CALL_LOGGED, Kind.EMAIL_LOGGED, Kind.MEETING_LOGGED}


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
    if kind not in Kind.values:
        raise ValueError(f"unknown touchpoint kind {kind!r}")
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
        kind=kind,
        team=team,
        actor=actor_user(actor),
        campaign=campaign,
        source=source[:50],
        summary=summary[:300],
        details=details or {},
    )
