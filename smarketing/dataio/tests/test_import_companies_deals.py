"""Importing companies (bulk) and deals (through the CRM services)."""

from decimal import Decimal

from django.test import TestCase

from smarketing.core.models import Event
from smarketing.crm import kinds as Kind
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Company, Contact, Deal, DealContact, DealStageChange, Pipeline, Stage
from smarketing.dataio.models import RejectedRow
from smarketing.dataio.tests.helpers import TempMediaMixin, run_csv, totals
from smarketing.testing import make_cast, make_company, make_contact, make_deal
from smarketing.timeline.models import Touchpoint


class CompanyImportTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice = cls.cast["alice"]

    HUBSPOT = (
        "Record ID,Company name,Company Domain Name,Industry,Number of Employees,Annual Revenue,Country/Region,"
        "Company owner\n"
        '9001,Acme Inc,https://www.acme.com,Software,"1,200",$5.5M,France,bob@example.com\n'
        '9002,Initech,,Consulting,35,"2.500.000,00",Germany,\n'
        "9003,,globex.com,,,,,\n"
    )

    def test_create_then_reimport_unchanged(self):
        imp = run_csv(self.HUBSPOT.replace("$5.5M", "5500000"), self.alice, "company")
        self.assertEqual(totals(imp), (3, 0, 0, 0))
        acme = Company.objects.get(domain="acme.com")
        self.assertEqual(
            (acme.name, acme.name_key, acme.employees, acme.annual_revenue, acme.owner),
            ("Acme Inc", "acme inc", 1200, Decimal("5500000.00"), self.cast["bob"]),
        )
        self.assertEqual(Company.objects.get(external_id="9002").annual_revenue, Decimal("2500000.00"))
        self.assertEqual(Company.objects.get(domain="globex.com").name, "globex.com")  # named after its domain
        self.assertEqual(Event.objects.filter(name="company.created").count(), 3)
        again = run_csv(self.HUBSPOT.replace("$5.5M", "5500000"), self.alice, "company")
        self.assertEqual(totals(again), (0, 0, 3, 0))

    def test_bad_numbers_are_rejected_with_the_column(self):
        imp = run_csv(self.HUBSPOT, self.alice, "company")
        self.assertEqual(totals(imp), (2, 0, 0, 1))
        self.assertIn("Annual revenue: “$5.5M” is not a number.", RejectedRow.objects.get().reason)

    def test_dedup_by_domain_external_id_and_name(self):
        by_domain = make_company(None, name="Acme", domain="acme.com")
        by_name = make_company(None, name="Initech", domain=None)
        csv_text = "Name,Website,Industry,Account ID\nACME Corp,acme.com/contact,Tools,\ninitech,initech.io,IT,\n"
        imp = run_csv(csv_text, self.alice, "company")
        self.assertEqual(totals(imp), (0, 2, 0, 0))
        by_domain.refresh_from_db()
        by_name.refresh_from_db()
        self.assertEqual((by_domain.name, by_domain.industry), ("ACME Corp", "Tools"))
        self.assertEqual((by_name.domain, by_name.industry), ("initech.io", "IT"))
        self.assertEqual(Company.objects.count(), 2)


class DealImportTests(TempMediaMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice = cls.cast["alice"]
        cls.pipeline = default_pipeline()
        cls.stages = {s.name: s for s in cls.pipeline.stages.all()}

    def test_hubspot_deals_with_associations(self):
        jane = make_contact(None, email="jane@acme.com", lifecycle_stage="sql")
        csv_text = (
            "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Close Date,Associated Company,Associated Contact,"
            "Deal owner,Create Date\n"
            'd-1,Acme renewal,appointmentscheduled,Sales pipeline,"12,500.00",2024-06-30,Acme,'
            "Jane Doe (jane@acme.com),carol@example.com,2024-01-15\n"
            "d-2,Big win,closedwon,,1000,06/15/2024,Acme,,,\n"
        )
        imp = run_csv(csv_text, self.alice, "deal")
        self.assertEqual(totals(imp), (2, 0, 0, 0))
        renewal = Deal.objects.get(external_id="d-1")
        self.assertEqual(
            (renewal.stage.name, renewal.amount, renewal.owner),
            ("Appointment scheduled", Decimal("12500.00"), self.cast["carol"]),
        )
        self.assertEqual(renewal.close_date.isoformat(), "2024-06-30")
        self.assertEqual(renewal.company.name, "Acme")
        self.assertEqual(renewal.created_at.date().isoformat(), "2024-01-15")
        self.assertEqual(DealStageChange.objects.get(deal=renewal).changed_at, renewal.created_at)
        self.assertTrue(DealContact.objects.filter(deal=renewal, contact=jane).exists())
        jane.refresh_from_db()
        self.assertEqual(jane.lifecycle_stage, "opportunity")  # create_deal's rule for the primary contact
        won = Deal.objects.get(external_id="d-2")
        self.assertEqual((won.status, won.company), ("won", renewal.company))
        self.assertEqual(won.closed_at.date().isoformat(), "2024-06-15")
        self.assertEqual(Touchpoint.objects.filter(kind=Kind.DEAL_CREATED).count(), 2)
        again = run_csv(csv_text, self.alice, "deal")
        self.assertEqual(totals(again), (0, 0, 2, 0))
        self.assertEqual(Deal.objects.count(), 2)

    def test_pipedrive_status_and_updates_through_services(self):
        deal = make_deal(
            None, name="Expansion", stage=self.stages["Qualified to buy"], amount="100", close_date="2024-01-01"
        )
        csv_text = "Deal - Title,Deal - Value,Deal - Stage,Deal - Status\nExpansion,250,Qualified to buy,won\n"
        imp = run_csv(csv_text, self.alice, "deal")
        self.assertEqual(totals(imp), (0, 1, 0, 0))
        deal.refresh_from_db()
        self.assertEqual((deal.amount, deal.status, deal.stage.name), (Decimal("250.00"), "won", "Closed won"))
        self.assertTrue(Touchpoint.objects.filter(deal=deal, kind=Kind.DEAL_WON).exists())

    def test_exit_criteria_and_unknown_stages_reject_rows(self):
        deal = make_deal(None, name="Needs contact", stage=self.stages["Appointment scheduled"])
        csv_text = (
            "Deal Name,Deal Stage,Amount\n"
            "Needs contact,Qualified to buy,10\n"  # leaving the first stage needs a contact
            "Mystery,Negotiation,10\n"
            "Other pipeline,Closed won,10\n"
        )
        Pipeline.objects.create(name="Partners")
        imp = run_csv(csv_text + "Partner deal,Closed won,5\n", self.alice, "deal", mapping={})
        self.assertEqual(imp.processed, 4)
        reasons = dict(RejectedRow.objects.values_list("row_number", "reason"))
        self.assertIn("Before leaving “Appointment scheduled”, fill in: Contacts.", reasons[2])
        self.assertIn("“Negotiation” is not a stage of “Sales pipeline”", reasons[3])
        deal.refresh_from_db()
        self.assertEqual((deal.stage.name, deal.amount), ("Appointment scheduled", Decimal("1000.00")))
        self.assertEqual(imp.created, 2)

    def test_unknown_contact_and_pipeline(self):
        csv_text = "Deal Name,Pipeline,Contact Email\nA,Nope,\nB,,ghost@example.com\n"
        imp = run_csv(csv_text, self.alice, "deal")
        self.assertEqual(totals(imp), (0, 0, 0, 2))
        reasons = list(RejectedRow.objects.order_by("row_number").values_list("reason", flat=True))
        self.assertIn("“Nope” is not a pipeline here", reasons[0])
        self.assertIn("no contact has the email ghost@example.com", reasons[1])
        self.assertFalse(Contact.objects.exists())
        self.assertEqual(Stage.objects.filter(pipeline=self.pipeline).count(), 7)
