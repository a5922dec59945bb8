"""Stage governance: admins define each step's role, checklist, required records and playbook; a deal cannot
leave a stage before its checklist is answered and its required records exist (service, board, API); playbook
tasks greet a deal's arrival and a contact's lifecycle stage; the process map and the settings pages."""

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase
from django.urls import reverse

from smarketing.accounts.access import system_actor
from smarketing.api.tokens import create_token
from smarketing.core.models import AuditEntry
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Task
from smarketing.crm.services import ExitCriteriaError, add_deal_contact, log_activity, move_deal_stage
from smarketing.crm.services.lifecycle import change_lifecycle_stage
from smarketing.jobs import outbox
from smarketing.process import governance, handoff
from smarketing.testing import PASSWORD, make_cast, make_contact, make_deal


class GovernanceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        stages = [s for s in default_pipeline().stages.order_by("position") if s.outcome == "open"]
        cls.first, cls.second = stages[0], stages[1]
        for stage in stages:
            stage.exit_criteria = []
            stage.save()
        governance.save(
            actor=cls.cast["alice"],
            stage=cls.first,
            data={
                "role": "SDR",
                "checklist": "Budget confirmed?\nDecision maker identified?\n",
                "required_records": ["meeting_held", "role:decision_maker"],
                "playbook": "Ask about the timeline. Pricing: https://example.com/pricing",
            },
        )
        governance.save(
            actor=cls.cast["alice"],
            stage=cls.second,
            data={"playbook_tasks": "Send the proposal | todo | 2\nCall to walk through it | call | 3"},
        )

    def test_only_admins_define_governance_and_bad_input_is_refused(self):
        with self.assertRaises(PermissionDenied):
            governance.save(actor=self.cast["carol"], stage=self.first, data={"role": "AE"})
        for bad in (
            {"checklist": "\n".join(f"Q{i}?" for i in range(13))},
            {"required_records": ["meeting_held", "a_rocket"]},
            {"playbook_tasks": "Call | phone | 1"},
            {"playbook_tasks": "Call | call | 120"},
            {"role": "x" * 61},
            {"owner": 1},
        ):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                governance.save(actor=self.cast["alice"], stage=self.first, data=bad)
        self.assertTrue(AuditEntry.objects.filter(action="governance").exists())  # the history of changes

    def test_a_deal_leaves_its_stage_only_when_the_checklist_and_records_are_met(self):
        bob = self.cast["bob"]
        buyer = make_contact(owner=bob)
        deal = make_deal(stage=self.first, owner=bob)
        with self.assertRaises(ExitCriteriaError) as caught:
            move_deal_stage(deal, self.second, actor=bob)
        self.assertIn("Budget confirmed?", str(caught.exception))
        self.assertIn("A meeting logged", str(caught.exception))
        self.assertIn("checklist:Budget confirmed?", dict(caught.exception.criteria))
        governance.answer(deal, questions=["Budget confirmed?", "Decision maker identified?", "Not asked"], actor=bob)
        log_activity(deal, kind="meeting", summary="Discovery meeting", actor=bob)
        with self.assertRaises(ExitCriteriaError) as caught:
            move_deal_stage(deal, self.second, actor=bob)
        self.assertEqual([c for c, _ in caught.exception.criteria], ["record:role:decision_maker"])
        add_deal_contact(deal, buyer, role="decision_maker", actor=bob)
        move_deal_stage(deal, self.second, actor=bob)
        deal.refresh_from_db()
        self.assertEqual(deal.stage, self.second)
        # The second stage's playbook: two tasks for the owner, on the deal.
        tasks = Task.objects.filter(deal=deal).order_by("title")
        self.assertEqual(
            [(t.title, t.kind, t.owner) for t in tasks],
            [("Call to walk through it", "call", bob), ("Send the proposal", "todo", bob)],
        )

    def test_a_lost_deal_may_always_leave(self):
        deal = make_deal(stage=self.first, owner=self.cast["bob"])
        lost = default_pipeline().stages.get(outcome="lost")
        move_deal_stage(deal, lost, actor=self.cast["bob"], reason="No budget")
        deal.refresh_from_db()
        self.assertEqual(deal.stage, lost)

    def test_the_board_and_the_api_say_what_is_missing_with_a_link(self):
        bob = self.cast["bob"]
        deal = make_deal(stage=self.first, owner=bob)
        self.client.login(email=bob.email, password=PASSWORD)
        response = self.client.post(
            reverse("deal_move", args=[deal.pk]), {"stage": self.second.pk}, HTTP_ACCEPT="application/json"
        )
        body = response.json()
        self.assertEqual(response.status_code, 400)
        self.assertIn("Budget confirmed?", body["error"])
        self.assertIn(reverse("process:checklist", args=[deal.pk]), [f["url"] for f in body["fixes"]])
        token = create_token(bob, name="t", scope="read_write")[1]
        response = self.client.post(
            f"/api/v1/deals/{deal.pk}/move",
            json.dumps({"stage": self.second.pk}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("Budget confirmed?", json.dumps(response.json()))
        page = self.client.get(reverse("deal_detail", args=[deal.pk]))
        self.assertContains(page, "Budget confirmed?")
        self.assertContains(page, "Answer the stage checklist")

    def test_the_checklist_page_saves_answers_for_the_current_stage(self):
        bob = self.cast["bob"]
        deal = make_deal(stage=self.first, owner=bob)
        self.client.login(email=bob.email, password=PASSWORD)
        page = self.client.get(reverse("process:checklist", args=[deal.pk]))
        self.assertContains(page, "Ask about the timeline")
        self.client.post(reverse("process:checklist", args=[deal.pk]), {"yes": ["Budget confirmed?"]})
        met = dict((c, m) for c, _, m in governance.deal_criteria(deal, self.first))
        self.assertTrue(met["checklist:Budget confirmed?"])
        self.assertFalse(met["checklist:Decision maker identified?"])
        self.client.login(email=self.cast["rory"].email, password=PASSWORD)  # read-only: sees, cannot answer
        self.assertEqual(self.client.post(reverse("process:checklist", args=[deal.pk]), {"yes": []}).status_code, 403)

    def test_lifecycle_playbook_tasks_go_to_the_owner_the_handoff_routed_to(self):
        governance.save(
            actor=self.cast["alice"], lifecycle_stage="mql", data={"playbook_tasks": "Call the new MQL | call | 1"}
        )
        person = make_contact()
        change_lifecycle_stage(person, "mql", actor=system_actor(), origin="system")
        outbox.run_consumer(handoff.CONSUMER, wait=True)
        person.refresh_from_db()
        task = Task.objects.get(contact=person, title="Call the new MQL")
        self.assertEqual(task.owner_id, person.owner_id)
        self.assertIsNotNone(task.owner_id)

    def test_the_process_map_and_the_settings_page(self):
        self.client.login(email=self.cast["mia"].email, password=PASSWORD)
        response = self.client.get(reverse("process:map"))
        self.assertContains(response, "Checklist: Budget confirmed?")
        self.assertContains(response, "SDR")
        self.assertContains(response, "Marketing-qualified lead")
        self.assertEqual(self.client.get(reverse("process:stages")).status_code, 403)
        self.client.login(email=self.cast["alice"].email, password=PASSWORD)
        response = self.client.post(
            reverse("process:stages"), {"step": f"stage:{self.second.pk}", "role": "AE", "playbook_tasks": "x | y | 1"}
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(governance.for_stage(self.second.pk).role, "")  # refused whole: nothing half-saved
        self.client.post(reverse("process:stages"), {"step": "lifecycle:sql", "role": "Account executive"})
        self.assertEqual(governance.for_lifecycle("sql").role, "Account executive")
        page = self.client.get(reverse("process:stages"))
        self.assertContains(page, "Account executive")
        self.assertContains(page, "History")


class GovernanceApiTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.stage = default_pipeline().stages.order_by("position").first()

    def call(self, who, method, path, data=None):
        token = create_token(self.cast[who], name="t", scope="read_write")[1]
        body = json.dumps(data) if data is not None else ""
        return self.client.generic(
            method, path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    def test_readable_by_all_writable_by_admins(self):
        data = {
            "stage": self.stage.pk,
            "role": "SDR",
            "checklist": ["Budget confirmed?"],
            "playbook_tasks": [{"title": "Confirm by email", "kind": "email", "due_days": 1}],
        }
        self.assertEqual(self.call("carol", "POST", "/api/v1/stage-governance", data).status_code, 403)
        created = self.call("alice", "POST", "/api/v1/stage-governance", data)
        self.assertEqual(created.status_code, 200, created.content)
        row = created.json()
        self.assertEqual((row["role"], row["checklist"]), ("SDR", ["Budget confirmed?"]))
        listed = self.call("bob", "GET", "/api/v1/stage-governance")
        self.assertEqual([r["id"] for r in listed.json()["results"]], [row["id"]])
        bad = self.call("alice", "PATCH", f"/api/v1/stage-governance/{row['id']}", {"required_records": ["x"]})
        self.assertEqual(bad.status_code, 400)
        changed = self.call("alice", "PATCH", f"/api/v1/stage-governance/{row['id']}", {"role": "AE"})
        self.assertEqual(changed.json()["role"], "AE")
        lifecycle = self.call("alice", "POST", "/api/v1/stage-governance", {"lifecycle_stage": "mql", "role": "SDR"})
        self.assertEqual(lifecycle.json()["lifecycle_stage"], "mql")
        self.assertEqual(self.call("alice", "POST", "/api/v1/stage-governance", {"role": "x"}).status_code, 400)


class LifecycleChecklistTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        from smarketing.process.models import SlaPolicy

        cls.cast = make_cast()
        governance.save(
            actor=cls.cast["alice"],
            lifecycle_stage="mql",
            data={"checklist": "Reached the contact?\nPain understood?"},
        )
        SlaPolicy.objects.create(team=cls.cast["bob"].team, working_hours={})

    def _handoff(self):
        person = make_contact()
        change_lifecycle_stage(person, "mql", actor=system_actor(), origin="system")  # automation: not gated
        outbox.run_consumer(handoff.CONSUMER, wait=True)
        from smarketing.process.models import Handoff

        return Handoff.objects.get(contact=person)

    def test_accepting_needs_the_mql_checklist_and_nothing_changes_until_then(self):
        h = self._handoff()
        with self.assertRaisesMessage(ValidationError, "Before leaving Marketing-qualified lead, answer"):
            handoff.accept(h, actor=h.owner)
        h.refresh_from_db()
        self.assertEqual(h.status, "open")  # the refusal rolled the decision back
        self.client.login(email=h.owner.email, password=PASSWORD)
        page = self.client.get(reverse("process:inbox"))
        self.assertContains(page, "Reached the contact?")
        response = self.client.post(
            reverse("process:accept", args=[h.pk]), {"yes": ["Reached the contact?"]}, HTTP_HX_REQUEST="true"
        )
        self.assertContains(response, "Pain understood?", status_code=400)
        response = self.client.post(
            reverse("process:accept", args=[h.pk]),
            {"yes": ["Reached the contact?", "Pain understood?"]},
            HTTP_HX_REQUEST="true",
        )
        self.assertContains(response, "Accepted")
        h.refresh_from_db()
        self.assertEqual((h.status, h.contact.lifecycle_stage), ("accepted", "sql"))

    def test_people_are_held_to_it_automation_and_recycling_are_not(self):
        person = make_contact()
        change_lifecycle_stage(person, "mql", actor=system_actor(), origin="system")
        with self.assertRaises(ValidationError):
            change_lifecycle_stage(person, "sql", actor=self.cast["alice"], origin="ui")
        token = create_token(self.cast["alice"], name="t", scope="read_write")[1]
        response = self.client.patch(
            f"/api/v1/contacts/{person.pk}",
            json.dumps({"lifecycle_stage": "sql"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        self.assertEqual(response.status_code, 400, response.content)
        change_lifecycle_stage(person, "lead", actor=self.cast["alice"], allow_backward=True, reason="Not yet")
        change_lifecycle_stage(person, "mql", actor=system_actor(), origin="workflow")
        change_lifecycle_stage(person, "sql", actor=system_actor(), origin="workflow")
        person.refresh_from_db()
        self.assertEqual(person.lifecycle_stage, "sql")


class LifecycleRecordsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_a_lifecycle_stage_requires_records_and_has_a_target(self):
        governance.save(
            actor=self.cast["alice"],
            lifecycle_stage="sql",
            data={"required_records": ["field:phone", "meeting_held"], "target_days": "7"},
        )
        with self.assertRaises(ValidationError):  # a pipeline stage's target lives in Pipelines
            governance.save(actor=self.cast["alice"], stage=default_pipeline().stages.first(), data={"target_days": 3})
        with self.assertRaises(ValidationError):  # a deal's record is not a contact's
            governance.save(
                actor=self.cast["alice"], lifecycle_stage="sql", data={"required_records": ["role:champion"]}
            )
        person = make_contact(lifecycle_stage="sql", owner=self.cast["bob"])
        with self.assertRaisesMessage(ValidationError, "A phone number, A meeting logged with the contact"):
            change_lifecycle_stage(person, "opportunity", actor=self.cast["bob"], origin="ui")
        person.phone = "+1 555 0100"
        person.save()
        log_activity(person, kind="meeting", summary="Discovery", actor=self.cast["bob"])
        change_lifecycle_stage(person, "opportunity", actor=self.cast["bob"], origin="ui")
        self.client.login(email=self.cast["mia"].email, password=PASSWORD)
        page = self.client.get(reverse("process:map"))
        self.assertContains(page, "target 7 d")
        self.assertContains(page, "A phone number")
