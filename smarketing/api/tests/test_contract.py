"""The API keeps the contract its schema states: found by generated clients and schemathesis, pinned here."""

from django.test import Client

from smarketing.api.tests.helpers import ApiTestCase
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Contact, Deal
from smarketing.testing import make_company, make_contact, make_deal


class UnknownPathTests(ApiTestCase):
    def test_unsafe_methods_to_unknown_paths_are_problem_404s_not_the_csrf_page(self):
        # A real browser-less client: CSRF checks on, a valid token, no session cookie.
        client = Client(enforce_csrf_checks=True)
        auth = {"Authorization": f"Bearer {self.tokens['alice']}"}
        for method in ("post", "put", "patch", "delete"):
            for path in ("/api/v1/nothing", "/api/v1/contacts/1/nothing", "/api/v2/contacts", "/api/nothing"):
                with self.subTest(method=method, path=path):
                    response = getattr(client, method)(path, "{}", content_type="application/json", headers=auth)
                    self.assertProblem(response, 404)

    def test_the_tokens_page_is_still_the_ui(self):
        self.client.force_login(self.alice)
        response = self.client.get("/api/tokens/")
        self.assertEqual(response.status_code, 200)
        self.assertIn("text/html", response["Content-Type"])


class ExpandTests(ApiTestCase):
    def test_repeated_expand_parameters_expand_every_name(self):
        make_contact(self.bob, company=make_company(self.bob), owner=self.bob)
        for query in ("expand=company&expand=owner", "expand=company,owner", "expand=company&expand=owner,company"):
            with self.subTest(query=query):
                response = self.get(f"/api/v1/contacts?{query}", token=self.tokens["bob"])
                self.assertEqual(response.status_code, 200, response.content)
                row = response.json()["results"][0]
                self.assertIsInstance(row["company"], dict)
                self.assertIsInstance(row["owner"], dict)

    def test_an_unknown_name_among_repeated_ones_is_refused(self):
        response = self.get("/api/v1/contacts?expand=company&expand=deals", token=self.tokens["bob"])
        self.assertProblem(response, 400, "expand")

    def test_an_empty_name_is_refused_as_the_schema_says(self):
        for query in ("expand=", "expand=company,,owner", "expand=company&expand="):
            with self.subTest(query):
                response = self.get(f"/api/v1/contacts?{query}", token=self.tokens["bob"])
                self.assertProblem(response, 400, "expand")


class DealDefaultStageTests(ApiTestCase):
    def test_a_deal_without_a_stage_starts_in_the_default_pipelines_first_stage(self):
        make_deal(None)  # installs the default pipeline
        response = self.post("/api/v1/deals", {"name": "No stage given"}, token=self.tokens["bob"])
        self.assertEqual(response.status_code, 201, response.content)
        first = default_pipeline().stages.order_by("position").first()
        deal = Deal.objects.get(pk=response.json()["id"])
        self.assertEqual(deal.stage, first)
        self.assertEqual(response.json()["pipeline"], first.pipeline_id)


class EmptyValueTests(ApiTestCase):
    def test_empty_choice_values_are_refused_and_null_clears(self):
        response = self.post(
            "/api/v1/contacts", {"email": "a@example.com", "lead_status": ""}, token=self.tokens["bob"]
        )
        self.assertProblem(response, 400, "lead_status")
        response = self.post("/api/v1/contacts", {"email": "a@example.com"}, token=self.tokens["bob"])
        self.assertEqual(response.status_code, 201, response.content)
        self.assertIsNone(response.json()["lead_status"])  # a contact without one reads null, never ""
        self.assertIsNone(response.json()["consent_basis"])
        pk = response.json()["id"]
        response = self.patch(f"/api/v1/contacts/{pk}", {"lead_status": "open"}, token=self.tokens["bob"])
        self.assertEqual(response.json()["lead_status"], "open")
        response = self.patch(f"/api/v1/contacts/{pk}", {"lead_status": None}, token=self.tokens["bob"])
        self.assertEqual(response.status_code, 200, response.content)
        self.assertIsNone(response.json()["lead_status"])
        self.assertEqual(Contact.objects.get(pk=pk).lead_status, "")

    def test_values_of_the_wrong_json_type_are_refused_not_converted(self):
        for field, value in (("consent_source", 0), ("first_name", True), ("owner", "1"), ("company", True)):
            with self.subTest(field=field):
                data = {"email": "typed@example.com", field: value}
                self.assertProblem(self.post("/api/v1/contacts", data, token=self.tokens["bob"]), 400, field)
        data = {"name": "Acme", "employees": "12"}
        self.assertProblem(self.post("/api/v1/companies", data, token=self.tokens["bob"]), 400, "employees")
        self.assertFalse(Contact.objects.exists())

    def test_booleans_ordering_and_limit_take_no_stand_ins(self):
        for query in ("completed=null", "completed=1", "completed=True"):
            with self.subTest(query=query):
                self.assertProblem(self.get(f"/api/v1/tasks?{query}", token=self.tokens["bob"]), 400, "completed")
        self.assertProblem(self.get("/api/v1/contacts?ordering=", token=self.tokens["bob"]), 400, "ordering")
        self.assertProblem(self.get("/api/v1/contacts?limit=", token=self.tokens["bob"]), 400, "limit")

    def test_a_path_with_a_newline_is_a_problem_404(self):
        self.assertProblem(self.get("/api/v1/contacts/%0A1", token=self.tokens["bob"]), 404)
        self.assertProblem(self.delete("/api/v1/contacts/1%0A", token=self.tokens["bob"]), 404)

    def test_empty_filter_values_are_refused_except_for_text(self):
        for query in ("lifecycle_stage=", "owner=", "company=", "created_at_after=", "lead_status="):
            with self.subTest(query=query):
                self.assertProblem(self.get(f"/api/v1/contacts?{query}", token=self.tokens["bob"]), 400)
        for query in ("q=", "email=", "first_source="):
            with self.subTest(query=query):
                self.assertEqual(self.get(f"/api/v1/contacts?{query}", token=self.tokens["bob"]).status_code, 200)

    def test_id_filters_start_at_one(self):
        self.assertProblem(self.get("/api/v1/contacts?owner=0", token=self.tokens["bob"]), 400, "owner")
        self.assertEqual(self.get("/api/v1/contacts?owner=1", token=self.tokens["bob"]).status_code, 200)


class SchemaDeclarationTests(ApiTestCase):
    """What the findings were about, read from the schema itself."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.schema = Client().get("/api/schema/?format=json").json()

    def components(self):
        return self.schema["components"]["schemas"]

    def test_requests_and_responses_are_separate_components(self):
        request = self.components()["ContactRequest"]
        self.assertNotIn("id", request["properties"])
        self.assertNotIn("created_at", request["properties"])
        self.assertEqual(request["required"], ["email"])
        self.assertIn("id", self.components()["Contact"]["required"])
        body = self.schema["paths"]["/api/v1/contacts"]["post"]["requestBody"]["content"]["application/json"]
        self.assertEqual(body["schema"]["$ref"], "#/components/schemas/ContactRequest")

    def test_nullable_is_never_beside_a_schema_without_type(self):
        found = []

        def walk(node, where):
            if isinstance(node, dict):
                if node.get("nullable") and "type" not in node:
                    found.append(where)
                for key, value in node.items():
                    walk(value, f"{where}/{key}")
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    walk(value, f"{where}/{index}")

        walk(self.schema, "")
        self.assertEqual(found, [])

    def test_targets_of_touches_tasks_and_notes_may_be_null(self):
        for name in ("Touchpoint", "Task", "Note"):
            for field in ("contact", "company", "deal"):
                with self.subTest(component=name, field=field):
                    alternatives = self.components()[name]["properties"][field]["oneOf"]
                    self.assertIn({"enum": [None]}, alternatives)

    def test_no_enum_offers_the_empty_string(self):
        text = str(self.schema)
        self.assertNotIn("'enum': ['']", text)
        self.assertNotIn("'', ", str([c.get("enum") for c in self.components().values()]))

    def test_parameters_declare_their_bounds(self):
        listing = {p["name"]: p for p in self.schema["paths"]["/api/v1/contacts"]["get"]["parameters"]}
        self.assertEqual(listing["owner"]["schema"]["minimum"], 1)
        self.assertTrue(listing["expand"]["explode"])
        create = {p["name"]: p for p in self.schema["paths"]["/api/v1/contacts"]["post"]["parameters"]}
        key = create["Idempotency-Key"]["schema"]
        self.assertEqual((key["minLength"], key["maxLength"], key["pattern"]), (1, 255, "^[!-~]+$"))
        deal = self.components()["DealRequest"]
        self.assertNotIn("stage", deal.get("required", []))
