"""The marketing → sales handoff: every important write of the pillar (start, accept, reject, reassign).

A contact that becomes an MQL (by score, form, workflow or hand; crm's lifecycle service publishes
`contact.lifecycle_changed`) is picked up by this app's outbox consumer, routed to a rep (process.routing) and
given an SLA clock: the first sales touch is due N business hours after the moment it became an MQL
(process.hours). The rep accepts (the contact becomes an SQL) or rejects with a reason (it goes back to lead, for
marketing's nurture, and may qualify again later: a new handoff). Decisions are conditional updates on the open
row, so of two people deciding at once exactly one wins; the SLA's facts are written by process.sla.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import recorded_user, system_actor
from smarketing.accounts.models import Team, TeamKind
from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.crm.lifecycle_rules import promotes
from smarketing.crm.models import Contact, LifecycleChange, LifecycleStage
from smarketing.notifications.services import notify
from smarketing.process import access, kinds, payloads, routing
from smarketing.process.models import (
    Handoff,
    HandoffReassignment,
    HandoffStatus,
    RejectionReason,
    RoutingSettings,
    SlaPolicy,
)
from smarketing.timeline.models import Team as TouchTeam
from smarketing.timeline.models import Touchpoint
from smarketing.timeline.services import record_touch

CONSUMER = "process.handoff"
MAX_REASON_TEXT = 500
# Lifecycle stages past MQL: a lead moved there by other means (a deal, a rep on the record) was accepted.
UNROUTED_ORIGINS = {Origin.IMPORT, Origin.SEED}
PAST_MQL = {LifecycleStage.SQL, LifecycleStage.OPPORTUNITY, LifecycleStage.CUSTOMER, LifecycleStage.EVANGELIST}


def routing_settings() -> RoutingSettings:
    found = RoutingSettings.objects.select_related("team").order_by("pk").first()
    if found is None:
        found, _ = RoutingSettings.objects.get_or_create(pk=1, defaults={"team": default_team()})
    return found


def default_team() -> Team | None:
    return Team.objects.filter(kind=TeamKind.SALES).order_by("pk").first()


def policy_for(team_id: int | None) -> SlaPolicy:
    """The team's SLA policy, or the defaults (4 business hours, Monday to Friday 9 to 5 UTC) when it has none."""
    found = SlaPolicy.objects.filter(team_id=team_id).first() if team_id else None
    return found or SlaPolicy(team_id=team_id)


def _origin_of(contact: Contact, at: datetime) -> dict:
    """What produced the lead: its source, the last campaign and form that touched it before it qualified."""
    before = Touchpoint.objects.filter(contact_id=contact.pk, occurred_at__lte=at).order_by("-occurred_at", "-id")
    campaign_id = before.filter(campaign_id__isnull=False).values_list("campaign_id", flat=True).first()
    form = before.filter(kind="form_submitted").values_list("details", flat=True).first() or {}
    form_id = form.get("form_id") if isinstance(form, dict) else None
    return {
        "source": (contact.last_source or contact.first_source or "")[:50],
        "campaign_id": campaign_id,
        "form_id": form_id if isinstance(form_id, int) and not isinstance(form_id, bool) else None,
        "form_name": str(form.get("form") or "")[:200] if isinstance(form, dict) else "",
    }


def inbox_url() -> str:
    return reverse("process:inbox")


def _choose(contact: Contact, settings: RoutingSettings) -> routing.Route:
    team_id = settings.team_id
    owner = contact.owner if contact.owner_id else None
    if owner is not None and owner.is_active and team_id and owner.team_id == team_id:
        if not routing.is_away(owner.pk, timezone.localdate()):
            return routing.Route(owner, "its owner")
    return routing.route(
        contact,
        team_id=team_id,
        mode=settings.mode,
        rules=settings.rules,
        prefer_account_owner=settings.prefer_account_owner,
    )


def start(contact_id: int, *, started_at: datetime) -> Handoff | None:
    """Route a new MQL and start its clock; None when it already waits in a queue (a replayed event, a race)."""
    if Handoff.objects.filter(contact_id=contact_id, status=HandoffStatus.OPEN).exists():
        return None
    contact = Contact.objects.select_related("company", "owner").filter(pk=contact_id).first()
    if contact is None or contact.lifecycle_stage != LifecycleStage.MQL:
        return None  # deleted, or moved on before we got here
    settings = routing_settings()
    chosen = _choose(contact, settings)
    policy = policy_for(settings.team_id)
    due = policy.calendar().add(started_at, policy.first_touch_hours)
    remind = max(started_at, due - timedelta(minutes=policy.remind_before_minutes))
    try:
        with transaction.atomic():
            handoff = Handoff.objects.create(
                contact=contact,
                owner=chosen.user,
                team_id=settings.team_id,
                started_at=started_at,
                due_at=due,
                remind_at=remind,
                routed_how=chosen.how[:200],
                score=contact.fit_score + contact.engagement_score,
                **_origin_of(contact, started_at),
            )
    except IntegrityError:
        return None  # another worker opened it first: the partial unique constraint settled it
    system = system_actor(Origin.SYSTEM)
    if chosen.user is not None and contact.owner_id != chosen.user.pk:
        from smarketing.crm.services.records import assign_owner

        assign_owner(Contact.objects.filter(pk=contact.pk), owner=chosen.user, actor=system, origin=Origin.SYSTEM)
    who = str(chosen.user) if chosen.user is not None else "nobody yet"
    record_touch(
        kind=kinds.LEAD_ROUTED,
        team=TouchTeam.SYSTEM,
        contact=contact,
        actor=system,
        occurred_at=started_at,
        summary=f"Handed to sales: {who} ({chosen.how})"[:300],
        details={"handoff_id": handoff.pk, "owner_id": handoff.owner_id, "due_at": due.isoformat()},
    )
    publish("lead.routed", handoff, payloads.handoff(handoff, contact))
    if chosen.user is not None:
        notify(
            chosen.user,
            kind=kinds.NOTIFY_NEW_LEAD,
            title=f"New lead for you: {contact}",
            body=f"First touch due by {_local(due, chosen.user)}.",
            url=inbox_url(),
            about=handoff,
        )
    return handoff


def _local(moment: datetime, user) -> str:
    from zoneinfo import ZoneInfo

    try:
        zone = ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return timezone.localtime(moment, zone).strftime("%a %b %-d, %H:%M %Z")


def on_lifecycle_events(events) -> int:
    """The outbox consumer: MQL moves open handoffs; a move past MQL accepts an open one, a move back closes it."""
    from smarketing.process.models import StageGovernance

    handled = 0
    playbooks = None
    for event in events:
        if event.name != "contact.lifecycle_changed" or not isinstance(event.payload, dict):
            continue
        contact_id, to_stage = event.payload.get("id"), event.payload.get("to")
        if not isinstance(contact_id, int):
            continue
        if playbooks is None:  # one read per batch: the lifecycle stages that have playbook tasks
            playbooks = set(
                StageGovernance.objects.filter(lifecycle_stage__isnull=False)
                .exclude(playbook_tasks=[])
                .values_list("lifecycle_stage", flat=True)
            )
        if to_stage == LifecycleStage.MQL:
            change = (
                LifecycleChange.objects.filter(contact_id=contact_id, to_stage=LifecycleStage.MQL)
                .order_by("-changed_at", "-id")
                .values_list("changed_at", "origin")
                .first()
            )
            # Records imported as MQLs (a migration from another CRM, a list upload) are history, not new
            # leads: they get no handoff, no owner change, no notification. Every other path hands over.
            if change is not None and change[1] in UNROUTED_ORIGINS:
                continue
            handled += start(contact_id, started_at=change[0] if change else event.occurred_at) is not None
        else:
            handled += _settle_elsewhere(contact_id, to_stage, at=event.occurred_at)
        if to_stage in playbooks:  # after the routing, so the tasks go to the new owner
            _playbook(contact_id, to_stage)
    return handled


def _playbook(contact_id: int, to_stage: str) -> None:
    from smarketing.process import governance

    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is not None:
        governance.contact_entered(contact, to_stage)


def _settle_elsewhere(contact_id: int, to_stage: str, *, at: datetime) -> int:
    """The lead left MQL without a decision in the inbox (a rep moved it on the record, a deal was opened)."""
    from smarketing.process import sla

    handoff = Handoff.objects.filter(contact_id=contact_id, status=HandoffStatus.OPEN).first()
    if handoff is None:
        return 0
    status = HandoffStatus.ACCEPTED if to_stage in PAST_MQL else HandoffStatus.CLOSED
    actor_id = (
        LifecycleChange.objects.filter(contact_id=contact_id, to_stage=to_stage)
        .order_by("-changed_at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )
    sla.fill_first_touches(ids=[handoff.pk])
    changed = Handoff.objects.filter(pk=handoff.pk, status=HandoffStatus.OPEN).update(
        status=status, decided_at=at, decided_by_id=actor_id
    )
    if changed:
        handoff.refresh_from_db()
        sla.settle_breach(handoff)
    return changed


def _decide(handoff: Handoff, actor, **fields) -> Handoff:
    """Close the open handoff for `actor`, or refuse: exactly one of two people deciding at once wins."""
    from smarketing.process import sla

    access.require_decide(actor, handoff)
    sla.fill_first_touches(ids=[handoff.pk])  # a call logged a moment ago still stops the clock first
    now = timezone.now()
    changed = Handoff.objects.filter(pk=handoff.pk, status=HandoffStatus.OPEN).update(
        decided_at=now, decided_by=recorded_user(actor), **fields
    )
    if not changed:
        current = Handoff.objects.select_related("decided_by").get(pk=handoff.pk)
        who = f" by {current.decided_by}" if current.decided_by_id else ""
        raise ValidationError(f"This lead was already {current.get_status_display().lower()}{who}.")
    handoff.refresh_from_db()
    sla.settle_breach(handoff)
    return handoff


@transaction.atomic
def accept(handoff: Handoff, *, actor, origin: str = Origin.UI) -> Handoff:
    """The rep takes the lead: the contact becomes a sales-qualified lead."""
    from smarketing.crm.services.lifecycle import change_lifecycle_stage

    handoff = _decide(handoff, actor, status=HandoffStatus.ACCEPTED)
    contact = Contact.objects.get(pk=handoff.contact_id)
    on_behalf = system_actor(origin, on_behalf_of=recorded_user(actor))
    if promotes(contact.lifecycle_stage, LifecycleStage.SQL):
        change_lifecycle_stage(contact, LifecycleStage.SQL, actor=on_behalf, origin=origin, reason="Accepted by sales")
    record_touch(
        kind=kinds.LEAD_ACCEPTED,
        team=TouchTeam.SALES,
        contact=contact,
        actor=actor,
        summary=f"Accepted by {_name(actor)}",
        details={"handoff_id": handoff.pk},
    )
    publish("lead.accepted", handoff, payloads.handoff(handoff, contact))
    record_audit(
        actor=actor, action="handoff_accept", obj=contact, origin=origin, changes={"handoff": [None, "accepted"]}
    )
    return handoff


def _name(actor) -> str:
    user = recorded_user(actor)
    return user.display_name if user is not None else "Smarketing"


def clean_reason(reason_id, text: str) -> tuple[RejectionReason, str]:
    try:
        reason = RejectionReason.objects.get(pk=int(reason_id), active=True)
    except (TypeError, ValueError, RejectionReason.DoesNotExist):
        raise ValidationError({"reason": "Choose why you reject this lead."}) from None
    text = " ".join(str(text or "").split())
    if len(text) > MAX_REASON_TEXT:
        raise ValidationError({"reason_text": f"Say it in at most {MAX_REASON_TEXT} characters."})
    return reason, text


@transaction.atomic
def reject(handoff: Handoff, *, actor, reason_id, text: str = "", origin: str = Origin.UI) -> Handoff:
    """The rep hands the lead back with a reason: it returns to marketing as a lead, to be nurtured."""
    from smarketing.crm.services.lifecycle import change_lifecycle_stage

    reason, text = clean_reason(reason_id, text)
    handoff = _decide(handoff, actor, status=HandoffStatus.REJECTED, reason=reason, reason_text=text)
    contact = Contact.objects.get(pk=handoff.contact_id)
    said = f"{reason.label}: {text}" if text else reason.label
    if contact.lifecycle_stage == LifecycleStage.MQL:
        change_lifecycle_stage(
            contact,
            LifecycleStage.LEAD,
            actor=system_actor(origin, on_behalf_of=recorded_user(actor)),
            origin=origin,
            allow_backward=True,
            reason=f"Rejected by sales ({said})"[:300],
        )
    record_touch(
        kind=kinds.LEAD_REJECTED,
        team=TouchTeam.SALES,
        contact=contact,
        actor=actor,
        summary=f"Rejected by {_name(actor)}: {said}"[:300],
        details={"handoff_id": handoff.pk, "reason": reason.label, "reason_id": reason.pk, "text": text},
    )
    publish("lead.rejected", handoff, payloads.handoff(handoff, contact))
    record_audit(
        actor=actor,
        action="handoff_reject",
        obj=contact,
        origin=origin,
        changes={"handoff": [None, f"rejected: {said}"]},
    )
    return handoff


@transaction.atomic
def reassign(handoff: Handoff, *, to_user, actor, reason: str, origin: str = Origin.UI) -> Handoff:
    """A manager moves an open lead to another rep, with a reason; the clock keeps running."""
    from smarketing.crm.services.records import assign_owner

    access.require_reassign(actor, handoff)
    reason = " ".join(str(reason or "").split())[:300]
    if not reason:
        raise ValidationError({"reason": "Say why the lead moves."})
    if to_user is None or not routing.assignable_users().filter(pk=to_user.pk).exists():
        raise ValidationError({"owner": "Choose an active user who can own records."})
    previous = handoff.owner_id
    if previous == to_user.pk:
        raise ValidationError({"owner": "The lead is theirs already."})
    changed = Handoff.objects.filter(pk=handoff.pk, status=HandoffStatus.OPEN, owner_id=previous).update(owner=to_user)
    if not changed:
        raise ValidationError("The lead changed meanwhile (decided or reassigned): reload the page.")
    HandoffReassignment.objects.create(
        handoff=handoff, from_owner_id=previous, to_owner=to_user, actor=recorded_user(actor), reason=reason
    )
    assign_owner(
        Contact.objects.filter(pk=handoff.contact_id),
        owner=to_user,
        actor=system_actor(origin, on_behalf_of=recorded_user(actor)),
        origin=origin,
    )
    handoff.refresh_from_db()
    contact = handoff.contact
    notify(
        to_user,
        kind=kinds.NOTIFY_NEW_LEAD,
        title=f"Lead reassigned to you: {contact}",
        body=f"{reason}. First touch due by {_local(handoff.due_at, to_user)}.",
        url=inbox_url(),
        actor=actor,
        about=handoff,
    )
    record_audit(
        actor=actor, action="handoff_reassign", obj=contact, origin=origin, changes={"owner": [previous, to_user.pk]}
    )
    return handoff


def merge_contacts(primary_id: int, duplicate_id: int) -> None:
    """Contact merge hook: the duplicate's handoffs move to the survivor; if both wait in a queue, the
    survivor's stays open and the duplicate's closes."""
    if Handoff.objects.filter(contact_id=primary_id, status=HandoffStatus.OPEN).exists():
        Handoff.objects.filter(contact_id=duplicate_id, status=HandoffStatus.OPEN).update(
            status=HandoffStatus.CLOSED, decided_at=timezone.now()
        )
    Handoff.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)
