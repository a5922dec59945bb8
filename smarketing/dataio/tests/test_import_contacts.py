"""Importing contacts: service semantics, upsert and dedup, association, permissions, totals, crash and resume."""

from unittest import mock

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smarketing.core.models import AuditEntry, Event, Origin
from smarketing.crm import kinds as Kind
from smarketing.crm import services as crm_services
from smarketing.crm.models import Company, Contact, LifecycleChange, PropertyDefinition
from smarketing.crm.normalize import contact_search_keys
from smarketing.crm.serialize import record_dict
from smarketing.dataio.importer import runner
from smarketing.dataio.models import Import, RejectedRow
from smarketing.dataio.tests.helpers import TempMediaMixin, run_csv, totals
from smarketing.testing import make_cast, make_company, make_contact
from smarketing.timeline.models import Touchpoint

HUBSPOT = (
    "Record ID,First Name,Last Name,Email,Phone Number,Contact owner,Lifecycle Stage,Create Date,"
    "Associated Company,Job Title,City\n"
    "101,Jane,Doe, Jane.Doe@ACME.com ,+1 555 0100,carol@example.com,marketingqualifiedlead,1709287200000,"
    "Acme Inc,CEO,Paris\n"
    "102,John,Roe,john@gmail.com,,Carol Manager,Lead,2024-03-02 09:30,,CTO,\n"
)


class ContactImportTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice, cls.bob, cls.carol = cls.cast["alice"], cls.cast["bob"], cls.cast["carol"]

    def test_creates_contacts_like_the_services_do(self):
        imp = run_csv(HUBSPOT, self.alice)
        self.assertEqual((imp.status, imp.total_rows), (Import.Status.DONE, 2))
        self.assertEqual(totals(imp), (2, 0, 0, 0))
        jane = Contact.objects.get(email="jane.doe@acme.com")
        self.assertEqual(
            (jane.first_name, jane.last_name, jane.title, jane.phone), ("Jane", "Doe", "CEO", "+1 555 0100")
        )
        self.assertEqual((jane.lifecycle_stage, jane.owner, jane.external_id), ("mql", self.carol, "101"))
        self.assertEqual(jane.created_at.isoformat(), "2024-03-01T10:00:00+00:00")
        self.assertEqual(jane.company.name, "Acme Inc")
        self.assertEqual(jane.company.domain, "acme.com")  # taken from the email when the row names a company
        self.assertEqual(Contact.objects.get(email="john@gmail.com").owner, self.carol)  # owner by full name
        # name_key / last_key exactly as crm.services keeps them
        probe = Contact(first_name="Jane", last_name="Doe", email="jane.doe@acme.com")
        crm_services.set_search_keys(probe)
        self.assertEqual((jane.name_key, jane.last_key), (probe.name_key, probe.last_key))
        # history, timeline, outbox
        change = LifecycleChange.objects.get(contact=jane)
        self.assertEqual(
            (change.from_stage, change.to_stage, change.origin, change.actor), ("", "mql", "import", self.alice)
        )
        self.assertEqual(change.changed_at, jane.created_at)
        touch = Touchpoint.objects.get(contact=jane)
        self.assertEqual(
            (touch.kind, touch.company, touch.occurred_at, touch.actor),
            (Kind.CONTACT_CREATED, jane.company, jane.created_at, self.alice),
        )
        self.assertEqual(touch.details, {"origin": Origin.IMPORT, "import_id": imp.pk})
        event = Event.objects.get(name="contact.created", object_id=str(jane.pk))
        self.assertEqual(event.payload, record_dict(jane))
        self.assertTrue(Event.objects.filter(name="company.created", object_id=str(jane.company_id)).exists())
        # one audit entry when it starts and one with the totals, not one per record
        self.assertEqual(
            list(
                AuditEntry.objects.filter(object_type="dataio.import").values_list("action", flat=True).order_by("id")
            ),
            ["import", "import_done"],
        )
        self.assertFalse(AuditEntry.objects.filter(object_type="crm.contact").exists())

    def test_key_helper_matches_services(self):
        for first, last, email in [("", "", "x@y.com"), ("Ann", "", "a@b.c"), ("  Émile ", "ZOLA", "e@z.fr")]:
            probe = Contact(first_name=first, last_name=last, email=email)
            crm_services.set_search_keys(probe)
            self.assertEqual(contact_search_keys(first, last, email), (probe.name_key, probe.last_key))

    def test_reimporting_the_same_file_changes_nothing(self):
        run_csv(HUBSPOT, self.alice)
        counts = (
            Contact.objects.count(),
            Company.objects.count(),
            Touchpoint.objects.count(),
            LifecycleChange.objects.count(),
            Event.objects.count(),
        )
        versions = list(Contact.objects.order_by("id").values_list("version", flat=True))
        again = run_csv(HUBSPOT, self.alice)
        self.assertEqual(totals(again), (0, 0, 2, 0))
        self.assertEqual(
            counts,
            (
                Contact.objects.count(),
                Company.objects.count(),
                Touchpoint.objects.count(),
                LifecycleChange.objects.count(),
                Event.objects.count(),
            ),
        )
        self.assertEqual(versions, list(Contact.objects.order_by("id").values_list("version", flat=True)))

    def test_update_writes_changed_fields_and_keeps_values_of_empty_cells(self):
        contact = make_contact(None, email="ann@example.com", first_name="Ann", title="Intern", phone="123")
        imp = run_csv("Email,Job Title,Phone\nANN@example.com,CTO,\n", self.alice)
        self.assertEqual(totals(imp), (0, 1, 0, 0))
        contact.refresh_from_db()
        self.assertEqual((contact.title, contact.phone, contact.version), ("CTO", "123", 2))
        event = Event.objects.get(name="contact.updated", object_id=str(contact.pk))
        self.assertEqual(event.payload["changed"], ["title"])
        self.assertEqual(event.payload["title"], "CTO")

    def test_external_id_matches_first_and_may_change_the_email(self):
        contact = make_contact(None, email="old@example.com", external_id="sf-1")
        imp = run_csv("Contact ID,Email\nsf-1,new@example.com\n", self.alice)
        self.assertEqual(totals(imp), (0, 1, 0, 0))
        contact.refresh_from_db()
        self.assertEqual(contact.email, "new@example.com")

    def test_external_id_and_email_of_two_different_contacts_is_rejected(self):
        make_contact(None, email="a@example.com", external_id="1")
        make_contact(None, email="b@example.com")
        imp = run_csv("Record ID,Email,Job Title\n1,b@example.com,Boss\n", self.alice)
        self.assertEqual(totals(imp), (0, 0, 0, 1))
        self.assertIn("belongs to a@example.com", RejectedRow.objects.get().reason)

    def test_the_same_person_twice_in_a_file_is_reported_as_a_duplicate(self):
        imp = run_csv("Email,Job Title\nx@example.com,A\nX@example.com,A\nx@example.com,B\n", self.alice)
        self.assertEqual(totals(imp), (1, 0, 0, 2))
        # The first row wins; the later ones overwrite nothing and say which row they repeat.
        self.assertEqual(Contact.objects.get(email="x@example.com").title, "A")
        self.assertEqual(LifecycleChange.objects.count(), 1)
        reasons = dict(RejectedRow.objects.values_list("row_number", "reason"))
        self.assertEqual(sorted(reasons), [3, 4])
        self.assertTrue(reasons[4].startswith("Duplicate of row 2: both rows have the email x@example.com."))

    def test_companies_by_column_domain_and_email_domain(self):
        existing = make_company(None, name="Globex", domain="globex.com")
        csv_text = (
            "Email,Company,Company Domain Name\n"
            "a@initech.com,Initech,\n"  # created (name + email domain)
            "b@initech.com,initech,\n"  # same company, case-insensitive name
            "c@other.org,,https://www.Umbrella.com/about\n"  # created from the domain column
            "d@globex.com,,\n"  # no company columns: the email domain's existing company
            "e@gmail.com,,\n"  # free mail: no company
            "f@unknown.io,,\n"  # no such company, none named: not created
        )
        imp = run_csv(csv_text, self.alice)
        self.assertEqual(totals(imp), (6, 0, 0, 0))
        self.assertEqual(imp.companies_created, 2)
        by_email = {c.email: c.company for c in Contact.objects.select_related("company")}
        self.assertEqual(by_email["a@initech.com"], by_email["b@initech.com"])
        self.assertEqual(by_email["a@initech.com"].domain, "initech.com")
        self.assertEqual(by_email["c@other.org"].domain, "umbrella.com")
        self.assertEqual(by_email["d@globex.com"], existing)
        self.assertIsNone(by_email["e@gmail.com"])
        self.assertIsNone(by_email["f@unknown.io"])
        self.assertEqual(Company.objects.filter(name_key="initech").count(), 1)

    def test_lifecycle_moves_forward_with_history_and_never_back(self):
        lead = make_contact(None, email="lead@example.com", lifecycle_stage="lead")
        customer = make_contact(None, email="cust@example.com", lifecycle_stage="customer")
        imp = run_csv("Email,Lifecycle Stage\nlead@example.com,SQL\ncust@example.com,Lead\n", self.alice)
        self.assertEqual(totals(imp), (0, 1, 0, 1))
        lead.refresh_from_db()
        self.assertEqual(lead.lifecycle_stage, "sql")
        change = LifecycleChange.objects.filter(contact=lead).latest("id")
        self.assertEqual((change.from_stage, change.to_stage, change.origin), ("lead", "sql", "import"))
        touch = Touchpoint.objects.get(contact=lead, kind=Kind.LIFECYCLE_CHANGED)
        self.assertIn("Lead → Sales-qualified lead", touch.summary)
        self.assertTrue(Event.objects.filter(name="contact.lifecycle_changed", object_id=str(lead.pk)).exists())
        customer.refresh_from_db()
        self.assertEqual(customer.lifecycle_stage, "customer")
        self.assertIn("would move back from Customer to Lead", RejectedRow.objects.get().reason)

    def test_owner_change_is_on_the_timeline_and_unknown_owners_leave_the_row_unassigned(self):
        contact = make_contact(None, email="o@example.com")
        imp = run_csv("Email,Owner\no@example.com,bob@example.com\nn@example.com,nobody@example.com\n", self.alice)
        self.assertEqual((*totals(imp), imp.warned), (1, 1, 0, 0, 1))
        self.assertTrue(Touchpoint.objects.filter(contact=contact, kind=Kind.OWNER_CHANGED).exists())
        self.assertIsNone(Contact.objects.get(email="n@example.com").owner)
        warned = imp.reported_rows.get(row_number=3)
        self.assertEqual(warned.outcome, "created")
        self.assertIn("no active user has the email or name “nobody@example.com”", warned.warnings[0])

    def test_custom_properties_are_validated(self):
        PropertyDefinition.objects.create(object_type="contact", key="seats", label="Seats", type="number")
        PropertyDefinition.objects.create(
            object_type="contact", key="plan", label="Plan", type="choice", choices=["Free", "Pro"]
        )
        PropertyDefinition.objects.create(object_type="contact", key="renewal", label="Renewal", type="date")
        PropertyDefinition.objects.create(object_type="contact", key="vip", label="VIP", type="boolean")
        csv_text = (
            "Email,Seats,Plan,Renewal,VIP\n"
            'a@example.com,"1,200",Pro,03/01/2025,yes\n'
            "b@example.com,many,Pro,,\n"
            "c@example.com,3,Enterprise,,\n"
        )
        imp = run_csv(csv_text, self.alice)
        self.assertEqual(totals(imp), (1, 0, 0, 2))
        self.assertEqual(
            Contact.objects.get(email="a@example.com").custom,
            {"seats": 1200, "plan": "Pro", "renewal": "2025-03-01", "vip": True},
        )
        reasons = list(RejectedRow.objects.order_by("row_number").values_list("reason", flat=True))
        self.assertIn("Seats: 'many' is not a number.", reasons[0])
        self.assertIn("'Enterprise' is not one of Free, Pro", reasons[1])

    def test_a_member_updates_only_own_or_unowned_contacts(self):
        theirs = make_contact(None, email="theirs@example.com", owner=self.carol)
        free = make_contact(None, email="free@example.com")
        imp = run_csv("Email,Job Title\ntheirs@example.com,X\nfree@example.com,Y\nnew@example.com,Z\n", self.bob)
        self.assertEqual(totals(imp), (1, 1, 0, 1))
        theirs.refresh_from_db()
        free.refresh_from_db()
        self.assertEqual((theirs.title, free.title), ("", "Y"))
        self.assertIn("belongs to another owner", RejectedRow.objects.get().reason)

    def test_numeric_dates_day_first_detected_from_the_column(self):
        imp = run_csv("Email,Create Date\na@example.com,03/01/2024\nb@example.com,25/01/2024\n", self.alice)
        self.assertEqual(imp.resolved_date_order, "dmy")
        self.assertEqual(Contact.objects.get(email="a@example.com").created_at.date().isoformat(), "2024-01-03")

    def test_ambiguous_numeric_dates_default_to_month_first_with_a_warning(self):
        imp = run_csv("Email,Create Date\na@example.com,03/01/2024\n", self.alice)
        self.assertEqual(imp.resolved_date_order, "mdy")
        self.assertIn("could be read either way", imp.warnings[-1])
        chosen = run_csv("Email,Create Date\nb@example.com,03/01/2024\n", self.alice, date_order="dmy")
        self.assertEqual(chosen.warnings, [])
        self.assertEqual(Contact.objects.get(email="b@example.com").created_at.date().isoformat(), "2024-01-03")

    def test_events_can_be_turned_off(self):
        run_csv(HUBSPOT, self.alice, send_events=False)
        self.assertFalse(Event.objects.exists())
        self.assertEqual(Touchpoint.objects.filter(kind=Kind.CONTACT_CREATED).count(), 2)

    def test_a_messy_file_accounts_for_every_row(self):
        big = "z" * (10 * 1024 * 1024)
        csv_text = (
            "Email,First Name,Last Name,Lifecycle Stage,Create Date,Contact owner\n"
            "ok@example.com,Ok,One,lead,2024-01-01,\n"  # 2 created
            "not an email,Bad,Email,,,\n"  # 3 rejected
            ",No,Email,,,\n"  # 4 rejected
            "ragged@example.com,R,R,lead,2024-01-01,,EXTRA\n"  # 5 rejected
            "short@example.com,Short\n"  # 6 created (padded)
            "nul@example.com,N\x00L,x,,,\n"  # 7 rejected
            "\n"  # 8 rejected: empty row
            "date@example.com,D,D,,31/31/2024,\n"  # 9 rejected
            "stage@example.com,S,S,hot,,\n"  # 10 rejected
            "OK@example.com,Ok,One,lead,2024-01-01,\n"  # 11 rejected: a duplicate of row 2
            f"big@example.com,{big},x,,,\n"  # 12 rejected: field too large
            "owner@example.com,O,O,,,ghost@example.com\n"  # 13 created without an owner, with a warning
            "\"=cmd|' /C calc'!A0\",<b>x</b>,y,,,\n"  # 14 rejected: not an email
            "html@example.com,<script>alert(1)</script>,=1+1,,,\n"  # 15 created, stored as text
        )
        imp = run_csv(csv_text, self.alice)
        self.assertEqual(imp.total_rows, 14)
        self.assertEqual(totals(imp), (4, 0, 0, 10))
        self.assertEqual(imp.warned, 1)
        self.assertEqual(imp.created + imp.updated + imp.unchanged + imp.rejected, imp.total_rows)
        self.assertEqual(imp.padded, 1)
        rejected = dict(RejectedRow.objects.values_list("row_number", "reason"))
        self.assertEqual(sorted(rejected), [3, 4, 5, 7, 8, 9, 10, 11, 12, 14])
        self.assertIn("not a valid email", rejected[3])
        self.assertIn("required to create a contact", rejected[4])
        self.assertIn("7 cells but the header has 6", rejected[5])
        self.assertIn("NUL", rejected[7])
        self.assertEqual(rejected[8], "Empty row.")
        self.assertIn("Create date", rejected[9])
        self.assertIn("not a lifecycle stage", rejected[10])
        self.assertIn("Field too large", rejected[12])
        self.assertIn("Duplicate of row 2", rejected[11])
        self.assertIn("ghost@example.com", imp.reported_rows.get(row_number=13).warnings[0])
        html = Contact.objects.get(email="html@example.com")
        self.assertEqual((html.first_name, html.last_name), ("<script>alert(1)</script>", "=1+1"))
        self.assertEqual(len(RejectedRow.objects.get(row_number=12).cells[1]), 1000)  # stored cells are shortened

    def test_chunk_query_count_does_not_grow_with_rows(self):
        def queries(rows: int) -> int:
            lines = "".join(f"p{i}@co{rows}-{i % 3}.example,Co {rows}-{i % 3},lead\n" for i in range(rows))
            with CaptureQueriesContext(connection) as ctx:
                run_csv("Email,Company,Lifecycle Stage\n" + lines, self.alice)
            return len(ctx.captured_queries)

        self.assertEqual(queries(5), queries(60))


class CrashResumeTests(TempMediaMixin, TestCase):
    ROWS = 23

    @classmethod
    def setUpTestData(cls):
        cls.alice = make_cast()["alice"]

    def csv_text(self) -> str:
        lines = [f"c{i}@example.com,Person {i},{'lead' if i % 2 else 'bogus'}" for i in range(self.ROWS)]
        return "Email,Full Name,Lifecycle Stage\n" + "\n".join(lines) + "\n"

    def crash_on_third_chunk(self):
        original = runner.write_chunk
        calls = {"n": 0}

        def failing(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("power cut")
            return original(*args, **kwargs)

        return mock.patch.object(runner, "write_chunk", failing)

    def test_a_crash_keeps_finished_chunks_and_resume_finishes_without_duplicates(self):
        from smarketing.dataio import services
        from smarketing.dataio.tests.helpers import prepare

        with mock.patch.object(runner, "CHUNK_SIZE", 5):
            imp = prepare(self.csv_text().encode(), self.alice)
            services.set_mapping(imp, imp.mapping)
            runner.start(imp, self.alice)
            with self.crash_on_third_chunk(), self.assertRaises(RuntimeError):
                runner.run(imp.pk)
            imp.refresh_from_db()
            self.assertEqual((imp.status, imp.next_row), (Import.Status.FAILED, 10))
            self.assertIn("power cut", imp.error)
            self.assertEqual(imp.processed, 10)
            self.assertEqual(Contact.objects.count(), imp.created)
            self.assertTrue(runner.resumable(imp))
            Import.objects.filter(pk=imp.pk).update(status=Import.Status.QUEUED)
            imp = runner.run(imp.pk)
        self.assertEqual(imp.status, Import.Status.DONE)
        self.assertEqual(imp.total_rows, self.ROWS)
        self.assertEqual(totals(imp), (11, 0, 0, 12))  # odd rows are valid, even rows have a bogus stage
        self.assertEqual(Contact.objects.count(), 11)
        self.assertEqual(RejectedRow.objects.filter(import_run=imp).count(), 12)
        self.assertEqual(LifecycleChange.objects.count(), 11)
        self.assertEqual(Touchpoint.objects.count(), 11)

    def test_an_import_whose_process_died_is_taken_over_at_once_and_a_living_one_never(self):
        from smarketing.dataio import services
        from smarketing.dataio.importer import liveness
        from smarketing.dataio.tests.helpers import prepare

        with mock.patch.object(runner, "CHUNK_SIZE", 5):
            imp = prepare(self.csv_text().encode(), self.alice)
            services.set_mapping(imp, imp.mapping)
            runner.start(imp, self.alice)
            with self.crash_on_third_chunk(), self.assertRaises(RuntimeError):
                runner.run(imp.pk)
            # As if the process had been killed: still "running" with a fresh heartbeat.
            Import.objects.filter(pk=imp.pk).update(status=Import.Status.RUNNING, heartbeat_at=timezone.now())
            # While a living process holds the import's run lock, nobody else runs it, whatever the heartbeat...
            held = liveness.RunLock.acquire(imp.pk)
            try:
                self.assertEqual(runner.interrupted([imp]), set())
                self.assertFalse(runner.resumable(Import.objects.get(pk=imp.pk)))
                self.assertEqual(runner.run(imp.pk).next_row, 10)
            finally:
                held.release()
            # ...and once that process is gone (its lock with it), the import is taken over straight away.
            imp.refresh_from_db()
            self.assertEqual(runner.interrupted([imp]), {imp.pk})
            self.assertTrue(runner.resumable(imp))
            imp = runner.run(imp.pk)
        self.assertEqual((imp.status, imp.processed), (Import.Status.DONE, self.ROWS))
        self.assertEqual(Contact.objects.count(), 11)

    def test_rerunning_the_file_as_a_new_import_after_a_crash_creates_no_duplicates(self):
        with mock.patch.object(runner, "CHUNK_SIZE", 5):
            with self.crash_on_third_chunk(), self.assertRaises(RuntimeError):
                run_csv(self.csv_text(), self.alice)
            second = run_csv(self.csv_text(), self.alice)
        self.assertEqual(second.processed, self.ROWS)
        self.assertEqual((second.unchanged, second.created, second.rejected), (5, 6, 12))
        self.assertEqual(Contact.objects.count(), 11)
