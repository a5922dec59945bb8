"""Business-hour arithmetic for the handoff SLA: a team's working week, in its time zone, minus public holidays.

Each day's working ranges are built as local wall times and only then turned into instants, so a day of 9:00 to
17:00 stays 9:00 to 17:00 across a DST change (the instants shift, the hours do not). A range starting in a
local time that does not exist (the spring-forward hour) starts at the first instant after the gap.
Holidays come from the `holidays` package (country, optional subdivision) plus the team's own dates.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays as holiday_data

DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DEFAULT_WEEK = {day: [["09:00", "17:00"]] for day in DAY_KEYS[:5]}
# A week with no working time would make "N business hours later" never arrive; look this far ahead at most.
HORIZON_DAYS = 400


def _parse(value: str) -> time | None:
    """ "09:30" → time(9, 30); "24:00" → None (the end of the day)."""
    hour, minute = (int(part) for part in value.split(":"))
    return None if hour == 24 else time(hour, minute)


def _exists(local: datetime) -> bool:
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(tzinfo=None)


def _instant(day: date, wall: time | None, zone: ZoneInfo) -> datetime:
    if wall is None:
        return _instant(day + timedelta(days=1), time(0, 0), zone)
    local = datetime.combine(day, wall, tzinfo=zone)
    # A wall time in the spring-forward gap does not exist: start at the first minute after the gap.
    while not _exists(local):
        local += timedelta(minutes=1)
    return local.astimezone(UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works: weekly ranges in accounts.hours' shape, a time zone, a holiday country and extra dates."""

    time_zone: str = "UTC"
    week: dict = field(default_factory=lambda: dict(DEFAULT_WEEK))
    country: str = ""
    subdivision: str = ""
    extra_holidays: frozenset[date] = frozenset()

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or "UTC")

    @cached_property
    def _public(self):
        if not self.country:
            return {}
        return holiday_data.country_holidays(self.country, subdiv=self.subdivision or None)

    def is_holiday(self, day: date) -> bool:
        return day in self.extra_holidays or (bool(self.country) and day in self._public)

    def holiday_name(self, day: date) -> str:
        if day in self.extra_holidays:
            return "Company holiday"
        return self._public.get(day, "") if self.country else ""

    def ranges(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working ranges of one local day, as UTC instants (none on a holiday)."""
        if self.is_holiday(day):
            return []
        result = []
        for start, end in self.week.get(DAY_KEYS[day.weekday()]) or []:
            a, b = _instant(day, _parse(start), self.zone), _instant(day, _parse(end), self.zone)
            if b > a:
                result.append((a, b))
        return result

    def _days_from(self, moment: datetime):
        day = moment.astimezone(self.zone).date() - timedelta(days=1)  # a range may start the local day before
        for offset in range(HORIZON_DAYS):
            yield day + timedelta(days=offset)

    def add(self, start: datetime, hours: float) -> datetime:
        """The instant `hours` working hours after `start` (which may be outside working time)."""
        left = timedelta(hours=hours)
        start = start.astimezone(UTC)
        if left <= timedelta(0):
            return start
        for day in self._days_from(start):
            for a, b in self.ranges(day):
                if b <= start:
                    continue
                a = max(a, start)
                if b - a >= left:
                    return a + left
                left -= b - a
        raise ValueError(f"no {hours} working hours within {HORIZON_DAYS} days: the team's week has no working time")

    def seconds_between(self, a: datetime, b: datetime) -> int:
        """Working seconds from `a` to `b` (0 when b is not after a)."""
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        if b <= a:
            return 0
        total = timedelta(0)
        for day in self._days_from(a):
            if _instant(day, time(0, 0), self.zone) >= b:
                break
            for start, end in self.ranges(day):
                lo, hi = max(start, a), min(end, b)
                if hi > lo:
                    total += hi - lo
        return int(total.total_seconds())

    def is_working(self, moment: datetime) -> bool:
        moment = moment.astimezone(UTC)
        local_day = moment.astimezone(self.zone).date()
        return any(a <= moment < b for day in (local_day - timedelta(days=1), local_day) for a, b in self.ranges(day))
