"""Booking, rescheduling, canceling and outcomes through the real services (and the real slot engine)."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.accounts.models import Team
from smarketing.core.models import Event
from smarketing.crm.models import ConsentStatus, Contact
from smarketing.mail.models import TransactionalMessage
from smarketing.notifications.models import Notification
from smarketing.process.routing import pick
from smarketing.scheduling import availability, kinds, services
from smarketing.scheduling.models import (
    Assignment,
    BookingLink,
    HostHold,
    Meeting,
    MeetingType,
    MeetingTypeHost,
)
from smarketing.testing import ensure_defaults, make_cast, make_contact
from smarketing.timeline.models import Touchpoint

ALL_WEEK = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def open_hours(*users) -> None:
    """Hosts available around the clock, so the tests' slots exist whatever the day (test setup, not a service)."""
    for user in users:
        user.working_hours = ALL_WEEK
        user.time_zone = "UTC"
        user.save(update_fields=["working_hours", "time_zone"])


def personal_type(owner, slug="intro", **extra) -> MeetingType:
    fields = {"name": "Intro call", "slug": slug, "owner": owner, "durations": [30, 60], "min_notice": 0}
    return MeetingType.objects.create(**{**fields, **extra})


def team_type(team, hosts, slug="team", assignment=Assignment.ROUND_ROBIN, **extra) -> MeetingType:
    mt = MeetingType.objects.create(
        name="Demo", slug=slug, team=team, assignment=assignment, durations=[30], min_notice=0, **extra
    )
    for user, weight in hosts:
        MeetingTypeHost.objects.create(meeting_type=mt, user=user, weight=weight)
    return mt


def next_slot(mt, days: int = 2):
    """A free slot a day ahead (tomorrow's first), from the real engine."""
    day = (timezone.now() + timedelta(days=days)).date()
    return availability.free_slots(mt, start=day, end=day)[0].starts_at


def booker(email="vera@visitor.example", **extra) -> dict:
    return {"name": "Vera Visitor", "email": email, "time_zone": "Europe/Berlin", "answers": {}, **extra}


class BookTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        cls.bob, cls.carol = cls.cast["bob"], cls.cast["carol"]
        open_hours(cls.bob, cls.carol, cls.cast["alice"])
        cls.mt = personal_type(
            cls.bob,
            location_detail="https://meet.example.com/{meeting}",
            questions=[
                {"key": "company", "label": "Company", "maps_to": "company.name", "required": False},
                {"key": "phone", "label": "Phone", "maps_to": "phone", "required": True},
            ],
            buffer_after=15,
        )

    def test_a_booking_creates_contact_meeting_holds_touch_event_notification_and_two_emails(self):
        start = next_slot(self.mt)
        m = services.book(
            self.mt,
            starts_at=start,
            booker=booker(
                email="Vera@Visitor.Example",
                answers={"company": "Acme", "phone": "+49 30 1"},
                consent=True,
                consent_text="Yes, email me.",
            ),
        )
        self.assertEqual(m.host, self.bob)
        self.assertEqual(m.ends_at, start + timedelta(minutes=30))
        self.assertTrue(m.uid.endswith("@smarketing"))
        self.assertIn(m.uid.split("@")[0], m.location)
        contact = Contact.objects.get(email="vera@visitor.example")
        self.assertEqual(m.contact, contact)
        self.assertEqual((contact.first_name, contact.last_name), ("Vera", "Visitor"))
        self.assertEqual(contact.owner, self.bob)
        self.assertEqual(contact.phone, "+49 30 1")
        self.assertEqual(contact.company.name, "Acme")
        self.assertEqual(contact.consent_status, ConsentStatus.GRANTED)
        hold = HostHold.objects.get(meeting=m)
        self.assertEqual(
            (hold.user, hold.starts_at, hold.ends_at), (self.bob, start, m.ends_at + timedelta(minutes=15))
        )
        touch = Touchpoint.objects.get(contact=contact, kind=kinds.MEETING_BOOKED)
        self.assertEqual(touch.details["consent_text"], "Yes, email me.")
        event = Event.objects.get(name="meeting.booked")
        self.assertEqual(event.payload["contact_id"], contact.pk)
        self.assertTrue(Notification.objects.filter(user=self.bob, kind=kinds.NOTIFY_BOOKED).exists())
        sent = TransactionalMessage.objects.filter(kind="booking_confirmation")
        self.assertEqual(sorted(sent.values_list("to_email", flat=True)), ["bob@example.com", "vera@visitor.example"])
        self.assertTrue(all(msg.calendar_method == "REQUEST" and "BEGIN:VCALENDAR" in msg.calendar for msg in sent))
        self.assertIn("/meet/m/", sent.get(to_email="vera@visitor.example").text)

    def test_a_known_contact_keeps_its_values_and_only_empty_ones_are_filled(self):
        known = make_contact(email="vera@visitor.example", first_name="Vera", last_name="Known", phone="")
        services.book(
            self.mt, starts_at=next_slot(self.mt), booker=booker(name="V. Other", answers={"phone": "+1 555"})
        )
        known.refresh_from_db()
        self.assertEqual(known.last_name, "Known")
        self.assertEqual(known.phone, "+1 555")
        self.assertEqual(Contact.objects.filter(email="vera@visitor.example").count(), 1)

    def test_field_errors_are_per_field_and_a_bad_time_zone_becomes_utc(self):
        with self.assertRaises(ValidationError) as caught:
            services.book(self.mt, starts_at=next_slot(self.mt), booker={"name": "", "email": "nope", "answers": {}})
        self.assertEqual(set(caught.exception.message_dict), {"name", "email", "phone"})
        m = services.book(
            self.mt,
            starts_at=next_slot(self.mt),
            booker=booker(time_zone="Mars/Olympus", answers={"phone": "1"}),
        )
        self.assertEqual(m.booker_time_zone, "UTC")
        with self.assertRaises(ValidationError):
            services.book(self.mt, starts_at=next_slot(self.mt, 3), duration=45, booker=booker(answers={"phone": "1"}))

    def test_the_same_slot_twice_is_refused_and_no_meeting_is_left_without_holds(self):
        start = next_slot(self.mt)
        services.book(self.mt, starts_at=start, booker=booker(answers={"phone": "1"}))
        with self.assertRaises((services.SlotTaken, availability.SlotUnavailable)):
            services.book(self.mt, starts_at=start, booker=booker("other@visitor.example", answers={"phone": "1"}))
        self.assertEqual(Meeting.objects.count(), 1)
        self.assertFalse(Meeting.objects.filter(holds__isnull=True).exists())

    def test_the_overlap_check_refuses_even_when_the_engine_offered_the_slot(self):
        """SQLite's serialized check / PostgreSQL's constraint, with the engine and the early refusal fooled."""
        # What a racer sees: check_slot said free, but a rival's hold landed first (SQLite: the serialized check;
        # PostgreSQL: the check or the exclusion constraint).
        start = next_slot(self.mt)
        services.book(self.mt, starts_at=start, booker=booker(answers={"phone": "1"}))
        from unittest import mock

        # Past the early refusal too: this is the in-transaction check (and, on PostgreSQL, the constraint).
        with (
            mock.patch.object(availability, "check_slot", return_value=[self.bob.pk]),
            mock.patch.object(services, "_visibly_taken", return_value=False),
            self.assertRaises(services.SlotTaken),
        ):
            services.book(self.mt, starts_at=start, booker=booker("x@visitor.example", answers={"phone": "1"}))
        self.assertEqual(Meeting.objects.count(), 1)
        self.assertFalse(Contact.objects.filter(email="x@visitor.example").exists())

    def test_a_booking_link_ties_the_deal_and_contact_and_is_one_off(self):
        contact = make_contact(email="linked@visitor.example")
        link = BookingLink.objects.create(
            meeting_type=self.mt, created_by=self.bob, contact=contact, expires_at=timezone.now() + timedelta(days=7)
        )
        m = services.book(self.mt, starts_at=next_slot(self.mt), booker=booker(answers={"phone": "1"}), link=link)
        self.assertEqual(m.contact, contact)
        link.refresh_from_db()
        self.assertIsNotNone(link.used_at)
        with self.assertRaises(ValidationError) as caught:
            services.book(self.mt, starts_at=next_slot(self.mt, 3), booker=booker(answers={"phone": "1"}), link=link)
        self.assertIn("link", caught.exception.message_dict)
        expired = BookingLink.objects.create(
            meeting_type=self.mt, created_by=self.bob, expires_at=timezone.now() - timedelta(minutes=1)
        )
        with self.assertRaises(ValidationError):
            services.book(self.mt, starts_at=next_slot(self.mt, 4), booker=booker(answers={"phone": "1"}), link=expired)


class InFlightClaimTests(TestCase):
    """A booking in flight for one slot of a personal type holds a short cache claim: a rival for that start is
    refused without a query, and the claim goes when the booking ends, however it ends."""

    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        open_hours(cls.cast["bob"])
        cls.mt = MeetingType.objects.select_related("owner", "team").get(pk=personal_type(cls.cast["bob"]).pk)

    def setUp(self):
        from django.core.cache import cache

        cache.clear()

    def test_a_rival_of_a_booking_in_flight_is_refused_without_touching_the_database(self):
        from django.core.cache import cache

        start = next_slot(self.mt)
        cache.add(services._in_flight_key(self.mt, start), 1, 10)  # someone else's booking, still running
        with self.assertNumQueries(0), self.assertRaises(services.SlotTaken):
            services.book(self.mt, starts_at=start, booker=booker())
        self.assertFalse(Meeting.objects.exists())

    def test_the_claim_goes_when_a_booking_fails_or_succeeds(self):
        start = next_slot(self.mt)
        with self.assertRaises(availability.SlotUnavailable):
            services.book(self.mt, starts_at=start + timedelta(minutes=7), booker=booker())  # not on the grid
        meeting = services.book(self.mt, starts_at=start, booker=booker())  # the failed one left no claim behind
        self.assertEqual(meeting.starts_at, start)
        with self.assertRaises(services.SlotTaken):  # refused by the committed hold, not by a claim left over
            services.book(self.mt, starts_at=start, booker=booker("late@visitor.example"))
        from django.core.cache import cache

        self.assertIsNone(cache.get(services._in_flight_key(self.mt, start)))

    def test_team_types_take_no_claim(self):
        team = Team.objects.get(kind="sales")
        mt = team_type(team, [(self.cast["bob"], 1)])
        self.assertIsNone(services._in_flight_key(mt, next_slot(mt)))


class TeamTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        cls.sales = Team.objects.get(kind="sales")
        cls.bob, cls.carol, cls.alice = cls.cast["bob"], cls.cast["carol"], cls.cast["alice"]
        open_hours(cls.bob, cls.carol, cls.alice)

    def _book(self, mt, n, start):
        return services.book(mt, starts_at=start, booker=booker(f"v{n}@visitor.example"))

    def test_round_robin_goes_to_the_least_recently_booked_and_skips_a_taken_host(self):
        mt = team_type(self.sales, [(self.bob, 1), (self.carol, 1)])
        start = next_slot(mt)
        first = self._book(mt, 1, start)
        second = self._book(mt, 2, start)
        self.assertEqual({first.host, second.host}, {self.bob, self.carol})
        with self.assertRaises((services.SlotTaken, availability.SlotUnavailable)):
            self._book(mt, 3, start)
        later = self._book(mt, 4, start + timedelta(hours=2))
        self.assertEqual(later.host, first.host)  # least recently booked again
        row = MeetingTypeHost.objects.get(meeting_type=mt, user=first.host)
        self.assertEqual(row.booked_count, 2)

    def test_weighted_follows_the_shares(self):
        mt = team_type(self.sales, [(self.bob, 3), (self.carol, 1)], assignment=Assignment.WEIGHTED)
        start = next_slot(mt)
        hosts = [self._book(mt, n, start + timedelta(hours=n)).host for n in range(8)]
        self.assertEqual(hosts.count(self.bob), 6)
        self.assertEqual(hosts.count(self.carol), 2)

    def test_collective_holds_everyone_and_the_organizer_is_first(self):
        mt = team_type(self.sales, [(self.bob, 1), (self.carol, 1)], assignment=Assignment.COLLECTIVE)
        m = self._book(mt, 1, next_slot(mt))
        self.assertEqual(set(m.holds.values_list("user_id", flat=True)), {self.bob.pk, self.carol.pk})
        self.assertEqual(m.host_id, min(self.bob.pk, self.carol.pk))

    def test_owner_first_prefers_the_contacts_owner(self):
        mt = team_type(self.sales, [(self.bob, 1), (self.carol, 1)], assignment=Assignment.OWNER_FIRST)
        make_contact(email="v1@visitor.example", owner=self.carol)
        MeetingTypeHost.objects.filter(user=self.bob).update(last_booked_at=None)
        MeetingTypeHost.objects.filter(user=self.carol).update(last_booked_at=timezone.now())
        self.assertEqual(self._book(mt, 1, next_slot(mt)).host, self.carol)
        self.assertEqual(self._book(mt, 2, next_slot(mt)).host, self.bob)  # a new contact: round robin

    def test_the_shared_pick(self):
        now = timezone.now()
        self.assertEqual(pick([3, 1, 2], last_at={1: now, 2: None, 3: None}, counts={}, weights={}, weighted=False), 2)
        self.assertEqual(pick([1, 2], last_at={}, counts={1: 3, 2: 2}, weights={1: 3, 2: 1}, weighted=True), 1)
        self.assertIsNone(pick([1], last_at={}, counts={}, weights={1: 0}, weighted=True))
        self.assertIsNone(pick([], last_at={}, counts={}, weights={}, weighted=False))


class ChangeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        cls.bob = cls.cast["bob"]
        open_hours(cls.bob)
        cls.mt = personal_type(cls.bob, slot_interval=15)

    def setUp(self):
        self.start = next_slot(self.mt)
        self.meeting = services.book(self.mt, starts_at=self.start, booker=booker())

    def test_reschedule_keeps_the_uid_raises_the_sequence_and_replaces_the_token(self):
        token = services.manage_token(self.meeting)
        uid = self.meeting.uid
        moved = services.reschedule(self.meeting, starts_at=self.start + timedelta(minutes=30))
        self.assertEqual((moved.uid, moved.sequence), (uid, 1))
        self.assertIsNone(services.meeting_for_token(token))
        self.assertEqual(services.meeting_for_token(services.manage_token(moved)), moved)
        hold = HostHold.objects.get(meeting=moved)
        self.assertEqual((hold.starts_at, hold.active), (moved.starts_at, True))
        self.assertTrue(Touchpoint.objects.filter(kind=kinds.MEETING_RESCHEDULED).exists())
        self.assertEqual(TransactionalMessage.objects.filter(kind="booking_update").count(), 2)
        self.assertTrue(Notification.objects.filter(user=self.bob, kind=kinds.NOTIFY_CHANGED).exists())

    def test_reschedule_onto_its_own_time_overlap_is_allowed_and_onto_anothers_is_not(self):
        other = services.book(self.mt, starts_at=self.start + timedelta(hours=3), booker=booker("o@visitor.example"))
        services.reschedule(self.meeting, starts_at=self.start + timedelta(minutes=15))
        with self.assertRaises((services.SlotTaken, availability.SlotUnavailable)):
            services.reschedule(self.meeting, starts_at=other.starts_at)
        self.assertTrue(HostHold.objects.get(meeting=self.meeting).active)  # the failed move rolled back

    def test_cancel_releases_the_holds_and_is_idempotent(self):
        services.cancel(self.meeting, reason="Sick")
        again = services.cancel(self.meeting, reason="again")
        self.assertEqual(again.status, Meeting.Status.CANCELED)
        self.assertEqual(again.cancel_reason, "Sick")
        self.assertEqual(again.sequence, 1)
        self.assertFalse(HostHold.objects.filter(active=True).exists())
        self.assertEqual(Event.objects.filter(name="meeting.canceled").count(), 1)
        cancels = TransactionalMessage.objects.filter(kind="booking_cancel")
        self.assertEqual(cancels.count(), 2)
        self.assertTrue(all(m.calendar_method == "CANCEL" for m in cancels))
        # the slot is free again
        services.book(self.mt, starts_at=self.start, booker=booker("next@visitor.example"))

    def test_staff_changes_are_checked(self):
        with self.assertRaises(PermissionDenied):
            services.cancel(self.meeting, actor=self.cast["mia"])
        with self.assertRaises(PermissionDenied):
            services.reschedule(self.meeting, starts_at=self.start + timedelta(hours=1), actor=self.cast["rory"])
        services.cancel(self.meeting, actor=self.cast["carol"])  # bob's manager

    def test_outcome_only_after_the_start_and_only_by_host_manager_admin(self):
        with self.assertRaises(ValidationError):
            services.record_outcome(self.meeting, outcome=Meeting.Status.HELD, actor=self.bob)
        Meeting.objects.filter(pk=self.meeting.pk).update(starts_at=timezone.now() - timedelta(minutes=5))
        for outsider in (self.cast["mia"], self.cast["rory"]):
            with self.assertRaises(PermissionDenied):
                services.record_outcome(self.meeting, outcome=Meeting.Status.HELD, actor=outsider)
        services.record_outcome(self.meeting, outcome=Meeting.Status.NO_SHOW, actor=self.cast["alice"])
        held = services.record_outcome(self.meeting, outcome=Meeting.Status.HELD, actor=self.bob)
        self.assertEqual(held.status, Meeting.Status.HELD)
        kinds_written = set(Touchpoint.objects.values_list("kind", flat=True))
        self.assertTrue({kinds.MEETING_HELD, kinds.MEETING_NO_SHOW} <= kinds_written)
        self.assertEqual(Event.objects.filter(name__in=["meeting.held", "meeting.no_show"]).count(), 2)
        with self.assertRaises(ValidationError):
            services.record_outcome(self.meeting, outcome="booked", actor=self.bob)

    def test_forged_or_foreign_tokens_find_nothing(self):
        token = services.manage_token(self.meeting)
        self.assertEqual(services.meeting_for_token(token), self.meeting)
        self.assertIsNone(services.meeting_for_token(token[:-2] + "xx"))
        self.assertIsNone(services.meeting_for_token("garbage"))
        self.assertIsNone(services.meeting_for_token(""))


class SlaTests(TestCase):
    """A booking is the first sales touch the handoff's SLA clock waits for (process.kinds.FIRST_TOUCH_KINDS)."""

    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        open_hours(cls.cast["bob"])
        cls.mt = personal_type(cls.cast["bob"])

    def test_a_booking_stops_the_first_touch_clock(self):
        from smarketing.crm.services.lifecycle import change_lifecycle_stage
        from smarketing.process import handoff, sla
        from smarketing.process.models import Handoff

        person = make_contact(email="lead@visitor.example")
        change_lifecycle_stage(person, "mql", actor=system_actor(), origin="system")
        h = handoff.start(person.pk, started_at=timezone.now() - timedelta(minutes=5))
        self.assertIsNone(Handoff.objects.get(pk=h.pk).first_touch_at)
        services.book(self.mt, starts_at=next_slot(self.mt), booker=booker("lead@visitor.example"))
        sla.tick()
        h.refresh_from_db()
        self.assertIsNotNone(h.first_touch_at)
        self.assertEqual(h.first_touch_kind, kinds.MEETING_BOOKED)
