"""/api/v1/workflows and the enrollments: the builder's rules through the API, roles, secrets, query counts."""

from smarketing.accounts.models import Role
from smarketing.api import tokens
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.email.tests.campaign_fixtures import make_sender, make_template
from smarketing.testing import make_contact, make_user
from smarketing.workflows import services
from smarketing.workflows.models import Enrollment, StepEmail, StepRun, Workflow, WorkflowStatus

BASE = "/api/v1/workflows"


class WorkflowApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.maya = make_user("maya@example.com", role=Role.MANAGER, team_kind="marketing")
        cls.maya_token = tokens.create_token(cls.maya, name="tests", scope="read_write")[1]
        cls.template = make_template(subject="Welcome")
        cls.sender = make_sender()

    def definition(self):
        return {
            "steps": [
                {"id": "w", "type": "wait", "params": {"duration": {"hours": 1}}},
                {"id": "e", "type": "send_email", "params": {"template": self.template.pk, "sender": self.sender.pk}},
                {
                    "id": "b",
                    "type": "if",
                    "params": {"email": {"step": "e", "event": "clicked"}},
                    "yes": [{"id": "m", "type": "change_lifecycle_stage", "params": {"stage": "mql"}}],
                    "no": [],
                },
                {"id": "h", "type": "call_webhook", "params": {"url": "https://hooks.example.com/in"}},
            ]
        }

    def test_create_update_activate_pause(self):
        response = self.post(
            BASE,
            {"name": "Nurture", "trigger": {"type": "form_submitted", "params": {}}, "definition": self.definition()},
            token=self.maya_token,
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(response["Location"], f"{BASE}/{body['id']}")
        self.assertEqual(body["status"], "draft")
        self.assertEqual([s["id"] for s in body["definition"]["steps"]], ["w", "e", "b", "h"])
        secret = body["definition"]["steps"][3]["params"]["secret"]
        self.assertTrue(secret.startswith("whsec_"))  # maya may edit: she sees the signing secret
        workflow = Workflow.objects.get(pk=body["id"])
        self.assertTrue(StepEmail.objects.get(workflow=workflow, step_id="e").email_campaign.automated)

        # A member reads the workflow without the secret; sending the definition back keeps it.
        as_member = self.get(f"{BASE}/{workflow.pk}", token=self.tokens["mia"]).json()
        self.assertEqual(as_member["definition"]["steps"][3]["params"]["secret"], "")
        definition = as_member["definition"]
        definition["steps"][0]["params"] = {"duration": {"days": 1}}
        response = self.patch(f"{BASE}/{workflow.pk}", {"definition": definition}, token=self.maya_token)
        self.assertEqual(response.status_code, 200, response.content)
        workflow.refresh_from_db()
        self.assertEqual(workflow.definition["steps"][3]["params"]["secret"], secret)
        self.assertEqual(workflow.version, 2)

        self.assertEqual(self.post(f"{BASE}/{workflow.pk}/activate", token=self.maya_token).json()["status"], "active")
        self.assertEqual(self.post(f"{BASE}/{workflow.pk}/pause", token=self.maya_token).json()["status"], "paused")

    def test_bad_input_is_a_problem_a_person_can_read(self):
        bad_step = {"steps": [{"type": "set_property", "params": {"field": "consent_status", "value": "granted"}}]}
        body = self.assertProblem(self.post(BASE, {"name": "X", "definition": bad_step}, token=self.maya_token), 400)
        self.assertIn("Choose a property to set.", str(body["errors"]))
        self.assertProblem(self.post(BASE, {"name": "X", "trigger": {"type": "nope"}}, token=self.maya_token), 400)
        self.assertProblem(self.post(BASE, {"name": "X", "unknown": 1}, token=self.maya_token), 400)
        loop_a = services.create_workflow(actor=self.maya, data={"name": "A"})
        loop_b = services.create_workflow(
            actor=self.maya,
            data={
                "name": "B",
                "definition": {"steps": [{"type": "enroll_in_workflow", "params": {"workflow": loop_a.pk}}]},
            },
        )
        response = self.patch(
            f"{BASE}/{loop_a.pk}",
            {"definition": {"steps": [{"type": "enroll_in_workflow", "params": {"workflow": loop_b.pk}}]}},
            token=self.maya_token,
        )
        self.assertProblem(response, 400)
        self.assertEqual(Workflow.objects.get(pk=loop_a.pk).definition, {"steps": []})

    def test_roles(self):
        workflow = services.create_workflow(actor=self.maya, data={"name": "Nurture"})
        for name in ("bob", "carol", "mia", "rory"):
            with self.subTest(name=name):
                self.assertEqual(self.get(BASE, token=self.tokens[name]).status_code, 200)
                self.assertProblem(self.post(BASE, {"name": "Mine"}, token=self.tokens[name]), 403)
                self.assertProblem(self.post(f"{BASE}/{workflow.pk}/activate", token=self.tokens[name]), 403)
        self.assertEqual(self.post(BASE, {"name": "Admin's"}, token=self.tokens["alice"]).status_code, 201)
        self.assertEqual(Workflow.objects.get(pk=workflow.pk).status, WorkflowStatus.DRAFT)
        self.assertEqual(self.get(BASE).status_code, 401)

    def test_enrollments_with_step_runs_and_query_counts(self):
        workflow = services.create_workflow(
            actor=self.maya,
            data={
                "name": "Handoff",
                "definition": {"steps": [{"id": "m", "type": "change_lifecycle_stage", "params": {"stage": "mql"}}]},
            },
        )
        services.activate(workflow, actor=self.maya)
        for _ in range(2):
            services.enroll(workflow, make_contact(), actor=self.maya)
        url = f"{BASE}/{workflow.pk}/enrollments"
        self.get(BASE, token=self.tokens["mia"])  # the token's last use is recorded once a minute
        with self.assertNumQueries(3):  # the token with its user, the workflow, the page
            first = self.get(url, token=self.tokens["mia"])
        self.assertEqual(first.status_code, 200, first.content)
        for _ in range(4):
            services.enroll(workflow, make_contact(), actor=self.maya)
        with self.assertNumQueries(3):
            page = self.get(url, token=self.tokens["mia"]).json()
        self.assertEqual(len(page["results"]), 6)
        enrollment = Enrollment.objects.filter(workflow=workflow).first()
        StepRun.objects.create(
            enrollment=enrollment,
            step_id="m",
            step_type="change_lifecycle_stage",
            status="done",
            summary="Lifecycle stage Lead → Marketing-qualified lead",
        )
        detail = self.get(f"/api/v1/enrollments/{enrollment.pk}", token=self.tokens["mia"]).json()
        self.assertEqual(detail["step_runs"][0]["summary"], "Lifecycle stage Lead → Marketing-qualified lead")
        mine = self.get(f"/api/v1/enrollments?contact={enrollment.contact_id}", token=self.tokens["mia"]).json()
        self.assertEqual([e["id"] for e in mine["results"]], [enrollment.pk])
        self.assertProblem(self.get(f"{url}?status=bogus", token=self.tokens["mia"]), 400)

    def test_list_query_count_does_not_grow(self):
        services.create_workflow(actor=self.maya, data={"name": "One"})
        self.get(BASE, token=self.tokens["mia"])  # the token's last use is recorded once a minute
        with self.assertNumQueries(2):  # the token with its user, the page
            self.get(BASE, token=self.tokens["mia"])
        for n in range(5):
            services.create_workflow(actor=self.maya, data={"name": f"More {n}"})
        with self.assertNumQueries(2):
            body = self.get(BASE, token=self.tokens["mia"]).json()
        self.assertEqual(len(body["results"]), 6)
