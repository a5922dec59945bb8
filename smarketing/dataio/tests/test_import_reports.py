"""What an import says it did: the command on a fresh install, warnings, sources, changed fields, duplicates,
interrupted imports (Resume, Discard) and the clean-up of abandoned uploads."""

import io
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

from django.core.management import CommandError, call_command
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from smarketing.core.models import AuditEntry, Origin
from smarketing.crm.models import Company, Contact, Deal, LifecycleChange
from smarketing.crm.sources import ALIASES, LABELS, SOURCES, normalize_source, source_label
from smarketing.dataio import services, tasks
from smarketing.dataio.importer import liveness, runner
from smarketing.dataio.models import Import, RejectedRow
from smarketing.dataio.tests.helpers import TempMediaMixin, prepare, run_csv, totals
from smarketing.testing import make_cast, make_contact, make_deal

# A HubSpot contacts export: its "Original Source" labels, a Pipedrive-style owner nobody has, and a source
# HubSpot users invent.
HUBSPOT = (
    "Record ID,First Name,Last Name,Email,Contact owner,Original Source,Lifecycle Stage\n"
    "101,Paula,Search,paula@example.com,,Paid Search,Lead\n"
    "102,Olga,Search,olga@example.com,,Organic Search,Lead\n"
    "103,Sean,Social,sean@example.com,Sales Rep,Paid Social,Lead\n"
    "104,Ezra,Mail,ezra@example.com,,Email Marketing,Lead\n"
    "105,Rita,Ref,rita@example.com,,Referrals,Lead\n"
    "106,Dana,Direct,dana@example.com,,Direct Traffic,Lead\n"
    "107,Otto,Offline,otto@example.com,,Offline Sources,Lead\n"
    "108,Sofia,Social,sofia@example.com,,Social Media,Lead\n"
    "109,Cleo,Campaign,cleo@example.com,,Other Campaigns,Lead\n"
    "110,Gus,Guess,gus@example.com,,Podcast ad (spring),Lead\n"
)


def write_file(test, text: str, name: str = "contacts.csv") -> Path:
    directory = Path(tempfile.mkdtemp(prefix="smk-report-"))
    test.addCleanup(shutil.rmtree, directory, ignore_errors=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


class FreshInstallTests(TempMediaMixin, TestCase):
    """`pip install .`, `smarketing migrate`, no users yet: the import works and is the system's."""

    def test_the_command_imports_without_any_user_as_the_system(self):
        path = write_file(self, HUBSPOT)
        out = io.StringIO()
        call_command("import", "contacts", str(path), stdout=out)
        text = out.getvalue()
        imp = Import.objects.get()
        self.assertIn(
            f"Import #{imp.pk} started. If it is interrupted, continue it with: "
            f"smarketing import contacts --resume {imp.pk}",
            text,
        )
        # The id comes first, before any progress, so a crash mid-way leaves the way back on the screen.
        self.assertLess(text.index(f"Import #{imp.pk} started"), text.index("10 rows: 10 created"))
        self.assertIn("10 rows: 10 created, 0 updated, 0 unchanged, 0 rejected; 1 imported with a warning", text)
        self.assertIn("row 4 (created): Owner: no active user has the email or name “Sales Rep”", text)
        self.assertIn("“Podcast ad (spring)” (1 row)", text)
        self.assertEqual((imp.status, imp.created_by), (Import.Status.DONE, None))
        self.assertEqual(Contact.objects.count(), 10)
        self.assertIsNone(Contact.objects.get(email="sean@example.com").owner)
        change = LifecycleChange.objects.filter(contact__email="paula@example.com").get()
        self.assertEqual((change.actor, change.origin), (None, Origin.IMPORT))
        audit = AuditEntry.objects.filter(action__in=["import", "import_done"]).order_by("id")
        self.assertEqual([(a.action, a.actor, a.origin) for a in audit], [
            ("import", None, Origin.IMPORT), ("import_done", None, Origin.IMPORT),
        ])  # fmt: skip

    def test_resume_straight_after_a_crash_takes_over_at_once(self):
        imp = self._crashed_import()
        out = io.StringIO()
        started = time.monotonic()
        call_command("import", "contacts", "--resume", str(imp.pk), stdout=out)
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn(f"Resuming import #{imp.pk} after row 6", out.getvalue())
        imp.refresh_from_db()
        self.assertEqual((imp.status, imp.created), (Import.Status.DONE, 10))
        self.assertEqual(Contact.objects.count(), 10)

    def test_resume_refuses_while_a_living_process_runs_the_import_and_says_which(self):
        imp = self._crashed_import()
        Import.objects.filter(pk=imp.pk).update(runner="worker-7 4242")
        held = liveness.RunLock.acquire(imp.pk)
        self.addCleanup(held.release)
        with (
            mock.patch.object(runner.liveness.RunLock, "acquire", wraps=liveness.RunLock.acquire) as acquire,
            self.assertRaisesMessage(CommandError, "is being run right now by another process (worker-7 4242"),
        ):
            call_command("import", "contacts", "--resume", str(imp.pk), stdout=io.StringIO())
        self.assertEqual(acquire.call_args.kwargs["wait"], 3)
        self.assertEqual(Import.objects.get(pk=imp.pk).next_row, 5)

    def _crashed_import(self) -> Import:
        """An import that committed 5 of 10 rows and then lost its process (status still "running")."""
        with mock.patch.object(runner, "CHUNK_SIZE", 5):
            imp = prepare(HUBSPOT.encode(), _system(), "contact")
            services.set_mapping(imp, imp.mapping)
            runner.start(imp, _system())
            original = runner.write_chunk
            calls = {"n": 0}

            def dying(*args, **kwargs):
                calls["n"] += 1
                if calls["n"] == 2:
                    raise KeyboardInterrupt  # the process goes away mid-chunk: nothing marks it stopped
                return original(*args, **kwargs)

            with mock.patch.object(runner, "write_chunk", dying), self.assertRaises(KeyboardInterrupt):
                runner.run(imp.pk)
        imp.refresh_from_db()
        self.assertEqual((imp.status, imp.next_row), (Import.Status.RUNNING, 5))
        return imp


def _system():
    from smarketing.accounts.access import system_actor

    return system_actor(Origin.IMPORT)


class SourceMappingTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_hubspot_sources_land_in_the_contact_lists_source_filter(self):
        imp = run_csv(HUBSPOT, self.cast["mia"])
        self.assertEqual(totals(imp), (10, 0, 0, 0))
        self.assertEqual(imp.unknown_sources, {"Podcast ad (spring)": 1})
        self.client.force_login(self.cast["mia"])
        expected = {
            "paid": ["paula@example.com", "sean@example.com"],
            "organic": ["olga@example.com"],
            "email": ["ezra@example.com"],
            "referral": ["rita@example.com"],
            "direct": ["dana@example.com"],
            "offline": ["otto@example.com"],
            "social": ["sofia@example.com"],
            "other": ["cleo@example.com"],
            "Podcast ad (spring)": ["gus@example.com"],  # kept as it was, and filterable by it
        }
        for source, emails in expected.items():
            with self.subTest(source=source):
                response = self.client.get(reverse("contact_list"), {"source": source})
                self.assertEqual(response.status_code, 200)
                shown = sorted(c.email for c in response.context["page"].rows)
                self.assertEqual(shown, sorted(emails))
        # The filter offers the product's sources by their labels.
        response = self.client.get(reverse("contact_list"))
        self.assertContains(response, "Purchased list")

    def test_the_result_page_reports_unknown_sources(self):
        imp = run_csv(HUBSPOT, self.cast["mia"])
        self.client.force_login(self.cast["mia"])
        response = self.client.get(reverse("dataio:import_detail", args=[imp.pk]))
        self.assertContains(response, "Sources Smarketing does not know were kept as they are: “Podcast ad (spring)”")

    def test_the_mapping_table(self):
        cases = {
            # Salesforce lead sources
            "Web": "form", "Phone Inquiry": "phone", "Partner Referral": "partner", "Purchased List": "purchased_list",
            "Other": "other", "Advertisement": "paid", "Employee Referral": "referral", "External Referral": "referral",
            "Trade Show": "event", "Word of mouth": "referral", "Public Relations": "pr",
            "Seminar - Internal": "event", "Seminar - Partner": "event", "Partner": "partner",
            # Pipedrive
            "Leadbooster": "form", "Prospector": "outreach", "Web forms": "form", "Manually created": "offline",
            "Import": "offline", "Marketplace": "offline", "Messaging inbox": "chat", "Live chat": "chat",
            "Campaigns": "email",
            # HubSpot's internal values, spacing and case
            "PAID_SEARCH": "paid", "  organic   search ": "organic", "SOCIAL_MEDIA": "social",
            # the product's own values and labels
            "paid": "paid", "Paid ads": "paid", "Purchased list": "purchased_list",
        }  # fmt: skip
        for raw, value in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(normalize_source(raw), (value, True))
        self.assertEqual(normalize_source("  Podcast  ad "), ("Podcast ad", False))
        self.assertTrue(set(ALIASES.values()) <= set(LABELS))
        self.assertEqual(len(LABELS), len(SOURCES))
        self.assertEqual((source_label("pr"), source_label("Podcast ad")), ("Public relations", "Podcast ad"))

    def test_deal_sources_are_mapped_too(self):
        imp = run_csv("Deal Name,Amount,Source\nBig one,100,Trade Show\n", self.cast["alice"], "deal")
        self.assertEqual(totals(imp), (1, 0, 0, 0))
        self.assertEqual(Deal.objects.get().source, "event")


class ChangedFieldsTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_the_result_page_lists_updated_records_with_before_and_after(self):
        make_contact(None, email="ann@example.com", title="Analyst", lifecycle_stage="lead", owner=self.cast["bob"])
        make_contact(None, email="ben@example.com", title="CTO")
        csv_text = (
            "Email,Job Title,Lifecycle Stage,Contact owner,Original Source\n"
            "ann@example.com,Head of Data,Marketing Qualified Lead,mia@example.com,Paid Search\n"
            "ben@example.com,CTO,,,\n"  # unchanged: not listed
            "new@example.com,Intern,,,\n"  # created: not listed
        )
        imp = run_csv(csv_text, self.cast["alice"])
        self.assertEqual(totals(imp), (1, 1, 1, 0))
        self.client.force_login(self.cast["alice"])
        url = reverse("dataio:import_detail", args=[imp.pk])
        response = self.client.get(url)
        updates = response.context["updates"]
        self.assertEqual([(row.row_number, row.label) for row in updates], [(2, "ann@example.com")])
        changes = {c.label: (c.before, c.after) for c in updates[0].change_list}
        self.assertEqual(
            changes,
            {
                "Title": ("Analyst", "Head of Data"),
                "Lifecycle stage": ("Lead", "Marketing-qualified lead"),
                "Owner": ("Bob Seller", "Mia Marketer"),
                "Original source": ("(empty)", "Paid ads"),
            },
        )
        self.assertContains(response, "Updated records (1)")
        self.assertContains(response, '<span class="old">Analyst</span> → <span class="new">Head of Data</span>')

    def test_the_result_page_query_count_does_not_grow_with_updated_rows(self):
        self.client.force_login(self.cast["alice"])

        def page_queries(rows: int) -> int:
            emails = [f"q{rows}-{i}@example.com" for i in range(rows)]
            for email in emails:
                make_contact(None, email=email, title="Old", owner=self.cast["bob"])
            lines = "".join(f"{email},New,carol@example.com\n" for email in emails)
            imp = run_csv("Email,Job Title,Contact owner\n" + lines, self.cast["alice"])
            self.assertEqual(imp.updated, rows)
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as ctx:
                self.client.get(reverse("dataio:import_detail", args=[imp.pk]))
            return len(ctx.captured_queries)

        self.assertEqual(page_queries(2), page_queries(30))

    def test_a_deal_update_lists_its_stage_and_amount(self):
        make_deal(None, name="Renewal", amount="100", contacts=[make_contact(None)])
        imp = run_csv(
            "Deal Name,Amount,Deal Stage\nRenewal,250,Qualified to buy\n",
            self.cast["alice"],
            "deal",
        )
        self.assertEqual(totals(imp), (0, 1, 0, 0))
        row = imp.reported_rows.get()
        self.assertEqual(row.changes["amount"], ["100.00", "250.00"])
        self.assertEqual(row.changes["stage_id"], ["Appointment scheduled", "Qualified to buy"])


class DuplicateRowTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_a_duplicate_in_a_later_chunk_is_reported_with_the_first_row(self):
        lines = "".join(f"p{i}@example.com,Person {i}\n" for i in range(12))
        with mock.patch.object(runner, "CHUNK_SIZE", 5):
            imp = run_csv("Email,Full Name\n" + lines + "P3@example.com,Someone Else\n", self.cast["alice"])
        self.assertEqual(totals(imp), (12, 0, 0, 1))
        self.assertIn("Duplicate of row 5: both rows have the email p3@example.com", RejectedRow.objects.get().reason)
        self.assertEqual(Contact.objects.get(email="p3@example.com").first_name, "Person")

    def test_a_duplicate_of_a_row_before_the_resume_point_is_still_a_duplicate(self):
        lines = "".join(f"r{i}@example.com,Person {i}\n" for i in range(10))
        text = "Email,Full Name\n" + lines + "not-an-email,X\nR2@example.com,Later\n"
        original, calls = runner.write_chunk, {"n": 0}

        def crash_second_chunk(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("power cut")
            return original(*args, **kwargs)

        with mock.patch.object(runner, "CHUNK_SIZE", 5):
            imp = prepare(text.encode(), self.cast["alice"])
            services.set_mapping(imp, imp.mapping)
            runner.start(imp, self.cast["alice"])
            with mock.patch.object(runner, "write_chunk", crash_second_chunk), self.assertRaises(RuntimeError):
                runner.run(imp.pk)
            Import.objects.filter(pk=imp.pk).update(status=Import.Status.QUEUED)
            imp = runner.run(imp.pk)
        self.assertEqual(totals(imp), (10, 0, 0, 2))
        reasons = dict(imp.rejected_rows.values_list("row_number", "reason"))
        self.assertTrue(reasons[13].startswith("Duplicate of row 4: both rows have the email r2@example.com"))
        self.assertEqual(Contact.objects.get(email="r2@example.com").first_name, "Person")

    def test_duplicate_companies_and_deals(self):
        imp = run_csv("Name,Website\nAcme,acme.com\nAcme Inc,https://www.acme.com/\n", self.cast["alice"], "company")
        self.assertEqual(totals(imp), (1, 0, 0, 1))
        self.assertIn("Duplicate of row 2: both rows have the domain acme.com", RejectedRow.objects.get().reason)
        self.assertEqual(Company.objects.get().name, "Acme")
        deals = run_csv("Deal ID,Deal Name,Amount\nd-1,First,10\nd-1,Second,20\n", self.cast["alice"], "deal")
        self.assertEqual(totals(deals), (1, 0, 0, 1))
        self.assertIn("Duplicate of row 2: both rows have the External ID d-1", deals.rejected_rows.get().reason)
        self.assertEqual(Deal.objects.get().name, "First")


class InterruptedImportTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def interrupted(self, user) -> Import:
        imp = prepare(b"Email\na@example.com\nb@example.com\n", user)
        services.set_mapping(imp, imp.mapping)
        # What a killed process leaves behind: "running", half done, no process holding its lock.
        Import.objects.filter(pk=imp.pk).update(
            status=Import.Status.RUNNING, next_row=1, total_rows=2, heartbeat_at=timezone.now(), runner="web-1 99"
        )
        imp.refresh_from_db()
        return imp

    def test_the_import_list_offers_resume_and_discard_for_interrupted_imports(self):
        imp = self.interrupted(self.cast["mia"])
        self.client.force_login(self.cast["mia"])
        response = self.client.get(reverse("dataio:import_list"))
        self.assertEqual([i.pk for i in response.context["interrupted"]], [imp.pk])
        self.assertContains(response, "Imports that did not finish")
        self.assertContains(response, reverse("dataio:import_resume", args=[imp.pk]))
        self.assertContains(response, reverse("dataio:import_discard", args=[imp.pk]))
        detail = self.client.get(reverse("dataio:import_detail", args=[imp.pk]))
        self.assertContains(detail, "Import interrupted")
        self.assertContains(detail, "The process running this import (web-1 99) stopped without finishing it")
        self.assertContains(detail, f"smarketing import contacts --resume {imp.pk}")
        # Someone else's import is not listed to a member.
        self.client.force_login(self.cast["bob"])
        self.assertEqual(list(self.client.get(reverse("dataio:import_list")).context["interrupted"]), [])

    def test_a_running_import_with_a_living_process_is_not_interrupted(self):
        imp = self.interrupted(self.cast["mia"])
        held = liveness.RunLock.acquire(imp.pk)
        self.addCleanup(held.release)
        self.client.force_login(self.cast["mia"])
        self.assertEqual(list(self.client.get(reverse("dataio:import_list")).context["interrupted"]), [])
        response = self.client.post(reverse("dataio:import_discard", args=[imp.pk]), follow=True)
        self.assertContains(response, "This import is running right now")
        self.assertEqual(Import.objects.get(pk=imp.pk).status, Import.Status.RUNNING)

    def test_resume_from_the_list_queues_it_and_a_worker_finishes_it(self):
        imp = self.interrupted(self.cast["mia"])
        self.client.force_login(self.cast["mia"])
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("dataio:import_resume", args=[imp.pk]), follow=True)
        self.assertContains(response, "The import continues where it stopped.")
        self.assertEqual(Import.objects.get(pk=imp.pk).status, Import.Status.QUEUED)
        self.assertTrue(AuditEntry.objects.filter(action="import_resume", object_id=str(imp.pk)).exists())
        tasks.run_import.call(imp.pk)
        imp.refresh_from_db()
        self.assertEqual((imp.status, imp.next_row), (Import.Status.DONE, 2))
        self.assertEqual(list(Contact.objects.values_list("email", flat=True)), ["b@example.com"])

    def test_discard_deletes_the_file_and_keeps_the_rows(self):
        imp = self.interrupted(self.cast["mia"])
        path = runner.file_path(imp)
        self.assertTrue(path.exists())
        self.client.force_login(self.cast["mia"])
        response = self.client.post(reverse("dataio:import_discard", args=[imp.pk]), follow=True)
        self.assertContains(response, "the 1 rows it had already processed stay imported")
        imp.refresh_from_db()
        self.assertEqual((imp.status, imp.file_name), (Import.Status.DISCARDED, ""))
        self.assertFalse(path.exists())
        self.assertTrue(AuditEntry.objects.filter(action="import_discard", object_id=str(imp.pk)).exists())
        self.assertEqual(self.client.post(reverse("dataio:import_resume", args=[imp.pk])).status_code, 302)
        self.assertEqual(Import.objects.get(pk=imp.pk).status, Import.Status.DISCARDED)


class CleanUpTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_the_periodic_job_discards_abandoned_imports_and_orphaned_files(self):
        alice = self.cast["alice"]
        old = timezone.now() - services.ABANDONED_AFTER - timedelta(hours=1)
        never_mapped = prepare(b"Email\na@example.com\n", alice)
        interrupted = prepare(b"Email\nb@example.com\n", alice)
        recent = prepare(b"Email\nc@example.com\n", alice)
        Import.objects.filter(pk=never_mapped.pk).update(created_at=old)
        Import.objects.filter(pk=interrupted.pk).update(created_at=old, status=Import.Status.RUNNING, heartbeat_at=old)
        orphan = runner.upload_dir() / "0123456789abcdef0123456789abcdef.csv"
        orphan.write_bytes(b"Email\nx@example.com\n")
        day_old = time.time() - 2 * 86400
        os.utime(orphan, (day_old, day_old))
        fresh_orphan = runner.upload_dir() / "fedcba9876543210fedcba9876543210.csv"
        fresh_orphan.write_bytes(b"being uploaded right now")
        files = {imp.pk: runner.file_path(imp) for imp in (never_mapped, interrupted, recent)}

        from smarketing.jobs.periodic import discover

        self.assertIn("smarketing.dataio.tasks.clean_up_imports", discover())
        result = tasks.clean_up_imports.call()

        self.assertEqual(result, {"discarded": 2, "orphan_files": 1})
        statuses = dict(Import.objects.values_list("pk", "status"))
        self.assertEqual(statuses[never_mapped.pk], Import.Status.DISCARDED)
        self.assertEqual(statuses[interrupted.pk], Import.Status.DISCARDED)
        self.assertEqual(statuses[recent.pk], Import.Status.MAPPING)
        self.assertFalse(files[never_mapped.pk].exists() or files[interrupted.pk].exists())
        self.assertTrue(files[recent.pk].exists())
        self.assertFalse(orphan.exists())
        self.assertTrue(fresh_orphan.exists())
