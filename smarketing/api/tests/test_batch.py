from smarketing.api.tests.helpers import ApiTestCase
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Company, Contact, Deal, PropertyDefinition
from smarketing.testing import make_company, make_contact


class ContactBatchTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        PropertyDefinition.objects.create(
            object_type="contact", key="plan", label="Plan", type="choice", choices=["free", "pro"]
        )
        cls.existing = make_contact(None, email="old@example.com", first_name="Old", title="CEO")
        cls.same = make_contact(None, email="same@example.com", first_name="Same")
        cls.alices = make_contact(None, email="alices@example.com", owner=cls.cast["alice"])

    def upsert(self, records, who="bob"):
        return self.post("/api/v1/contacts/batch/upsert", {"records": records}, token=self.tokens[who])

    def test_every_record_gets_one_outcome_and_bad_ones_do_not_undo_good_ones(self):
        records = [
            {"email": "new@example.com", "first_name": "New", "properties": {"plan": "pro"}},
            {"email": "OLD@example.com", "title": "CFO"},
            {"email": "same@example.com", "first_name": "Same"},
            {"email": "not-an-email"},
            {"email": "typo@example.com", "frist_name": "X"},
            "just a string",
            {"email": "plan@example.com", "properties": {"plan": "gold"}},
            {"email": "alices@example.com", "title": "Boss"},  # bob may not edit alice's contact
            {"first_name": "No email"},
            {"email": "new2@example.com", "lifecycle_stage": "customer"},
        ]
        response = self.upsert(records)
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        statuses = [r["status"] for r in body["results"]]
        self.assertEqual(
            statuses,
            [
                "created",
                "updated",
                "unchanged",
                "rejected",
                "rejected",
                "rejected",
                "rejected",
                "rejected",
                "rejected",
                "created",
            ],
        )
        self.assertEqual([r["index"] for r in body["results"]], list(range(len(records))))
        self.assertEqual(body["totals"], {"created": 2, "updated": 1, "unchanged": 1, "rejected": 6})
        results = body["results"]
        self.assertIn("email", results[3]["errors"])
        self.assertEqual(results[4]["errors"], {"frist_name": ["Unknown field."]})
        self.assertIn("non_field_errors", results[5]["errors"])
        self.assertIn("properties.plan", results[6]["errors"])
        self.assertIn("non_field_errors", results[7]["errors"])
        self.assertEqual(results[7]["id"], self.alices.pk)
        self.assertIn("email", results[8]["errors"])
        self.assertEqual(results[1]["id"], self.existing.pk)
        self.existing.refresh_from_db()
        self.assertEqual(self.existing.title, "CFO")
        self.assertEqual(Contact.objects.get(email="new@example.com").custom, {"plan": "pro"})
        self.assertFalse(
            Contact.objects.filter(email__in=["not-an-email", "typo@example.com", "plan@example.com"]).exists()
        )

        # Re-sending the same batch changes nothing: the good records come back unchanged.
        again = self.upsert(records).json()
        self.assertEqual(
            [r["status"] for r in again["results"]],
            [
                "unchanged",
                "unchanged",
                "unchanged",
                "rejected",
                "rejected",
                "rejected",
                "rejected",
                "rejected",
                "rejected",
                "unchanged",
            ],
        )
        self.assertEqual(Contact.objects.count(), 5)

    def test_a_failure_after_writes_rolls_back_only_that_record(self):
        # Moving back to "lead" fails inside the service after the title was written: the savepoint undoes it.
        make_contact(None, email="sql@example.com", lifecycle_stage="sql")
        body = self.upsert(
            [
                {"email": "sql@example.com", "title": "VP", "lifecycle_stage": "lead"},
                {"email": "fine@example.com"},
            ]
        ).json()
        self.assertEqual([r["status"] for r in body["results"]], ["rejected", "created"])
        self.assertIn("lifecycle_stage", body["results"][0]["errors"])
        self.assertEqual(Contact.objects.get(email="sql@example.com").title, "")
        self.assertTrue(Contact.objects.filter(email="fine@example.com").exists())

    def test_one_thousand_records_then_all_unchanged(self):
        records = [
            {"email": f"bulk{i}@example.com", "first_name": f"B{i}", "properties": {"plan": "free"}}
            for i in range(1000)
        ]
        body = self.upsert(records, who="alice").json()
        self.assertEqual(body["totals"], {"created": 1000, "updated": 0, "unchanged": 0, "rejected": 0})
        body = self.upsert(records, who="alice").json()
        self.assertEqual(body["totals"], {"created": 0, "updated": 0, "unchanged": 1000, "rejected": 0})

    def test_limits_and_shape(self):
        too_many = [{"email": f"x{i}@example.com"} for i in range(1001)]
        self.assertProblem(self.upsert(too_many), 413, "records")
        self.assertProblem(self.upsert([]), 400, "records")
        self.assertProblem(
            self.post("/api/v1/contacts/batch/upsert", {"records": {}}, token=self.tokens["bob"]), 400, "records"
        )
        self.assertProblem(self.post("/api/v1/contacts/batch/upsert", [1, 2], token=self.tokens["bob"]), 400)
        self.assertProblem(
            self.post("/api/v1/contacts/batch/upsert", {"records": [{}], "mode": "x"}, token=self.tokens["bob"]),
            400,
            "mode",
        )
        self.assertFalse(Contact.objects.filter(email="x0@example.com").exists())

    def test_read_only_user_gets_403_for_the_batch(self):
        self.assertProblem(self.upsert([{"email": "r@example.com"}], who="rory"), 403)
        self.assertFalse(Contact.objects.filter(email="r@example.com").exists())


class CompanyAndDealBatchTests(ApiTestCase):
    def test_companies_match_by_external_id_then_domain(self):
        acme = make_company(None, name="Acme", domain="acme.example", external_id="crm-1")
        records = [
            {"external_id": "crm-1", "name": "Acme Inc"},
            {"domain": "https://www.ACME.example", "industry": "Tools"},
            {"name": "Globex", "domain": "globex.example", "external_id": "crm-2"},
            {"name": "", "domain": "bad"},
        ]
        body = self.post("/api/v1/companies/batch/upsert", {"records": records}, token=self.tokens["bob"]).json()
        self.assertEqual([r["status"] for r in body["results"]], ["updated", "updated", "created", "rejected"])
        acme.refresh_from_db()
        self.assertEqual((acme.name, acme.industry), ("Acme Inc", "Tools"))
        again = self.post("/api/v1/companies/batch/upsert", {"records": records}, token=self.tokens["bob"]).json()
        self.assertEqual(again["totals"], {"created": 0, "updated": 0, "unchanged": 3, "rejected": 1})
        self.assertEqual(Company.objects.count(), 2)

    def test_deals_need_external_id_and_rerun_is_unchanged(self):
        stages = list(default_pipeline().stages.order_by("position"))
        contact = make_contact(None)
        records = [
            {
                "external_id": "d-1",
                "name": "One",
                "stage": stages[0].pk,
                "contacts": [{"contact": contact.pk, "role": "champion"}],
            },
            {"external_id": "d-2", "name": "Two", "stage": stages[0].pk, "amount": "10.50"},
            {"name": "No key", "stage": stages[0].pk},
            {"external_id": "d-3", "name": "No stage"},
        ]
        body = self.post("/api/v1/deals/batch/upsert", {"records": records}, token=self.tokens["bob"]).json()
        self.assertEqual([r["status"] for r in body["results"]], ["created", "created", "rejected", "created"])
        self.assertIn("external_id", body["results"][2]["errors"])
        # Without a stage, a deal starts in the default pipeline's first stage (as POST /deals does).
        self.assertEqual(Deal.objects.get(external_id="d-3").stage, stages[0])
        again = self.post("/api/v1/deals/batch/upsert", {"records": records}, token=self.tokens["bob"]).json()
        self.assertEqual([r["status"] for r in again["results"]], ["unchanged", "unchanged", "rejected", "unchanged"])
        records[1]["amount"] = "11"
        records[0]["contacts"][0]["role"] = "decision_maker"
        third = self.post("/api/v1/deals/batch/upsert", {"records": records}, token=self.tokens["bob"]).json()
        self.assertEqual([r["status"] for r in third["results"]][:2], ["updated", "updated"])
        self.assertEqual(Deal.objects.count(), 3)
        self.assertEqual(str(Deal.objects.get(external_id="d-2").amount), "11.00")
