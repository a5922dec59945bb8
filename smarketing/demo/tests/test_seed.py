"""The seed: a believable, consistent, deterministic history, loaded in bulk (COPY on PostgreSQL)."""

import hashlib
from datetime import UTC, datetime
from io import StringIO

from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.test import TestCase
from django.utils import timezone

from smarketing.accounts.models import Role, TeamKind, User
from smarketing.campaigns.models import Campaign
from smarketing.crm.models import (
    Company,
    Contact,
    Deal,
    DealContact,
    DealStageChange,
    LifecycleChange,
    Note,
    Stage,
    Task,
)
from smarketing.crm.normalize import normalize_domain, normalize_email
from smarketing.demo.load import PostgresLoader, SqliteLoader, make_loader
from smarketing.demo.seed import seed
from smarketing.demo.users import DEMO_PASSWORD, ensure_demo_users
from smarketing.timeline.models import Touchpoint

END = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())
QUIET = {"out": lambda line: None}


def schema_snapshot() -> set:
    """Index and foreign-key definitions of the tables the seed loads (they are dropped and re-created)."""
    tables = ["timeline_touchpoint", "crm_contact", "crm_company", "crm_deal", "crm_lifecyclechange"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = ANY(%s) UNION ALL "
                "SELECT conrelid::regclass::text || pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid::regclass::text = ANY(%s)",
                [tables, tables],
            )
        else:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name IN (%s, %s, %s, %s, %s) AND sql IS NOT NULL", tables
            )
        return {row[0] for row in cursor.fetchall()}


def digest() -> str:
    """Emails, stages, companies and timeline lengths of every contact: what "the same data" means."""
    rows = (
        Contact.objects.annotate(touches=Count("touchpoints"))
        .order_by("email")
        .values_list("email", "lifecycle_stage", "company__domain", "touches", "first_source", "owner__email")
    )
    deals = Deal.objects.order_by("name").values_list("name", "amount", "status", "stage__name")
    text = "\n".join("|".join(str(v) for v in row) for row in [*rows, *deals])
    return hashlib.sha256(text.encode()).hexdigest()


class SeededHistoryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.schema_before = schema_snapshot()
        cls.result = seed(contacts=300, seed=7, end=END, demo_users=True, **QUIET)

    def test_counts_are_plausible(self):
        self.assertEqual(Contact.objects.count(), 300)
        self.assertEqual(self.result.contacts, 300)
        self.assertEqual(Company.objects.count(), 300 // 8)
        touches = Touchpoint.objects.count()
        self.assertEqual(touches, self.result.touchpoints)
        self.assertTrue(300 * 15 <= touches <= 300 * 30, touches)
        self.assertGreaterEqual(Campaign.objects.count(), 60)
        self.assertEqual(set(Campaign.objects.values_list("channel", flat=True)) >= {"email", "paid", "webinar"}, True)
        self.assertTrue(3 <= Deal.objects.count() <= 40, Deal.objects.count())
        self.assertTrue(Note.objects.exists())
        reached_mql = Contact.objects.filter(
            lifecycle_stage__in=["mql", "sql", "opportunity", "customer", "evangelist"]
        )
        self.assertTrue(0.15 <= reached_mql.count() / 300 <= 0.35, reached_mql.count())
        self.assertTrue(Contact.objects.filter(lifecycle_stage="customer").exists())
        kinds = set(Touchpoint.objects.values_list("kind", flat=True).distinct())
        for kind in ("email_opened", "page_viewed", "form_submitted", "call_logged", "meeting_logged", "deal_won"):
            self.assertIn(kind, kinds)

    def test_emails_and_domains_are_normalized_and_unique(self):
        emails = list(Contact.objects.values_list("email", flat=True))
        self.assertEqual(len(emails), len(set(emails)))
        for email in emails:
            self.assertEqual(normalize_email(email), email)
        domains = list(Company.objects.values_list("domain", flat=True))
        self.assertEqual(len(domains), len(set(domains)))
        for domain in domains:
            self.assertEqual(normalize_domain(domain), domain)
        # Contacts at a company use its domain.
        mismatched = Contact.objects.exclude(company=None).exclude(email__endswith=F("company__domain"))
        self.assertFalse(mismatched.exists())

    def test_current_stage_is_the_last_lifecycle_change(self):
        last = LifecycleChange.objects.filter(contact=OuterRef("pk")).order_by("-changed_at", "-id")
        contacts = Contact.objects.annotate(last_to=Subquery(last.values("to_stage")[:1]))
        self.assertFalse(contacts.exclude(lifecycle_stage=F("last_to")).exists())
        self.assertFalse(contacts.filter(last_to=None).exists())
        last_at = Subquery(last.values("changed_at")[:1])
        self.assertFalse(Contact.objects.annotate(at=last_at).exclude(lifecycle_changed_at=F("at")).exists())
        # The first change is the creation, as create_contact records it.
        first = LifecycleChange.objects.filter(from_stage="")
        self.assertEqual(first.count(), 300)
        self.assertEqual(set(first.values_list("reason", flat=True)), {"Created"})

    def test_every_lifecycle_move_has_its_touch_at_the_same_time(self):
        moves = LifecycleChange.objects.exclude(from_stage="")
        self.assertTrue(moves.exists())
        touches = Touchpoint.objects.filter(kind="lifecycle_changed")
        self.assertEqual(moves.count(), touches.count())
        pairs = set(moves.values_list("contact_id", "changed_at", "to_stage"))
        for contact_id, at, details in touches.values_list("contact_id", "occurred_at", "details"):
            self.assertIn((contact_id, at, details["to"]), pairs)
        self.assertEqual(Touchpoint.objects.filter(kind="contact_created").count(), 300)

    def test_stages_only_move_forward(self):
        order = ["subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist"]
        for from_stage, to_stage in LifecycleChange.objects.exclude(from_stage="").values_list(
            "from_stage", "to_stage"
        ):
            if "other" in (from_stage, to_stage):
                continue
            self.assertLess(order.index(from_stage), order.index(to_stage))

    def test_deal_stage_is_the_last_stage_change_and_time_in_stage_adds_up(self):
        last = DealStageChange.objects.filter(deal=OuterRef("pk")).order_by("-changed_at", "-id")
        deals = Deal.objects.annotate(last_to=Subquery(last.values("to_stage")[:1]))
        self.assertFalse(deals.exclude(stage_id=F("last_to")).exists())
        for deal in Deal.objects.select_related("stage").prefetch_related("stage_changes"):
            changes = sorted(deal.stage_changes.all(), key=lambda c: (c.changed_at, c.id))
            self.assertIsNone(changes[0].from_stage_id)
            self.assertEqual(changes[0].changed_at, deal.created_at)
            for before, after in zip(changes, changes[1:], strict=False):
                self.assertEqual(after.from_stage_id, before.to_stage_id)
                self.assertEqual(after.seconds_in_from, int((after.changed_at - before.changed_at).total_seconds()))
            self.assertEqual(deal.stage_entered_at, changes[-1].changed_at)
            self.assertEqual(deal.status, deal.stage.outcome)
            self.assertGreater(deal.amount, 0)
            self.assertTrue(deal.deal_contacts.exists())
            if deal.status == "open":
                self.assertIsNone(deal.closed_at)
            else:
                self.assertEqual(deal.closed_at, changes[-1].changed_at)
                self.assertTrue(deal.close_reason)

    def test_winning_makes_customers_and_customers_have_won_deals(self):
        won_contacts = DealContact.objects.filter(deal__status="won").values_list("contact__lifecycle_stage", flat=True)
        self.assertTrue(won_contacts)
        self.assertTrue(set(won_contacts) <= {"customer", "evangelist"})
        customers = Contact.objects.filter(lifecycle_stage__in=["customer", "evangelist"])
        self.assertFalse(customers.exclude(deal_roles__deal__status="won").exists())
        self.assertFalse(
            Contact.objects.filter(lifecycle_stage="opportunity")
            .exclude(deal_roles__deal__status__in=["open", "lost"])
            .exists()
        )
        self.assertTrue(Deal.objects.filter(status="lost").exclude(close_reason="").exists())

    def test_touchpoints_reference_existing_rows_and_carry_the_contacts_company(self):
        self.assertFalse(Touchpoint.objects.filter(contact=None).exists())
        self.assertFalse(Touchpoint.objects.exclude(contact__in=Contact.objects.all()).exists())
        with_campaign = Touchpoint.objects.exclude(campaign=None)
        self.assertTrue(with_campaign.exists())
        self.assertFalse(with_campaign.exclude(campaign__in=Campaign.objects.all()).exists())
        self.assertFalse(Touchpoint.objects.exclude(company_id=F("contact__company_id")).exclude(company=None).exists())
        self.assertFalse(Touchpoint.objects.filter(company=None).exclude(contact__company=None).exists())
        deal_touches = Touchpoint.objects.exclude(deal=None)
        self.assertFalse(deal_touches.exclude(deal__in=Deal.objects.all()).exists())
        self.assertFalse(deal_touches.exclude(deal__company=None).exclude(deal__company_id=F("company_id")).exists())
        self.assertFalse(deal_touches.filter(deal__company=None).exclude(company=None).exists())
        marketing = Touchpoint.objects.filter(kind__in=["email_sent", "email_opened", "ad_clicked", "webinar_attended"])
        self.assertFalse(marketing.filter(campaign=None).exists())

    def test_times_fall_in_the_twelve_months_before_the_end(self):
        end = datetime.fromtimestamp(END, UTC)
        start = end - timezone.timedelta(days=366)
        self.assertFalse(Touchpoint.objects.filter(Q(occurred_at__gt=end) | Q(occurred_at__lt=start)).exists())
        # Nothing happens to a contact before it first touched us.
        self.assertFalse(Touchpoint.objects.filter(occurred_at__lt=F("contact__first_touch_at")).exists())
        self.assertFalse(Contact.objects.filter(created_at__lt=F("first_touch_at")).exists())

    def test_people_are_the_demo_users_in_their_roles(self):
        users = ensure_demo_users()
        sales = {u.id for u in users if u.team.kind == TeamKind.SALES}
        owners = set(Contact.objects.exclude(owner=None).values_list("owner_id", flat=True))
        self.assertTrue(owners)
        self.assertTrue(owners <= sales)
        actors = set(Touchpoint.objects.filter(team="sales").values_list("actor_id", flat=True))
        self.assertTrue(actors <= sales)
        self.assertFalse(Contact.objects.filter(lifecycle_stage__in=["sql", "opportunity"], owner=None).exists())
        task_owners = set(Task.objects.values_list("owner_id", flat=True))
        self.assertTrue(task_owners <= sales)

    def test_open_tasks_some_overdue(self):
        open_tasks = Task.objects.filter(completed_at=None)
        self.assertTrue(open_tasks.filter(due_at__lt=datetime.fromtimestamp(END, UTC)).exists())
        self.assertTrue(open_tasks.filter(due_at__gt=datetime.fromtimestamp(END, UTC)).exists())
        self.assertTrue(Task.objects.exclude(completed_at=None).exists())
        for task in Task.objects.all()[:50]:
            self.assertTrue(Touchpoint.objects.filter(kind="task_created", details__task_id=task.pk).exists())

    def test_consent_and_attribution_are_filled(self):
        granted = Contact.objects.filter(consent_status="granted")
        self.assertTrue(granted.exists())
        self.assertFalse(granted.filter(Q(consent_at=None) | Q(consent_basis="") | Q(consent_source="")).exists())
        withdrawn = Contact.objects.filter(consent_status="withdrawn")
        for contact in withdrawn:
            # An unsubscribe (or a spam complaint) from a campaign email they had received.
            left = Touchpoint.objects.get(
                contact=contact, kind__in=["unsubscribed", "email_complained"], occurred_at=contact.consent_at
            )
            self.assertTrue(
                Touchpoint.objects.filter(
                    contact=contact, kind="email_sent", campaign=left.campaign_id, occurred_at__lte=left.occurred_at
                ).exists()
            )
            self.assertFalse(
                Touchpoint.objects.filter(
                    contact=contact, kind="email_sent", occurred_at__gt=contact.consent_at
                ).exists()
            )
        self.assertFalse(
            Contact.objects.filter(Q(first_source="") | Q(first_touch_at=None) | Q(last_touch_at=None)).exists()
        )
        paid = Contact.objects.filter(first_source="paid").first()
        self.assertIsNotNone(paid)
        self.assertTrue(Campaign.objects.filter(utm_campaign=paid.first_utm_campaign, channel="paid").exists())

    def test_indexes_and_foreign_keys_are_restored(self):
        self.assertEqual(schema_snapshot(), self.schema_before)
        loader = make_loader(print)
        self.assertIsInstance(loader, PostgresLoader if connection.vendor == "postgresql" else SqliteLoader)


class SeedRunTests(TestCase):
    def run_seed(self, seed_value: int, contacts: int = 120) -> str:
        """Seed into this test's database, take the digest, and roll everything back."""
        with transaction.atomic():
            seed(contacts=contacts, seed=seed_value, end=END, **QUIET)
            value = digest()
            transaction.set_rollback(True)
        return value

    def test_same_seed_same_data_other_seed_other_data(self):
        first = self.run_seed(3)
        self.assertFalse(Contact.objects.exists())
        self.assertEqual(self.run_seed(3), first)
        self.assertNotEqual(self.run_seed(4), first)

    def test_seeding_twice_adds_without_duplicates(self):
        seed(contacts=100, seed=5, end=END, demo_users=True, **QUIET)
        campaigns = Campaign.objects.count()
        seed(contacts=100, seed=5, end=END, demo_users=True, **QUIET)
        self.assertEqual(Contact.objects.count(), 200)
        self.assertEqual(Contact.objects.values("email").distinct().count(), 200)
        self.assertEqual(Company.objects.values("domain").distinct().count(), Company.objects.count())
        self.assertEqual(Campaign.objects.count(), campaigns)  # the same calendar is reused
        self.assertEqual(User.objects.filter(email__endswith="@demo.smarketing.local").count(), 8)
        # New rows got new ids and the sequences moved past them: the ORM can insert again.
        contact = Contact.objects.create(email="after-seed@example.com")
        self.assertGreater(contact.pk, Contact.objects.exclude(pk=contact.pk).order_by("-pk").first().pk)
        Touchpoint.objects.create(kind="page_viewed", team="marketing", summary="x", contact=contact)

    def test_one_long_timeline_from_ten_thousand_contacts(self):
        # Sizes this large switch on the heavy contact the benchmark's record page needs.
        with transaction.atomic():
            seed(contacts=10_000, seed=1, end=END, touches_per_contact=1, **QUIET)
            heavy = Contact.objects.order_by("-engagement_score", "id").first()
            self.assertGreaterEqual(Touchpoint.objects.filter(contact=heavy).count(), 5000)
            transaction.set_rollback(True)

    def test_command_validates_and_reports_progress(self):
        with self.assertRaises(CommandError):
            call_command("seed", contacts=0)
        with self.assertRaises(CommandError):
            call_command("seed", contacts=10, touches_per_contact=-1)
        out = StringIO()
        call_command("seed", contacts=40, seed=9, stdout=out)
        self.assertIn("touchpoints/s", out.getvalue())
        self.assertEqual(Contact.objects.count(), 40)

    def test_seed_creates_no_accounts_unless_asked_and_says_what_it_created(self):
        out = StringIO()
        call_command("seed", contacts=40, seed=9, stdout=out)
        self.assertFalse(User.objects.exists())
        text = out.getvalue()
        self.assertIn("Created no user accounts.", text)
        self.assertIn(f"{Contact.objects.count():,} contacts", text)
        self.assertIn(f"{Touchpoint.objects.count():,} touchpoints", text)
        self.assertIn(f"{Deal.objects.count():,} deals", text)
        self.assertFalse(Contact.objects.exclude(owner=None).exists())  # nobody to own them

        out = StringIO()
        call_command("seed", contacts=10, seed=9, demo_users=True, stdout=out)
        self.assertEqual(User.objects.filter(email__endswith="@demo.smarketing.local", is_active=True).count(), 8)
        self.assertIn("Created 8 demo user accounts", out.getvalue())
        out = StringIO()
        call_command("seed", contacts=10, seed=9, demo_users=True, stdout=out)
        self.assertIn("Created no user accounts: the demo users exist already.", out.getvalue())

    def test_seed_without_demo_users_gives_records_to_the_assignable_users(self):
        rep = User.objects.create_user("rep@example.com", "pw-rep-123456", role=Role.MEMBER)
        User.objects.create_user("viewer@example.com", "pw-view-123456", role=Role.READ_ONLY)
        User.objects.create_user("gone@example.com", "pw-gone-123456", role=Role.MEMBER, is_active=False)
        seed(contacts=60, seed=2, end=END, **QUIET)
        self.assertEqual(User.objects.count(), 3)
        owners = set(Contact.objects.exclude(owner=None).values_list("owner_id", flat=True))
        self.assertEqual(owners, {rep.pk})

    def test_demo_command_creates_and_prints_the_demo_logins(self):
        out = StringIO()
        call_command("demo", contacts=30, no_serve=True, stdout=out)
        text = out.getvalue()
        self.assertIn(f"password for all: {DEMO_PASSWORD}", text)
        users = User.objects.filter(email__endswith="@demo.smarketing.local")
        self.assertEqual(users.count(), 8)
        for user in users:
            self.assertIn(user.email, text)
        self.assertEqual(Contact.objects.count(), 30)
        # The seeded records belong to the demo's people.
        self.assertTrue(Contact.objects.filter(owner__in=users).exists())

    def test_demo_users_are_idempotent_and_cover_the_personas(self):
        users = ensure_demo_users()
        again = ensure_demo_users()
        self.assertEqual([u.pk for u in users], [u.pk for u in again])
        by_email = {u.email: u for u in users}
        self.assertEqual(by_email["maya@demo.smarketing.local"].team.kind, TeamKind.MARKETING)
        self.assertEqual(by_email["maya@demo.smarketing.local"].role, Role.MANAGER)
        self.assertEqual(by_email["sam@demo.smarketing.local"].team.kind, TeamKind.SALES)
        self.assertEqual(by_email["riley@demo.smarketing.local"].role, Role.MANAGER)
        self.assertEqual(by_email["alex@demo.smarketing.local"].role, Role.ADMIN)
        self.assertIn(Role.READ_ONLY, {u.role for u in users})
        self.assertTrue(all(u.check_password(DEMO_PASSWORD) for u in users))
        self.assertTrue(self.client.login(email="sam@demo.smarketing.local", password=DEMO_PASSWORD))

    def test_default_stages_are_required(self):
        Stage.objects.filter(outcome="lost").update(outcome="open")
        with self.assertRaisesMessage(ValueError, "needs open, won and lost stages"):
            seed(contacts=10, end=END, **QUIET)
