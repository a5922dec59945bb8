"""Each trigger through the real outbox consumer ("workflows"), and the periodic segment and date triggers.

Events of pillars that publish through real services on main (contacts, lifecycle, deals) come from those
services; the others are published through core.events.publish with the payload their pillar documents.
"""

import datetime

from django.test import TestCase
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.core.events import publish
from smarketing.core.models import Event, Origin
from smarketing.crm import services as crm
from smarketing.crm.models import Contact, ObjectType, Stage
from smarketing.jobs import outbox
from smarketing.segments import services as segments
from smarketing.testing import make_contact, make_deal
from smarketing.timeline.models import Touchpoint
from smarketing.workflows import services, triggers
from smarketing.workflows.models import Enrollment, SegmentSnapshot
from smarketing.workflows.tests import actions_for_tests  # noqa: F401 - registers the test actions

SYSTEM = system_actor(Origin.WORKFLOW)
STEPS = {"steps": [{"id": "a", "type": "test_mark"}]}


def make_workflow(trigger, **data):
    workflow = services.create_workflow(
        actor=SYSTEM, data={"name": f"On {trigger['type']}", "trigger": trigger, "definition": STEPS, **data}
    )
    return services.activate(workflow, actor=SYSTEM)


def consume() -> int:
    return outbox.run_consumer("workflows", wait=True).produced


def enrolled(workflow) -> set[int]:
    return set(Enrollment.objects.filter(workflow=workflow).values_list("contact_id", flat=True))


class EventTriggerTests(TestCase):
    def setUp(self):
        consume()  # the consumer's cursor starts after whatever came before

    def test_contact_created(self):
        workflow = make_workflow({"type": "contact_created"})
        contact = make_contact()
        self.assertEqual(consume(), 1)
        self.assertEqual(enrolled(workflow), {contact.pk})
        enrollment = Enrollment.objects.get(workflow=workflow)
        self.assertIsNotNone(enrollment.trigger_event)
        self.assertEqual(consume(), 0)  # each event once

    def test_form_submitted_for_one_form_or_any(self):
        from smarketing.forms.models import Form

        demo, other = Form.objects.create(name="Demo request"), Form.objects.create(name="Newsletter")
        only_demo = make_workflow({"type": "form_submitted", "params": {"form": demo.pk}})
        any_form = make_workflow({"type": "form_submitted", "params": {}})
        ada, bob = make_contact(), make_contact()
        consume()
        publish("form.submitted", demo, {"form_id": demo.pk, "contact_id": ada.pk, "submission_id": 1})
        publish("form.submitted", other, {"form_id": other.pk, "contact_id": bob.pk, "submission_id": 2})
        consume()
        self.assertEqual(enrolled(only_demo), {ada.pk})
        self.assertEqual(enrolled(any_form), {ada.pk, bob.pk})

    def test_property_changed_with_and_without_a_value(self):
        crm.define_property(actor=SYSTEM, object_type=ObjectType.CONTACT, key="plan", label="Plan", type="text")
        any_title = make_workflow({"type": "property_changed", "params": {"field": "title"}})
        to_pro = make_workflow({"type": "property_changed", "params": {"field": "custom.plan", "value": "Pro"}})
        ada, bob, cy = make_contact(), make_contact(), make_contact()
        consume()
        crm.update_record(ada, actor=SYSTEM, data={"title": "CTO"})
        crm.update_record(bob, actor=SYSTEM, data={"custom": {"plan": "Pro"}})
        crm.update_record(cy, actor=SYSTEM, data={"custom": {"plan": "Free"}})
        consume()
        self.assertEqual(enrolled(any_title), {ada.pk})
        self.assertEqual(enrolled(to_pro), {bob.pk})

    def test_lifecycle_changed_to_a_stage(self):
        workflow = make_workflow({"type": "lifecycle_changed", "params": {"stage": "mql"}})
        ada, bob = make_contact(), make_contact()
        consume()
        crm.change_lifecycle_stage(ada, "mql", actor=SYSTEM, reason="Score")
        crm.change_lifecycle_stage(bob, "customer", actor=SYSTEM, reason="Signed")
        consume()
        self.assertEqual(enrolled(workflow), {ada.pk})

    def test_score_crossing_a_threshold(self):
        workflow = make_workflow({"type": "score_crossed", "params": {"threshold": 50}})
        ada, bob, cy = make_contact(), make_contact(), make_contact()
        consume()
        publish("contact.score_changed", ada, {"contact_id": ada.pk, "old_total": 40, "new_total": 55})
        publish("contact.score_changed", bob, {"contact_id": bob.pk, "old_total": 60, "new_total": 70})  # above
        publish("contact.score_changed", cy, {"contact_id": cy.pk, "old_total": 10, "new_total": 20})
        consume()
        self.assertEqual(enrolled(workflow), {ada.pk})

    def test_email_opened_and_clicked_by_campaign(self):
        opened = make_workflow({"type": "email_opened", "params": {"campaign": 7}})
        clicked = make_workflow({"type": "email_clicked", "params": {}})
        ada, bob = make_contact(), make_contact()
        consume()
        publish("email.opened", ada, {"send_id": 1, "campaign_id": 7, "contact_id": ada.pk})
        publish("email.opened", bob, {"send_id": 2, "campaign_id": 8, "contact_id": bob.pk})
        publish("email.clicked", bob, {"send_id": 2, "campaign_id": 8, "contact_id": bob.pk, "url": "https://x"})
        consume()
        self.assertEqual(enrolled(opened), {ada.pk})
        self.assertEqual(enrolled(clicked), {bob.pk})

    def test_page_viewed_url_contains(self):
        workflow = make_workflow({"type": "page_viewed", "params": {"url_contains": "/pricing"}})
        ada, bob = make_contact(), make_contact()
        consume()
        publish("page.viewed", ada, {"contact_id": ada.pk, "url": "https://example.com/Pricing?plan=pro"})
        publish("page.viewed", bob, {"contact_id": bob.pk, "url": "https://example.com/blog"})
        consume()
        self.assertEqual(enrolled(workflow), {ada.pk})

    def test_deal_stage_changed_enrolls_the_deals_contacts(self):
        ada, bob = make_contact(), make_contact()
        deal = make_deal(contacts=[ada, bob])
        target = Stage.objects.filter(pipeline=deal.pipeline).exclude(pk=deal.stage_id).order_by("position").first()
        workflow = make_workflow({"type": "deal_stage_changed", "params": {"stage": target.pk}})
        consume()
        crm.move_deal_stage(deal, target, actor=SYSTEM)
        consume()
        self.assertEqual(enrolled(workflow), {ada.pk, bob.pk})

    def test_one_batch_enrolls_a_contact_once_and_skips_deleted_contacts(self):
        workflow = make_workflow({"type": "page_viewed", "params": {"url_contains": "/"}})
        ada, gone = make_contact(), make_contact()
        consume()
        for _ in range(3):
            publish("page.viewed", ada, {"contact_id": ada.pk, "url": "/a"})
        publish("page.viewed", gone, {"contact_id": gone.pk, "url": "/a"})
        Contact.objects.filter(pk=gone.pk).delete()
        self.assertEqual(consume(), 1)
        self.assertEqual(enrolled(workflow), {ada.pk})

    def test_inactive_workflows_and_undeclared_events_enroll_nobody(self):
        workflow = make_workflow({"type": "contact_created"})
        services.pause(workflow, actor=SYSTEM)
        make_workflow({"type": "meeting_booked"})  # its event comes with the scheduling pillar
        make_contact()
        self.assertEqual(consume(), 0)
        self.assertFalse(Enrollment.objects.exists())

    def test_a_batch_of_events_takes_few_queries(self):
        make_workflow({"type": "page_viewed", "params": {"url_contains": "/pricing"}})
        contacts = [make_contact() for _ in range(20)]
        consume()
        for contact in contacts:
            publish("page.viewed", contact, {"contact_id": contact.pk, "url": "/pricing"})
        from smarketing.core.models import Event

        events = list(Event.objects.filter(name="page.viewed"))
        # workflows, the contacts alive, earlier enrollments, the INSERT (in a savepoint), counters, touches, events
        with self.assertNumQueries(9):
            self.assertEqual(triggers.handle_events(events), 20)


class PeriodicTriggerTests(TestCase):
    def test_segment_entered_and_left(self):
        segment = segments.create_segment(
            SYSTEM,
            name="CTOs",
            definition={"op": "and", "rules": [{"field": "title", "operator": "equals", "value": "CTO"}]},
        )
        entered = make_workflow({"type": "segment_entered", "params": {"segment": segment.pk}})
        left = make_workflow({"type": "segment_left", "params": {"segment": segment.pk}})
        already, newcomer, leaver = make_contact(title="CTO"), make_contact(), make_contact(title="CTO")
        self.assertEqual(triggers.check_periodic(), 0)  # the first look only takes the snapshot
        self.assertEqual(SegmentSnapshot.objects.filter(workflow=entered).count(), 2)
        Contact.objects.filter(pk=newcomer.pk).update(title="CTO")
        Contact.objects.filter(pk=leaver.pk).update(title="CEO")
        self.assertEqual(triggers.check_periodic(), 2)
        self.assertEqual(enrolled(entered), {newcomer.pk})
        self.assertEqual(enrolled(left), {leaver.pk})
        self.assertEqual(
            set(SegmentSnapshot.objects.filter(workflow=entered).values_list("contact_id", flat=True)),
            {already.pk, newcomer.pk},
        )
        self.assertEqual(triggers.check_periodic(), 0)  # nothing changed since

    def test_date_reached(self):
        crm.define_property(actor=SYSTEM, object_type=ObjectType.CONTACT, key="renewal", label="Renewal", type="date")
        workflow = make_workflow({"type": "date_reached", "params": {"field": "custom.renewal", "days_before": 30}})
        today = timezone.localdate()
        due = make_contact(custom={"renewal": (today + datetime.timedelta(days=30)).isoformat()})
        make_contact(custom={"renewal": (today + datetime.timedelta(days=31)).isoformat()})
        make_contact()
        self.assertEqual(triggers.check_periodic(), 1)
        self.assertEqual(enrolled(workflow), {due.pk})
        self.assertEqual(triggers.check_periodic(), 0)  # the rules keep it from enrolling twice
        self.assertEqual(
            list(Touchpoint.objects.filter(kind="workflow_enrolled").values_list("contact_id", flat=True)), [due.pk]
        )

    def test_enroll_matching_writes_each_enrollments_touch_event_and_counters(self):
        workflow = make_workflow({"type": "manual", "params": {}}, reenrollment="after", reenroll_after_days=7)
        contacts = [make_contact(title="CTO"), make_contact(title="CTO"), make_contact(title="CEO")]
        ctos = {"op": "and", "rules": [{"field": "title", "operator": "equals", "value": "CTO"}]}
        self.assertEqual(services.enroll_matching(workflow, actor=SYSTEM, definition=ctos), 2)
        self.assertEqual(enrolled(workflow), {contacts[0].pk, contacts[1].pk})
        touches = Touchpoint.objects.filter(kind="workflow_enrolled")
        self.assertEqual(set(touches.values_list("contact_id", flat=True)), {contacts[0].pk, contacts[1].pk})
        events = Event.objects.filter(name="workflow.enrolled")
        self.assertEqual({e.payload["contact_id"] for e in events}, {contacts[0].pk, contacts[1].pk})
        workflow.refresh_from_db()
        self.assertEqual((workflow.enrolled_count, workflow.active_count), (2, 2))
        # Still active: not again. Ended 8 days ago: again, as its second enrollment.
        self.assertEqual(services.enroll_matching(workflow, actor=SYSTEM, definition=ctos), 0)
        Enrollment.objects.filter(contact=contacts[0]).update(
            status="completed", entered_at=timezone.now() - datetime.timedelta(days=8)
        )
        self.assertEqual(services.enroll_matching(workflow, actor=SYSTEM, definition=ctos), 1)
        self.assertEqual(Enrollment.objects.get(contact=contacts[0], status="active").sequence, 2)
        self.assertEqual(touches.count(), 3)
