"""/api/v1/forms and /api/v1/forms/{id}/submissions: create, update, publish through status, validation as
problem+json, the access rules, keyset pages and query counts."""

from smarketing.accounts.access import system_actor
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.core.models import AuditEntry, Origin
from smarketing.forms import services
from smarketing.forms.models import Form, FormStatus
from smarketing.forms.tests.helpers import add_submission

EMAIL = {"key": "email", "label": "Email", "type": "email", "maps_to": "contact.email", "required": True}


class FormApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.form = services.create_form(system_actor(Origin.SEED), name="Newsletter", starter="newsletter")

    def test_create_then_publish_through_status(self):
        body = {
            "name": "Contact us",
            "fields": [EMAIL, {"key": "msg", "label": "Message", "type": "textarea", "maps_to": ""}],
            "allowed_origins": ["https://www.example.com"],
            "redirect_url": "https://www.example.com/thanks",
            "notify_users": [self.carol.pk],
        }
        response = self.post("/api/v1/forms", body, token=self.tokens["mia"])
        self.assertEqual(response.status_code, 201, response.content)
        data = response.json()
        self.assertEqual(data["status"], "draft")
        self.assertEqual([f["key"] for f in data["fields"]], ["email", "msg"])
        self.assertEqual(data["allowed_origins"], ["https://www.example.com"])
        self.assertEqual(data["notify_users"], [self.carol.pk])
        self.assertTrue(data["urls"]["embed"].endswith(f"/f/{data['public_id']}/embed.js"))
        self.assertEqual(response["Location"], f"/api/v1/forms/{data['id']}")
        response = self.patch(f"/api/v1/forms/{data['id']}", {"status": "live"}, token=self.tokens["mia"])
        self.assertEqual(response.json()["status"], "live")
        entry = AuditEntry.objects.filter(object_id=str(data["id"]), action="publish").get()
        self.assertEqual(entry.origin, Origin.API)

    def test_fields_are_validated(self):
        bad = {"name": "Bad", "fields": [{"key": "Bad Key", "type": "select", "label": "X"}]}
        body = self.assertProblem(self.post("/api/v1/forms", bad, token=self.tokens["mia"]), 400, "fields")
        self.assertTrue(any("key must be lowercase" in m for m in body["errors"]["fields"]))
        bad = {"fields": [EMAIL], "redirect_url": "javascript:alert(1)"}
        self.assertProblem(self.patch(f"/api/v1/forms/{self.form.pk}", bad, token=self.tokens["mia"]), 400)
        self.assertProblem(
            self.patch(f"/api/v1/forms/{self.form.pk}", {"public_id": "x"}, token=self.tokens["mia"]), 400, "public_id"
        )
        self.assertProblem(
            self.patch(f"/api/v1/forms/{self.form.pk}", {"status": "draft"}, token=self.tokens["mia"]), 400, "status"
        )
        self.assertEqual(Form.objects.get(pk=self.form.pk).fields, self.form.fields)

    def test_update_changes_only_the_given_keys(self):
        response = self.patch(
            f"/api/v1/forms/{self.form.pk}",
            {"title": "Monthly news", "min_fill_seconds": 5},
            token=self.tokens["alice"],
        )
        self.assertEqual(response.status_code, 200, response.content)
        form = Form.objects.get(pk=self.form.pk)
        self.assertEqual((form.title, form.min_fill_seconds, form.name), ("Monthly news", 5, "Newsletter"))

    def test_access(self):
        for name in ("bob", "rory"):
            self.assertProblem(self.post("/api/v1/forms", {"name": "X"}, token=self.tokens[name]), 403)
            self.assertProblem(
                self.patch(f"/api/v1/forms/{self.form.pk}", {"status": "live"}, token=self.tokens[name]), 403
            )
            self.assertEqual(self.get("/api/v1/forms", token=self.tokens[name]).status_code, 200)
        self.assertEqual(Form.objects.get(pk=self.form.pk).status, FormStatus.DRAFT)

    def test_list_filters_and_query_count(self):
        for i in range(4):
            services.create_form(self.mia, name=f"Form {i}")
        services.publish_form(self.mia, self.form)
        self.get("/api/v1/forms?limit=1", token=self.tokens["rory"])  # the token's last use is recorded once
        # the token with its user, the page of forms, their notified users.
        with self.assertNumQueries(3):
            response = self.get("/api/v1/forms?limit=2", token=self.tokens["rory"])
        self.assertEqual(len(response.json()["results"]), 2)
        with self.assertNumQueries(3):
            response = self.get(response.json()["next"], token=self.tokens["rory"])
        self.assertEqual(len(response.json()["results"]), 2)
        live = self.get("/api/v1/forms?status=live", token=self.tokens["rory"]).json()["results"]
        self.assertEqual([f["id"] for f in live], [self.form.pk])


class SubmissionApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.form = services.create_form(system_actor(Origin.SEED), name="Newsletter", starter="newsletter")
        other = services.create_form(system_actor(Origin.SEED), name="Other")
        for i in range(5):
            add_submission(cls.form, email=f"p{i}@x.test")
        add_submission(cls.form, status="spam", email="bot@x.test")
        add_submission(other, email="elsewhere@x.test")

    def test_keyset_pages_newest_first(self):
        url = f"/api/v1/forms/{self.form.pk}/submissions?limit=4"
        self.get(url, token=self.tokens["rory"])  # the token's last use is recorded once
        # the token with its user, the form, one page of submissions.
        with self.assertNumQueries(3):
            first = self.get(url, token=self.tokens["rory"]).json()
        emails = [s["data"]["email"] for s in first["results"]]
        self.assertEqual(emails, ["bot@x.test", "p4@x.test", "p3@x.test", "p2@x.test"])
        with self.assertNumQueries(3):
            second = self.get(first["next"], token=self.tokens["rory"]).json()
        self.assertEqual([s["data"]["email"] for s in second["results"]], ["p1@x.test", "p0@x.test"])
        self.assertIsNone(second["next"])
        self.assertNotIn("ip", second["results"][0])

    def test_status_filter(self):
        spam = self.get(f"/api/v1/forms/{self.form.pk}/submissions?status=spam", token=self.tokens["bob"]).json()
        self.assertEqual([s["data"]["email"] for s in spam["results"]], ["bot@x.test"])
        self.assertProblem(
            self.get(f"/api/v1/forms/{self.form.pk}/submissions?status=nope", token=self.tokens["bob"]), 400
        )

    def test_read_only(self):
        response = self.post(f"/api/v1/forms/{self.form.pk}/submissions", {}, token=self.tokens["alice"])
        self.assertEqual(response.status_code, 405)
