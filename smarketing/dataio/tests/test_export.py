"""Exports: permission, filters, formula defusing in CSV and XLSX, bounded queries, large exports as jobs."""

import csv
import io
from unittest import mock
from urllib.parse import parse_qs

from django.test import Client, TestCase
from django.urls import reverse
from openpyxl import load_workbook

from smarketing.accounts.models import Role
from smarketing.core.models import AuditEntry
from smarketing.crm.models import Contact, PropertyDefinition
from smarketing.dataio import exporter, tasks
from smarketing.dataio.models import Export
from smarketing.dataio.tests.helpers import TempMediaMixin, run_csv, totals
from smarketing.testing import make_cast, make_company, make_contact, make_deal, make_user

HOSTILE = {
    "first_name": "=1+1",
    "last_name": '  =HYPERLINK("http://evil")',
    "title": "\t=cmd",
    "phone": "+1 555 0100",
}


def url(kind="contacts", fmt="csv"):
    return reverse("dataio:export", kwargs={"kind": kind, "fmt": fmt})


def download(client, kind="contacts", fmt="csv", query=""):
    """Ask for an export the way the pages do (a POST of the list's parameters), then follow to the download."""
    response = client.post(url(kind, fmt), parse_qs(query))
    assert response.status_code == 302, response.content[:300]
    export = Export.objects.latest("id")
    assert response["Location"] == reverse("dataio:export_download", args=[export.pk]), response["Location"]
    return client.get(response["Location"])


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


class ExportTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.acme = make_company(None, name="@Acme", domain="acme.com")
        PropertyDefinition.objects.create(object_type="contact", key="plan", label="Plan", type="text")
        cls.hostile = make_contact(
            None,
            email="h@acme.com",
            company=cls.acme,
            lifecycle_stage="mql",
            owner=cls.cast["bob"],
            custom={"plan": "-2+3"},
            **HOSTILE,
        )
        cls.plain = make_contact(None, email="plain@example.com", first_name="Plain", lifecycle_stage="lead")

    def setUp(self):
        super().setUp()
        self.client.force_login(self.cast["carol"])

    def test_only_managers_and_admins_export(self):
        for name, status in [("bob", 403), ("mia", 403), ("rory", 403), ("carol", 302), ("alice", 302)]:
            self.client.force_login(self.cast[name])
            with self.subTest(user=name):
                self.assertEqual(self.client.post(url()).status_code, status)
        self.assertEqual(Export.objects.count(), 2)
        self.client.logout()
        response = self.client.post(url())
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])

    def test_exporting_is_a_csrf_protected_post_that_redirects_to_the_download(self):
        self.assertEqual(self.client.get(url()).status_code, 405)
        self.assertFalse(Export.objects.exists())
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(self.cast["carol"])
        self.assertEqual(strict.post(url()).status_code, 403)
        self.assertFalse(Export.objects.exists())
        self.assertFalse(AuditEntry.objects.filter(action="export").exists())
        rows = read_csv(download(self.client, query="lifecycle=mql"))
        self.assertEqual([row[1] for row in rows[1:]], ["h@acme.com"])
        export = Export.objects.get()
        self.assertEqual(
            (export.status, export.filters, export.file_name), (Export.Status.DONE, {"lifecycle": "mql"}, "")
        )
        # The download is the requester's, and can be fetched again.
        again = self.client.get(reverse("dataio:export_download", args=[export.pk]))
        self.assertEqual(read_csv(again), rows)
        self.client.force_login(make_user("dan@example.com", role=Role.MANAGER))
        self.assertEqual(self.client.get(reverse("dataio:export_download", args=[export.pk])).status_code, 404)

    def test_a_selection_exports_the_ticked_rows_only(self):
        form = {"selection": "1", "ids": [str(self.plain.pk), "x", "-3"], "owner": str(self.cast["bob"].pk)}
        response = self.client.post(url(), form)
        rows = read_csv(self.client.get(response["Location"]))
        # The bulk bar's other fields (here the "assign owner" choice) are not filters.
        self.assertEqual([row[1] for row in rows[1:]], ["plain@example.com"])
        self.assertEqual(Export.objects.get().filters, {"ids": [self.plain.pk]})
        response = self.client.post(url(), {"selection": "1", "next": "/contacts/?q=a"}, follow=True)
        self.assertEqual(response.redirect_chain[0][0], "/contacts/?q=a")
        self.assertContains(response, "Select at least one row first.")
        response = self.client.post(url(), {"selection": "1", "next": "https://evil.example/"})
        self.assertEqual(response["Location"], reverse("dataio:import_list"))
        self.assertEqual(Export.objects.count(), 1)

    def test_csv_cells_are_defused_and_custom_properties_are_columns(self):
        rows = read_csv(download(self.client))
        header, by_email = rows[0], {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
        self.assertEqual(header[:4], ["Smarketing ID", "Email", "First Name", "Last Name"])
        self.assertEqual(header[-1], "Plan")
        hostile = by_email["h@acme.com"]
        self.assertEqual(hostile["First Name"], "'=1+1")
        self.assertEqual(hostile["Last Name"], '\'  =HYPERLINK("http://evil")')  # after leading whitespace too
        self.assertEqual(hostile["Job Title"], "'\t=cmd")
        self.assertEqual(hostile["Phone Number"], "'+1 555 0100")
        self.assertEqual(hostile["Company Name"], "'@Acme")
        self.assertEqual(hostile["Plan"], "'-2+3")
        self.assertEqual(hostile["Contact owner"], "bob@example.com")
        self.assertEqual(hostile["Lifecycle Stage"], "Marketing-qualified lead")
        self.assertEqual(by_email["plain@example.com"]["First Name"], "Plain")

    def test_xlsx_cells_are_defused_and_typed(self):
        Contact.objects.filter(pk=self.plain.pk).update(title="\x01\x02=cmd")  # control characters, then a formula
        response = download(self.client, fmt="xlsx")
        self.assertEqual(response["Content-Type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        header = rows[0]
        by_email = {row[1]: dict(zip(header, row, strict=False)) for row in rows[1:]}  # trailing blanks are cut
        self.assertEqual(by_email["h@acme.com"]["First Name"], "'=1+1")
        self.assertEqual(by_email["h@acme.com"]["Last Name"], '\'  =HYPERLINK("http://evil")')
        self.assertEqual(by_email["plain@example.com"]["Job Title"], "'=cmd")
        self.assertEqual(by_email["plain@example.com"]["Create Date"].year, self.plain.created_at.year)
        self.assertIsInstance(by_email["plain@example.com"]["Smarketing ID"], int)

    def test_filters(self):
        other = make_company(None, name="Other", domain="other.com")
        make_contact(None, email="zed@other.com", company=other, lifecycle_stage="mql")
        cases = {  # the contact list page's parameters
            "lifecycle=mql": {"h@acme.com", "zed@other.com"},
            "owner=none": {"plain@example.com", "zed@other.com"},
            f"company={other.pk}": {"zed@other.com"},
            "company=other.com": {"zed@other.com"},
            "q=PLA": {"plain@example.com"},
            "lifecycle=mql&q=h": {"h@acme.com"},
            "sort=name&unknown=1": {"h@acme.com", "plain@example.com", "zed@other.com"},
        }
        for query, emails in cases.items():
            with self.subTest(query=query):
                rows = read_csv(download(self.client, query=query))
                self.assertEqual({row[1] for row in rows[1:]}, emails)
        self.client.force_login(self.cast["bob"])
        self.client.force_login(self.cast["alice"])
        rows = read_csv(download(self.client, query="owner=me"))
        self.assertEqual(len(rows), 1)  # alice owns nothing

    def test_bad_filters_are_400(self):
        for query in ["lifecycle=boss", "owner=abc", "company=-1", "company=1%20OR%201=1", "sort=password"]:
            with self.subTest(query=query):
                self.assertEqual(self.client.post(url(), parse_qs(query)).status_code, 400)
        self.assertEqual(self.client.post(url(kind="users")).status_code, 404)
        self.assertEqual(self.client.post(url(fmt="pdf")).status_code, 404)
        self.assertFalse(Export.objects.exists())

    def test_queries_do_not_grow_with_rows(self):
        def count() -> int:
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as ctx:
                read_csv(download(self.client))
            return len(ctx.captured_queries)

        before = count()
        for i in range(25):
            make_contact(None, email=f"more{i}@acme.com", company=self.acme, owner=self.cast["carol"])
        self.assertEqual(count(), before)

    def test_deal_and_timeline_exports(self):
        deal = make_deal(None, name="=Big", company=self.acme, contacts=[self.hostile])
        make_deal(None, name="Small")
        rows = read_csv(download(self.client, "deals"))
        by_name = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
        self.assertEqual(by_name["'=Big"]["Contact Email"], "h@acme.com")
        self.assertEqual(by_name["'=Big"]["Deal Stage"], "Appointment scheduled")
        self.assertEqual(by_name["Small"]["Contact Email"], "")
        rows = read_csv(download(self.client, "touchpoints", query=f"deal={deal.pk}"))
        self.assertEqual(rows[0][:4], ["Date", "Kind", "Team", "Summary"])
        self.assertEqual([r[1] for r in rows[1:]], ["Deal created"])
        rows = read_csv(download(self.client, "touchpoints", query=f"contact={self.hostile.pk}"))
        self.assertIn("Contact created", [r[1] for r in rows[1:]])

    def test_export_is_audited(self):
        read_csv(download(self.client, query="lifecycle=mql"))
        entry = AuditEntry.objects.get(action="export")
        self.assertEqual((entry.actor, entry.object_type), (self.cast["carol"], "dataio.export"))
        self.assertEqual(entry.changes["filters"], [None, {"lifecycle": "mql"}])

    def test_exported_contacts_import_back_unchanged(self):
        company = make_company(None, name="Roundtrip Ltd", domain="roundtrip.example")
        for i in range(3):
            make_contact(
                None,
                email=f"r{i}@roundtrip.example",
                first_name="Ré",
                last_name=f"Number {i}",
                title="VP, Sales",
                phone="555 0100",
                company=company,
                owner=self.cast["carol"],
                lifecycle_stage="sql",
                lead_status="attempted",
                external_id=f"ext-{i}",
                first_source="webinar",
                custom={"plan": 'Pro "Gold"'},
            )
        body = b"".join(download(self.client, query=f"company={company.pk}").streaming_content)
        self.assertIn(",Webinar,", body.decode("utf-8-sig"))  # the source's label, which imports back as itself
        imp = run_csv(body, self.cast["alice"])
        self.assertEqual(imp.unmapped_columns, ["Smarketing ID", "Last Modified Date", "Consent"])
        self.assertEqual(totals(imp), (0, 0, 3, 0))


class LargeExportTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.dan = make_user("dan@example.com", role=Role.MANAGER)
        for i in range(5):
            make_contact(None, email=f"c{i}@example.com")

    def test_large_exports_run_as_a_job_with_a_private_download(self):
        self.client.force_login(self.cast["carol"])
        with mock.patch.object(exporter, "LARGE", 3):
            response = self.client.post(url(fmt="xlsx"))
        export = Export.objects.get()
        self.assertRedirects(response, reverse("dataio:export_detail", args=[export.pk]))
        self.assertEqual(export.status, Export.Status.QUEUED)
        page = self.client.get(reverse("dataio:export_detail", args=[export.pk]))
        self.assertContains(page, 'hx-trigger="every 1s"')
        tasks.run_export.call(export.pk)
        export.refresh_from_db()
        self.assertEqual((export.status, export.row_count), (Export.Status.DONE, 5))
        page = self.client.get(reverse("dataio:export_detail", args=[export.pk]), headers={"HX-Request": "true"})
        self.assertContains(page, reverse("dataio:export_download", args=[export.pk]))
        self.assertNotContains(page, "hx-trigger")
        download = self.client.get(reverse("dataio:export_download", args=[export.pk]))
        sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True).active
        self.assertEqual(len(list(sheet.iter_rows())), 6)
        self.client.force_login(self.dan)  # another manager
        self.assertEqual(self.client.get(reverse("dataio:export_download", args=[export.pk])).status_code, 404)
        self.client.force_login(self.cast["bob"])
        self.assertEqual(self.client.get(reverse("dataio:export_download", args=[export.pk])).status_code, 403)
        self.client.force_login(self.cast["alice"])
        self.assertEqual(self.client.get(reverse("dataio:export_download", args=[export.pk])).status_code, 200)

    def test_the_size_probe_fetches_a_bounded_number_of_ids(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        carol = self.cast["carol"]
        with mock.patch.object(exporter, "LARGE", 3), CaptureQueriesContext(connection) as ctx:
            self.assertTrue(exporter.is_large("contacts", {}, carol))
            self.assertFalse(exporter.is_large("contacts", {"lifecycle": "customer"}, carol))
        sql = [q["sql"] for q in ctx.captured_queries if "crm_contact" in q["sql"]][0].upper()
        self.assertIn("LIMIT 4", sql)
        self.assertNotIn("COUNT(", sql)

    def test_csv_job(self):
        self.client.force_login(self.cast["carol"])
        with mock.patch.object(exporter, "LARGE", 3):
            self.client.post(url())
        export = Export.objects.get()
        tasks.run_export.call(export.pk)
        download = self.client.get(reverse("dataio:export_download", args=[export.pk]))
        rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
        self.assertEqual(len(rows), 6)
        export.refresh_from_db()
        self.assertEqual(export.row_count, 5)
