from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from smarketing.core.models import AuditEntry
from smarketing.crm import kinds as Kind
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Contact, LifecycleChange, LifecycleStage
from smarketing.testing import make_cast, make_contact, make_deal
from smarketing.timeline.models import Touchpoint


class LifecycleTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob = cls.cast["bob"]

    def test_forward_move_records_history_touch_and_audit(self):
        contact = make_contact(self.bob, lifecycle_stage="lead")
        services.change_lifecycle_stage(contact, LifecycleStage.MQL, actor=self.bob, reason="Scored 80")
        contact.refresh_from_db()
        self.assertEqual(contact.lifecycle_stage, "mql")
        change = LifecycleChange.objects.filter(contact=contact).latest("id")
        self.assertEqual(
            (change.from_stage, change.to_stage, change.actor, change.reason), ("lead", "mql", self.bob, "Scored 80")
        )
        self.assertTrue(Touchpoint.objects.filter(contact=contact, kind=Kind.LIFECYCLE_CHANGED).exists())
        self.assertTrue(AuditEntry.objects.filter(object_id=str(contact.pk), action="lifecycle").exists())

    def test_backward_move_needs_reason(self):
        contact = make_contact(self.bob, lifecycle_stage="sql")
        with self.assertRaises(ValidationError):
            services.change_lifecycle_stage(contact, "lead", actor=self.bob, allow_backward=True)
        services.change_lifecycle_stage(contact, "lead", actor=self.bob, allow_backward=True, reason="No budget")
        contact.refresh_from_db()
        self.assertEqual(contact.lifecycle_stage, "lead")

    def test_read_only_user_cannot_change(self):
        contact = make_contact(None)
        with self.assertRaises(PermissionDenied):
            services.change_lifecycle_stage(contact, "mql", actor=self.cast["rory"])


class ContactTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_email_is_normalized_and_unique_case_insensitively(self):
        make_contact(None, email="  Jane.Doe@Example.COM ")
        self.assertTrue(Contact.objects.filter(email="jane.doe@example.com").exists())
        with self.assertRaises(ValidationError) as ctx:
            make_contact(None, email="JANE.DOE@example.com")
        self.assertIn("email", ctx.exception.message_dict)

    def test_stale_version_is_refused(self):
        contact = make_contact(None)
        services.update_record(contact, actor=self.cast["alice"], data={"title": "CEO"}, expected_version=1)
        with self.assertRaises(services.ConflictError):
            services.update_record(contact, actor=self.cast["alice"], data={"phone": "123"}, expected_version=1)

    def test_merge_keeps_timeline_of_both(self):
        a = make_contact(None, email="a@x.com")
        b = make_contact(None, email="b@x.com", title="CTO", lifecycle_stage="sql")
        touches = Touchpoint.objects.filter(contact__in=[a, b]).count()
        merged = services.merge_records(a, b, actor=self.cast["alice"])
        self.assertFalse(Contact.objects.filter(pk=b.pk).exists())
        self.assertEqual(merged.title, "CTO")
        self.assertEqual(merged.lifecycle_stage, "sql")
        self.assertEqual(Touchpoint.objects.filter(contact=a).count(), touches + 1)


class DealTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_exit_criteria_block_moving_on(self):
        stages = list(default_pipeline().stages.order_by("position"))
        deal = make_deal(None, stage=stages[0])  # first stage needs contacts
        with self.assertRaises(services.ExitCriteriaError) as ctx:
            services.move_deal_stage(deal, stages[1], actor=self.cast["carol"])
        self.assertIn("Contacts", str(ctx.exception))

    def test_a_deal_missing_exit_criteria_can_still_be_lost(self):
        stages = list(default_pipeline().stages.order_by("position"))
        deal = make_deal(None, stage=stages[0])
        lost = next(s for s in stages if s.outcome == "lost")
        with self.assertRaises(ValidationError):
            services.move_deal_stage(deal, lost, actor=self.cast["carol"])  # needs a reason
        services.move_deal_stage(deal, lost, actor=self.cast["carol"], reason="No budget")
        deal.refresh_from_db()
        self.assertEqual((deal.status, deal.close_reason), ("lost", "No budget"))

    def test_won_deal_makes_contacts_customers(self):
        stages = list(default_pipeline().stages.order_by("position"))
        contact = make_contact(None)
        deal = make_deal(None, stage=stages[4], contacts=[contact])
        won = next(s for s in stages if s.outcome == "won")
        services.move_deal_stage(deal, won, actor=self.cast["carol"])
        deal.refresh_from_db()
        contact.refresh_from_db()
        self.assertEqual(deal.status, "won")
        self.assertEqual(contact.lifecycle_stage, "customer")


class PropertyServiceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_only_admins_define_properties(self):
        with self.assertRaises(PermissionDenied):
            services.define_property(
                actor=self.cast["carol"], object_type="contact", key="nps", label="NPS", type="number"
            )

    def test_key_rules_and_uniqueness(self):
        alice = self.cast["alice"]
        services.define_property(actor=alice, object_type="contact", key="nps", label="NPS", type="number")
        for key, needle in (("nps", "already have"), ("email", "built-in"), ("a__b", "single underscores")):
            with self.assertRaises(ValidationError) as ctx:
                services.define_property(actor=alice, object_type="contact", key=key, label="X", type="text")
            self.assertIn(needle, ctx.exception.message_dict["key"][0])
        with self.assertRaises(ValidationError):
            services.define_property(actor=alice, object_type="deal", key="tier", label="Tier", type="choice")

    def test_type_is_frozen_but_label_and_choices_change_with_audit(self):
        alice = self.cast["alice"]
        tier = services.define_property(
            actor=alice, object_type="deal", key="tier", label="Tier", type="choice", choices=["A", "B"]
        )
        with self.assertRaises(ValidationError):
            services.update_property(tier, actor=alice, data={"type": "text"})
        services.update_property(tier, actor=alice, data={"label": "Tier level", "choices": ["A", "B", "C"]})
        tier.refresh_from_db()
        self.assertEqual((tier.label, tier.choices), ("Tier level", ["A", "B", "C"]))
        entry = AuditEntry.objects.filter(object_id=str(tier.pk), action="update").get()
        self.assertEqual(entry.changes["label"], ["Tier", "Tier level"])


class TaskAndNoteServiceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_owner_changes_task_others_may_not(self):
        contact = make_contact(None)
        task = services.create_task(actor=self.cast["bob"], title="Call back", contact=contact)
        services.update_task(task, actor=self.cast["bob"], data={"title": "Call back Monday", "kind": "call"})
        task.refresh_from_db()
        self.assertEqual((task.title, task.kind), ("Call back Monday", "call"))
        with self.assertRaises(PermissionDenied):
            services.update_task(task, actor=self.cast["mia"], data={"title": "Mine now"})
        with self.assertRaises(PermissionDenied):
            services.delete_task(task, actor=self.cast["mia"])
        services.delete_task(task, actor=self.cast["carol"])  # a manager may
        self.assertFalse(type(task).objects.filter(pk=task.pk).exists())

    def test_note_edits_are_sanitized_and_audited(self):
        contact = make_contact(None)
        note = services.add_note(contact, body_html="<p>First</p>", actor=self.cast["bob"])
        services.update_note(note, actor=self.cast["bob"], body_html="<p>Second<script>alert(1)</script></p>")
        note.refresh_from_db()
        self.assertEqual(note.body, "<p>Second</p>")
        self.assertTrue(AuditEntry.objects.filter(object_id=str(note.pk), action="update").exists())
        with self.assertRaises(PermissionDenied):
            services.delete_note(note, actor=self.cast["rory"])
