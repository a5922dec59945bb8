"""The slot engine: weekly hours in the host's zone, overrides, holds and busy blocks with buffers, the type's
limits, daylight saving time, far-off zones, team types, check_slot, and a constant number of queries.

2027-03-01 is a Monday; the US moves its clocks on Sunday 2027-03-14 (forward) and Sunday 2027-11-07 (back).
"""

import itertools
from datetime import UTC, date, datetime, timedelta

from django.test import TestCase
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from smarketing.accounts.models import User
from smarketing.scheduling import availability
from smarketing.scheduling.availability import SlotUnavailable, check_slot, free_slots, hold_range, hosts_of
from smarketing.scheduling.models import (
    Assignment,
    AvailabilityOverride,
    BusyBlock,
    HostHold,
    Meeting,
    MeetingType,
    MeetingTypeHost,
)
from smarketing.testing import make_user, team

MONDAY = date(2027, 3, 1)
EARLIER = datetime(2027, 2, 1, tzinfo=UTC)  # a `now` long before every tested day
_n = itertools.count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def times(slots) -> list[str]:
    return [s.starts_at.strftime("%Y-%m-%d %H:%M") for s in slots]


def personal_type(user, **fields) -> MeetingType:
    fields = {"durations": [30], "min_notice": 0, "max_days_ahead": 3650, **fields}
    return MeetingType.objects.create(name="Intro", slug=f"intro-{next(_n)}", owner=user, **fields)


def team_type(users, assignment=Assignment.ROUND_ROBIN, **fields) -> MeetingType:
    fields = {"durations": [60], "min_notice": 0, "max_days_ahead": 3650, **fields}
    mt = MeetingType.objects.create(
        name="Demo", slug=f"demo-{next(_n)}", team=team("sales"), assignment=assignment, **fields
    )
    MeetingTypeHost.objects.bulk_create([MeetingTypeHost(meeting_type=mt, user=u) for u in users])
    return mt


def set_hours(user, hours, zone="UTC") -> None:
    user.working_hours, user.time_zone = hours, zone
    user.save(update_fields=["working_hours", "time_zone"])


def book(mt, host, starts_at, minutes=30, status=Meeting.Status.BOOKED, holds=None) -> Meeting:
    """A meeting with its holds, as the booking service writes them (buffers applied)."""
    ends_at = starts_at + timedelta(minutes=minutes)
    meeting = Meeting.objects.create(
        meeting_type=mt,
        host=host,
        title="Booked",
        starts_at=starts_at,
        ends_at=ends_at,
        status=status,
        uid=f"m{next(_n)}@test",
    )
    start, end = hold_range(mt, starts_at, ends_at)
    active = status in (Meeting.Status.BOOKED, Meeting.Status.HELD)
    for user in holds or [host]:
        HostHold.objects.create(meeting=meeting, user=user, starts_at=start, ends_at=end, active=active)
    return meeting


class WeeklyHoursTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.bob = make_user("bob@example.com")

    def test_hours_in_the_hosts_zone_are_the_right_utc_instants(self):
        set_hours(self.bob, {"mon": [["09:00", "11:00"]]}, "Europe/Berlin")  # UTC+1 in March
        mt = personal_type(self.bob, durations=[60])
        slots = free_slots(mt, start=MONDAY, end=MONDAY + timedelta(days=1), now=EARLIER)
        self.assertEqual(times(slots), ["2027-03-01 08:00", "2027-03-01 09:00"])
        self.assertEqual(slots[0].ends_at, at("2027-03-01 09:00"))
        self.assertEqual(slots[0].hosts, (self.bob.pk,))
        self.assertEqual(slots[0].starts_at.tzinfo, UTC)

    def test_summer_time_shifts_the_same_hours(self):
        set_hours(self.bob, {"mon": [["09:00", "10:00"]]}, "Europe/Berlin")
        mt = personal_type(self.bob, durations=[60])
        slots = free_slots(mt, start=date(2027, 7, 5), end=date(2027, 7, 5), now=EARLIER)
        self.assertEqual(times(slots), ["2027-07-05 07:00"])  # UTC+2

    def test_a_bad_zone_name_reads_as_utc(self):
        set_hours(self.bob, {"mon": [["09:00", "10:00"]]}, "Mars/Olympus")
        mt = personal_type(self.bob, durations=[60])
        self.assertEqual(times(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER)), ["2027-03-01 09:00"])

    def test_a_range_to_midnight(self):
        set_hours(self.bob, {"mon": [["23:00", "24:00"]]})
        mt = personal_type(self.bob)
        slots = free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER)
        self.assertEqual(times(slots), ["2027-03-01 23:00", "2027-03-01 23:30"])

    def test_override_replaces_a_day_and_an_empty_one_is_a_day_off(self):
        set_hours(self.bob, {"mon": [["09:00", "10:00"]], "tue": [["09:00", "10:00"]]})
        AvailabilityOverride.objects.create(user=self.bob, date=MONDAY, ranges=[["13:00", "14:00"]])
        AvailabilityOverride.objects.create(user=self.bob, date=MONDAY + timedelta(days=1), ranges=[])
        # Saturday has no weekly hours; an override opens it.
        AvailabilityOverride.objects.create(user=self.bob, date=date(2027, 3, 6), ranges=[["10:00", "10:30"]])
        mt = personal_type(self.bob)
        slots = free_slots(mt, start=MONDAY, end=date(2027, 3, 8), now=EARLIER)
        self.assertEqual(
            times(slots),
            ["2027-03-01 13:00", "2027-03-01 13:30", "2027-03-06 10:00", "2027-03-08 09:00", "2027-03-08 09:30"],
        )

    def test_slot_interval_15_with_30_minute_meetings(self):
        set_hours(self.bob, {"mon": [["09:00", "10:00"]]})
        mt = personal_type(self.bob, slot_interval=15)
        slots = free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER)
        self.assertEqual(times(slots), ["2027-03-01 09:00", "2027-03-01 09:15", "2027-03-01 09:30"])
        self.assertEqual(slots[-1].ends_at, at("2027-03-01 10:00"))

    def test_grid_counts_from_midnight_not_from_the_range(self):
        set_hours(self.bob, {"mon": [["09:10", "10:30"]]})
        mt = personal_type(self.bob)
        self.assertEqual(
            times(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER)), ["2027-03-01 09:30", "2027-03-01 10:00"]
        )

    def test_duration_must_be_offered(self):
        set_hours(self.bob, {"mon": [["09:00", "10:00"]]})
        mt = personal_type(self.bob, durations=[30, 60])
        self.assertEqual(
            times(free_slots(mt, start=MONDAY, end=MONDAY, duration=60, now=EARLIER)), ["2027-03-01 09:00"]
        )
        with self.assertRaises(SlotUnavailable):
            free_slots(mt, start=MONDAY, end=MONDAY, duration=45, now=EARLIER)

    def test_inactive_owner_offers_nothing(self):
        set_hours(self.bob, {"mon": [["09:00", "10:00"]]})
        mt = personal_type(self.bob)
        User.objects.filter(pk=self.bob.pk).update(is_active=False)
        self.assertEqual(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER), [])


class BusyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.bob = make_user("bob@example.com")
        set_hours(cls.bob, {"mon": [["09:00", "13:00"]]})

    def test_a_busy_block_removes_exactly_the_overlapping_slots(self):
        mt = personal_type(self.bob)
        BusyBlock.objects.create(user=self.bob, starts_at=at("2027-03-01 10:00"), ends_at=at("2027-03-01 10:30"))
        slots = times(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER))
        self.assertNotIn("2027-03-01 10:00", slots)
        self.assertIn("2027-03-01 09:30", slots)  # ends 10:00: half-open, no overlap
        self.assertIn("2027-03-01 10:30", slots)
        self.assertEqual(len(slots), 7)

    def test_buffers_before_and_after_widen_the_candidate(self):
        mt = personal_type(self.bob, buffer_before=15, buffer_after=15)
        BusyBlock.objects.create(user=self.bob, starts_at=at("2027-03-01 10:00"), ends_at=at("2027-03-01 10:30"))
        other = personal_type(self.bob)
        book(other, self.bob, at("2027-03-01 12:00"))  # a hold of exactly 12:00-12:30 (no buffers)
        book(other, self.bob, at("2027-03-01 09:00"), status=Meeting.Status.CANCELED)  # inactive hold: ignored
        slots = times(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER))
        # 09:30 is out (its 10:00-10:15 buffer after), 10:30 too (its 10:15 buffer before); 11:30 and 12:30 by
        # the hold the same way.
        self.assertEqual(slots, ["2027-03-01 09:00", "2027-03-01 11:00"])

    def test_a_block_of_another_user_does_not_count(self):
        carol = make_user("carol@example.com")
        BusyBlock.objects.create(user=carol, starts_at=at("2027-03-01 00:00"), ends_at=at("2027-03-02 00:00"))
        mt = personal_type(self.bob)
        self.assertEqual(len(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER)), 8)

    def test_a_long_external_block_reaching_into_the_window(self):
        BusyBlock.objects.create(
            user=self.bob,
            starts_at=at("2027-02-20 00:00"),
            ends_at=at("2027-03-01 11:00"),
            source=BusyBlock.Source.EXTERNAL,
        )
        mt = personal_type(self.bob)
        self.assertEqual(times(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER))[0], "2027-03-01 11:00")


class LimitTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.bob = make_user("bob@example.com")
        set_hours(cls.bob, {d: [["09:00", "10:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})

    def test_min_notice(self):
        mt = personal_type(self.bob, min_notice=60)
        slots = free_slots(mt, start=MONDAY, end=MONDAY, now=at("2027-03-01 08:15"))
        self.assertEqual(times(slots), ["2027-03-01 09:30"])
        slots = free_slots(mt, start=MONDAY, end=MONDAY, now=at("2027-03-01 08:00"))
        self.assertEqual(times(slots), ["2027-03-01 09:00", "2027-03-01 09:30"])  # exactly now + notice: offered

    def test_max_days_ahead(self):
        mt = personal_type(self.bob, max_days_ahead=1)
        slots = free_slots(mt, start=MONDAY, end=MONDAY + timedelta(days=6), now=at("2027-03-01 09:00"))
        # Until now + 1 day inclusive: Tuesday 09:00 is the last start.
        self.assertEqual(times(slots), ["2027-03-01 09:00", "2027-03-01 09:30", "2027-03-02 09:00"])

    def test_max_per_day_counts_booked_and_held_meetings_of_this_type(self):
        mt = personal_type(self.bob, max_per_day=1)
        other = personal_type(self.bob)
        book(mt, self.bob, at("2027-03-01 09:30"), status=Meeting.Status.HELD)
        book(mt, self.bob, at("2027-03-02 09:30"), status=Meeting.Status.CANCELED)
        book(other, self.bob, at("2027-03-03 09:30"))  # another type: its hold blocks, the count does not
        slots = free_slots(mt, start=MONDAY, end=MONDAY + timedelta(days=2), now=EARLIER)
        self.assertEqual(times(slots), ["2027-03-02 09:00", "2027-03-02 09:30", "2027-03-03 09:00"])

    def test_max_per_day_is_per_host_local_day(self):
        set_hours(self.bob, {"mon": [["09:00", "10:00"]], "tue": [["09:00", "10:00"]]}, "Pacific/Kiritimati")
        mt = personal_type(self.bob, max_per_day=1)
        # Monday 09:30 in Kiritimati (UTC+14) is Sunday 19:30 UTC: it fills Monday, not the UTC Sunday.
        book(mt, self.bob, at("2027-02-28 19:30"))
        slots = free_slots(mt, start=date(2027, 2, 28), end=MONDAY, now=EARLIER)
        self.assertEqual(times(slots), ["2027-03-01 19:00", "2027-03-01 19:30"])


class TimeZoneTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.bob = make_user("bob@example.com")

    def test_spring_forward_gap_is_never_offered(self):
        set_hours(self.bob, {"sun": [["01:00", "04:00"]]}, "America/New_York")
        mt = personal_type(self.bob)
        slots = free_slots(mt, start=date(2027, 3, 14), end=date(2027, 3, 14), now=EARLIER)
        # 01:00 and 01:30 EST (UTC-5), then 03:00 and 03:30 EDT (UTC-4); 02:00 and 02:30 do not exist.
        self.assertEqual(times(slots), ["2027-03-14 06:00", "2027-03-14 06:30", "2027-03-14 07:00", "2027-03-14 07:30"])

    def test_fall_back_offers_each_real_instant_once(self):
        set_hours(self.bob, {"sun": [["01:00", "04:00"]]}, "America/New_York")
        mt = personal_type(self.bob)
        slots = free_slots(mt, start=date(2027, 11, 7), end=date(2027, 11, 7), now=EARLIER)
        # 01:00 and 01:30 happen twice (EDT, then EST); 04:00 EST is 09:00 UTC: four real hours.
        self.assertEqual(
            times(slots),
            [f"2027-11-07 {h:02d}:{m:02d}" for h in range(5, 9) for m in (0, 30)],
        )
        self.assertEqual(len({s.starts_at for s in slots}), 8)

    def test_spring_forward_with_a_15_minute_grid(self):
        set_hours(self.bob, {"sun": [["01:30", "03:30"]]}, "America/New_York")
        mt = personal_type(self.bob, slot_interval=15)
        slots = free_slots(mt, start=date(2027, 3, 14), end=date(2027, 3, 14), now=EARLIER)
        # 01:30-03:30 local is one real hour (06:30-07:30 UTC): 06:30, 06:45 EST; 03:00 EDT is 07:00.
        self.assertEqual(times(slots), ["2027-03-14 06:30", "2027-03-14 06:45", "2027-03-14 07:00"])

    def test_kiritimati_host_local_monday_is_the_utc_sunday(self):
        set_hours(self.bob, {"mon": [["09:00", "10:00"]]}, "Pacific/Kiritimati")
        mt = personal_type(self.bob)
        self.assertEqual(
            times(free_slots(mt, start=date(2027, 2, 28), end=date(2027, 2, 28), now=EARLIER)),
            ["2027-02-28 19:00", "2027-02-28 19:30"],
        )
        self.assertEqual(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER), [])

    def test_gmt_minus_12_host_local_evening_is_the_next_utc_day(self):
        set_hours(self.bob, {"mon": [["20:00", "21:00"]]}, "Etc/GMT+12")  # POSIX sign: UTC-12
        mt = personal_type(self.bob)
        self.assertEqual(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER), [])
        self.assertEqual(
            times(free_slots(mt, start=date(2027, 3, 2), end=date(2027, 3, 2), now=EARLIER)),
            ["2027-03-02 08:00", "2027-03-02 08:30"],
        )

    def test_override_is_on_the_host_local_date(self):
        set_hours(self.bob, {"mon": [["09:00", "10:00"]]}, "Pacific/Kiritimati")
        AvailabilityOverride.objects.create(user=self.bob, date=MONDAY, ranges=[])
        mt = personal_type(self.bob)
        self.assertEqual(free_slots(mt, start=date(2027, 2, 28), end=MONDAY, now=EARLIER), [])


class TeamTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.bob = make_user("bob@example.com")
        cls.carol = make_user("carol@example.com")
        set_hours(cls.bob, {"mon": [["09:00", "11:00"]]})
        set_hours(cls.carol, {"mon": [["10:00", "12:00"]]})

    def test_round_robin_offers_the_union_of_hosts(self):
        mt = team_type([self.bob, self.carol])
        slots = free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER)
        self.assertEqual(
            [(s.starts_at.hour, s.hosts) for s in slots],
            [(9, (self.bob.pk,)), (10, (self.bob.pk, self.carol.pk)), (11, (self.carol.pk,))],
        )

    def test_collective_offers_the_intersection(self):
        mt = team_type([self.bob, self.carol], assignment=Assignment.COLLECTIVE)
        slots = free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER)
        self.assertEqual([(s.starts_at.hour, s.hosts) for s in slots], [(10, (self.bob.pk, self.carol.pk))])
        BusyBlock.objects.create(user=self.carol, starts_at=at("2027-03-01 10:30"), ends_at=at("2027-03-01 10:45"))
        self.assertEqual(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER), [])

    def test_hosts_with_weight_zero_or_inactive_are_left_out(self):
        dan = make_user("dan@example.com")
        erin = make_user("erin@example.com")
        mt = team_type([self.carol, self.bob, dan, erin])
        MeetingTypeHost.objects.filter(meeting_type=mt, user=dan).update(weight=0)
        User.objects.filter(pk=erin.pk).update(is_active=False)
        self.assertEqual([u.pk for u in hosts_of(mt)], sorted([self.bob.pk, self.carol.pk]))

    def test_hold_range_applies_buffers(self):
        mt = team_type([self.bob], buffer_before=10, buffer_after=5)
        self.assertEqual(
            hold_range(mt, at("2027-03-01 10:00"), at("2027-03-01 11:00")),
            (at("2027-03-01 09:50"), at("2027-03-01 11:05")),
        )


class CheckSlotTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.bob = make_user("bob@example.com")
        cls.carol = make_user("carol@example.com")
        set_hours(cls.bob, {"mon": [["09:00", "12:00"]]})
        set_hours(cls.carol, {"mon": [["09:00", "12:00"]]})

    def test_accepts_an_offered_start(self):
        mt = team_type([self.bob, self.carol])
        BusyBlock.objects.create(user=self.carol, starts_at=at("2027-03-01 09:00"), ends_at=at("2027-03-01 10:00"))
        self.assertEqual(check_slot(mt, at("2027-03-01 09:00"), now=EARLIER), [self.bob.pk])
        self.assertEqual(check_slot(mt, at("2027-03-01 10:00"), 60, now=EARLIER), [self.bob.pk, self.carol.pk])

    def test_refuses_off_grid_taken_too_soon_and_wrong_duration(self):
        mt = personal_type(self.bob, min_notice=120)
        book(mt, self.bob, at("2027-03-01 10:00"))
        message = "That time is no longer available. Pick another."
        cases = [
            ("off grid", at("2027-03-01 09:10"), 30, EARLIER),
            ("taken", at("2027-03-01 10:00"), 30, EARLIER),
            ("too soon", at("2027-03-01 09:00"), 30, at("2027-03-01 08:00")),
            ("outside hours", at("2027-03-01 12:00"), 30, EARLIER),
        ]
        for label, start, minutes, now in cases:
            with self.subTest(label), self.assertRaisesMessage(SlotUnavailable, message):
                check_slot(mt, start, minutes, now=now)
        with self.assertRaises(SlotUnavailable):
            check_slot(mt, at("2027-03-01 09:00"), 45, now=EARLIER)
        self.assertEqual(check_slot(mt, at("2027-03-01 11:00"), now=at("2027-03-01 09:00")), [self.bob.pk])

    def test_accepts_the_second_instant_of_a_repeated_hour(self):
        set_hours(self.bob, {"sun": [["01:00", "02:00"]]}, "America/New_York")
        mt = personal_type(self.bob)
        self.assertEqual(check_slot(mt, at("2027-11-07 06:30"), now=EARLIER), [self.bob.pk])  # 01:30 EST
        self.assertEqual(check_slot(mt, at("2027-11-07 05:30"), now=EARLIER), [self.bob.pk])  # 01:30 EDT

    def test_a_reschedule_ignores_the_meetings_own_hold_and_count(self):
        mt = personal_type(self.bob, max_per_day=1)
        meeting = book(mt, self.bob, at("2027-03-01 10:00"))
        later = at("2027-03-01 10:15")
        mt.slot_interval = 15
        mt.save(update_fields=["slot_interval"])
        with self.assertRaises(SlotUnavailable):
            check_slot(mt, later, now=EARLIER)
        self.assertEqual(check_slot(mt, later, now=EARLIER, ignore_meeting=meeting.pk), [self.bob.pk])
        slots = free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER, ignore_meeting=meeting.pk)
        self.assertEqual(len(slots), 11)  # 09:00 … 11:30 every 15 minutes: the whole morning again

    def test_malformed_hours_are_skipped_not_fatal(self):
        set_hours(self.bob, {"mon": [["9am", "noon"], ["10:00", "11:00"], "x", None]})
        mt = personal_type(self.bob)
        self.assertEqual(
            times(free_slots(mt, start=MONDAY, end=MONDAY, now=EARLIER)), ["2027-03-01 10:00", "2027-03-01 10:30"]
        )


class QueryCountTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.users = [make_user(f"host{i}@example.com") for i in range(10)]
        zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati"]
        for i, user in enumerate(cls.users):
            set_hours(
                user, {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu")}, zones[i % 5]
            )
            AvailabilityOverride.objects.create(user=user, date=MONDAY + timedelta(days=i), ranges=[])
            BusyBlock.objects.create(user=user, starts_at=at("2027-03-02 10:00"), ends_at=at("2027-03-02 11:00"))

    def count(self, mt) -> int:
        with self.assertNumQueries(5):  # hosts, overrides, holds, busy blocks, per-day counts
            slots = free_slots(mt, start=MONDAY, end=MONDAY + timedelta(days=27), now=EARLIER)
        return len(slots)

    def test_same_queries_for_one_and_ten_hosts(self):
        one = team_type(self.users[:1], max_per_day=3, durations=[30])
        ten = team_type(self.users, max_per_day=3, durations=[30])
        book(one, self.users[0], at("2027-03-03 09:00"))
        self.assertGreater(self.count(one), 0)
        self.assertGreater(self.count(ten), self.count(one))

    def test_personal_type_and_check_slot(self):
        mt = personal_type(self.users[0])
        with self.assertNumQueries(4):  # no per-day counts without max_per_day
            free_slots(mt, start=MONDAY, end=MONDAY + timedelta(days=27), now=EARLIER)
        with self.assertNumQueries(4):
            check_slot(mt, at("2027-03-02 09:00"), now=EARLIER)


# -- a property: against a brute-force oracle --------------------------------------------------------------


@st.composite
def ranges(draw):
    cuts = sorted(draw(st.sets(st.integers(min_value=0, max_value=48).map(lambda x: x * 30), max_size=4)))
    return [
        [f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}"]
        for a, b in zip(cuts[::2], cuts[1::2], strict=False)
    ]


busy_st = st.lists(
    st.tuples(st.integers(min_value=-120, max_value=3 * 24 * 60), st.integers(min_value=1, max_value=300)),
    max_size=6,
)


class PropertyTests(HypothesisTestCase):
    @settings(max_examples=50, deadline=None)
    @given(
        day_ranges=ranges(),
        busy=busy_st,
        interval=st.sampled_from([0, 10, 15, 20]),
        duration=st.sampled_from([15, 30, 45]),
        before=st.sampled_from([0, 5, 15]),
        after=st.sampled_from([0, 10]),
        zone=st.sampled_from(["UTC", "America/New_York", "Pacific/Kiritimati", "Asia/Kolkata"]),
    )
    def test_slots_are_exactly_the_free_grid_starts_inside_hours(
        self, day_ranges, busy, interval, duration, before, after, zone
    ):
        host = make_user(f"p{next(_n)}@example.com")
        set_hours(host, {d: day_ranges for d in ("mon", "tue", "wed")}, zone)
        mt = personal_type(host, durations=[duration], slot_interval=interval, buffer_before=before, buffer_after=after)
        origin = at("2027-03-01 00:00")
        intervals = [(origin + timedelta(minutes=s), origin + timedelta(minutes=s + n)) for s, n in busy]
        BusyBlock.objects.bulk_create([BusyBlock(user=host, starts_at=s, ends_at=e) for s, e in intervals])
        slots = free_slots(mt, start=MONDAY, end=MONDAY + timedelta(days=1), now=EARLIER)

        starts = [s.starts_at for s in slots]
        self.assertEqual(starts, sorted(set(starts)))
        self.assertEqual(
            set(starts), oracle(day_ranges, intervals, interval or duration, duration, before, after, zone)
        )


def oracle(day_ranges, intervals, step, duration, before, after, zone) -> set[datetime]:
    """Every minute of the window checked one by one, in plain datetime terms (no fast path, no walk)."""
    tz = availability.zone_of(zone)
    found = set()
    first = datetime(2027, 3, 1, tzinfo=UTC)
    length, pad_before, pad_after = timedelta(minutes=duration), timedelta(minutes=before), timedelta(minutes=after)
    for minute in range(0, 2 * 24 * 60):
        start = first + timedelta(minutes=minute)
        local = start.astimezone(tz)
        if local.strftime("%a").lower() not in ("mon", "tue", "wed"):
            continue
        wall = local.hour * 60 + local.minute
        if wall % step:
            continue
        end = start + length
        inside = False
        for a, b in day_ranges:
            day = datetime.combine(local.date(), datetime.min.time())
            lo = (day + timedelta(minutes=int(a[:2]) * 60 + int(a[3:]))).replace(tzinfo=tz)
            hi = (day + timedelta(minutes=int(b[:2]) * 60 + int(b[3:]))).replace(tzinfo=tz, fold=1)
            if lo.astimezone(UTC) <= start and end <= hi.astimezone(UTC):
                inside = True
        if not inside:
            continue
        if any(s < end + pad_after and e > start - pad_before for s, e in intervals):
            continue
        found.add(start)
    return found
