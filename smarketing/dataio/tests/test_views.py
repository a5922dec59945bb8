"""The import pages through HTTP: upload, preview, mapping, queueing, progress, result and the error file."""

import os
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from smarketing.core.models import AuditEntry
from smarketing.crm.models import Contact
from smarketing.dataio import csvfile, tasks
from smarketing.dataio.importer import runner
from smarketing.dataio.models import Import
from smarketing.dataio.tests.helpers import TempMediaMixin, run_csv
from smarketing.testing import make_cast

CSV = (
    "Email,First Name,Last Name,Lifecycle Stage,City\n"
    "ann@example.com,Ann,<b>Bold</b>,lead,Paris\n"
    'bob@example.org,=HYPERLINK("http://evil"),Roe,mql,Berlin\n'
    "broken,X,Y,lead,\n"
)


def upload_file(content: bytes | str, name="contacts.csv"):
    if isinstance(content, str):
        content = content.encode()
    return SimpleUploadedFile(name, content, content_type="text/csv")


class UploadAndMappingTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def setUp(self):
        super().setUp()
        self.client.force_login(self.cast["carol"])

    def upload(self, content, object_type="contact", **extra):
        return self.client.post(
            reverse("dataio:upload"), {"object_type": object_type, "file": upload_file(content)}, **extra
        )

    def test_full_flow(self):
        response = self.upload(CSV)
        imp = Import.objects.get()
        self.assertRedirects(response, reverse("dataio:import_mapping", args=[imp.pk]))
        stored = os.listdir(runner.upload_dir())
        self.assertEqual(stored, [imp.file_name])
        self.assertNotIn("contacts", imp.file_name)  # random name, not the uploaded one

        page = self.client.get(reverse("dataio:import_mapping", args=[imp.pk]))
        self.assertContains(page, "UTF-8")
        self.assertContains(page, '<option value="," selected>Comma</option>', html=True)
        self.assertContains(page, "&lt;b&gt;Bold&lt;/b&gt;")  # cell text is escaped, never markup
        self.assertNotContains(page, "<b>Bold</b>")
        self.assertContains(page, '<option value="email" selected>Email</option>', html=True)
        self.assertContains(page, "Not imported (choose a field above to import them): City")

        form = {f"col-{i}": target for i, target in enumerate(imp.mapping)}
        form.update(action="start", date_order="auto", send_events="on")
        form["col-3"] = ""  # don't import the lifecycle stage after all
        response = self.client.post(reverse("dataio:import_mapping", args=[imp.pk]), form)
        self.assertRedirects(response, reverse("dataio:import_detail", args=[imp.pk]))
        imp.refresh_from_db()
        self.assertEqual((imp.status, imp.mapping[3]), (Import.Status.QUEUED, ""))
        self.assertTrue(DBTaskResult.objects.filter(args_kwargs__args=[imp.pk]).exists())
        self.assertTrue(AuditEntry.objects.filter(action="import", object_id=str(imp.pk), actor=self.cast["carol"]))

        waiting = self.client.get(reverse("dataio:import_progress", args=[imp.pk]))
        self.assertContains(waiting, 'hx-trigger="every 1s"')

        tasks.run_import.call(imp.pk)
        done = self.client.get(reverse("dataio:import_progress", args=[imp.pk]))
        self.assertNotContains(done, "hx-trigger")
        self.assertContains(done, '<div class="value" data-total="created">2</div>', html=True)
        self.assertContains(done, '<div class="value" data-total="rejected">1</div>', html=True)
        self.assertContains(done, "Columns not imported: Lifecycle Stage, City")
        self.assertEqual(Contact.objects.get(email="ann@example.com").lifecycle_stage, "lead")  # the default
        self.assertEqual(os.listdir(runner.upload_dir()), [])  # the upload is deleted once imported

        errors = self.client.get(reverse("dataio:import_errors", args=[imp.pk]))
        body = b"".join(errors.streaming_content).decode()
        self.assertTrue(
            body.startswith("\ufeffEmail,First Name,Last Name,Lifecycle Stage,City,Import row,Import error")
        )
        self.assertIn("broken,X,Y,lead,,4,Email: 'broken' is not a valid email address.", body)

        detail = self.client.get(reverse("dataio:import_detail", args=[imp.pk]))
        self.assertContains(detail, "is not a valid email address")

    def test_formula_cells_are_defused_in_the_error_file(self):
        imp = run_csv('Email,Name\n"=cmd()",x\n', self.cast["carol"])
        errors = self.client.get(reverse("dataio:import_errors", args=[imp.pk]))
        body = b"".join(errors.streaming_content).decode()
        self.assertIn("'=cmd(),x,2", body)

    def test_mapping_problems_are_shown(self):
        self.upload(CSV)
        imp = Import.objects.get()
        form = {f"col-{i}": target for i, target in enumerate(imp.mapping)}
        form.update({"action": "start", "date_order": "auto", "col-4": "email"})
        response = self.client.post(reverse("dataio:import_mapping", args=[imp.pk]), form)
        self.assertContains(response, "“Email” and “City” are both mapped to Email", status_code=400)
        form = {"action": "start", "date_order": "auto", "col-0": "", "col-1": "first_name"}
        response = self.client.post(reverse("dataio:import_mapping", args=[imp.pk]), form)
        self.assertContains(response, "Map a column to Email", status_code=400)
        imp.refresh_from_db()
        self.assertEqual(imp.status, Import.Status.MAPPING)

    def test_read_again_with_another_delimiter_and_encoding(self):
        self.upload("Email;Name\nann@example.com;Zoë\n".encode("cp1252"))
        imp = Import.objects.get()
        self.assertEqual((imp.encoding, imp.delimiter), ("cp1252", ";"))
        response = self.client.post(
            reverse("dataio:import_mapping", args=[imp.pk]),
            {"action": "reread", "encoding": "latin-1", "delimiter": ","},
        )
        self.assertEqual(response.status_code, 302)
        imp.refresh_from_db()
        self.assertEqual((imp.encoding, imp.delimiter, imp.header), ("latin-1", ",", ["Email;Name"]))
        response = self.client.post(
            reverse("dataio:import_mapping", args=[imp.pk]), {"action": "reread", "encoding": "utf-8", "delimiter": ";"}
        )
        self.assertContains(response, "The file is not valid UTF-8", status_code=400)

    def test_hostile_uploads_get_clear_messages_and_leave_no_file(self):
        cases = [
            (b"", "The file is empty."),
            (b"Email\n", "header row but no data rows"),
            (bytes(range(256)) * 40, "This is not a CSV file"),
            (b"PK\x03\x04" + b"\x00" * 300, "Excel workbook"),
        ]
        for content, message in cases:
            with self.subTest(message=message):
                response = self.upload(content)
                self.assertContains(response, message, status_code=400)
        self.assertFalse(Import.objects.exists())
        self.assertEqual(os.listdir(runner.upload_dir()), [])

    def test_upload_size_limit(self):
        with mock.patch.object(csvfile, "MAX_IMPORT_MB", 1):
            response = self.upload(b"Email\n" + b"a@example.com\n" * 100_000)
        self.assertContains(response, "larger than 1 MB", status_code=413)
        self.assertEqual(os.listdir(runner.upload_dir()), [])

    def test_upload_limit_while_streaming(self):
        from django.core.files.uploadhandler import StopUpload

        from smarketing.dataio.uploads import ImportUploadHandler

        handler = ImportUploadHandler()
        handler.new_file("file", "big.csv", "text/csv", None)
        with mock.patch.object(csvfile, "MAX_IMPORT_MB", 1), self.assertRaises(StopUpload):
            for _ in range(3):
                handler.receive_data_chunk(b"x" * 600_000, 0)
        self.assertTrue(handler.too_large)
        self.assertEqual(os.listdir(runner.upload_dir()), [])

    def test_missing_file_or_type(self):
        response = self.client.post(reverse("dataio:upload"), {"object_type": "contact"})
        self.assertContains(response, "Choose a CSV file", status_code=400)
        response = self.upload(CSV, object_type="lead")
        self.assertContains(response, "Choose what the file contains", status_code=400)
        self.assertEqual(os.listdir(runner.upload_dir()), [])

    def test_discard(self):
        self.upload(CSV)
        imp = Import.objects.get()
        response = self.client.post(reverse("dataio:import_discard", args=[imp.pk]))
        self.assertRedirects(response, reverse("dataio:import_list"))
        imp.refresh_from_db()
        self.assertEqual((imp.status, imp.file_name), (Import.Status.DISCARDED, ""))
        self.assertEqual(os.listdir(runner.upload_dir()), [])

    def test_upload_needs_csrf(self):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(self.cast["carol"])
        response = client.post(reverse("dataio:upload"), {"object_type": "contact", "file": upload_file(CSV)})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Import.objects.exists())


class AccessTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_read_only_users_cannot_import(self):
        self.client.force_login(self.cast["rory"])
        self.assertEqual(self.client.get(reverse("dataio:import_list")).status_code, 403)
        response = self.client.post(reverse("dataio:upload"), {"object_type": "contact", "file": upload_file(CSV)})
        self.assertEqual(response.status_code, 403)

    def test_anonymous_users_are_sent_to_log_in(self):
        response = self.client.get(reverse("dataio:import_list"))
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])

    def test_imports_and_error_files_are_private_to_their_importer_and_admins(self):
        imp = run_csv("Email\nnot-an-email\n", self.cast["bob"])
        urls = [
            reverse(name, args=[imp.pk])
            for name in ("dataio:import_detail", "dataio:import_errors", "dataio:import_progress")
        ]
        self.client.force_login(self.cast["mia"])  # another member
        for url in urls:
            self.assertEqual(self.client.get(url).status_code, 404)
        self.client.force_login(self.cast["carol"])  # a manager who did not import it
        self.assertEqual(self.client.get(urls[1]).status_code, 404)
        for user in ("bob", "alice"):
            self.client.force_login(self.cast[user])
            for url in urls:
                self.assertEqual(self.client.get(url).status_code, 200)

    def test_uploads_are_not_served(self):
        self.client.force_login(self.cast["alice"])
        imp = run_csv("Email\na@example.com\n", self.cast["alice"])
        for url in (f"/media/imports/{imp.file_name}", f"/uploads/imports/{imp.file_name}", "/import/imports/"):
            self.assertEqual(self.client.get(url).status_code, 404)

    def test_resume_a_stopped_import(self):
        imp = run_csv("Email\na@example.com\n", self.cast["bob"])
        Import.objects.filter(pk=imp.pk).update(status=Import.Status.FAILED, file_name="x.csv", error="boom")
        self.client.force_login(self.cast["bob"])
        page = self.client.get(reverse("dataio:import_detail", args=[imp.pk]))
        self.assertContains(page, "Resume import")
        self.client.post(reverse("dataio:import_resume", args=[imp.pk]))
        imp.refresh_from_db()
        self.assertEqual(imp.status, Import.Status.QUEUED)

    def test_list_page_queries_do_not_grow_with_imports(self):
        self.client.force_login(self.cast["alice"])
        run_csv("Email\na@example.com\n", self.cast["alice"])
        with self.assertNumQueries(6) as first:
            self.client.get(reverse("dataio:import_list"))
        for _ in range(4):
            run_csv("Email\nb@example.com\n", self.cast["bob"])
        with self.assertNumQueries(len(first.captured_queries)):
            response = self.client.get(reverse("dataio:import_list"))
        self.assertContains(response, "Bob Seller", count=4)
