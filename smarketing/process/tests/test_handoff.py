"""The handoff end to end through the real services: MQL → routed with a clock → first touch → accept or reject
→ recycle → re-qualify; who may decide; the SLA's breaches, reminders and escalations from stored facts."""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.accounts.models import Team
from smarketing.core.models import Event
from smarketing.crm.models import Contact, LifecycleChange
from smarketing.crm.services.activities import log_activity
from smarketing.crm.services.lifecycle import change_lifecycle_stage
from smarketing.jobs import outbox
from smarketing.notifications.models import Notification
from smarketing.process import handoff, kinds, sla
from smarketing.process.models import Handoff, HandoffStatus, RejectionReason, RepRouting, SlaPolicy
from smarketing.testing import make_cast, make_company, make_contact
from smarketing.timeline.models import Touchpoint


def qualify(contact, *, at=None):
    """What the score, a form or a workflow does: the contact becomes an MQL; the outbox consumer picks it up."""
    change_lifecycle_stage(contact, "mql", actor=system_actor(), origin="system", at=at)
    outbox.run_consumer(handoff.CONSUMER, wait=True)
    return Handoff.objects.filter(contact=contact).order_by("-id").first()


class HandoffTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.sales = Team.objects.get(kind="sales")
        cls.no_budget = RejectionReason.objects.create(label="No budget (test)", position=1)
        cls.not_fit = RejectionReason.objects.create(label="Not a fit (test)", position=2)
        cls.retired = RejectionReason.objects.create(label="Retired (test)", active=False)
        # Around the clock, so "due" is simply N hours later in these tests; test_hours covers real weeks.
        SlaPolicy.objects.create(
            team=cls.sales,
            first_touch_hours=4,
            time_zone="UTC",
            working_hours={d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            remind_before_minutes=60,
        )


class RoutingAndClockTests(HandoffTestCase):
    def test_a_new_mql_is_routed_round_robin_and_its_clock_starts_when_it_qualified(self):
        first, second, third = make_contact(), make_contact(), make_contact()
        became = timezone.now() - timedelta(minutes=10)
        h1 = qualify(first, at=became)
        h2, h3 = qualify(second), qualify(third)
        bob, carol = self.cast["bob"], self.cast["carol"]
        self.assertEqual([h1.owner, h2.owner, h3.owner], [bob, carol, bob])
        self.assertEqual(h1.started_at, became)  # the lifecycle change's time, not the consumer's
        self.assertEqual(h1.due_at, became + timedelta(hours=4))
        self.assertEqual(h1.remind_at, h1.due_at - timedelta(minutes=60))
        first.refresh_from_db()
        self.assertEqual(first.owner, bob)
        self.assertTrue(Touchpoint.objects.filter(contact=first, kind=kinds.LEAD_ROUTED).exists())
        self.assertTrue(Event.objects.filter(name="lead.routed", object_id=str(h1.pk)).exists())
        self.assertTrue(Notification.objects.filter(user=bob, kind=kinds.NOTIFY_NEW_LEAD).exists())

    def test_an_imported_mql_is_history_not_a_new_lead(self):
        person = make_contact(owner=self.cast["mia"])
        change_lifecycle_stage(person, "mql", actor=system_actor("import"), origin="import")
        outbox.run_consumer(handoff.CONSUMER, wait=True)
        self.assertFalse(Handoff.objects.filter(contact=person).exists())
        person.refresh_from_db()
        self.assertEqual(person.owner, self.cast["mia"])

    def test_a_replayed_event_opens_no_second_handoff(self):
        person = make_contact()
        qualify(person)
        handoff.start(person.pk, started_at=timezone.now())
        self.assertEqual(Handoff.objects.filter(contact=person).count(), 1)

    def test_the_account_owner_first_and_reps_away_are_skipped(self):
        account = make_company(owner=self.cast["carol"])
        h = qualify(make_contact(company=account))
        self.assertEqual(h.owner, self.cast["carol"])
        self.assertIn("account owner", h.routed_how)
        today = timezone.localdate()
        RepRouting.objects.update_or_create(user=self.cast["bob"], defaults={"away_from": today, "away_until": today})
        owners = {qualify(make_contact()).owner for _ in range(3)}
        self.assertEqual(owners, {self.cast["carol"]})

    def test_weighted_routing_hands_out_leads_by_share(self):
        settings = handoff.routing_settings()
        settings.mode = "weighted"
        settings.save()
        RepRouting.objects.update_or_create(user=self.cast["bob"], defaults={"weight": 3})
        RepRouting.objects.update_or_create(user=self.cast["carol"], defaults={"weight": 1})
        owners = [qualify(make_contact()).owner for _ in range(8)]
        self.assertEqual(owners.count(self.cast["bob"]), 6)
        self.assertEqual(owners.count(self.cast["carol"]), 2)

    def test_rules_route_by_territory_then_fall_back_to_the_rotation(self):
        settings = handoff.routing_settings()
        settings.mode = "rules"
        settings.rules = [{"field": "company.country", "value": "DE", "owner": self.cast["carol"].pk}]
        settings.save()
        german = qualify(make_contact(company=make_company(country="de")))
        self.assertEqual(german.owner, self.cast["carol"])
        self.assertIn("rule 1: Country is DE", german.routed_how)
        other = qualify(make_contact(company=make_company(country="FR")))
        self.assertIn(other.owner, (self.cast["bob"], self.cast["carol"]))
        self.assertEqual(other.routed_how, "round robin")

    def test_a_lead_moved_past_mql_on_the_record_counts_as_accepted_and_one_moved_back_closes(self):
        moved_on, moved_back = make_contact(), make_contact()
        h1, h2 = qualify(moved_on), qualify(moved_back)
        change_lifecycle_stage(moved_on, "opportunity", actor=self.cast["alice"])
        change_lifecycle_stage(moved_back, "lead", actor=self.cast["alice"], allow_backward=True, reason="wrong")
        outbox.run_consumer(handoff.CONSUMER, wait=True)
        h1.refresh_from_db()
        h2.refresh_from_db()
        self.assertEqual((h1.status, h1.decided_by), (HandoffStatus.ACCEPTED, self.cast["alice"]))
        self.assertEqual(h2.status, HandoffStatus.CLOSED)


class DecisionTests(HandoffTestCase):
    def test_accept_makes_the_contact_an_sql(self):
        person = make_contact()
        h = qualify(person)
        handoff.accept(h, actor=h.owner)
        h.refresh_from_db()
        person.refresh_from_db()
        self.assertEqual((h.status, h.decided_by), (HandoffStatus.ACCEPTED, h.owner))
        self.assertEqual(person.lifecycle_stage, "sql")
        self.assertTrue(Touchpoint.objects.filter(contact=person, kind=kinds.LEAD_ACCEPTED).exists())
        self.assertTrue(Event.objects.filter(name="lead.accepted", object_id=str(h.pk)).exists())

    def test_reject_recycles_to_lead_with_the_reason_and_the_lead_may_qualify_again(self):
        person = make_contact()
        h = qualify(person)
        handoff.reject(h, actor=h.owner, reason_id=self.no_budget.pk, text="  Next   year maybe ")
        h.refresh_from_db()
        person.refresh_from_db()
        self.assertEqual(
            (h.status, h.reason, h.reason_text), (HandoffStatus.REJECTED, self.no_budget, "Next year maybe")
        )
        self.assertEqual(person.lifecycle_stage, "lead")
        change = LifecycleChange.objects.filter(contact=person).latest("id")
        self.assertEqual((change.from_stage, change.to_stage), ("mql", "lead"))
        self.assertIn("No budget (test): Next year maybe", change.reason)
        event = Event.objects.get(name="lead.rejected", object_id=str(h.pk))
        self.assertEqual(event.payload["reason"], "No budget (test)")
        again = qualify(person)  # the nurture worked: a second handoff, with its own clock
        self.assertNotEqual(again.pk, h.pk)
        self.assertEqual(again.status, HandoffStatus.OPEN)
        self.assertEqual(Handoff.objects.filter(contact=person).count(), 2)

    def test_a_rejection_needs_an_active_reason_and_short_text(self):
        h = qualify(make_contact())
        for reason_id, text in ((None, ""), (self.retired.pk, ""), ("x", ""), (self.no_budget.pk, "y" * 501)):
            with self.subTest(reason=reason_id), self.assertRaises(ValidationError):
                handoff.reject(h, actor=h.owner, reason_id=reason_id, text=text)
        h.refresh_from_db()
        self.assertEqual(h.status, HandoffStatus.OPEN)  # nothing lost: still waiting

    def test_only_the_owner_their_manager_or_an_admin_decides(self):
        person = make_contact()
        h = qualify(person)
        owner = h.owner
        others = [u for u in (self.cast["bob"], self.cast["carol"]) if u != owner]
        refused = [self.cast["mia"], self.cast["rory"]]
        if owner == self.cast["carol"]:
            refused.append(self.cast["bob"])  # a member is not the manager's manager
        for user in refused:
            with self.subTest(user=user.email), self.assertRaises(PermissionDenied):
                handoff.accept(h, actor=user)
        allowed = self.cast["carol"] if owner == self.cast["bob"] else self.cast["alice"]
        self.assertIn(allowed, [*others, self.cast["alice"]])
        handoff.accept(h, actor=allowed)
        h.refresh_from_db()
        self.assertEqual(h.decided_by, allowed)

    def test_the_second_decision_is_refused_and_changes_nothing(self):
        person = make_contact()
        h = qualify(person)
        stale = Handoff.objects.get(pk=h.pk)
        handoff.accept(h, actor=h.owner)
        with self.assertRaisesMessage(ValidationError, "already accepted"):
            handoff.reject(stale, actor=self.cast["alice"], reason_id=self.no_budget.pk)
        person.refresh_from_db()
        self.assertEqual(person.lifecycle_stage, "sql")
        self.assertEqual(
            Event.objects.filter(name__in=["lead.accepted", "lead.rejected"], object_id=str(h.pk)).count(), 1
        )

    def test_a_manager_reassigns_with_a_reason(self):
        h = qualify(make_contact())
        target = self.cast["carol"] if h.owner == self.cast["bob"] else self.cast["bob"]
        with self.assertRaises(PermissionDenied):
            handoff.reassign(h, to_user=target, actor=self.cast["mia"], reason="x")
        with self.assertRaises(ValidationError):
            handoff.reassign(h, to_user=target, actor=self.cast["alice"], reason="  ")
        handoff.reassign(h, to_user=target, actor=self.cast["alice"], reason="Out sick")
        h.refresh_from_db()
        self.assertEqual(h.owner, target)
        self.assertEqual(h.reassignments.get().reason, "Out sick")
        self.assertEqual(Contact.objects.get(pk=h.contact_id).owner, target)


class SlaTests(HandoffTestCase):
    def test_a_logged_call_is_the_first_touch(self):
        person = make_contact()
        h = qualify(person)
        log_activity(person, kind="call", summary="Intro call", actor=h.owner)
        self.assertEqual(sla.fill_first_touches(), 1)
        h.refresh_from_db()
        self.assertEqual(h.first_touch_kind, "call_logged")
        self.assertIsNotNone(h.first_touch_at)
        self.assertEqual(sla.fill_first_touches(), 0)

    def test_touches_before_the_clock_started_do_not_count(self):
        person = make_contact()
        log_activity(
            person,
            kind="call",
            summary="Cold call last month",
            actor=self.cast["bob"],
            occurred_at=timezone.now() - timedelta(days=30),
        )
        qualify(person)
        self.assertEqual(sla.fill_first_touches(), 0)

    def test_a_breach_is_recorded_at_the_due_time_even_when_the_job_ran_late(self):
        person = make_contact()
        started = timezone.now() - timedelta(hours=30)  # the worker was down for a day
        h = qualify(person, at=started)
        result = sla.tick()
        h.refresh_from_db()
        self.assertEqual(result["breached"], 1)
        self.assertEqual(h.breached_at, started + timedelta(hours=4))
        self.assertIsNotNone(h.escalated_at)
        carol = self.cast["carol"]
        self.assertTrue(Notification.objects.filter(user=carol, kind=kinds.NOTIFY_SLA_BREACHED).exists())
        self.assertTrue(
            Touchpoint.objects.filter(contact=person, kind=kinds.SLA_BREACHED, occurred_at=h.breached_at).exists()
        )
        self.assertEqual(Event.objects.filter(name="sla.breached", object_id=str(h.pk)).count(), 1)
        self.assertEqual(sla.tick()["breached"], 0)  # once
        self.assertEqual(Event.objects.filter(name="sla.breached", object_id=str(h.pk)).count(), 1)

    def test_a_touch_in_time_logged_before_the_late_job_prevents_the_breach(self):
        person = make_contact()
        h = qualify(person, at=timezone.now() - timedelta(hours=30))
        log_activity(
            person, kind="email", summary="Sent intro", actor=h.owner, occurred_at=h.started_at + timedelta(hours=1)
        )
        self.assertEqual(sla.tick()["breached"], 0)
        h.refresh_from_db()
        self.assertIsNone(h.breached_at)

    def test_a_late_touch_is_a_breach_without_escalation(self):
        person = make_contact()
        h = qualify(person, at=timezone.now() - timedelta(hours=30))
        log_activity(
            person, kind="call", summary="Finally", actor=h.owner, occurred_at=h.started_at + timedelta(hours=6)
        )
        sla.tick()
        h.refresh_from_db()
        self.assertEqual(h.breached_at, h.due_at)
        self.assertIsNone(h.escalated_at)

    def test_a_decision_after_the_due_time_without_a_touch_records_the_breach(self):
        person = make_contact()
        h = qualify(person, at=timezone.now() - timedelta(hours=5))
        handoff.accept(h, actor=h.owner)  # before any tick ran
        h.refresh_from_db()
        self.assertEqual(h.breached_at, h.due_at)

    def test_one_reminder_inside_the_window(self):
        person = make_contact()
        h = qualify(person, at=timezone.now() - timedelta(hours=3, minutes=30))  # due in 30 min
        self.assertEqual(sla.tick()["reminded"], 1)
        self.assertEqual(sla.tick()["reminded"], 0)
        reminders = Notification.objects.filter(user=h.owner, kind=kinds.NOTIFY_SLA_REMINDER)
        self.assertEqual(reminders.count(), 1)
        self.assertIn(str(person), reminders.get().title)

    def test_no_reminder_once_touched_or_before_the_window(self):
        fresh = qualify(make_contact())
        touched_person = make_contact()
        touched = qualify(touched_person, at=timezone.now() - timedelta(hours=3, minutes=30))
        log_activity(touched_person, kind="call", summary="Hi", actor=touched.owner)
        self.assertEqual(sla.tick(), {"touched": 1, "breached": 0, "reminded": 0})
        self.assertFalse(Notification.objects.filter(kind=kinds.NOTIFY_SLA_REMINDER).exists())
        self.assertIsNone(Handoff.objects.get(pk=fresh.pk).reminded_at)

    def test_business_hours_of_the_team_set_the_due_time(self):
        SlaPolicy.objects.filter(team=self.sales).update(
            working_hours={}, time_zone="America/New_York", holiday_country="US", first_touch_hours=2
        )
        # Wednesday 25 November 2026, 16:00 in New York; Thursday is Thanksgiving.
        became = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
        h = handoff.start(self._mql(make_contact()).pk, started_at=became)
        self.assertEqual(h.due_at, datetime(2026, 11, 27, 15, 0, tzinfo=UTC))  # Friday 10:00 EST

    def _mql(self, contact):
        Contact.objects.filter(pk=contact.pk).update(lifecycle_stage="mql")
        return contact


class MergeTests(HandoffTestCase):
    def test_a_merge_keeps_the_duplicates_handoffs_on_the_survivor(self):
        from smarketing.crm.services import merge_records

        primary, duplicate = make_contact(), make_contact()
        qualify(primary)
        dup_handoff = qualify(duplicate)
        merge_records(primary, duplicate, actor=self.cast["alice"])
        dup_handoff.refresh_from_db()
        self.assertEqual(dup_handoff.contact_id, primary.pk)
        self.assertEqual(dup_handoff.status, HandoffStatus.CLOSED)
        self.assertEqual(Handoff.objects.filter(contact=primary, status=HandoffStatus.OPEN).count(), 1)


class PrivacyTests(HandoffTestCase):
    def test_export_lists_the_handoffs_and_erasure_blanks_the_reps_words(self):
        import json

        from smarketing.privacy.services import erase_contact, export_contact, stream_json

        person = make_contact(first_name="Zoe")
        h = qualify(person)
        handoff.reject(h, actor=h.owner, reason_id=self.no_budget.pk, text="Zoe said call back in May")
        exported = json.loads("".join(stream_json(export_contact(person, actor=self.cast["alice"]))))
        row = exported["handoffs"][0]
        self.assertEqual((row["reason"], row["reason_text"]), ("No budget (test)", "Zoe said call back in May"))
        erase_contact(person, actor=self.cast["alice"], reason="GDPR request 7")
        h.refresh_from_db()
        self.assertEqual(h.reason_text, "[erased]")
        self.assertEqual((h.status, h.reason), (HandoffStatus.REJECTED, self.no_budget))  # the facts stay counted
