"""`smarketing import` on the command line, and the import job run by a real worker."""

import io
import json
import tempfile
from pathlib import Path

from django.core.management import CommandError, call_command
from django.test import TestCase, TransactionTestCase

from smarketing.accounts.models import Role, Team
from smarketing.crm.models import Company, Contact
from smarketing.dataio import services
from smarketing.dataio.models import Import
from smarketing.dataio.tests.helpers import TempMediaMixin, prepare
from smarketing.testing import make_cast, make_user

CSV = "E-mail;Vorname;Nachname;Firma\nanna@beispiel.de;Anna;Müller;Beispiel GmbH\nkaputt;X;Y;\n"


class CommandTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def write(self, text: str, name="people.csv", encoding="cp1252") -> Path:
        directory = Path(tempfile.mkdtemp(prefix="smk-cmd-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(directory, ignore_errors=True))
        path = directory / name
        path.write_bytes(text.encode(encoding))
        return path

    def call(self, *args) -> str:
        out = io.StringIO()
        call_command("import", *args, stdout=out)
        return out.getvalue()

    def mapping(self, data: dict) -> str:
        path = self.write(json.dumps(data), "mapping.json", "utf-8")
        return str(path)

    def test_dry_run_saves_nothing_and_reports_totals(self):
        path = self.write(CSV)
        mapping = self.mapping({"Vorname": "first_name", "Nachname": "last_name", "Firma": "company_name"})
        out = self.call("contacts", str(path), "--mapping", mapping, "--dry-run")
        self.assertIn("Windows-1252, delimiter semicolon, 4 columns", out)
        self.assertIn("Dry run (nothing saved): 2 rows: 1 created, 0 updated, 0 unchanged, 1 rejected", out)
        self.assertIn("row 3: Email: 'kaputt' is not a valid email address.", out)
        self.assertFalse(Contact.objects.exists())
        self.assertFalse(Import.objects.exists())
        self.assertEqual(list(Path(services.runner.upload_dir()).iterdir()), [])

    def test_import_with_mapping_and_error_file(self):
        path = self.write(CSV)
        mapping = self.mapping({"columns": {"Vorname": "first_name", "Nachname": "last_name", "Firma": "company_name"}})
        errors = self.write("", "errors.csv")
        out = self.call(
            "contacts", str(path), "--mapping", mapping, "--errors", str(errors), "--user", "carol@example.com"
        )
        self.assertIn("1 created, 0 updated, 0 unchanged, 1 rejected", out)
        anna = Contact.objects.get(email="anna@beispiel.de")
        self.assertEqual((anna.last_name, anna.company.name), ("Müller", "Beispiel GmbH"))
        self.assertEqual(Import.objects.get().created_by, self.cast["carol"])
        self.assertIn("kaputt;X;Y;;3;", errors.read_text(encoding="utf-8-sig").replace(",", ";"))
        again = self.call("contacts", str(path), "--mapping", mapping)
        self.assertIn("0 created, 0 updated, 1 unchanged, 1 rejected", again)

    def test_companies_and_options(self):
        path = self.write("Name\tWebsite\nAcme\tacme.com\n", encoding="utf-16")
        out = self.call("companies", str(path), "--no-events", "--delimiter", "tab")
        self.assertIn("UTF-16, delimiter tab", out)
        self.assertTrue(Company.objects.filter(domain="acme.com").exists())
        self.assertFalse(Import.objects.get().send_events)

    def test_clear_errors(self):
        path = self.write(CSV)
        cases = [
            (("contacts", str(path), "--mapping", self.mapping({"Nope": "email"})), "does not have"),
            (("contacts", str(path), "--mapping", self.mapping({"Firma": "salary"})), "Unknown field"),
            (("contacts", str(path), "--mapping", self.mapping({"E-mail": ""})), "Map a column to Email"),
            (("contacts", str(path), "--user", "rory@example.com"), "may not edit records"),
            (("contacts", str(self.write(""))), "The file is empty."),
            (("contacts", "/nonexistent.csv"), "is not a file"),
            (("contacts", "--resume", "999"), "There is no import 999"),
        ]
        for args, message in cases:
            with self.subTest(message=message), self.assertRaisesMessage(CommandError, message):
                self.call(*args)
        self.assertFalse(Contact.objects.exists())

    def test_resume(self):
        imp = prepare(CSV.encode("cp1252"), self.cast["alice"])
        services.set_mapping(imp, imp.mapping)
        Import.objects.filter(pk=imp.pk).update(status=Import.Status.FAILED, error="power cut")
        out = self.call("contacts", "--resume", str(imp.pk))
        self.assertIn("2 rows: 1 created", out)
        imp.refresh_from_db()
        self.assertEqual(imp.status, Import.Status.DONE)


class WorkerTests(TempMediaMixin, TransactionTestCase):
    """The import job, queued as the UI queues it and run by a real worker (transactional: the worker commits)."""

    def test_worker_runs_the_import_once(self):
        from smarketing.crm.defaults import install_defaults
        from smarketing.crm.models import Pipeline, Stage

        install_defaults(Team, Pipeline, Stage)
        alice = make_user("alice@example.com", role=Role.ADMIN, team_kind="revops")
        imp = prepare(b"Email,First Name\nw1@example.com,W\nw2@example.com,X\n", alice)
        services.set_mapping(imp, imp.mapping)
        services.queue_import(imp, alice)
        call_command("worker", batch=True, verbosity=0)
        imp.refresh_from_db()
        self.assertEqual((imp.status, imp.created), (Import.Status.DONE, 2))
        # A second run of the same job (a retry, a duplicate delivery) finds nothing to claim.
        from smarketing.dataio import tasks

        tasks.run_import.call(imp.pk)
        imp.refresh_from_db()
        self.assertEqual((imp.created, Contact.objects.count()), (2, 2))
