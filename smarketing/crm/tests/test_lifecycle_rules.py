"""One meaning of a lifecycle move, and the service holding to it (reason, permission, version, summaries)."""

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase, TestCase

from smarketing.core.models import Event
from smarketing.crm import kinds as Kind
from smarketing.crm import services, summaries
from smarketing.crm.lifecycle_rules import RECYCLE_NEEDS_REASON, is_backward, lifecycle_move, promotes
from smarketing.crm.models import Contact, LifecycleChange
from smarketing.testing import make_cast, make_contact
from smarketing.timeline.models import Touchpoint


class RuleTests(SimpleTestCase):
    def test_forward_backward_and_off_the_funnel(self):
        self.assertIsNone(lifecycle_move("lead", "lead"))
        self.assertFalse(lifecycle_move("lead", "mql").backward)
        self.assertTrue(lifecycle_move("sql", "lead").backward)
        self.assertTrue(lifecycle_move("lead", "subscriber").backward)
        # "Other" is off the funnel: entered and left freely, in both directions.
        self.assertFalse(is_backward("customer", "other"))
        self.assertFalse(is_backward("other", "subscriber"))

    def test_a_recycle_needs_both_permission_and_a_reason(self):
        move = lifecycle_move("sql", "lead")
        self.assertEqual(move.refusal(reason="", allow_backward=True), RECYCLE_NEEDS_REASON)
        self.assertEqual(move.refusal(reason="   ", allow_backward=True), RECYCLE_NEEDS_REASON)
        self.assertEqual(move.refusal(reason="No budget", allow_backward=False), RECYCLE_NEEDS_REASON)
        self.assertIsNone(move.refusal(reason="No budget", allow_backward=True))
        self.assertIsNone(lifecycle_move("lead", "mql").refusal(reason="", allow_backward=False))

    def test_promotes_counts_other_as_lead(self):
        self.assertTrue(promotes("lead", "opportunity"))
        self.assertTrue(promotes("other", "opportunity"))
        self.assertFalse(promotes("opportunity", "opportunity"))
        self.assertFalse(promotes("customer", "opportunity"))

    def test_summaries(self):
        self.assertEqual(
            summaries.lifecycle_changed("sql", "lead", backward=True), "Lifecycle recycled: Sales-qualified lead → Lead"
        )
        self.assertEqual(summaries.contact_created("mql"), "Contact created (Marketing-qualified lead)")
        self.assertEqual(summaries.deal_created("Big", "1234.5", "EUR"), "Deal created: Big (1,234.50 EUR)")
        self.assertEqual(summaries.deal_stage_changed("Big", "Demo", "Lost", "Budget"), "Big: Demo → Lost (Budget)")
        self.assertEqual(summaries.owner_changed(None), "Owner removed")


class ServiceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob = cls.cast["bob"]

    def test_a_reason_without_allow_backward_is_refused(self):
        contact = make_contact(self.bob, lifecycle_stage="sql")
        with self.assertRaisesMessage(ValidationError, RECYCLE_NEEDS_REASON):
            services.change_lifecycle_stage(contact, "lead", actor=self.bob, reason="No budget")
        contact.refresh_from_db()
        self.assertEqual(contact.lifecycle_stage, "sql")
        self.assertFalse(LifecycleChange.objects.filter(contact=contact, to_stage="lead").exists())

    def test_a_move_bumps_the_version_so_a_stale_edit_conflicts(self):
        contact = make_contact(self.bob, lifecycle_stage="lead")
        version = Contact.objects.get(pk=contact.pk).version
        services.change_lifecycle_stage(contact, "mql", actor=self.bob)
        self.assertEqual(Contact.objects.get(pk=contact.pk).version, version + 1)
        with self.assertRaises(services.ConflictError):
            services.update_record(contact, actor=self.bob, data={"title": "CTO"}, expected_version=version)

    def test_a_recycle_writes_the_shared_summary_and_payload(self):
        contact = make_contact(self.bob, lifecycle_stage="sql")
        services.change_lifecycle_stage(contact, "lead", actor=self.bob, reason="No budget", allow_backward=True)
        touch = Touchpoint.objects.filter(contact=contact, kind=Kind.LIFECYCLE_CHANGED).latest("id")
        self.assertEqual(touch.summary, summaries.lifecycle_changed("sql", "lead", backward=True))
        event = Event.objects.filter(name="contact.lifecycle_changed", object_id=str(contact.pk)).latest("id")
        self.assertEqual(
            event.payload,
            {"id": contact.pk, "email": contact.email, "from": "sql", "to": "lead", "reason": "No budget"},
        )
