"""The demo's handoff: a contract (4 business hours in New York with US holidays, round robin in sales, a
monthly MQL commitment), 90 days of history derived from the seeded lifecycle changes (accepted leads with their
first touch read off the timeline, rejections whose reasons differ by source, a few breaches), and a running
queue: fresh MQLs qualified minutes ago through the real lifecycle service and routed by the real handoff code,
one already called, and a couple left untouched for a day, so the SLA job breaches and escalates them.
"""

import random
import time
from collections.abc import Callable
from datetime import timedelta

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.accounts.models import Role, Team, TeamKind, User
from smarketing.core.models import Origin
from smarketing.crm.models import Contact, LifecycleChange, LifecycleStage
from smarketing.process import governance, handoff, kinds, routing, sla
from smarketing.process.defaults import REASONS, install_reasons
from smarketing.process.models import (
    Handoff,
    HandoffStatus,
    MqlCommitment,
    RejectionReason,
    RepRouting,
    RoutingSettings,
    SlaPolicy,
)
from smarketing.timeline.models import Team as TouchTeam
from smarketing.timeline.services import record_touches

HISTORY_DAYS = 90
# Per source: how often sales hands a lead back, and the reasons it gives (weights). Paid traffic brings
# students and poor fits, events bring bad timing, referrals are nearly always taken.
REJECTION = {
    "paid": (
        0.45,
        {"Student, job seeker or personal use": 4, "Not a fit (size, industry or country)": 3, "No budget": 1},
    ),
    "social": (
        0.4,
        {
            "Student, job seeker or personal use": 3,
            "Invalid contact details": 2,
            "Not a fit (size, industry or country)": 1,
        },
    ),
    "event": (0.35, {"Bad timing": 4, "Not a decision maker": 2}),
    "webinar": (0.3, {"Not a decision maker": 3, "Bad timing": 2}),
    "content": (0.25, {"Bad timing": 2, "Not a decision maker": 2, "No budget": 1}),
    "organic": (0.2, {"Not a fit (size, industry or country)": 2, "No budget": 1}),
    "referral": (0.05, {"Duplicate of another lead": 1}),
}
DEFAULT_REJECTION = (0.2, {"Not a fit (size, industry or country)": 1, "Bad timing": 1})


def _setup(team: Team) -> SlaPolicy:
    policy, _ = SlaPolicy.objects.get_or_create(
        team=team,
        defaults={
            "first_touch_hours": 4,
            "time_zone": "America/New_York",
            "holiday_country": "US",
            "remind_before_minutes": 60,
        },
    )
    RoutingSettings.objects.update_or_create(
        pk=1, defaults={"team": team, "mode": "round_robin", "prefer_account_owner": True}
    )
    month = timezone.localdate().replace(day=1)
    for back, target in ((0, 40), (1, 36), (2, 32)):
        start = month
        for _ in range(back):
            start = (start - timedelta(days=1)).replace(day=1)
        MqlCommitment.objects.get_or_create(month=start, defaults={"mql_target": target, "acceptance_target": 65})
    return policy


def _reasons() -> dict[str, RejectionReason]:
    install_reasons(RejectionReason)
    return {r.label: r for r in RejectionReason.objects.filter(label__in=REASONS)}


def _history(team: Team, members: list[User], policy: SlaPolicy, rng: random.Random, now) -> int:
    """One handoff per seeded move to MQL in the last 90 days, decided as the contact's later history says."""
    since = now - timedelta(days=HISTORY_DAYS)
    moves = list(
        LifecycleChange.objects.filter(
            to_stage=LifecycleStage.MQL, changed_at__gte=since, changed_at__lt=now - timedelta(days=2)
        )
        .order_by("changed_at", "id")
        .values_list("contact_id", "changed_at")
    )
    seen, pairs = set(), []
    for contact_id, at in moves:
        if contact_id not in seen:
            seen.add(contact_id)
            pairs.append((contact_id, at))
    contacts = Contact.objects.in_bulk([c for c, _ in pairs])
    left_mql = dict(
        LifecycleChange.objects.filter(contact_id__in=list(contacts), from_stage=LifecycleStage.MQL)
        .order_by("contact_id", "changed_at")
        .values_list("contact_id", "changed_at")
    )
    reasons = _reasons()
    calendar = policy.calendar()
    by_id = {m.pk: m for m in members}
    rows, touches, recycled = [], [], []
    for n, (contact_id, started) in enumerate(pairs):
        contact = contacts[contact_id]
        owner = by_id.get(contact.owner_id) or members[n % len(members)]
        due = calendar.add(started, policy.first_touch_hours)
        source = (contact.last_source or contact.first_source or "")[:50]
        row = Handoff(
            contact=contact,
            owner=owner,
            team=team,
            started_at=started,
            due_at=due,
            remind_at=due - timedelta(minutes=policy.remind_before_minutes),
            routed_how="its owner" if contact.owner_id == owner.pk else "round robin",
            source=source,
            score=contact.fit_score + contact.engagement_score,
        )
        if contact.lifecycle_stage in handoff.PAST_MQL:
            row.status = HandoffStatus.ACCEPTED
            row.decided_at = left_mql.get(contact_id) or started + timedelta(hours=rng.uniform(2, 60))
            row.decided_by = owner
        elif contact.lifecycle_stage == LifecycleStage.MQL:
            share, weights = REJECTION.get(source, DEFAULT_REJECTION)
            if rng.random() < max(share, 0.5):  # the rest stay MQL without a handoff: before the pillar existed
                label = rng.choices(list(weights), weights=list(weights.values()))[0]
                row.status = HandoffStatus.REJECTED
                row.decided_at = started + timedelta(hours=rng.uniform(1, 40))
                row.decided_by = owner
                row.reason = reasons[label]
                recycled.append(row)
            else:
                continue
        else:
            continue
        rows.append(row)
    Handoff.objects.bulk_create(rows, batch_size=1000)
    # Rejected leads went back to marketing as leads, with the reason on their history and timeline.
    for row in recycled:
        Contact.objects.filter(pk=row.contact_id).update(
            lifecycle_stage=LifecycleStage.LEAD, lifecycle_changed_at=row.decided_at, lead_status="unqualified"
        )
    LifecycleChange.objects.bulk_create(
        [
            LifecycleChange(
                contact_id=row.contact_id,
                from_stage=LifecycleStage.MQL,
                to_stage=LifecycleStage.LEAD,
                changed_at=row.decided_at,
                actor=row.decided_by,
                origin=Origin.SEED,
                reason=f"Rejected by sales ({row.reason.label})",
            )
            for row in recycled
        ]
    )
    for row in rows:
        kind = kinds.LEAD_ACCEPTED if row.status == HandoffStatus.ACCEPTED else kinds.LEAD_REJECTED
        said = "" if row.reason is None else f": {row.reason.label}"
        verb = "Accepted" if row.status == HandoffStatus.ACCEPTED else "Rejected"
        touches.append(
            {
                "kind": kind,
                "team": TouchTeam.SALES,
                "contact": row.contact,
                "actor": row.decided_by,
                "occurred_at": row.decided_at,
                "summary": f"{verb} by {row.decided_by}{said}"[:300],
                "details": {"handoff_id": row.pk},
            }
        )
    record_touches(touches)
    _fill_history_facts([r.pk for r in rows])
    return len(rows)


def _fill_history_facts(ids: list[int]) -> None:
    """First touches read off the seeded timeline, and the breaches they imply, set-based like the SLA job."""
    first = sla._first_touches()
    Handoff.objects.filter(pk__in=ids, first_touch_at__isnull=True).filter(Exists(first)).update(
        first_touch_at=Subquery(first.values("occurred_at")[:1]), first_touch_kind=Subquery(first.values("kind")[:1])
    )
    for h in Handoff.objects.filter(pk__in=ids, breached_at__isnull=True):
        handled = h.handled_at
        if handled is None or handled > h.due_at:
            Handoff.objects.filter(pk=h.pk).update(breached_at=h.due_at)


def _fresh(members: list[User], now) -> list[Handoff]:
    """New MQLs qualified in the last hours through the real services, so every rep's inbox has a live queue:
    three of each rep's own leads qualified minutes to hours ago, and one a day ago that nobody touched."""
    from smarketing.crm.services.lifecycle import change_lifecycle_stage

    actor = system_actor(Origin.SEED)
    ages = [timedelta(minutes=15), timedelta(minutes=70), timedelta(minutes=160), timedelta(hours=27)]
    made = []
    for member in members:
        if routing.is_away(member.pk, now.date()):
            continue
        leads = list(
            # Some were handed back before and qualify again: that is the nurture working.
            Contact.objects.filter(lifecycle_stage=LifecycleStage.LEAD, owner=member)
            .exclude(Exists(Handoff.objects.filter(contact_id=OuterRef("pk"), status=HandoffStatus.OPEN)))
            .order_by("-last_touch_at", "-id")[: len(ages)]
        )
        for contact, ago in zip(leads, ages, strict=False):
            at = now - ago
            change_lifecycle_stage(
                contact, LifecycleStage.MQL, actor=actor, origin=Origin.SEED, reason="Score reached 70", at=at
            )
            started = handoff.start(contact.pk, started_at=at)
            if started is not None:
                made.append(started)
    if made:  # one rep already called their newest lead; another emailed theirs, captured by the BCC address
        first = made[0]
        call = {
            "kind": "call_logged",
            "team": TouchTeam.SALES,
            "contact": first.contact,
            "actor": first.owner,
            "occurred_at": now - timedelta(minutes=5),
            "summary": "Intro call: interested in a team plan, demo next week",
        }
        record_touches([call])
        emailed = next((h for h in made[1:] if h.owner_id and h.owner_id != first.owner_id), None)
        if emailed is not None:
            from smarketing.process.capture import parse as capture_parse
            from smarketing.process.capture import services as capture

            message = capture_parse.Parsed(
                message_id=f"<demo-{emailed.pk}@demo.smarketing.local>",
                subject="Your Smarketing demo request",
                sender=emailed.owner.email,
                to=[emailed.contact.email],
                sent_at=now - timedelta(minutes=8),
                text=f"Hi {emailed.contact.first_name or 'there'},\n\nthanks for your interest. Would Thursday at "
                "10:00 work for a 20-minute call?\n\nBest,\n" + emailed.owner.display_name,
            )
            capture.capture(message, user=emailed.owner, via="bcc")
    return made


# The demo's written process: a role per step, what each asks, what arrives with it.
LIFECYCLE_GOVERNANCE = {
    "lead": {"role": "Marketing", "playbook": "Nurture with the monthly newsletter and the webinar series."},
    "mql": {
        "role": "SDR",
        "target_days": 2,
        "checklist": "Reached the contact?\nPain and timeline understood?",
        "playbook": "Call within the SLA (4 business hours). Open with the content they read; offer a 20-minute "
        "discovery call. Reject with a reason when it is not a fit: marketing sees it in the handoff report.",
    },
    "sql": {
        "role": "Account executive",
        "target_days": 7,
        "required_records": ["meeting_held"],
        "playbook": "Run discovery, then open a deal in the Sales pipeline.",
    },
    "opportunity": {"role": "Account executive", "target_days": 45},
    "customer": {"role": "Customer success", "playbook": "Kick-off within a week; hand over the deal notes."},
}
PIPELINE_GOVERNANCE = {
    "Appointment scheduled": {"role": "SDR", "playbook_tasks": "Confirm the meeting by email | email | 1"},
    "Qualified to buy": {
        "role": "Account executive",
        "checklist": "Budget confirmed?\nDecision maker identified?\nTimeline agreed?",
        "required_records": ["meeting_held"],
        "playbook": "Qualify with BANT. Pricing guide: https://example.com/pricing",
        "playbook_tasks": "Send the recap of the discovery call | email | 1",
    },
    "Presentation scheduled": {"role": "Account executive", "required_records": ["role:decision_maker"]},
    "Decision maker bought-in": {"role": "Account executive", "playbook_tasks": "Draft the proposal | todo | 3"},
    "Contract sent": {"role": "Account executive", "playbook_tasks": "Follow up on the contract | call | 3"},
}


def _governance() -> None:
    from smarketing.crm.defaults import default_pipeline
    from smarketing.process.models import StageGovernance

    if StageGovernance.objects.exists():
        return
    for stage, data in LIFECYCLE_GOVERNANCE.items():
        StageGovernance.objects.create(lifecycle_stage=stage, **governance.clean(data, lifecycle=True))
    pipeline = default_pipeline()
    for stage in pipeline.stages.all() if pipeline else []:
        data = PIPELINE_GOVERNANCE.get(stage.name)
        if data:
            StageGovernance.objects.create(stage=stage, **governance.clean(data))


def seed_handoff(out: Callable[[str], None] = print, *, seed: int = 7) -> None:
    """The handoff's contract, history and live queue (once: a second seed leaves them be)."""
    if Handoff.objects.exists():
        return
    team = Team.objects.filter(kind=TeamKind.SALES).order_by("id").first()
    members = (
        list(User.objects.filter(team=team, is_active=True).exclude(role=Role.READ_ONLY).order_by("id")) if team else []
    )
    if not members:
        out("Demo handoff skipped: no sales team with members.")
        return
    started = time.monotonic()
    rng = random.Random(seed)
    now = timezone.now()
    policy = _setup(team)
    _governance()
    history = _history(team, members, policy, rng, now)
    away = next((m for m in members if m.role == Role.MEMBER and m.time_zone.startswith("Europe")), None)
    if away is not None:  # one rep on holiday this week: routing skips them
        RepRouting.objects.update_or_create(
            user=away,
            defaults={"away_from": now.date() - timedelta(days=1), "away_until": now.date() + timedelta(days=4)},
        )
    fresh = _fresh(members, now)
    result = sla.tick(now)
    out(
        f"Demo handoff in {time.monotonic() - started:.1f} s: {history} past handoffs, {len(fresh)} in the queue "
        f"({result['breached']} breached, {result['touched']} touched)."
    )
