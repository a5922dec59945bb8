"""The SLA clock's facts, written from stored facts only, so a worker outage cannot hide a breach.

Every minute (`tasks.sla_tick`), in this order:

1. The first sales touch of each open handoff is read off the timeline (the earliest call, sales email or
   meeting on the contact since the clock started), set-based.
2. Open handoffs past due_at with no touch by then are breached: `breached_at = due_at`, the moment it happened,
   not the moment the job ran. A breach still unhandled is escalated to the managers, once.
3. Open handoffs inside their reminder window get one reminder to the owner.

Each step marks its rows with a conditional UPDATE (`... WHERE breached_at IS NULL`) in the transaction that
writes the notification, touch and event: two workers, or a crash and a replay, do each thing once. A handoff
decided late (after its due time, untouched) has its breach recorded by the decision itself (`settle_breach`).
"""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from smarketing.accounts.models import Role, User
from smarketing.core.events import publish
from smarketing.notifications.services import notify
from smarketing.process import kinds, payloads
from smarketing.process.models import Handoff, HandoffStatus, SlaPolicy
from smarketing.timeline.models import Team, Touchpoint
from smarketing.timeline.services import record_touch

logger = logging.getLogger(__name__)
BATCH = 500


def _first_touches():
    return Touchpoint.objects.filter(
        contact_id=OuterRef("contact_id"),
        kind__in=kinds.FIRST_TOUCH_KINDS,
        occurred_at__gte=OuterRef("started_at"),
    ).order_by("occurred_at", "id")


def fill_first_touches(*, ids: list[int] | None = None) -> int:
    """Set first_touch_at on open handoffs whose contact has a qualifying touch since the clock started."""
    first = _first_touches()
    pending = Handoff.objects.filter(status=HandoffStatus.OPEN, first_touch_at__isnull=True).filter(Exists(first))
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    return pending.update(
        first_touch_at=Subquery(first.values("occurred_at")[:1]),
        first_touch_kind=Subquery(first.values("kind")[:1]),
    )


def _untouched_by_due() -> Q:
    return Q(first_touch_at__isnull=True) | Q(first_touch_at__gt=F("due_at"))


def managers_of(handoff: Handoff) -> list:
    policy = SlaPolicy.objects.filter(team_id=handoff.team_id).select_related("escalate_to").first()
    if policy is not None and policy.escalate_to_id and policy.escalate_to.is_active:
        return [policy.escalate_to]
    if not handoff.team_id:
        return list(User.objects.filter(is_active=True, role=Role.ADMIN))
    return list(User.objects.filter(is_active=True, role=Role.MANAGER, team_id=handoff.team_id))


def _record_breach(handoff: Handoff, *, escalate: bool, now: datetime) -> bool:
    """Mark one breach (once), with its touch and event; escalate when nobody has handled the lead yet."""
    fields = {"breached_at": F("due_at")}
    if escalate:
        fields["escalated_at"] = now
    if not Handoff.objects.filter(pk=handoff.pk, breached_at__isnull=True).update(**fields):
        return False
    handoff.refresh_from_db()
    contact = handoff.contact
    record_touch(
        kind=kinds.SLA_BREACHED,
        team=Team.SYSTEM,
        contact=contact,
        occurred_at=handoff.due_at,
        summary=f"No sales touch within the SLA (owner: {handoff.owner or 'nobody'})"[:300],
        details={"handoff_id": handoff.pk, "owner_id": handoff.owner_id},
    )
    publish("sla.breached", handoff, payloads.handoff(handoff, contact))
    if escalate:
        from smarketing.process.handoff import inbox_url

        for manager in managers_of(handoff):
            notify(
                manager,
                kind=kinds.NOTIFY_SLA_BREACHED,
                title=f"SLA breached: {contact} ({handoff.owner or 'unassigned'})",
                body="Nobody has contacted this lead within the agreed business hours.",
                url=inbox_url() + "team/?show=breached",
                about=handoff,
            )
    return True


def settle_breach(handoff: Handoff) -> bool:
    """After a decision: a lead decided after its due time with no touch by then was breached."""
    if handoff.breached_at is not None or handoff.decided_at is None or handoff.decided_at <= handoff.due_at:
        return False
    if handoff.first_touch_at is not None and handoff.first_touch_at <= handoff.due_at:
        return False
    return _record_breach(handoff, escalate=False, now=timezone.now())


def record_breaches(now: datetime) -> int:
    due = (
        Handoff.objects.filter(status=HandoffStatus.OPEN, breached_at__isnull=True, due_at__lte=now)
        .filter(_untouched_by_due())
        .select_related("contact", "owner")
        .order_by("due_at")[:BATCH]
    )
    recorded = 0
    for handoff in due:
        with transaction.atomic():
            recorded += _record_breach(handoff, escalate=handoff.first_touch_at is None, now=now)
    return recorded


def send_reminders(now: datetime) -> int:
    window = (
        Handoff.objects.filter(
            status=HandoffStatus.OPEN,
            reminded_at__isnull=True,
            first_touch_at__isnull=True,
            owner__isnull=False,
            remind_at__lte=now,
            due_at__gt=now,
        )
        .select_related("contact", "owner")
        .order_by("due_at")[:BATCH]
    )
    sent = 0
    for handoff in window:
        with transaction.atomic():
            if not Handoff.objects.filter(pk=handoff.pk, reminded_at__isnull=True).update(reminded_at=now):
                continue
            from smarketing.process.handoff import _local, inbox_url

            notify(
                handoff.owner,
                kind=kinds.NOTIFY_SLA_REMINDER,
                title=f"Reach out to {handoff.contact} by {_local(handoff.due_at, handoff.owner)}",
                body="The lead's first-touch deadline is near: call, email or book a meeting.",
                url=inbox_url(),
                about=handoff,
            )
            sent += 1
    return sent


def tick(now: datetime | None = None) -> dict:
    now = now or timezone.now()
    touched = fill_first_touches()
    breached = record_breaches(now)
    reminded = send_reminders(now)
    return {"touched": touched, "breached": breached, "reminded": reminded}
