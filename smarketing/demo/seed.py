"""The seed: `smarketing seed --contacts N` generates a year of history and loads it in bulk.

Why this bypasses crm.services: the services write one record at a time with permission checks, audit
entries and outbox events, a few queries per row. Twenty million touchpoints that way would take days, and
would flood the outbox with events no one needs for generated history. So the seed generates the *same rows
the services write* (contacts with their LifecycleChange history and the matching lifecycle_changed touches,
deals with DealStageChange rows, seconds in the previous stage and deal_* touches, tasks and notes with their
touches, the company of every contact touch equal to the contact's) and loads them in bulk: COPY on
PostgreSQL, executemany on SQLite, in one transaction. It writes no audit entries and no outbox events: the
history it invents was never done by anyone in this install.

IDs are assigned here, continuing after the current MAX(id) of each table, so seeding a non-empty database
adds to it: generated domains and emails that already exist are renamed, campaigns of the same calendar are
reused. Nothing else may write to these tables while a seed runs (the load holds its transaction and, on
empty tables, drops and re-creates the secondary indexes; see load.py).

Deterministic: the same --seed, sizes and day give the same rows (time stamps are relative to midnight UTC of
the day the seed runs).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction

from smarketing.accounts.models import Team, User
from smarketing.campaigns.models import Campaign
from smarketing.core.threads import in_background
from smarketing.crm.defaults import default_pipeline, install_defaults
from smarketing.crm.demo.campaigns import campaign_plan
from smarketing.crm.demo.common import COLUMNS, Cast, Chunk, Clock, Ids, StageInfo
from smarketing.crm.demo.generator import Generator
from smarketing.crm.models import Company, Contact, Pipeline, Stage
from smarketing.demo.load import COLUMNS as LOADED
from smarketing.demo.load import make_loader
from smarketing.demo.users import ensure_demo_users, missing_demo_users, seed_people
from smarketing.email.demo import EmailDemo
from smarketing.forms.demo import FormsDemo
from smarketing.forms.demo_tracking import TrackingDemo  # issue 9, tracking part
from smarketing.notifications.demo import seed_notifications
from smarketing.segments.demo import SegmentsDemo
from smarketing.timeline.services import check_touch


@dataclass
class SeedResult:
    """What a seed wrote."""

    contacts: int
    companies: int
    touchpoints: int
    deals: int
    seconds: float
    users_created: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # rows per generated table (load.TABLES keys)


def _midnight_utc() -> int:
    now = datetime.now(UTC)
    return int(datetime(now.year, now.month, now.day, tzinfo=UTC).timestamp())


def _campaigns(plan, people: dict[str, User | None]) -> None:
    """Create the calendar's campaigns, reusing any with the same utm_campaign (a second seed adds none)."""
    existing = {c.utm_campaign: c.id for c in Campaign.objects.filter(utm_campaign__in=[p.utm_campaign for p in plan])}
    new = []
    for spec in plan:
        if spec.utm_campaign in existing:
            spec.id = existing[spec.utm_campaign]
            continue
        owner = people.get(spec.owner)
        new.append(
            Campaign(
                name=spec.name,
                channel=spec.channel,
                owner_team_id=owner.team_id if owner else None,
                owner=owner,
                utm_campaign=spec.utm_campaign,
                starts_at=datetime.fromtimestamp(spec.starts_at, UTC),
                ends_at=datetime.fromtimestamp(spec.ends_at, UTC),
                talking_points=spec.talking_points,
                offer_summary=spec.offer_summary,
                budget=spec.budget,
                created_at=datetime.fromtimestamp(spec.starts_at - 14 * 86400, UTC),
            )
        )
    Campaign.objects.bulk_create(new)
    # bulk_create sets primary keys on both databases we support; map them back by utm_campaign.
    created = {c.utm_campaign: c.id for c in new}
    for spec in plan:
        if spec.id is None:
            spec.id = created[spec.utm_campaign]


def _stages() -> tuple[int, list[StageInfo]]:
    pipeline = default_pipeline()
    if pipeline is None:
        install_defaults(Team, Pipeline, Stage)
        pipeline = default_pipeline()
    stages = [
        StageInfo(s.id, s.name, s.position, s.outcome, s.target_days)
        for s in Stage.objects.filter(pipeline=pipeline).order_by("position")
    ]
    outcomes = {s.outcome for s in stages}
    if not {"open", "won", "lost"} <= outcomes:
        raise ValueError(f"The pipeline “{pipeline}” needs open, won and lost stages to seed deals.")
    return pipeline.id, stages


def _dedupe_emails(chunk: Chunk) -> dict[int, tuple[str, str]]:
    """On a non-empty database: give generated emails that already exist a number; returns contact id ->
    (old, new) for the rows that follow a contact's email (sends, suppressions)."""
    rows = chunk.rows["contact"]
    email_at = COLUMNS["contact"].index("email")
    emails = [row[email_at] for row in rows]
    taken = set(Contact.objects.filter(email__in=emails).values_list("email", flat=True))
    renamed: dict[int, tuple[str, str]] = {}
    if not taken:
        return renamed
    for i, row in enumerate(rows):
        if row[email_at] in taken:
            local, domain = row[email_at].split("@", 1)
            n = 2
            while f"{local}{n}@{domain}" in taken or Contact.objects.filter(email=f"{local}{n}@{domain}").exists():
                n += 1
            taken.add(f"{local}{n}@{domain}")
            rows[i] = row[:email_at] + (f"{local}{n}@{domain}",) + row[email_at + 1 :]
            renamed[row[0]] = (row[email_at], f"{local}{n}@{domain}")
    return renamed


def _produce(generator: Generator, apps: list, depth: int = 2):
    """Generated chunks, made in a thread while the caller loads the previous one (the database ingests chunk N
    while chunk N+1 is made). `apps` derive their rows from the chunk's (email sends, list members), in order."""

    kind_at, team_at = COLUMNS["touch"].index("kind"), COLUMNS["touch"].index("team")

    def filled():
        for chunk in generator.chunks():
            generator.fill(chunk)
            for app in apps:
                app.rows(chunk)
            # The timeline's own check, once per distinct kind and team of the chunk rather than per row.
            for kind, team in {(row[kind_at], row[team_at]) for row in chunk.rows["touch"]}:
                check_touch(kind, team)
            yield chunk

    return in_background(filled(), depth=depth, name="seed-generator")


def seed(
    *,
    contacts: int,
    seed: int = 42,
    touches_per_contact: float = 20,
    companies: int | None = None,
    end: int | None = None,
    demo_users: bool = False,
    automation: bool = False,
    out: Callable[[str], None] = print,
) -> SeedResult:
    """Generate and bulk-load the history of `contacts` contacts; see the module docstring.

    Creates user accounts only with `demo_users` (the demo's eight, one shared published password); otherwise
    the records go to the users there are (see demo.users.seed_people).
    """
    if contacts < 1:
        raise ValueError("--contacts must be at least 1")
    started = time.monotonic()
    users_created = 0
    if demo_users:
        users_created = missing_demo_users()
        ensure_demo_users()
    users = seed_people()
    cast = Cast(
        aes=[_id(users["jordan"]), _id(users["taylor"]), _id(users["riley"])],
        sdr=_id(users["sam"]),
        marketers=[_id(users["maya"]), _id(users["noah"])],
    )
    end = end if end is not None else _midnight_utc()
    loader = make_loader(out)
    clock = Clock(end, loader.tz_suffix)
    totals = dict.fromkeys(LOADED, 0)
    with transaction.atomic():
        pipeline_id, stages = _stages()
        plan = campaign_plan(end)
        _campaigns(plan, users)
        start_ids = loader.next_ids()
        had_companies = start_ids["company"] > 1
        had_contacts = start_ids["contact"] > 1
        generator = Generator(
            contacts=contacts,
            companies=companies if companies is not None else max(1, contacts // 8),
            touches_per_contact=touches_per_contact,
            seed=seed,
            clock=clock,
            cast=cast,
            pipeline_id=pipeline_id,
            stages=stages,
            campaigns=plan,
            ids=Ids(start_ids),
        )
        # Email marketing's part of the year: lists and segments, then the email campaigns with their sends.
        segments_demo = SegmentsDemo(users, seed=seed, clock=clock, ids=generator.ids)
        segments_demo.prepare()
        email_demo = EmailDemo(plan, users, seed=seed, clock=clock, ids=generator.ids)
        email_demo.prepare(segments_demo.segments, segments_demo.lists)
        tracking_demo = TrackingDemo(seed=seed, ids=generator.ids, clock=clock)  # issue 9, tracking part: visits
        # Lead capture (issue 9 formsbuilder): the live forms, with a submission per form_submitted touch.
        forms_demo = FormsDemo(users, seed=seed, clock=clock, ids=generator.ids)
        forms_demo.prepare()
        # Rows each table is about to receive, roughly; a table that small next to that gets the bulk treatment.
        expected = {
            "company": generator.n_companies,
            "contact": contacts,
            "touch": contacts * touches_per_contact,
            "lifecycle": contacts * 1.5,
            "deal": contacts * 0.04,
            "dealcontact": contacts * 0.05,
            "stagechange": contacts * 0.15,
            "task": contacts * 0.05,
            "note": contacts * 0.01,
            "emailsend": contacts * 2,
            "suppression": contacts * 0.02,
            "feedbacknotice": contacts * 0.005,
            "listmember": contacts * 0.1,
            "visitor": contacts * 0.5,
            "pageview": contacts * 2,
            "formsubmission": contacts * 0.5,
        }
        bulk = [key for key, n in expected.items() if start_ids[key] - 1 < n]
        loader.prepare(bulk)
        out(
            f"Seeding {contacts:,} contacts (~{int(contacts * touches_per_contact):,} touchpoints) "
            f"on {connection.vendor}, seed {seed}"
        )
        if had_companies:
            # Existing domains are never generated again (memory: one string per existing company).
            generator.seen_domains.update(
                d for d in Company.objects.exclude(domain=None).values_list("domain", flat=True).iterator(10000)
            )
        last_report = time.monotonic()
        done_contacts = 0
        for chunk in _produce(generator, [email_demo, segments_demo, tracking_demo, forms_demo]):
            if had_contacts:
                renamed = _dedupe_emails(chunk)
                if renamed:
                    email_demo.rename(chunk, renamed)
            email_demo.drop_known_suppressions(chunk)
            for key in LOADED:
                loader.write(key, chunk.rows[key])
                totals[key] += len(chunk.rows[key])
            done_contacts += chunk.contacts
            now = time.monotonic()
            if now - last_report >= 5 or done_contacts == contacts:
                elapsed = now - started
                out(
                    f"  {done_contacts:>10,} contacts  {totals['touch']:>12,} touchpoints  "
                    f"{elapsed:6.0f} s  {totals['touch'] / elapsed:>9,.0f} touchpoints/s"
                )
                last_report = now
        email_demo.finish()
        tracking_demo.finish()
        out("Re-creating indexes and constraints, analyzing...")
        loader.finish()
        forms_demo.finish()
    # Only the demo's own accounts get notifications: a seed into an install with real users tells them nothing.
    notified = seed_notifications(users) if missing_demo_users() == 0 else 0
    if automation:
        seed_automation(out)
    seconds = time.monotonic() - started
    out(
        f"Done in {seconds:.0f} s: {totals['company']:,} companies, {totals['contact']:,} contacts, "
        f"{totals['touch']:,} touchpoints, {totals['deal']:,} deals, {totals['lifecycle']:,} lifecycle changes, "
        f"{totals['task']:,} tasks, {totals['note']:,} notes, {totals['emailsend']:,} email sends, "
        f"{totals['suppression']:,} suppressed addresses, {notified:,} notifications."
    )
    if users_created:
        out(f"Created {users_created} demo user accounts (shared password; `smarketing demo` lists them).")
    elif demo_users:
        out("Created no user accounts: the demo users exist already.")
    else:
        out("Created no user accounts.")
    return SeedResult(
        contacts=totals["contact"],
        companies=totals["company"],
        touchpoints=totals["touch"],
        deals=totals["deal"],
        seconds=seconds,
        users_created=users_created,
        counts=totals,
    )


def seed_automation(out: Callable[[str], None] = print) -> None:
    """The pillars that act on the loaded history rather than generate it (issue 9): lead scores and their
    history from the seeded touches, the two demo workflows run by the real runner, the handoff's history and live
    queue (issue 10), the scheduling diary (issue 11), the content library with its shares and views (issue 12),
    the predictive model. The
    demo runs them (`seed --automation`); the bare seed (tests, benches) leaves the history as generated."""
    from smarketing.content.demo import seed_content  # issue 12
    from smarketing.process.demo import seed_handoff
    from smarketing.scheduling.demo import seed_scheduling  # issue 11
    from smarketing.scoring.demo import seed_scoring
    from smarketing.scoring.demo_predictive import train_demo_model
    from smarketing.workflows.demo import seed_workflows

    seed_content(out)  # issue 12: first, so the scores count the contacts' content views
    seed_scoring(out)
    seed_workflows(out)
    seed_handoff(out)
    seed_scheduling(out)  # issue 11: types, hours, the meeting diary and its touches
    train_demo_model(out)


def _id(user: User | None) -> int | None:
    return user.id if user is not None else None
