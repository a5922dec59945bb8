"""The importer applies the services' rules: numbers, owners, lifecycle moves and touch summaries."""

from decimal import Decimal

from django.test import TestCase

from smarketing.crm import kinds as Kind
from smarketing.crm import summaries
from smarketing.crm.models import Contact, Deal
from smarketing.dataio.models import RejectedRow
from smarketing.dataio.tests.helpers import TempMediaMixin, run_csv, totals
from smarketing.testing import make_cast, make_contact
from smarketing.timeline.models import Touchpoint


class ImportRuleTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice = cls.cast["alice"]

    def test_a_cut_off_parenthesis_is_not_a_negative_amount(self):
        csv_text = "Deal Name,Amount\nCut,(500\nNegative,(500)\nPlain,500\n"
        imp = run_csv(csv_text, self.alice, "deal")
        self.assertEqual(totals(imp), (1, 0, 0, 2))
        reasons = dict(RejectedRow.objects.values_list("row_number", "reason"))
        self.assertIn("“(500” is not a number", reasons[2])
        self.assertIn("must be a positive amount", reasons[3])
        self.assertEqual(Deal.objects.get().amount, Decimal("500.00"))

    def test_a_read_only_user_cannot_own_imported_records(self):
        imp = run_csv("Email,Owner\na@example.com,rory@example.com\nb@example.com,bob@example.com\n", self.alice)
        self.assertEqual((*totals(imp), imp.warned), (2, 0, 0, 0, 1))
        self.assertIn("read-only users own no records", imp.reported_rows.get(row_number=2).warnings[0])
        self.assertIsNone(Contact.objects.get(email="a@example.com").owner)
        self.assertEqual(Contact.objects.get(email="b@example.com").owner, self.cast["bob"])

    def test_touches_read_as_the_services_write_them(self):
        contact = make_contact(None, lifecycle_stage="lead")
        imp = run_csv(
            f"Email,Lifecycle Stage\n{contact.email},MQL\nnew@example.com,Lead\n{contact.email},Subscriber\n",
            self.alice,
        )
        self.assertEqual(imp.rejected, 1)  # the move back, which needs a reason no file gives
        moved = Touchpoint.objects.filter(contact=contact, kind=Kind.LIFECYCLE_CHANGED).get()
        self.assertEqual(moved.summary, summaries.lifecycle_changed("lead", "mql", backward=False))
        created = Touchpoint.objects.get(contact__email="new@example.com", kind=Kind.CONTACT_CREATED)
        self.assertEqual(created.summary, summaries.contact_created("lead"))
        run_csv("Deal Name,Amount,Currency\nBig,1234.5,EUR\n", self.alice, "deal")
        deal_touch = Touchpoint.objects.get(kind=Kind.DEAL_CREATED)
        self.assertEqual(deal_touch.summary, summaries.deal_created("Big", Decimal("1234.50"), "EUR"))
