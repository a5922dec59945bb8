"""The builder through HTTP: create a workflow, add, edit, move and delete steps (branches too), validation errors,
settings, activate/pause, the dry run, the enrollments; who may do what; query counts of the lists."""

from django.test import TestCase
from django.urls import reverse

from smarketing.accounts.models import Role
from smarketing.crm.models import ConsentStatus
from smarketing.email.tests.campaign_fixtures import make_sender, make_template
from smarketing.testing import PASSWORD, make_cast, make_contact, make_user
from smarketing.workflows import services
from smarketing.workflows.definition import find_step
from smarketing.workflows.models import Enrollment, StepEmail, StepRun, Workflow, WorkflowStatus


class BuilderTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.maya = make_user("maya@example.com", role=Role.MANAGER, team_kind="marketing", name="Maya Manager")
        cls.template = make_template(subject="Welcome")
        cls.sender = make_sender()

    def login(self, who="maya"):
        user = self.maya if who == "maya" else self.cast[who]
        self.client.login(email=user.email, password=PASSWORD)
        return user

    def make(self, **data) -> Workflow:
        data.setdefault("name", "Nurture")
        data.setdefault("trigger", {"type": "manual", "params": {}})
        return services.create_workflow(actor=self.maya, data=data)

    def add(self, workflow, step_type, *, parent="", branch="", index="", **params):
        post = {"type": step_type, "parent": parent, "branch": branch, "index": index}
        post.update({f"p_{k}": v for k, v in params.items()})
        return self.client.post(reverse("workflows:step_new", args=[workflow.pk]), post, headers={"HX-Request": "true"})

    def steps(self, workflow):
        workflow.refresh_from_db()
        return workflow.definition["steps"]


class CreateAndBuildTests(BuilderTestCase):
    def test_create_then_build_the_issue_flow_with_branches(self):
        self.login()
        response = self.client.post(
            reverse("workflows:workflow_create"),
            {"name": "Demo request", "description": "", "trigger_type": "form_submitted", "t_form": ""},
        )
        workflow = Workflow.objects.get(name="Demo request")
        self.assertRedirects(response, reverse("workflows:builder", args=[workflow.pk]))
        self.assertEqual(workflow.trigger, {"type": "form_submitted", "params": {"form": None}})
        self.assertEqual(workflow.status, WorkflowStatus.DRAFT)

        self.assertEqual(self.add(workflow, "wait", mode="duration", days="2").status_code, 204)
        response = self.add(workflow, "send_email", template=self.template.pk, sender=self.sender.pk)
        self.assertEqual(response.status_code, 204)
        self.assertTrue(response["HX-Redirect"].startswith(reverse("workflows:builder", args=[workflow.pk])))
        wait, email = self.steps(workflow)
        self.assertEqual(wait["params"], {"duration": {"days": 2, "hours": 0, "minutes": 0}})
        # Saving the email step made its automated campaign (sends, tracking and report come from email).
        link = StepEmail.objects.get(workflow=workflow, step_id=email["id"])
        self.assertTrue(link.email_campaign.automated)
        self.assertEqual(link.email_campaign.subject, "Welcome")

        self.add(workflow, "if", email_step=email["id"], email_event="clicked")
        branch = self.steps(workflow)[2]
        self.assertEqual(branch["params"]["email"], {"step": email["id"], "event": "clicked"})
        self.add(workflow, "change_lifecycle_stage", parent=branch["id"], branch="yes", index="0", stage="mql")
        self.add(
            workflow, "create_task", parent=branch["id"], branch="yes", index="1", title="Call them", due_in_days="1"
        )
        self.add(workflow, "add_to_list", parent=branch["id"], branch="no", index="0", list="")  # refused: no list
        branch = self.steps(workflow)[2]
        self.assertEqual([s["type"] for s in branch["yes"]], ["change_lifecycle_stage", "create_task"])
        self.assertEqual(branch["no"], [])

        page = self.client.get(reverse("workflows:builder", args=[workflow.pk]))
        self.assertContains(page, "Wait 2 days")
        self.assertContains(page, "Send “Welcome”")
        self.assertContains(page, "Change lifecycle stage to Marketing-qualified lead")
        self.assertContains(page, "Create a task “Call them” for the owner, due in 1 day")
        self.assertContains(page, 'aria-label="Add a step here (yes branch)"')
        self.assertContains(page, "If the email “Welcome” was clicked")  # the email by its subject, not a step id
        self.assertNotContains(page, f"step {email['id']}")

    def test_the_trigger_names_what_it_watches(self):
        from smarketing.forms.tests.capture_fixtures import make_form

        self.login()
        form = make_form(name="Demo request")
        workflow = self.make(trigger={"type": "form_submitted", "params": {"form": form.pk}})
        page = self.client.get(reverse("workflows:builder", args=[workflow.pk]))
        self.assertContains(page, "Form is submitted (form “Demo request”)")
        form.delete()
        self.assertContains(self.client.get(reverse("workflows:builder", args=[workflow.pk])), "a deleted form")
        lifecycle = self.make(name="To SQL", trigger={"type": "lifecycle_changed", "params": {"stage": "sql"}})
        page = self.client.get(reverse("workflows:builder", args=[lifecycle.pk]))
        self.assertContains(page, "Lifecycle stage changes (to Sales-qualified lead)")

    def test_validation_errors_are_shown_and_nothing_is_saved(self):
        workflow = self.make()
        self.login()
        response = self.add(workflow, "send_email", template="", sender=self.sender.pk)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Choose the email to send (a template).")
        response = self.add(workflow, "wait", mode="duration", days="0")
        self.assertContains(response, "Wait at least one minute.")
        response = self.add(workflow, "call_webhook", url="http://169.254.169.254/latest/meta-data")
        self.assertContains(response, "Webhooks cannot be sent to 169.254.169.254")
        self.assertEqual(self.steps(workflow), [])
        self.assertEqual(
            self.client.get(reverse("workflows:step_new", args=[workflow.pk]) + "?type=nope").status_code, 404
        )

    def test_edit_move_and_delete(self):
        workflow = self.make(
            definition={
                "steps": [
                    {"id": "a", "type": "set_property", "params": {"field": "title", "value": "CTO"}},
                    {"id": "b", "type": "change_lifecycle_stage", "params": {"stage": "mql"}},
                ]
            }
        )
        self.login()
        edit_url = reverse("workflows:step_edit", args=[workflow.pk, "a"])
        form = self.client.get(edit_url, headers={"HX-Request": "true"})
        self.assertContains(form, 'value="CTO"')
        self.assertNotContains(form, "<html")  # a panel partial for htmx
        self.assertContains(self.client.get(edit_url), "<html", msg_prefix="without htmx: the whole page")
        self.client.post(edit_url, {"p_field": "title", "p_value": "VP Sales", "p_clear": "0"})
        self.assertEqual(find_step(Workflow.objects.get(pk=workflow.pk).definition, "a")["params"]["value"], "VP Sales")
        self.client.post(reverse("workflows:step_move", args=[workflow.pk, "b"]), {"direction": "up"})
        self.assertEqual([s["id"] for s in self.steps(workflow)], ["b", "a"])
        self.client.post(reverse("workflows:step_move", args=[workflow.pk, "b"]), {"direction": "up"})  # at the top
        self.assertEqual([s["id"] for s in self.steps(workflow)], ["b", "a"])
        self.client.post(reverse("workflows:step_delete", args=[workflow.pk, "b"]))
        self.assertEqual([s["id"] for s in self.steps(workflow)], ["a"])
        self.assertEqual(self.client.get(reverse("workflows:step_edit", args=[workflow.pk, "zz"])).status_code, 404)

    def test_trigger_settings_activate_and_pause(self):
        workflow = self.make(
            definition={"steps": [{"id": "a", "type": "change_lifecycle_stage", "params": {"stage": "mql"}}]}
        )
        self.login()
        response = self.client.post(
            reverse("workflows:trigger_edit", args=[workflow.pk]),
            {"trigger_type": "lifecycle_changed", "t_stage": "sql"},
        )
        self.assertEqual(response.status_code, 302)
        workflow.refresh_from_db()
        self.assertEqual(workflow.trigger, {"type": "lifecycle_changed", "params": {"stage": "sql"}})
        fields = self.client.get(reverse("workflows:trigger_fields") + "?trigger_type=segment_entered")
        self.assertContains(fields, 'name="t_segment"')
        response = self.client.post(
            reverse("workflows:settings_edit", args=[workflow.pk]),
            {
                "name": "Handoff",
                "description": "",
                "reenrollment": "after",
                "reenroll_after_days": "",
                "goal_kind": "",
                "goal_value": "",
            },
        )
        self.assertContains(response, "Say after how many days a contact may enroll again.")
        self.client.post(
            reverse("workflows:settings_edit", args=[workflow.pk]),
            {
                "name": "Handoff",
                "description": "",
                "reenrollment": "after",
                "reenroll_after_days": "30",
                "goal_kind": "lifecycle_stage",
                "goal_value": "customer",
            },
        )
        workflow.refresh_from_db()
        self.assertEqual((workflow.name, workflow.reenroll_after_days), ("Handoff", 30))
        self.assertEqual(workflow.goal["rules"][0]["field"], "lifecycle_stage")
        self.client.post(reverse("workflows:activate", args=[workflow.pk]))
        workflow.refresh_from_db()
        self.assertEqual(workflow.status, WorkflowStatus.ACTIVE)
        page = self.client.get(reverse("workflows:builder", args=[workflow.pk]))
        self.assertContains(page, ">Pause</button>")
        self.client.post(reverse("workflows:pause", args=[workflow.pk]))
        workflow.refresh_from_db()
        self.assertEqual(workflow.status, WorkflowStatus.PAUSED)


class AccessTests(BuilderTestCase):
    def test_matrix(self):
        workflow = self.make()
        urls = {
            "create": (reverse("workflows:workflow_create"), {"name": "X", "trigger_type": "manual"}),
            "step": (
                reverse("workflows:step_new", args=[workflow.pk]),
                {"type": "change_lifecycle_stage", "p_stage": "mql"},
            ),
            "activate": (reverse("workflows:activate", args=[workflow.pk]), {}),
        }
        for who, can_edit in (("alice", True), ("carol", False), ("mia", False), ("bob", False), ("rory", False)):
            with self.subTest(who=who):
                self.login(who)
                self.assertEqual(self.client.get(reverse("workflows:workflow_list")).status_code, 200)
                self.assertEqual(self.client.get(reverse("workflows:builder", args=[workflow.pk])).status_code, 200)
                for name, (url, data) in urls.items():
                    response = self.client.post(url, data)
                    if can_edit:
                        self.assertIn(response.status_code, (200, 204, 302), name)
                    else:
                        self.assertEqual(response.status_code, 403, name)
                self.client.logout()
        workflow.refresh_from_db()
        self.assertEqual(len(workflow.definition["steps"]), 1)  # alice's only
        response = self.client.get(reverse("workflows:workflow_list"))
        self.assertEqual(response.status_code, 302)  # anonymous: to the login page

    def test_members_see_no_edit_controls(self):
        workflow = self.make(
            definition={"steps": [{"id": "a", "type": "change_lifecycle_stage", "params": {"stage": "mql"}}]}
        )
        self.login("mia")
        page = self.client.get(reverse("workflows:builder", args=[workflow.pk]))
        self.assertNotContains(page, "Add a step here")
        self.assertNotContains(page, ">Activate</button>")
        self.assertNotContains(self.client.get(reverse("workflows:workflow_list")), "New workflow")


class ListsAndDryRunTests(BuilderTestCase):
    def test_list_counts_no_rows_and_keeps_its_queries(self):
        self.login("mia")
        empty = self.client.get(reverse("workflows:workflow_list"))
        self.assertContains(empty, "No workflows yet")
        for n in range(3):
            self.make(name=f"Flow {n}")
        with self.assertNumQueries(4):  # session, user, the page of workflows (owners joined), the user's team
            page = self.client.get(reverse("workflows:workflow_list"))
        for n in range(5):
            self.make(name=f"More {n}")
        with self.assertNumQueries(4):
            page = self.client.get(reverse("workflows:workflow_list"))
        self.assertContains(page, "More 4")
        self.assertContains(
            self.client.get(reverse("workflows:workflow_list") + "?status=active"), "No active workflows"
        )

    def test_enrollments_tab_and_detail(self):
        workflow = self.make(
            definition={"steps": [{"id": "a", "type": "change_lifecycle_stage", "params": {"stage": "mql"}}]}
        )
        services.activate(workflow, actor=self.maya)
        people = [make_contact(first_name=f"P{n}") for n in range(3)]
        for person in people:
            services.enroll(workflow, person, actor=self.maya)
        self.login("mia")
        url = reverse("workflows:enrollment_list", args=[workflow.pk])
        with self.assertNumQueries(5):  # session, user, workflow, the page with its contacts, the header's team check
            page = self.client.get(url)
        self.assertContains(page, "P2")
        for person in [make_contact() for _ in range(4)]:
            services.enroll(workflow, person, actor=self.maya)
        with self.assertNumQueries(5):
            self.client.get(url)
        self.assertContains(self.client.get(url + "?status=completed"), "No enrollments with this status")
        enrollment = Enrollment.objects.filter(workflow=workflow).first()
        StepRun.objects.create(
            enrollment=enrollment,
            step_id="a",
            step_type="change_lifecycle_stage",
            status="done",
            summary="Lifecycle stage Lead → Marketing-qualified lead",
        )
        detail = self.client.get(reverse("workflows:enrollment_detail", args=[enrollment.pk]))
        self.assertContains(detail, "Lifecycle stage Lead → Marketing-qualified lead")
        card = self.client.get(reverse("workflows:contact_workflows", args=[enrollment.contact_id]))
        self.assertContains(card, workflow.name)

    def test_dry_run_shows_the_path_and_changes_nothing(self):
        workflow = self.make(
            definition={
                "steps": [
                    {"id": "w", "type": "wait", "params": {"duration": {"days": 1}}},
                    {
                        "id": "e",
                        "type": "send_email",
                        "params": {"template": self.template.pk, "sender": self.sender.pk},
                    },
                    {"id": "m", "type": "change_lifecycle_stage", "params": {"stage": "mql"}},
                ]
            }
        )
        ada = make_contact(
            first_name="Ada", last_name="Lovelace", email="ada@inbox.example", consent_status=ConsentStatus.WITHDRAWN
        )
        self.login("mia")
        search = self.client.get(reverse("workflows:test", args=[workflow.pk]) + "?q=ada@inbox")
        self.assertContains(search, f"?contact={ada.pk}")
        page = self.client.get(reverse("workflows:test", args=[workflow.pk]) + f"?contact={ada.pk}")
        self.assertContains(page, "Would wait 1 day")
        self.assertContains(page, "Would skip: the contact unsubscribed")
        self.assertContains(page, "Would change lifecycle stage to Marketing-qualified lead")
        ada.refresh_from_db()
        self.assertEqual(ada.lifecycle_stage, "lead")
        self.assertFalse(Enrollment.objects.filter(contact=ada).exists())
        self.assertNotContains(
            self.client.get(reverse("workflows:test", args=[workflow.pk]) + "?q=<script>"), "<script>"
        )
