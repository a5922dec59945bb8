"""The demo's scheduling: working hours for the demo users (in their own time zones), a personal "Intro call"
for each of them and a "Product demo" for sales, one round-robin "Talk to sales" team type, and a believable
diary: six weeks of past meetings (mostly held, some no-shows and cancellations) and three weeks of upcoming
ones, tied to the contacts and deals each host owns, never two at once for a host, with a HostHold for every
active one (the exclusion constraint on PostgreSQL would refuse overlaps).

The seeded timeline has no meeting touches of its own, so the meetings come first and their touches
(meeting_booked, then meeting_held / meeting_no_show / meeting_canceled) are written from them with
timeline.services.record_touches: the timeline and the meeting list cannot disagree. A second seed keeps what
the first made (types by slug; meetings only when the demo has none yet). Everything is bulk-created.
"""

import random
import time
import uuid
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from smarketing.accounts.models import Role, User
from smarketing.crm.models import Contact, DealContact
from smarketing.scheduling import kinds
from smarketing.scheduling.models import Assignment, HostHold, LocationKind, Meeting, MeetingType, MeetingTypeHost
from smarketing.timeline.models import Team as TouchTeam
from smarketing.timeline.services import record_touches

HOURS = {day: [["09:00", "12:00"], ["13:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
PAST_DAYS = 42
AHEAD_DAYS = 21
UID_PREFIX = "demo-"
# Of the past meetings: held, no-show, canceled (by the booker, before it began).
PAST_MIX = [(Meeting.Status.HELD, 0.78), (Meeting.Status.NO_SHOW, 0.1), (Meeting.Status.CANCELED, 0.12)]
CANCEL_REASONS = ["Something came up at work", "We need to move this to next quarter", "Double-booked, sorry", ""]


def _types_for(user: User, sales: bool) -> list[dict]:
    base = slugify(user.full_name or user.email.split("@")[0])[:50] or f"user-{user.pk}"
    types = [
        {
            "slug": f"{base}-intro",
            "name": "Intro call",
            "durations": [30, 15],
            "location_kind": LocationKind.VIDEO,
            "location_detail": "https://meet.example.com/smarketing-{meeting}",
            "description": f"A short first call with {user.display_name}: what you need and whether we can help.",
            "questions": [
                {"key": "company", "label": "Company", "maps_to": "company.name", "required": True, "type": "text"},
                {"key": "topic", "label": "What would you like to talk about?", "maps_to": "", "required": False,
                 "type": "text"},
            ],
            "buffer_after": 10,
            "min_notice": 240,
            "max_days_ahead": 30,
        }
    ]  # fmt: skip
    if sales:
        types.append(
            {
                "slug": f"{base}-demo",
                "name": "Product demo",
                "durations": [45, 60],
                "location_kind": LocationKind.VIDEO,
                "location_detail": "https://meet.example.com/smarketing-{meeting}",
                "description": "A walk through Smarketing with your own use case: bring your questions.",
                "questions": [
                    {"key": "team_size", "label": "How many people would use it?", "maps_to": "", "required": False,
                     "type": "text"},
                ],
                "buffer_before": 10,
                "buffer_after": 15,
                "min_notice": 1440,
                "max_per_day": 3,
            }
        )  # fmt: skip
    return types


def _prepare(users: list[User]) -> tuple[dict[int, list[MeetingType]], MeetingType | None]:
    """Hours for users who have none, their types, and the sales team's round robin (reused by slug)."""
    for user in users:
        if not user.working_hours:
            user.working_hours = HOURS
    User.objects.bulk_update(users, ["working_hours"])
    existing = {mt.slug: mt for mt in MeetingType.objects.all()}
    personal: dict[int, list[MeetingType]] = {}
    new = []
    for user in users:
        sales = user.team is not None and user.team.kind == "sales"
        for spec in _types_for(user, sales):
            mt = existing.get(spec["slug"])
            if mt is None:
                mt = MeetingType(owner=user, assignment=Assignment.PERSONAL, **spec)
                new.append(mt)
            personal.setdefault(user.pk, []).append(mt)
    MeetingType.objects.bulk_create(new)
    sellers = [u for u in users if u.team is not None and u.team.kind == "sales"]
    team_type = existing.get("talk-to-sales")
    if team_type is None and sellers:
        team_type = MeetingType.objects.create(
            team=sellers[0].team,
            slug="talk-to-sales",
            name="Talk to sales",
            assignment=Assignment.ROUND_ROBIN,
            durations=[30],
            location_kind=LocationKind.PHONE,
            location_detail="We call you on the number you give.",
            description="Tell us what you are looking for; the next free person on our sales team calls you.",
            questions=[
                {"key": "phone", "label": "Phone number", "maps_to": "phone", "required": True, "type": "text"},
                {"key": "company", "label": "Company", "maps_to": "company.name", "required": False, "type": "text"},
            ],
            buffer_after=5,
            min_notice=120,
        )
        MeetingTypeHost.objects.bulk_create([MeetingTypeHost(meeting_type=team_type, user=u) for u in sellers])
    return personal, team_type


def _partners(hosts: list[User], rng: random.Random) -> dict[int, list[tuple[int, int | None, int | None, str]]]:
    """Per host: (contact, deal, company, name) of the deals they own, else of contacts they own."""
    found: dict[int, list] = {h.pk: [] for h in hosts}
    rows = (
        DealContact.objects.filter(deal__owner_id__in=found)
        .values_list("contact_id", "deal_id", "contact__company_id", "contact__first_name", "contact__last_name",
                     "contact__email", "deal__owner_id")
        .order_by("-deal_id")[:6000]
    )  # fmt: skip
    for contact_id, deal_id, company_id, first, last, email, owner_id in rows:
        found[owner_id].append((contact_id, deal_id, company_id, f"{first} {last}".strip() or email, email))
    for host_id, partners in found.items():
        if len(partners) < 40:
            more = Contact.objects.filter(owner_id=host_id).values_list(
                "id", "company_id", "first_name", "last_name", "email"
            )[:200]
            partners += [(c, None, co, f"{f} {la}".strip() or e, e) for c, co, f, la, e in more]
        rng.shuffle(partners)
    return found


def seed_scheduling(out: Callable[[str], None] = print, *, seed: int = 42, now: datetime | None = None) -> int:
    """Types, hours and the meeting diary for the demo (see the module docstring); returns meetings created."""
    started = time.monotonic()
    rng = random.Random(seed)
    now = now or timezone.now()
    users = list(
        User.objects.filter(is_active=True).exclude(role=Role.READ_ONLY).select_related("team").order_by("id")[:12]
    )
    if not users:
        return 0
    with transaction.atomic():
        personal, team_type = _prepare(users)
        if Meeting.objects.filter(uid__startswith=UID_PREFIX).exists():
            out("Scheduling: the demo's meetings exist already.")
            return 0
        hosts = [u for u in users if u.team is not None and u.team.kind == "sales"] or users[:3]
        partners = _partners(hosts, rng)
        meetings: list[Meeting] = []
        for host in hosts:
            meetings += _diary(host, personal.get(host.pk, []) + ([team_type] if team_type else []),
                               partners[host.pk], rng, now)  # fmt: skip
        Meeting.objects.bulk_create(meetings, batch_size=500)
        HostHold.objects.bulk_create(
            [
                HostHold(meeting=m, user_id=m.host_id, starts_at=m.hold_start, ends_at=m.hold_end)
                for m in meetings
                if m.status == Meeting.Status.BOOKED
            ],
            batch_size=500,
        )
        record_touches(_touches(meetings), batch_size=1000)
    past = sum(1 for m in meetings if m.starts_at < now)
    out(
        f"Scheduling: {len(meetings):,} meetings ({past:,} past, {len(meetings) - past:,} upcoming) for "
        f"{len(hosts)} hosts in {time.monotonic() - started:.1f} s."
    )
    return len(meetings)


def _diary(host: User, types: list[MeetingType], partners: list, rng: random.Random, now: datetime) -> list[Meeting]:
    """A host's meetings on their working days: at most one per hour block, so none overlap (buffers fit in)."""
    if not types or not partners:
        return []
    tz = zoneinfo.ZoneInfo(host.time_zone or "UTC")
    today = now.astimezone(tz).date()
    made = []
    for offset in range(-PAST_DAYS, AHEAD_DAYS + 1):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        # Busier in the past (a full pipeline), thinner further ahead (not booked yet).
        per_day = rng.choice([0, 1, 1, 2, 2, 3]) if offset < 7 else rng.choice([0, 0, 1, 1, 2])
        # Hour blocks inside 09:00-12:00 and 13:00-17:00; each meeting (up to 60 min with buffers) gets its own.
        blocks = rng.sample([9, 10, 11, 13, 14, 15, 16], per_day)
        held_until = None  # the day's last hold: a long demo with its buffers may reach into the next block
        for hour in sorted(blocks):
            mt = rng.choice(types)
            duration = mt.durations[0]
            starts = datetime.combine(day, datetime.min.time(), tz).replace(hour=hour)
            if starts.hour != hour:  # a DST gap: skip that block
                continue
            if abs((starts - now).total_seconds()) < 3600:
                continue  # nothing half-begun right now
            contact_id, deal_id, company_id, name, email = partners[len(made) % len(partners)]
            booked_at = starts - timedelta(days=rng.randint(1, 9), minutes=rng.randint(0, 600))
            booked_at = min(booked_at, now - timedelta(minutes=rng.randint(5, 600)))
            m = Meeting(
                meeting_type=mt,
                host=host,
                contact_id=contact_id,
                deal_id=deal_id if mt.name != "Intro call" else None,
                title=f"{mt.name} with {name}"[:200],
                starts_at=starts,
                ends_at=starts + timedelta(minutes=duration),
                booker_name=name[:200],
                booker_email=email,
                booker_time_zone=host.time_zone or "UTC",
                location=mt.location_detail.replace("{meeting}", uuid.uuid4().hex[:8]),
                uid=f"{UID_PREFIX}{uuid.UUID(int=rng.getrandbits(128))}@smarketing",
                created_at=booked_at,
            )
            m.company_id = company_id
            m.hold_start = starts - timedelta(minutes=mt.buffer_before)
            m.hold_end = m.ends_at + timedelta(minutes=mt.buffer_after)
            if held_until is not None and m.hold_start < held_until:
                continue
            held_until = m.hold_end
            if starts < now:
                status = rng.choices([s for s, _ in PAST_MIX], [w for _, w in PAST_MIX])[0]
                m.status = status
                if status == Meeting.Status.CANCELED:
                    m.canceled_at = min(starts - timedelta(hours=rng.randint(2, 40)), now)
                    m.canceled_at = max(m.canceled_at, booked_at + timedelta(minutes=5))
                    m.cancel_reason = rng.choice(CANCEL_REASONS)
                else:
                    m.outcome_at = min(m.ends_at + timedelta(minutes=rng.randint(2, 180)), now)
            elif rng.random() < 0.04:  # a few upcoming ones were called off already
                m.status = Meeting.Status.CANCELED
                m.canceled_at = max(now - timedelta(hours=rng.randint(1, 20)), booked_at + timedelta(minutes=1))
                m.cancel_reason = rng.choice(CANCEL_REASONS)
            made.append(m)
    return made


def _touches(meetings: list[Meeting]) -> list[dict]:
    rows = []
    for m in meetings:
        when = m.starts_at.astimezone(zoneinfo.ZoneInfo(m.booker_time_zone)).strftime("%b %-d, %H:%M")
        common = {"team": TouchTeam.SALES, "contact": m.contact_id, "company": m.company_id, "deal": m.deal_id}
        details = {"meeting_id": m.pk, "meeting_type": m.meeting_type.name if m.meeting_type else ""}
        rows.append(
            {**common, "kind": kinds.MEETING_BOOKED, "occurred_at": m.created_at, "details": details,
             "summary": f"Booked {m.meeting_type.name if m.meeting_type else 'a meeting'} with "
                        f"{m.host.display_name} for {when}"[:300]}
        )  # fmt: skip
        if m.status == Meeting.Status.HELD:
            rows.append({**common, "kind": kinds.MEETING_HELD, "occurred_at": m.outcome_at, "actor": m.host_id,
                         "details": details, "summary": f"Meeting held with {m.host.display_name}"})  # fmt: skip
        elif m.status == Meeting.Status.NO_SHOW:
            rows.append({**common, "kind": kinds.MEETING_NO_SHOW, "occurred_at": m.outcome_at, "actor": m.host_id,
                         "details": details, "summary": f"Did not show up for the meeting with "
                                                        f"{m.host.display_name}"})  # fmt: skip
        elif m.status == Meeting.Status.CANCELED:
            said = f": {m.cancel_reason}" if m.cancel_reason else ""
            rows.append({**common, "kind": kinds.MEETING_CANCELED, "occurred_at": m.canceled_at, "details": details,
                         "summary": f"Canceled the meeting of {when}{said}"[:300]})  # fmt: skip
    return rows
