"""Who an import acts as: the uploading person (their rights, judged on each record as found), or, with no
person left, the system actor (recorded as no user with origin "import")."""

from django.test import TestCase

from smarketing.core.models import AuditEntry, Origin
from smarketing.crm.models import Deal, DealStageChange
from smarketing.dataio import services
from smarketing.dataio.importer import runner
from smarketing.dataio.models import Import, RejectedRow
from smarketing.dataio.tests.helpers import TempMediaMixin, prepare, run_csv, totals
from smarketing.testing import make_cast, make_contact, make_deal


class ImportActorTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_a_member_may_hand_their_deal_on_and_move_it_in_one_row(self):
        bob, mia = self.cast["bob"], self.cast["mia"]
        deal = make_deal(None, name="Renewal", owner=bob, amount="100", contacts=[make_contact(None)])
        csv_text = f"Name,Owner,Stage\nRenewal,{mia.email},Contract sent\n"
        imp = run_csv(csv_text, bob, "deal", mapping={"Name": "name", "Owner": "owner", "Stage": "stage"})
        self.assertEqual(
            totals(imp), (0, 1, 0, 0), list(RejectedRow.objects.filter(import_run=imp).values_list("reason", flat=True))
        )
        deal.refresh_from_db()
        self.assertEqual((deal.owner, deal.stage.name), (mia, "Contract sent"))
        self.assertEqual(DealStageChange.objects.filter(deal=deal).latest("id").actor, bob)

    def test_a_member_may_not_change_a_colleagues_deal(self):
        deal = make_deal(None, name="Theirs", owner=self.cast["carol"], amount="100")
        imp = run_csv(
            "Name,Amount\nTheirs,999\n", self.cast["bob"], "deal", mapping={"Name": "name", "Amount": "amount"}
        )
        self.assertEqual(totals(imp), (0, 0, 0, 1))
        deal.refresh_from_db()
        self.assertEqual(str(deal.amount), "100.00")

    def test_without_a_person_the_import_runs_as_the_system(self):
        deal = make_deal(None, name="Orphan", owner=self.cast["carol"], amount="100")
        imp = prepare(b"Name,Amount\nOrphan,250\n", self.cast["alice"], "deal")
        columns = list(imp.mapping)
        columns[imp.header.index("Name")], columns[imp.header.index("Amount")] = "name", "amount"
        services.set_mapping(imp, columns, "auto")
        Import.objects.filter(pk=imp.pk).update(created_by=None)  # the uploader's account was deleted
        runner.start(imp, None)
        imp = runner.run(imp.pk)
        self.assertEqual(totals(imp), (0, 1, 0, 0))
        deal.refresh_from_db()
        self.assertEqual(str(deal.amount), "250.00")
        entry = AuditEntry.objects.get(action="update", object_type="crm.deal", object_id=str(deal.pk))
        self.assertEqual((entry.actor, entry.origin), (None, Origin.IMPORT))
        self.assertEqual(Deal.objects.get(pk=deal.pk).owner, self.cast["carol"])
