from datetime import timedelta

from django.test import Client
from django.utils import timezone

from smarketing.api import tokens
from smarketing.api.models import ApiToken
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.crm import services
from smarketing.crm.models import Contact
from smarketing.testing import make_company, make_contact, make_deal


class RoleMatrixTests(ApiTestCase):
    """The API enforces exactly the UI's rules (crm.access): read-only reads, members edit own or unowned."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.alices = make_contact(None, owner=cls.cast["alice"])
        cls.bobs = make_contact(None, owner=cls.cast["bob"])
        cls.unowned = make_contact(None)

    def test_read_only_user_reads_but_cannot_write_anything(self):
        rory = self.tokens["rory"]
        self.assertEqual(self.get(f"/api/v1/contacts/{self.alices.pk}", token=rory).status_code, 200)
        self.assertProblem(self.post("/api/v1/contacts", {"email": "new@example.com"}, token=rory), 403)
        self.assertProblem(self.patch(f"/api/v1/contacts/{self.unowned.pk}", {"title": "x"}, token=rory), 403)
        self.assertProblem(self.delete(f"/api/v1/contacts/{self.unowned.pk}", token=rory), 403)
        self.assertProblem(self.post("/api/v1/companies", {"name": "X"}, token=rory), 403)
        target = {"contact": self.unowned.pk}
        self.assertProblem(self.post("/api/v1/notes", {"body": "hi", **target}, token=rory), 403)
        self.assertProblem(self.post("/api/v1/tasks", {"title": "Call", **target}, token=rory), 403)
        touch = {"kind": "page_viewed", "summary": "Visited /pricing", **target}
        self.assertProblem(self.post("/api/v1/touchpoints", touch, token=rory), 403)
        call = {"kind": "call_logged", "summary": "Called", **target}
        self.assertProblem(self.post("/api/v1/touchpoints", call, token=rory), 403)
        self.assertProblem(
            self.post(f"/api/v1/contacts/{self.unowned.pk}/lifecycle", {"stage": "mql"}, token=rory), 403
        )
        self.assertEqual(Contact.objects.count(), 3)

    def test_member_edits_own_and_unowned_records_only(self):
        bob = self.tokens["bob"]
        self.assertEqual(self.patch(f"/api/v1/contacts/{self.bobs.pk}", {"title": "a"}, token=bob).status_code, 200)
        self.assertEqual(self.patch(f"/api/v1/contacts/{self.unowned.pk}", {"title": "a"}, token=bob).status_code, 200)
        body = self.assertProblem(self.patch(f"/api/v1/contacts/{self.alices.pk}", {"title": "a"}, token=bob), 403)
        self.assertIn("edit", body["detail"])
        self.alices.refresh_from_db()
        self.assertEqual(self.alices.title, "")
        # Members may not delete, not even their own records.
        self.assertProblem(self.delete(f"/api/v1/contacts/{self.bobs.pk}", token=bob), 403)

    def test_member_cannot_move_others_deals(self):
        deal = make_deal(None, owner=self.cast["alice"])
        stage = deal.pipeline.stages.order_by("position")[2]
        self.assertProblem(
            self.post(f"/api/v1/deals/{deal.pk}/move", {"stage": stage.pk}, token=self.tokens["bob"]), 403
        )

    def test_manager_deletes(self):
        company = make_company(None, owner=self.cast["bob"])
        self.assertEqual(self.delete(f"/api/v1/companies/{company.pk}", token=self.tokens["carol"]).status_code, 204)

    def test_only_task_owner_or_manager_completes(self):
        task = services.create_task(actor=self.cast["alice"], title="Call back", contact=self.unowned)
        self.assertProblem(self.post(f"/api/v1/tasks/{task.pk}/complete", token=self.tokens["bob"]), 403)
        response = self.post(f"/api/v1/tasks/{task.pk}/complete", token=self.tokens["alice"])
        self.assertEqual(response.status_code, 200, response.content)
        self.assertIsNotNone(response.json()["completed_at"])


class TokenAuthTests(ApiTestCase):
    def test_no_credentials_is_401_with_bearer_challenge(self):
        response = self.get("/api/v1/contacts")
        self.assertProblem(response, 401)
        self.assertEqual(response["WWW-Authenticate"], 'Bearer realm="api"')

    def test_unknown_malformed_and_revoked_tokens_are_401(self):
        self.assertProblem(self.get("/api/v1/contacts", token="smk_nope"), 401)
        self.assertProblem(self.call("GET", "/api/v1/contacts", authorization="Bearer a b"), 401)
        token, raw = tokens.create_token(self.cast["bob"], name="ci", scope="read_write")
        self.assertEqual(self.get("/api/v1/contacts", token=raw).status_code, 200)
        tokens.revoke_token(token, actor=self.cast["bob"])
        self.assertProblem(self.get("/api/v1/contacts", token=raw), 401)

    def test_token_of_deactivated_user_is_401(self):
        self.cast["mia"].is_active = False
        self.cast["mia"].save()
        self.assertProblem(self.get("/api/v1/contacts", token=self.tokens["mia"]), 401)

    def test_read_scope_token_cannot_write(self):
        _, raw = tokens.create_token(self.cast["alice"], name="bi", scope="read")
        self.assertEqual(self.get("/api/v1/contacts", token=raw).status_code, 200)
        body = self.assertProblem(self.post("/api/v1/contacts", {"email": "x@example.com"}, token=raw), 403)
        self.assertIn("read-only", body["detail"])
        self.assertFalse(Contact.objects.exists())

    def test_only_the_hash_is_stored_and_last_use_is_written_at_most_once_a_minute(self):
        token, raw = tokens.create_token(self.cast["bob"], name="ci", scope="read")
        self.assertNotIn(raw, str(ApiToken.objects.filter(pk=token.pk).values().get()))
        self.assertEqual(token.prefix, raw[:12])
        self.get("/api/v1/teams", token=raw)
        token.refresh_from_db()
        first = token.last_used_at
        self.assertIsNotNone(first)
        self.get("/api/v1/teams", token=raw)
        token.refresh_from_db()
        self.assertEqual(token.last_used_at, first)
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
        self.get("/api/v1/teams", token=raw)
        token.refresh_from_db()
        self.assertGreater(token.last_used_at, first)


class SessionAuthTests(ApiTestCase):
    def test_session_works_for_reads_and_writes_need_csrf(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.cast["bob"])
        self.assertEqual(client.get("/api/v1/contacts").status_code, 200)
        response = client.post("/api/v1/contacts", {"email": "s@example.com"}, content_type="application/json")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response["Content-Type"], "application/problem+json")
        self.assertIn("CSRF", response.json()["detail"])
        # With the token from the page (as htmx sends it), the write goes through.
        page = client.get("/api/tokens/")
        csrf = page.context["csrf_token"]
        response = client.post(
            "/api/v1/contacts",
            {"email": "s@example.com"},
            content_type="application/json",
            headers={"X-CSRFToken": str(csrf)},
        )
        self.assertEqual(response.status_code, 201, response.content)
