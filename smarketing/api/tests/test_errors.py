from unittest import mock

from django.test import Client, override_settings

from smarketing.api import throttling
from smarketing.api.tests.helpers import PROBLEM, ApiTestCase
from smarketing.crm.models import Contact
from smarketing.testing import make_contact


class ProblemFormatTests(ApiTestCase):
    """Every 4xx/5xx is application/problem+json with field-level messages; never an HTML page or a 500."""

    def test_malformed_json(self):
        for raw in ('{"email": ', "[1, 2", "\xff\xfe", "NaN"):
            with self.subTest(raw=raw):
                response = self.call("POST", "/api/v1/contacts", raw=raw, token=self.tokens["alice"])
                body = self.assertProblem(response, 400)
                if raw != "NaN":
                    self.assertEqual(body["type"], "/api/docs/#problem-parse-error")

    def test_unknown_and_read_only_fields_are_named(self):
        response = self.post(
            "/api/v1/contacts", {"email": "a@example.com", "emial": "x", "id": 5}, token=self.tokens["alice"]
        )
        body = self.assertProblem(response, 400)
        self.assertEqual(body["errors"], {"emial": ["Unknown field."], "id": ["This field is read-only."]})
        self.assertEqual(body["detail"], "2 fields are invalid: emial, id.")
        self.assertFalse(Contact.objects.exists())

    def test_wrong_types(self):
        cases = [
            ({"email": ["a@example.com"]}, "email"),
            ({"email": "a@example.com", "company": "acme"}, "company"),
            ({"email": "a@example.com", "owner": 10**30}, "owner"),
            ({"email": "a@example.com", "properties": ["x"]}, "properties"),
            ({"email": "a@example.com", "first_touch_at": "last tuesday"}, "first_touch_at"),
            ({"email": "a@example.com", "lifecycle_stage": 3}, "lifecycle_stage"),
            ({"email": "a@example.com", "first_name": "x" * 101}, "first_name"),
            ({"email": "a@example.com", "first_name": "a\x00b"}, "first_name"),
        ]
        for data, field in cases:
            with self.subTest(field=field):
                self.assertProblem(self.post("/api/v1/contacts", data, token=self.tokens["alice"]), 400, field)
        self.assertProblem(self.post("/api/v1/contacts", [1], token=self.tokens["alice"]), 400, "non_field_errors")

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
    def test_oversized_body_is_413(self):
        data = {"email": "big@example.com", "title": "x" * 5000}
        body = self.assertProblem(self.post("/api/v1/contacts", data, token=self.tokens["alice"]), 413)
        self.assertIn("2048", body["detail"])

    def test_too_many_query_parameters_is_400(self):
        query = "&".join(f"p{i}=1" for i in range(1100))
        self.assertProblem(self.get(f"/api/v1/contacts?{query}", token=self.tokens["alice"]), 400)

    def test_not_found(self):
        self.assertProblem(self.get("/api/v1/contacts/999999", token=self.tokens["alice"]), 404)
        self.assertProblem(self.get("/api/v1/contacts/abc", token=self.tokens["alice"]), 404)
        self.assertProblem(self.get("/api/v1/nothing/here", token=self.tokens["alice"]), 404)
        self.assertProblem(self.get("/api/v1/contacts/99999999999999999999999", token=self.tokens["alice"]), 404)

    def test_method_not_allowed(self):
        response = self.delete("/api/v1/contacts", token=self.tokens["alice"])
        self.assertProblem(response, 405)
        self.assertIn("GET", response["Allow"])
        self.assertProblem(self.patch("/api/v1/touchpoints/1", {}, token=self.tokens["alice"]), 405)

    def test_unsupported_media_type_and_not_acceptable(self):
        response = Client().post(
            "/api/v1/contacts",
            "email=a@example.com",
            content_type="application/x-www-form-urlencoded",
            headers={"Authorization": f"Bearer {self.tokens['alice']}"},
        )
        self.assertProblem(response, 415)
        response = self.call("GET", "/api/v1/contacts", token=self.tokens["alice"], accept="text/html")
        self.assertProblem(response, 406)

    def test_throttling_per_token_with_retry_after(self):
        with mock.patch.object(throttling, "RATE_PER_MINUTE", 3):
            for _ in range(3):
                self.assertEqual(self.get("/api/v1/teams", token=self.tokens["bob"]).status_code, 200)
            response = self.get("/api/v1/teams", token=self.tokens["bob"])
            self.assertProblem(response, 429)
            self.assertGreaterEqual(int(response["Retry-After"]), 1)
            # Another token has its own budget.
            self.assertEqual(self.get("/api/v1/teams", token=self.tokens["carol"]).status_code, 200)

    def test_a_bug_is_a_500_problem(self):
        client = Client(raise_request_exception=False)
        make_contact(None)
        with mock.patch("smarketing.crm.api.views.ContactViewSet.list", side_effect=RuntimeError("boom")):
            response = client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {self.tokens['alice']}"})
        self.assertEqual(response.status_code, 500)
        self.assertEqual(response["Content-Type"], PROBLEM)
        self.assertNotIn("boom", response.content.decode())
