"""Business-hour arithmetic: weekends, public and company holidays, DST changes, a team in another time zone."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.test import SimpleTestCase
from hypothesis import given, settings
from hypothesis import strategies as st

from smarketing.process.hours import BusinessCalendar

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def at(zone, *parts) -> datetime:
    return datetime(*parts, tzinfo=zone)


class AddTests(SimpleTestCase):
    def test_inside_one_day(self):
        cal = BusinessCalendar(time_zone="America/New_York")
        self.assertEqual(cal.add(at(NY, 2026, 12, 1, 10, 0), 4), at(NY, 2026, 12, 1, 14, 0))

    def test_overflows_into_the_next_working_day(self):
        cal = BusinessCalendar(time_zone="America/New_York")
        # Tuesday 15:00 + 4h: two hours today, two tomorrow from 9:00.
        self.assertEqual(cal.add(at(NY, 2026, 12, 1, 15, 0), 4), at(NY, 2026, 12, 2, 11, 0))

    def test_a_lead_arriving_at_night_or_on_the_weekend_starts_at_the_next_opening(self):
        cal = BusinessCalendar(time_zone="America/New_York")
        self.assertEqual(cal.add(at(NY, 2026, 12, 1, 23, 30), 1), at(NY, 2026, 12, 2, 10, 0))
        # Friday 16:00 + 3h: one hour on Friday, two on Monday.
        self.assertEqual(cal.add(at(NY, 2026, 12, 4, 16, 0), 3), at(NY, 2026, 12, 7, 11, 0))
        self.assertEqual(cal.add(at(NY, 2026, 12, 5, 12, 0), 2), at(NY, 2026, 12, 7, 11, 0))

    def test_public_holidays_of_the_teams_country_are_skipped(self):
        us = BusinessCalendar(time_zone="America/New_York", country="US")
        # Thanksgiving is Thursday 26 November 2026: Wednesday 16:00 + 2h ends on Friday 10:00.
        self.assertEqual(us.add(at(NY, 2026, 11, 25, 16, 0), 2), at(NY, 2026, 11, 27, 10, 0))
        self.assertTrue(us.is_holiday(date(2026, 11, 26)))
        self.assertIn("Thanksgiving", us.holiday_name(date(2026, 11, 26)))
        # Without a country the same hours land on Thursday.
        plain = BusinessCalendar(time_zone="America/New_York")
        self.assertEqual(plain.add(at(NY, 2026, 11, 25, 16, 0), 2), at(NY, 2026, 11, 26, 10, 0))

    def test_company_holidays_are_skipped_too(self):
        cal = BusinessCalendar(time_zone="Europe/Berlin", extra_holidays=frozenset({date(2026, 12, 24)}))
        self.assertEqual(cal.add(at(BERLIN, 2026, 12, 23, 16, 0), 2), at(BERLIN, 2026, 12, 25, 10, 0))

    def test_spring_forward_keeps_the_working_day_at_its_wall_times(self):
        # US clocks go forward on Sunday 8 March 2026: Friday 16:00 EST + 2h is Monday 10:00 EDT.
        cal = BusinessCalendar(time_zone="America/New_York")
        due = cal.add(at(NY, 2026, 3, 6, 16, 0), 2)
        self.assertEqual(due, at(NY, 2026, 3, 9, 10, 0))
        self.assertEqual(due.astimezone(UTC), datetime(2026, 3, 9, 14, 0, tzinfo=UTC))  # UTC-4 now

    def test_fall_back_keeps_the_working_day_at_its_wall_times(self):
        cal = BusinessCalendar(time_zone="America/New_York")
        due = cal.add(at(NY, 2026, 10, 30, 16, 0), 2)  # Friday before 1 November 2026
        self.assertEqual(due.astimezone(UTC), datetime(2026, 11, 2, 15, 0, tzinfo=UTC))  # Monday 10:00 EST

    def test_a_day_that_contains_the_change_has_its_true_length(self):
        # A team working around the clock on a Sunday: 8 March 2026 has 23 hours in New York.
        cal = BusinessCalendar(time_zone="America/New_York", week={"sun": [["00:00", "24:00"]]})
        self.assertEqual(cal.seconds_between(at(NY, 2026, 3, 8, 0, 0), at(NY, 2026, 3, 9, 0, 0)), 23 * 3600)
        self.assertEqual(cal.seconds_between(at(NY, 2026, 11, 1, 0, 0), at(NY, 2026, 11, 2, 0, 0)), 25 * 3600)

    def test_a_range_starting_inside_the_spring_forward_gap_starts_after_it(self):
        cal = BusinessCalendar(time_zone="America/New_York", week={"sun": [["02:30", "04:00"]]})
        ranges = cal.ranges(date(2026, 3, 8))
        self.assertEqual(ranges, [(datetime(2026, 3, 8, 7, 0, tzinfo=UTC), datetime(2026, 3, 8, 8, 0, tzinfo=UTC))])

    def test_a_team_in_another_time_zone_counts_its_own_hours(self):
        berlin = BusinessCalendar(time_zone="Europe/Berlin")
        # A lead at 14:00 in New York is 20:00 in Berlin: the Berlin team's clock starts at 9:00 the next day.
        due = berlin.add(at(NY, 2026, 12, 1, 14, 0), 1)
        self.assertEqual(due, at(BERLIN, 2026, 12, 2, 10, 0))
        self.assertFalse(berlin.is_working(at(NY, 2026, 12, 1, 14, 0)))
        self.assertTrue(berlin.is_working(at(BERLIN, 2026, 12, 2, 9, 30)))

    def test_split_days_and_a_week_without_working_time(self):
        cal = BusinessCalendar(time_zone="UTC", week={"mon": [["09:00", "12:00"], ["13:00", "17:00"]]})
        self.assertEqual(cal.add(at(UTC, 2026, 12, 7, 11, 0), 2), at(UTC, 2026, 12, 7, 14, 0))
        with self.assertRaises(ValueError):
            BusinessCalendar(time_zone="UTC", week={}).add(at(UTC, 2026, 12, 7, 11, 0), 1)


class PropertyTests(SimpleTestCase):
    @settings(max_examples=150, deadline=None)
    @given(
        start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
        minutes=st.integers(min_value=1, max_value=60 * 60),
        zone=st.sampled_from(["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney"]),
        country=st.sampled_from(["", "US", "DE", "AU"]),
    )
    def test_the_working_time_between_start_and_due_is_what_was_asked(self, start, minutes, zone, country):
        cal = BusinessCalendar(time_zone=zone, country=country)
        begin = start.replace(tzinfo=UTC)
        due = cal.add(begin, minutes / 60)
        self.assertEqual(cal.seconds_between(begin, due), minutes * 60)
        self.assertTrue(cal.is_working(due - timedelta(seconds=1)))
