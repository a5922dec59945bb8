"""The definition: validation, stable step ids, the walk from step to step, loop refusal."""

from django.core.exceptions import ValidationError
from django.test import TestCase

from smarketing.accounts.access import system_actor
from smarketing.core.models import Origin
from smarketing.workflows import definition as wfdef
from smarketing.workflows import services
from smarketing.workflows.tests import actions_for_tests  # noqa: F401 - registers the test actions

SYSTEM = system_actor(Origin.WORKFLOW)


def nested():
    return {
        "steps": [
            {"id": "a", "type": "test_mark", "params": {}},
            {
                "id": "b",
                "type": "if",
                "params": {
                    "condition": {"op": "and", "rules": [{"field": "title", "operator": "equals", "value": "CTO"}]}
                },
                "yes": [{"id": "c", "type": "test_mark"}, {"id": "d", "type": "test_mark"}],
                "no": [{"id": "e", "type": "wait", "params": {"duration": {"hours": 1}}}],
            },
            {"id": "f", "type": "test_mark"},
        ]
    }


class ValidateDefinitionTests(TestCase):
    def test_clean_definition_keeps_ids_and_cleans_params(self):
        clean = wfdef.validate_definition(nested())
        self.assertEqual([s["id"] for s in wfdef.iter_steps(clean)], ["a", "b", "c", "d", "e", "f"])
        self.assertEqual(clean["steps"][1]["no"][0]["params"], {"duration": {"days": 0, "hours": 1, "minutes": 0}})
        self.assertEqual(clean["steps"][0]["params"], {"note": ""})

    def test_missing_ids_are_made_fresh_and_unique(self):
        clean = wfdef.validate_definition({"steps": [{"type": "test_mark"}, {"type": "test_mark"}]})
        ids = [s["id"] for s in clean["steps"]]
        self.assertEqual(len(set(ids)), 2)
        self.assertTrue(all(wfdef.STEP_ID.match(i) for i in ids))
        again = wfdef.validate_definition(clean)
        self.assertEqual([s["id"] for s in again["steps"]], ids)  # stable once given

    def test_refusals(self):
        cases = [
            ({"steps": [{"id": "a", "type": "test_mark"}, {"id": "a", "type": "test_mark"}]}, "Two steps"),
            ({"steps": [{"id": "a", "type": "nope"}]}, "Unknown step type"),
            ({"steps": [{"id": "a", "type": "test_mark", "params": {"bad": True}}]}, "Bad params"),
            ({"steps": [{"id": "a b", "type": "test_mark"}]}, "letters, digits"),
            ({"steps": [{"id": "a", "type": "test_mark", "yes": []}]}, "Unknown key"),
            ({"steps": [{"id": "a", "type": "wait", "params": {"duration": {"days": 0}}}]}, "at least one minute"),
            ({"steps": [{"id": "a", "type": "if", "params": {}}]}, "Add a condition"),
            ({"steps": "x"}, "Steps are a list"),
        ]
        for raw, message in cases:
            with self.subTest(message=message), self.assertRaisesMessage(ValidationError, message):
                wfdef.validate_definition(raw)

    def test_if_nesting_is_limited(self):
        step = {"id": "leaf", "type": "test_mark"}
        cond = {"op": "and", "rules": [{"field": "title", "operator": "is_empty"}]}
        for depth in range(wfdef.MAX_DEPTH + 1):
            step = {"id": f"if{depth}", "type": "if", "params": {"condition": cond}, "yes": [step], "no": []}
        with self.assertRaisesMessage(ValidationError, "nest at most"):
            wfdef.validate_definition({"steps": [step]})

    def test_trigger_and_goal(self):
        self.assertEqual(wfdef.validate_trigger(None), {"type": "manual", "params": {}})
        self.assertEqual(
            wfdef.validate_trigger({"type": "page_viewed", "params": {"url_contains": " /pricing "}}),
            {"type": "page_viewed", "params": {"url_contains": "/pricing"}},
        )
        with self.assertRaisesMessage(ValidationError, "Unknown trigger"):
            wfdef.validate_trigger({"type": "telepathy"})
        with self.assertRaisesMessage(ValidationError, "not a lifecycle stage"):
            wfdef.validate_trigger({"type": "lifecycle_changed", "params": {"stage": "royalty"}})
        self.assertIsNone(wfdef.validate_goal({"op": "and", "rules": []}))
        goal = wfdef.validate_goal(
            {"op": "and", "rules": [{"field": "lifecycle_stage", "operator": "equals", "value": "sql"}]}
        )
        self.assertEqual(goal["rules"][0]["value"], "sql")
        with self.assertRaises(ValidationError):
            wfdef.validate_goal({"op": "and", "rules": [{"field": "nope", "operator": "equals", "value": 1}]})


class WalkTests(TestCase):
    def test_next_step_follows_branches_and_returns_after_them(self):
        d = wfdef.validate_definition(nested())
        self.assertEqual(wfdef.first_step_id(d), "a")
        self.assertEqual(wfdef.next_step_id(d, "a"), "b")
        self.assertEqual(wfdef.next_step_id(d, "b", "yes"), "c")
        self.assertEqual(wfdef.next_step_id(d, "c"), "d")
        self.assertEqual(wfdef.next_step_id(d, "d"), "f")  # the end of a branch continues after the if
        self.assertEqual(wfdef.next_step_id(d, "b", "no"), "e")
        self.assertEqual(wfdef.next_step_id(d, "e"), "f")
        self.assertIsNone(wfdef.next_step_id(d, "f"))
        self.assertIsNone(wfdef.next_step_id(d, "gone"))
        self.assertEqual(wfdef.find_step(d, "e")["type"], "wait")

    def test_empty_branch_continues_after_the_if(self):
        d = nested()
        d["steps"][1]["no"] = []
        d = wfdef.validate_definition(d)
        self.assertEqual(wfdef.next_step_id(d, "b", "no"), "f")

    def test_surviving_step_after_a_removal(self):
        old = wfdef.validate_definition(nested())
        new = wfdef.validate_definition({"steps": [old["steps"][0], old["steps"][2]]})
        self.assertEqual(wfdef.surviving_step(old, new, "b"), "f")
        self.assertEqual(wfdef.surviving_step(old, new, "d"), "f")
        self.assertIsNone(wfdef.surviving_step(old, {"steps": [old["steps"][0]]}, "f"))


class LoopTests(TestCase):
    def make(self, name, target=None):
        steps = [{"type": "enroll_in_workflow", "params": {"workflow": target}}] if target else []
        return services.create_workflow(actor=SYSTEM, data={"name": name, "definition": {"steps": steps}})

    def test_self_loop_is_refused(self):
        a = self.make("A")
        with self.assertRaisesMessage(ValidationError, "cannot enroll contacts into itself"):
            services.update_workflow(
                a,
                actor=SYSTEM,
                data={"definition": {"steps": [{"type": "enroll_in_workflow", "params": {"workflow": a.pk}}]}},
            )

    def test_loop_through_any_depth_is_refused_with_the_chain(self):
        a = self.make("A")
        c = self.make("C", target=a.pk)
        b = self.make("B", target=c.pk)
        with self.assertRaisesMessage(ValidationError, "A → B → C → A"):
            services.update_workflow(
                a,
                actor=SYSTEM,
                data={"definition": {"steps": [{"type": "enroll_in_workflow", "params": {"workflow": b.pk}}]}},
            )
        a.refresh_from_db()
        self.assertEqual(a.definition, {"steps": []})  # nothing saved

    def test_chain_without_a_loop_is_fine(self):
        c = self.make("C")
        b = self.make("B", target=c.pk)
        a = self.make("A", target=b.pk)
        services.activate(a, actor=SYSTEM)
        self.assertEqual(a.status, "active")

    def test_version_bumps_on_definition_edits_only(self):
        a = self.make("A")
        a = services.update_workflow(a, actor=SYSTEM, data={"name": "A2"})
        self.assertEqual(a.version, 1)
        a = services.update_workflow(a, actor=SYSTEM, data={"definition": {"steps": [{"type": "test_mark"}]}})
        self.assertEqual(a.version, 2)
