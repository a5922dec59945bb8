"""The two-connection pipeline on PostgreSQL: same outcomes as one chunk at a time, safe after a conflict."""

import time
from unittest import mock, skipUnless

from django.db import IntegrityError, connection, transaction
from django.test import TransactionTestCase

from smarketing.accounts.models import Role, Team
from smarketing.crm import kinds as Kind
from smarketing.crm.defaults import install_defaults
from smarketing.crm.models import Company, Contact, LifecycleChange, Pipeline, Stage
from smarketing.dataio import services
from smarketing.dataio.importer import runner
from smarketing.dataio.models import Import, RejectedRow
from smarketing.dataio.tests.helpers import TempMediaMixin, prepare, totals
from smarketing.testing import make_contact, make_user
from smarketing.timeline.models import Touchpoint


def messy_file() -> str:
    lines = ["Email,First Name,Company,Job Title"]
    for i in range(60):
        if i % 10 == 9:
            lines.append(f"broken-{i},X,Co {i % 4},T")  # rejected
        else:
            lines.append(f"p{i}@example.com,P{i},Co {i % 4},T{i}")
    lines.append("p3@example.com,P3,Co 3,Changed")  # the same person again, in a later chunk: a duplicate
    lines.append("old@example.com,Old,Co 1,Updated")  # an existing contact
    return "\n".join(lines) + "\n"


@skipUnless(connection.vendor == "postgresql", "the pipeline runs on PostgreSQL only")
class PipelineTests(TempMediaMixin, TransactionTestCase):
    def setUp(self):
        super().setUp()
        install_defaults(Team, Pipeline, Stage)
        self.alice = make_user("alice@example.com", role=Role.ADMIN, team_kind="revops")
        self.old = make_contact(None, email="old@example.com", title="Before")

    def start(self) -> Import:
        imp = prepare(messy_file().encode(), self.alice)
        services.set_mapping(imp, imp.mapping)
        runner.start(imp, self.alice)
        return imp

    def check(self, imp: Import) -> None:
        imp.refresh_from_db()
        self.assertEqual(imp.status, Import.Status.DONE)
        self.assertEqual(imp.total_rows, 62)
        self.assertEqual(totals(imp), (54, 1, 0, 7))
        self.assertEqual(imp.companies_created, 4)
        self.assertEqual(Company.objects.count(), 4)  # one per name, though every chunk names them
        self.assertEqual(Contact.objects.count(), 55)
        self.assertEqual(Contact.objects.get(email="p3@example.com").title, "T3")  # the first row's
        self.assertTrue(RejectedRow.objects.get(row_number=62).reason.startswith("Duplicate of row 5:"))
        self.assertEqual(Contact.objects.get(email="old@example.com").title, "Updated")
        self.assertEqual(LifecycleChange.objects.filter(origin="import").count(), 54)
        self.assertEqual(Touchpoint.objects.filter(kind=Kind.CONTACT_CREATED).count(), 55)
        self.assertEqual(RejectedRow.objects.count(), 7)

    def test_two_writers_give_the_same_result_as_one(self):
        runs = []
        original = runner.Pipeline.run

        def counting(pipeline, source):
            runs.append(pipeline)
            return original(pipeline, source)

        with mock.patch.object(runner, "CHUNK_SIZE", 7), mock.patch.object(runner.Pipeline, "run", counting):
            imp = runner.run(self.start().pk)
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0].committed, 8)  # nine chunks of at most seven rows, all committed by the pipeline
        self.check(imp)

    def test_a_conflict_rolls_back_the_chunks_in_flight_and_they_are_redone_one_at_a_time(self):
        original = runner.write_chunk
        calls = {"n": 0}

        def conflict_once(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 4:
                raise IntegrityError("duplicate key value violates unique constraint (simulated)")
            return original(*args, **kwargs)

        with mock.patch.object(runner, "CHUNK_SIZE", 7), mock.patch.object(runner, "write_chunk", conflict_once):
            imp = runner.run(self.start().pk)
        self.assertGreater(calls["n"], 9)
        self.check(imp)

    def test_a_bug_in_one_chunk_stops_the_import_with_earlier_chunks_saved(self):
        original = runner.write_chunk
        calls = {"n": 0}

        def bug(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 5:
                raise ZeroDivisionError("bug")
            return original(*args, **kwargs)

        with mock.patch.object(runner, "CHUNK_SIZE", 7), mock.patch.object(runner, "write_chunk", bug):
            with self.assertRaises(ZeroDivisionError):
                runner.run(self.start().pk)
        imp = Import.objects.get()
        self.assertEqual(imp.status, Import.Status.FAILED)
        self.assertEqual(imp.next_row % 7, 0)
        self.assertEqual(imp.processed, imp.next_row)
        Import.objects.filter(pk=imp.pk).update(status=Import.Status.QUEUED)
        with mock.patch.object(runner, "CHUNK_SIZE", 7):
            imp = runner.run(imp.pk)
        self.check(imp)

    def test_a_company_deleted_during_the_import_is_created_again(self):
        import threading

        original = runner.company_phase
        calls = {"n": 0}
        deleted = {"attempts": 0, "error": None, "ids": []}

        def delete(name):
            # Someone deletes the company on their own connection while the import runs. A chunk still in flight
            # on the import's other connection may be adding contacts to it; the delete then fails its foreign key
            # check at commit and is tried again, as a person would, once that chunk has committed.
            try:
                for _ in range(10):
                    deleted["attempts"] += 1
                    try:
                        with transaction.atomic():
                            deleted["ids"] = list(Company.objects.filter(name=name).values_list("pk", flat=True))
                            Company.objects.filter(name=name).delete()
                        deleted["error"] = None
                        return
                    except IntegrityError as exc:
                        deleted["error"] = exc
                        time.sleep(0.2)
            finally:
                connection.close()

        def delete_between_chunks(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:  # the import remembers "Co 1" by now; someone deletes it
                thread = threading.Thread(target=delete, args=("Co 1",))
                thread.start()
                thread.join()
            return original(*args, **kwargs)

        with (
            mock.patch.object(runner, "CHUNK_SIZE", 7),
            mock.patch.object(runner, "company_phase", delete_between_chunks),
            mock.patch.object(runner, "COMMIT_WAIT", 5),
        ):
            imp = runner.run(self.start().pk)
        self.assertIsNone(deleted["error"], "the concurrent delete never succeeded")
        self.assertEqual(len(deleted["ids"]), 1)  # the import had created "Co 1" before it was deleted
        self.assertFalse(Company.objects.filter(pk__in=deleted["ids"]).exists())
        imp.refresh_from_db()
        self.assertEqual((imp.status, imp.processed), (Import.Status.DONE, 62))
        self.assertEqual(totals(imp), (54, 1, 0, 7))
        again = Company.objects.get(name="Co 1")
        self.assertNotIn(again.pk, deleted["ids"])
        # Rows after the delete that name "Co 1" land on the new company, not on the deleted id.
        self.assertTrue(Contact.objects.filter(company=again, email="old@example.com").exists())
        self.assertTrue(Contact.objects.filter(company=again, email="p57@example.com").exists())
