"""The demo's scheduling: a believable diary on top of a small seed, consistent with the timeline."""

import time
from collections import defaultdict

from django.test import TestCase
from django.utils import timezone

from smarketing.demo.seed import seed
from smarketing.scheduling import kinds
from smarketing.scheduling.demo import seed_scheduling
from smarketing.scheduling.models import HostHold, Meeting, MeetingType
from smarketing.timeline.models import Touchpoint

QUIET = {"out": lambda line: None}


class DemoDiaryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        seed(contacts=300, seed=7, demo_users=True, **QUIET)
        cls.now = timezone.now()
        started = time.monotonic()
        cls.made = seed_scheduling(now=cls.now, **QUIET)
        cls.seconds = time.monotonic() - started

    def test_types_hours_and_a_team_round_robin(self):
        self.assertTrue(
            MeetingType.objects.filter(name="Intro call", owner__email="sam@demo.smarketing.local").exists()
        )
        self.assertTrue(
            MeetingType.objects.filter(name="Product demo", owner__email="jordan@demo.smarketing.local").exists()
        )
        team = MeetingType.objects.get(slug="talk-to-sales")
        self.assertEqual(team.assignment, "round_robin")
        self.assertGreaterEqual(team.host_rows.count(), 3)
        sam = MeetingType.objects.get(slug="sam-okafor-intro").owner
        self.assertEqual(sam.time_zone, "America/New_York")
        self.assertTrue(sam.working_hours.get("mon"))

    def test_past_and_upcoming_meetings_with_a_believable_mix(self):
        self.assertLess(self.seconds, 15)
        self.assertEqual(Meeting.objects.count(), self.made)
        past = Meeting.objects.filter(starts_at__lt=self.now)
        upcoming = Meeting.objects.filter(starts_at__gte=self.now)
        self.assertGreater(past.count(), 50)
        self.assertGreater(upcoming.count(), 15)
        self.assertLess(upcoming.order_by("-starts_at").first().starts_at, self.now + timezone.timedelta(days=23))
        held = past.filter(status="held").count()
        no_show = past.filter(status="no_show").count()
        canceled = past.filter(status="canceled").count()
        self.assertFalse(past.filter(status="booked").exists())  # every past meeting has its outcome
        self.assertGreater(held, 3 * no_show)
        self.assertGreater(no_show, 0)
        self.assertGreater(canceled, 0)
        self.assertFalse(Meeting.objects.filter(contact__isnull=True).exists())
        self.assertTrue(Meeting.objects.filter(deal__isnull=False).exists())

    def test_no_host_is_ever_in_two_meetings_at_once(self):
        by_host = defaultdict(list)
        for host_id, starts, ends in Meeting.objects.values_list("host_id", "starts_at", "ends_at"):
            by_host[host_id].append((starts, ends))
        for rows in by_host.values():
            rows.sort()
            for (_, end), (start, _) in zip(rows, rows[1:], strict=False):
                self.assertLessEqual(end, start)
        holds = defaultdict(list)
        for user_id, starts, ends in HostHold.objects.filter(active=True).values_list(
            "user_id", "starts_at", "ends_at"
        ):
            holds[user_id].append((starts, ends))
        for rows in holds.values():
            rows.sort()
            for (_, end), (start, _) in zip(rows, rows[1:], strict=False):
                self.assertLessEqual(end, start)

    def test_active_meetings_hold_their_time_and_others_do_not(self):
        booked = Meeting.objects.filter(status="booked")
        self.assertTrue(booked.exists())
        self.assertEqual(HostHold.objects.filter(active=True, meeting__status="booked").count(), booked.count())
        self.assertFalse(HostHold.objects.exclude(meeting__status="booked").exists())

    def test_the_timeline_agrees_with_the_meetings(self):
        touches = Touchpoint.objects.filter(kind__startswith="meeting_")
        self.assertEqual(touches.filter(kind=kinds.MEETING_BOOKED).count(), Meeting.objects.count())
        self.assertEqual(touches.filter(kind=kinds.MEETING_HELD).count(), Meeting.objects.filter(status="held").count())
        self.assertEqual(
            touches.filter(kind=kinds.MEETING_NO_SHOW).count(), Meeting.objects.filter(status="no_show").count()
        )
        m = Meeting.objects.filter(status="held").first()
        self.assertTrue(touches.filter(kind=kinds.MEETING_HELD, contact=m.contact, details__meeting_id=m.pk).exists())
        self.assertFalse(touches.filter(occurred_at__gt=self.now).exists())  # nothing on the timeline ahead of time

    def test_a_second_run_adds_nothing(self):
        before = (MeetingType.objects.count(), Meeting.objects.count())
        self.assertEqual(seed_scheduling(now=self.now, **QUIET), 0)
        self.assertEqual((MeetingType.objects.count(), Meeting.objects.count()), before)
