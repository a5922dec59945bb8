from smarketing.api.tests.helpers import ApiTestCase
from smarketing.core.models import AuditEntry, Event, Origin
from smarketing.crm import kinds as Kind
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Company, Contact, Deal, LifecycleChange, Pipeline, PropertyDefinition
from smarketing.testing import make_company, make_contact, make_deal
from smarketing.timeline.models import Touchpoint


class ContactApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        PropertyDefinition.objects.create(
            object_type="contact", key="plan", label="Plan", type="choice", choices=["free", "pro"]
        )
        PropertyDefinition.objects.create(object_type="contact", key="seats", label="Seats", type="number")

    def test_create_goes_through_the_service_with_api_origin(self):
        company = make_company()
        response = self.post(
            "/api/v1/contacts/",
            {
                "email": "  Jane@Example.COM ",
                "first_name": "Jane",
                "company": company.pk,
                "lifecycle_stage": "mql",
                "properties": {"plan": "pro", "seats": "12"},
            },
            token=self.tokens["bob"],
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        contact = Contact.objects.get(pk=body["id"])
        self.assertEqual(contact.email, "jane@example.com")
        self.assertEqual(contact.custom, {"plan": "pro", "seats": 12})
        self.assertEqual(body["properties"], {"plan": "pro", "seats": 12})
        self.assertEqual(body["company"], company.pk)
        self.assertEqual(response["Location"], f"/api/v1/contacts/{contact.pk}")
        self.assertEqual(response["ETag"], '"1"')
        self.assertEqual(LifecycleChange.objects.get(contact=contact).origin, Origin.API)
        self.assertTrue(
            AuditEntry.objects.filter(object_id=str(contact.pk), action="create", origin=Origin.API).exists()
        )
        self.assertTrue(Event.objects.filter(name="contact.created", object_id=str(contact.pk)).exists())

    def test_retrieve_list_and_trailing_slash_optional(self):
        contact = make_contact(None)
        for path in (f"/api/v1/contacts/{contact.pk}", f"/api/v1/contacts/{contact.pk}/"):
            response = self.get(path, token=self.tokens["rory"])
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.json()["email"], contact.email)
        response = self.get("/api/v1/contacts", token=self.tokens["rory"])
        self.assertEqual([r["id"] for r in response.json()["results"]], [contact.pk])

    def test_patch_changes_only_sent_fields_and_bumps_version(self):
        contact = make_contact(None, title="CTO", phone="1")
        response = self.patch(f"/api/v1/contacts/{contact.pk}/", {"phone": "2"}, token=self.tokens["bob"])
        self.assertEqual(response.status_code, 200, response.content)
        contact.refresh_from_db()
        self.assertEqual((contact.phone, contact.title, contact.version), ("2", "CTO", 2))
        self.assertEqual(response["ETag"], '"2"')

    def test_patch_properties_merge_and_null_removes(self):
        contact = make_contact(None, custom={"plan": "free", "seats": 3})
        self.patch(
            f"/api/v1/contacts/{contact.pk}/",
            {"properties": {"seats": None, "plan": "pro"}},
            token=self.tokens["alice"],
        )
        contact.refresh_from_db()
        self.assertEqual(contact.custom, {"plan": "pro"})

    def test_bad_property_values_are_field_errors(self):
        contact = make_contact(None)
        response = self.patch(
            f"/api/v1/contacts/{contact.pk}/",
            {"properties": {"plan": "gold", "seats": "many", "nope": 1}},
            token=self.tokens["alice"],
        )
        body = self.assertProblem(response, 400)
        self.assertEqual(set(body["errors"]), {"properties.plan", "properties.seats", "properties.nope"})

    def test_lifecycle_forward_by_patch_backward_needs_action_with_reason(self):
        contact = make_contact(None, lifecycle_stage="lead")
        response = self.patch(f"/api/v1/contacts/{contact.pk}/", {"lifecycle_stage": "sql"}, token=self.tokens["bob"])
        self.assertEqual(response.json()["lifecycle_stage"], "sql")
        response = self.patch(f"/api/v1/contacts/{contact.pk}/", {"lifecycle_stage": "lead"}, token=self.tokens["bob"])
        self.assertProblem(response, 400, "lifecycle_stage")
        response = self.post(
            f"/api/v1/contacts/{contact.pk}/lifecycle",
            {"stage": "lead", "allow_backward": True, "reason": "No budget this year"},
            token=self.tokens["bob"],
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["lifecycle_stage"], "lead")
        change = LifecycleChange.objects.filter(contact=contact).latest("id")
        self.assertEqual((change.to_stage, change.reason, change.origin), ("lead", "No budget this year", Origin.API))
        # PATCH with a reason may recycle too.
        self.patch(f"/api/v1/contacts/{contact.pk}/", {"lifecycle_stage": "mql"}, token=self.tokens["bob"])
        data = {"lifecycle_stage": "subscriber", "lifecycle_reason": "Went quiet"}
        response = self.patch(f"/api/v1/contacts/{contact.pk}/", data, token=self.tokens["bob"])
        self.assertEqual(response.json()["lifecycle_stage"], "subscriber", response.content)
        self.assertNotIn("lifecycle_reason", response.json())
        self.assertEqual(LifecycleChange.objects.filter(contact=contact).latest("id").reason, "Went quiet")

    def test_if_match_conflict_is_412_and_body_version_conflict_is_409(self):
        contact = make_contact(None)
        self.patch(f"/api/v1/contacts/{contact.pk}/", {"title": "A"}, token=self.tokens["alice"])  # version 2
        response = self.patch(
            f"/api/v1/contacts/{contact.pk}/", {"title": "B"}, token=self.tokens["alice"], if_match='"1"'
        )
        self.assertProblem(response, 412)
        response = self.patch(
            f"/api/v1/contacts/{contact.pk}/", {"title": "B", "version": 1}, token=self.tokens["alice"]
        )
        self.assertProblem(response, 409)
        contact.refresh_from_db()
        self.assertEqual(contact.title, "A")
        response = self.patch(
            f"/api/v1/contacts/{contact.pk}/", {"title": "B"}, token=self.tokens["alice"], if_match='"2"'
        )
        self.assertEqual(response.status_code, 200)
        self.assertProblem(
            self.patch(f"/api/v1/contacts/{contact.pk}/", {}, token=self.tokens["alice"], if_match="v2"),
            400,
            "If-Match",
        )

    def test_duplicate_email_is_a_field_error(self):
        make_contact(None, email="dup@example.com")
        response = self.post("/api/v1/contacts/", {"email": "DUP@example.com"}, token=self.tokens["alice"])
        self.assertProblem(response, 400, "email")

    def test_delete_by_manager(self):
        contact = make_contact(None)
        response = self.delete(f"/api/v1/contacts/{contact.pk}/", token=self.tokens["carol"])
        self.assertEqual(response.status_code, 204)
        self.assertFalse(Contact.objects.filter(pk=contact.pk).exists())
        self.assertProblem(self.get(f"/api/v1/contacts/{contact.pk}/", token=self.tokens["carol"]), 404)

    def test_put_is_not_offered(self):
        contact = make_contact(None)
        response = self.call(
            "PUT", f"/api/v1/contacts/{contact.pk}/", {"email": "x@example.com"}, token=self.tokens["alice"]
        )
        self.assertProblem(response, 405)
        self.assertNotIn("PUT", response["Allow"])


class CompanyApiTests(ApiTestCase):
    def test_crud(self):
        response = self.post(
            "/api/v1/companies/",
            {"name": "Acme", "domain": "https://www.ACME.com/about", "employees": 40, "annual_revenue": "1000000.50"},
            token=self.tokens["bob"],
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual((body["domain"], body["annual_revenue"], body["employees"]), ("acme.com", "1000000.50", 40))
        pk = body["id"]
        response = self.patch(f"/api/v1/companies/{pk}/", {"industry": "Software"}, token=self.tokens["bob"])
        self.assertEqual(response.json()["industry"], "Software")
        self.assertEqual(self.get(f"/api/v1/companies/{pk}/", token=self.tokens["rory"]).json()["name"], "Acme")
        self.assertEqual(self.delete(f"/api/v1/companies/{pk}/", token=self.tokens["alice"]).status_code, 204)
        self.assertFalse(Company.objects.filter(pk=pk).exists())

    def test_out_of_range_numbers_are_refused_not_500(self):
        response = self.post("/api/v1/companies/", {"name": "Big", "employees": 10**20}, token=self.tokens["alice"])
        self.assertProblem(response, 400, "employees")
        response = self.post(
            "/api/v1/companies/", {"name": "Big", "annual_revenue": "1e40"}, token=self.tokens["alice"]
        )
        self.assertProblem(response, 400, "annual_revenue")


class DealApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.pipeline = default_pipeline()
        cls.stages = list(cls.pipeline.stages.order_by("position"))

    def test_create_with_contacts_and_stage(self):
        contact = make_contact(None, lifecycle_stage="sql")
        response = self.post(
            "/api/v1/deals/",
            {
                "name": "Big one",
                "amount": "5000",
                "stage": self.stages[0].pk,
                "contacts": [{"contact": contact.pk, "role": "champion"}],
            },
            token=self.tokens["bob"],
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(body["pipeline"], self.pipeline.pk)
        self.assertEqual(body["contacts"], [{"contact": contact.pk, "role": "champion"}])
        contact.refresh_from_db()
        self.assertEqual(contact.lifecycle_stage, "opportunity")  # the service's rule, applied for the API too

    def test_create_without_a_stage_starts_in_the_first_stage_or_needs_one(self):
        response = self.post("/api/v1/deals/", {"name": "X"}, token=self.tokens["bob"])
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["stage"], self.stages[0].pk)
        Deal.objects.all().delete()
        Pipeline.objects.all().delete()  # no pipeline to default to: the stage must be given
        self.assertProblem(self.post("/api/v1/deals/", {"name": "Y"}, token=self.tokens["bob"]), 400, "stage")

    def test_patch_stage_moves_with_exit_criteria(self):
        deal = make_deal(None, amount="0")
        # Leaving the first stage needs contacts: refused, and the other fields of the PATCH are not kept.
        response = self.patch(
            f"/api/v1/deals/{deal.pk}/", {"stage": self.stages[1].pk, "source": "web"}, token=self.tokens["bob"]
        )
        self.assertProblem(response, 400, "stage")
        deal.refresh_from_db()
        self.assertEqual((deal.stage_id, deal.source), (self.stages[0].pk, ""))
        contact = make_contact(None)
        self.post(
            f"/api/v1/deals/{deal.pk}/contacts", {"contact": contact.pk, "role": "user"}, token=self.tokens["bob"]
        )
        response = self.patch(f"/api/v1/deals/{deal.pk}/", {"stage": self.stages[1].pk}, token=self.tokens["bob"])
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["stage"], self.stages[1].pk)
        self.assertTrue(Touchpoint.objects.filter(deal=deal, kind=Kind.DEAL_STAGE_CHANGED).exists())

    def test_move_to_lost_needs_reason(self):
        deal = make_deal(None, contacts=[make_contact(None)])
        lost = self.stages[-1]
        self.assertProblem(
            self.post(f"/api/v1/deals/{deal.pk}/move", {"stage": lost.pk}, token=self.tokens["bob"]), 400, "stage"
        )
        response = self.post(
            f"/api/v1/deals/{deal.pk}/move", {"stage": lost.pk, "reason": "Chose a rival"}, token=self.tokens["bob"]
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual((response.json()["status"], response.json()["close_reason"]), ("lost", "Chose a rival"))

    def test_contacts_cannot_be_replaced_by_patch(self):
        deal = make_deal(None)
        contact = make_contact(None)
        response = self.patch(
            f"/api/v1/deals/{deal.pk}/", {"contacts": [{"contact": contact.pk}]}, token=self.tokens["bob"]
        )
        self.assertProblem(response, 400, "contacts")

    def test_delete(self):
        deal = make_deal(None)
        self.assertEqual(self.delete(f"/api/v1/deals/{deal.pk}", token=self.tokens["alice"]).status_code, 204)
        self.assertFalse(Deal.objects.filter(pk=deal.pk).exists())


class ReferenceApiTests(ApiTestCase):
    def test_pipelines_nest_their_stages(self):
        body = self.get("/api/v1/pipelines/", token=self.tokens["rory"]).json()
        self.assertEqual(len(body["results"]), 1)
        stages = body["results"][0]["stages"]
        self.assertEqual([s["position"] for s in stages], sorted(s["position"] for s in stages))
        stage = stages[0]
        self.assertEqual(
            self.get(f"/api/v1/stages/{stage['id']}/", token=self.tokens["rory"]).json()["name"], stage["name"]
        )

    def test_users_and_teams_are_read_only(self):
        users = self.get("/api/v1/users/?ordering=email", token=self.tokens["rory"]).json()["results"]
        self.assertEqual([u["email"] for u in users][:2], ["alice@example.com", "bob@example.com"])
        self.assertNotIn("password", users[0])
        self.assertEqual(len(self.get("/api/v1/teams/", token=self.tokens["rory"]).json()["results"]), 3)
        self.assertProblem(self.post("/api/v1/users/", {"email": "x@example.com"}, token=self.tokens["alice"]), 405)

    def test_property_definitions_admins_write_everyone_reads(self):
        data = {"object_type": "deal", "key": "tier", "label": "Tier", "type": "choice", "choices": ["a", "b"]}
        self.assertProblem(self.post("/api/v1/properties/", data, token=self.tokens["carol"]), 403)
        response = self.post("/api/v1/properties/", data, token=self.tokens["alice"])
        self.assertEqual(response.status_code, 201, response.content)
        pk = response.json()["id"]
        self.assertProblem(self.post("/api/v1/properties/", data, token=self.tokens["alice"]), 400, "key")
        self.assertProblem(
            self.patch(f"/api/v1/properties/{pk}/", {"type": "text"}, token=self.tokens["alice"]), 400, "type"
        )
        response = self.patch(f"/api/v1/properties/{pk}/", {"label": "Service tier"}, token=self.tokens["alice"])
        self.assertEqual(response.json()["label"], "Service tier")
        self.assertEqual(
            self.get("/api/v1/properties/?object_type=deal", token=self.tokens["rory"]).json()["results"][0]["key"],
            "tier",
        )
        self.assertTrue(AuditEntry.objects.filter(object_type="crm.propertydefinition", action="update").exists())
        self.assertEqual(self.delete(f"/api/v1/properties/{pk}/", token=self.tokens["alice"]).status_code, 204)
        self.assertProblem(
            self.post("/api/v1/properties/", {**data, "choices": []}, token=self.tokens["alice"]), 400, "choices"
        )

    def test_root_lists_resources(self):
        body = self.get("/api/v1/", token=self.tokens["rory"]).json()
        self.assertEqual(body["contacts"], "http://testserver/api/v1/contacts")
