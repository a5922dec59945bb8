"""Free slots: hosts' weekly hours and date overrides, minus their holds and busy blocks.

free_slots(meeting_type, start=date, end=date, duration=30, now=None) -> list[Slot]
check_slot(meeting_type, starts_at, duration, now=None) -> list[int]   # hosts free for it, else SlotUnavailable
(both take ignore_meeting=<id>: a meeting being rescheduled neither blocks nor counts towards max_per_day)
hosts_of(meeting_type) -> list[User]                                   # who may host it, by user id
hold_range(meeting_type, starts_at, ends_at) -> (start, end)           # the meeting widened by its buffers
zone_of(name) -> ZoneInfo                                              # a stored zone name, UTC when bad

Set-based: a constant number of queries whatever the number of hosts (hosts, overrides, holds, busy blocks, and
the per-day counts when max_per_day is set), each reading only the rows near the window through the (user,
starts_at) indexes; then integer arithmetic on epoch seconds, walking each host's merged busy list once.

Time zones: the grid of starts is counted in wall-clock minutes from the host's local midnight. On a day without
a UTC-offset change (nearly all of them) a start is local midnight + minutes; on a day with one, each wall time
is converted with zoneinfo under both folds and kept only when it round-trips, so a time in the spring-forward
gap is never offered and a repeated fall-back time is offered once per real instant.
"""

import math
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from smarketing.accounts.models import User
from smarketing.scheduling.models import (
    Assignment,
    AvailabilityOverride,
    BusyBlock,
    HostHold,
    Meeting,
    MeetingType,
    MeetingTypeHost,
)

UNAVAILABLE = "That time is no longer available. Pick another."
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
# How far before the window a row may start and still reach into it. A hold is one meeting (at most 8 hours,
# forms.parse_durations) plus its buffers; a busy block is a typed-in day or an external event that refresh()
# clips to its 60-day horizon. Bounding the start lets the (user, starts_at) index skip the whole history.
HOLD_LOOKBACK = timedelta(days=7)
BUSY_LOOKBACK = timedelta(days=62)


class SlotUnavailable(Exception):
    """The asked time is not (or no longer) offered: outside hours, too soon, too far, or someone took it."""


@dataclass(frozen=True)
class Slot:
    """A bookable start (aware, UTC) and end, and the hosts free for it (all of them for a collective type)."""

    starts_at: datetime
    ends_at: datetime
    hosts: tuple[int, ...]


# -- public API ---------------------------------------------------------------------------------------------


def hosts_of(meeting_type: MeetingType) -> list[User]:
    """Who may host the type: its active owner, or the team's active hosts with a weight above 0, by user id."""
    if not meeting_type.is_team:
        return list(User.objects.filter(pk=meeting_type.owner_id, is_active=True))
    host_ids = MeetingTypeHost.objects.filter(meeting_type=meeting_type, weight__gt=0).values("user_id")
    return list(User.objects.filter(pk__in=host_ids, is_active=True).order_by("id"))


def hold_range(meeting_type: MeetingType, starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    """The time a meeting holds for its hosts: the meeting widened by the type's buffers."""
    return (
        starts_at - timedelta(minutes=meeting_type.buffer_before),
        ends_at + timedelta(minutes=meeting_type.buffer_after),
    )


def resolve_duration(meeting_type: MeetingType, duration: int | None) -> int:
    """The asked duration in minutes (the type's default when None); SlotUnavailable when the type lacks it."""
    offered = meeting_type.durations or [meeting_type.default_duration]
    if duration is None:
        return meeting_type.default_duration
    if duration not in offered:
        raise SlotUnavailable(f"{meeting_type.name} does not offer {duration}-minute meetings.")
    return duration


def free_slots(
    meeting_type: MeetingType,
    *,
    start: date,
    end: date,
    duration: int | None = None,
    now: datetime | None = None,
    ignore_meeting: int | None = None,
) -> list[Slot]:
    """Every offered slot whose start falls on a day from `start` to `end` (inclusive, UTC dates), in order.

    ignore_meeting: a meeting being rescheduled; its own holds neither block nor count towards max_per_day.
    """
    lo = datetime.combine(start, time(), UTC)
    hi = datetime.combine(end + timedelta(days=1), time(), UTC)
    minutes = resolve_duration(meeting_type, duration)
    return _slots(meeting_type, lo, hi, minutes, now or timezone.now(), ignore_meeting)


def check_slot(
    meeting_type: MeetingType,
    starts_at: datetime,
    duration: int | None = None,
    now: datetime | None = None,
    *,
    ignore_meeting: int | None = None,
) -> list[int]:
    """The ids of the hosts free for a meeting at `starts_at`; raises SlotUnavailable when it is not offered.

    ignore_meeting: as in free_slots (a reschedule may overlap the meeting's own old time).
    """
    minutes = resolve_duration(meeting_type, duration)
    if starts_at.tzinfo is None:
        raise SlotUnavailable(UNAVAILABLE)
    # A one-second window: only the local days around that instant are recomputed, with the same queries.
    slots = _slots(
        meeting_type, starts_at, starts_at + timedelta(seconds=1), minutes, now or timezone.now(), ignore_meeting
    )
    for slot in slots:
        if slot.starts_at == starts_at:
            return list(slot.hosts)
    raise SlotUnavailable(UNAVAILABLE)


# -- the engine -----------------------------------------------------------------------------------------------


@dataclass
class _Rules:
    """One computation's constants, in epoch seconds."""

    lo: int  # earliest start: the window's start, not before now + min notice
    hi: int  # starts strictly before this: the window's end, not after now + max days ahead
    length: int  # the meeting, seconds
    before: int  # buffers, seconds
    after: int
    step: int  # grid, minutes


def _slots(
    meeting_type: MeetingType, lo: datetime, hi: datetime, duration: int, now: datetime, ignore: int | None
) -> list[Slot]:
    earliest = now + timedelta(minutes=meeting_type.min_notice)
    latest = now + timedelta(days=meeting_type.max_days_ahead)
    rules = _Rules(
        # Grid starts are whole seconds, so the bounds are too: start >= lo and start < hi ("start <= latest").
        lo=math.ceil(max(lo, earliest).timestamp()),
        hi=min(math.ceil(hi.timestamp()), math.floor(latest.timestamp()) + 1),
        length=duration * 60,
        before=meeting_type.buffer_before * 60,
        after=meeting_type.buffer_after * 60,
        step=meeting_type.slot_interval or duration,
    )
    if rules.lo >= rules.hi:
        return []
    hosts = hosts_of(meeting_type)
    if not hosts:
        return []
    zones = {h.pk: zone_of(h.time_zone) for h in hosts}
    window_lo, window_hi = _from_ts(rules.lo), _from_ts(rules.hi)
    # One day of margin each side: the host-local dates whose starts can fall in the window.
    days = {
        pk: (window_lo.astimezone(tz).date() - timedelta(days=1), window_hi.astimezone(tz).date())
        for pk, tz in zones.items()
    }
    host_ids = list(zones)
    overrides = _overrides(host_ids, min(d0 for d0, _ in days.values()), max(d1 for _, d1 in days.values()))
    reach_lo = window_lo - timedelta(seconds=rules.before)
    busy = _busy(host_ids, reach_lo, window_hi + timedelta(seconds=rules.length + rules.after), ignore)
    full_days = _full_days(meeting_type, zones, window_lo, window_hi, ignore) if meeting_type.max_per_day else {}

    offered: dict[int, list[int]] = defaultdict(list)
    for host in hosts:
        pk = host.pk  # read once: Model.pk is a property, and this loop runs for every free start
        d0, d1 = days[pk]
        starts = _candidates(
            host.working_hours or {}, overrides.get(pk, {}), zones[pk], d0, d1, rules, full_days.get(pk)
        )
        for start in _free(starts, busy.get(pk, []), rules):
            offered[start].append(pk)

    collective = meeting_type.assignment == Assignment.COLLECTIVE
    length = timedelta(seconds=rules.length)
    slots = []
    for start in sorted(offered):
        free = offered[start]
        if collective and len(free) < len(hosts):
            continue
        starts_at = _from_ts(start)
        slots.append(Slot(starts_at, starts_at + length, tuple(free)))
    return slots


def zone_of(name: str) -> zoneinfo.ZoneInfo:
    """The host's zone; UTC when the stored name is not a zone (a typo must not hide a host's whole calendar)."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _from_ts(seconds: float) -> datetime:
    # Adding to the epoch is several times faster than fromtimestamp(), and this runs twice per slot.
    return EPOCH + timedelta(seconds=seconds)


def _overrides(host_ids: list[int], first: date, last: date) -> dict[int, dict[date, list]]:
    rows = AvailabilityOverride.objects.filter(user_id__in=host_ids, date__gte=first, date__lte=last)
    result: dict[int, dict[date, list]] = defaultdict(dict)
    for user_id, day, ranges in rows.values_list("user_id", "date", "ranges"):
        result[user_id][day] = ranges or []
    return result


def _busy(host_ids: list[int], lo: datetime, hi: datetime, ignore: int | None) -> dict[int, list[tuple[float, float]]]:
    """Each host's active holds and busy blocks reaching into [lo, hi), merged into sorted disjoint intervals."""
    holds = HostHold.objects.filter(
        user_id__in=host_ids, active=True, starts_at__gte=lo - HOLD_LOOKBACK, starts_at__lt=hi, ends_at__gt=lo
    )
    if ignore is not None:
        holds = holds.exclude(meeting_id=ignore)
    holds = holds.values_list("user_id", "starts_at", "ends_at")
    blocks = BusyBlock.objects.filter(
        user_id__in=host_ids, starts_at__gte=lo - BUSY_LOOKBACK, starts_at__lt=hi, ends_at__gt=lo
    ).values_list("user_id", "starts_at", "ends_at")
    raw: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for rows in (holds, blocks):
        for user_id, starts_at, ends_at in rows:
            raw[user_id].append((starts_at.timestamp(), ends_at.timestamp()))
    return {user_id: _merge(intervals) for user_id, intervals in raw.items()}


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _full_days(
    meeting_type: MeetingType, zones: dict, lo: datetime, hi: datetime, ignore: int | None
) -> dict[int, set[date]]:
    """Per host, the local dates that already have max_per_day meetings of this type (booked or held).

    Counted through the holds, so a collective meeting counts for every host it holds, not only the organizer.
    """
    rows = HostHold.objects.filter(
        user_id__in=list(zones),
        meeting__meeting_type=meeting_type,
        meeting__status__in=[Meeting.Status.BOOKED, Meeting.Status.HELD],
        meeting__starts_at__gte=lo - timedelta(days=2),
        meeting__starts_at__lt=hi + timedelta(days=2),
    )
    if ignore is not None:
        rows = rows.exclude(meeting_id=ignore)
    rows = rows.values_list("user_id", "meeting__starts_at")
    counts: dict[tuple[int, date], int] = defaultdict(int)
    for user_id, starts_at in rows:
        counts[(user_id, starts_at.astimezone(zones[user_id]).date())] += 1
    full: dict[int, set[date]] = defaultdict(set)
    for (user_id, day), count in counts.items():
        if count >= meeting_type.max_per_day:
            full[user_id].add(day)
    return full


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _parse(ranges) -> list[tuple[int, int]]:
    """[["09:00", "12:00"]] as minutes from midnight; a malformed range is skipped (hours are validated on save,
    but one bad JSON value must not take a team's booking page down)."""
    parsed = []
    for item in ranges or []:
        try:
            first, last = item
            parsed.append((_minutes(first), _minutes(last)))
        except (ValueError, TypeError, AttributeError):
            continue
    return parsed


def _candidates(
    hours: dict, overrides: dict, tz, first: date, last: date, rules: _Rules, full: set | None
) -> list[int]:
    """Sorted, distinct grid starts (epoch seconds) of one host inside its working ranges and the window."""
    starts: set[int] = set()
    day = first
    while day <= last:
        ranges = overrides[day] if day in overrides else hours.get(DAY_KEYS[day.weekday()]) or []
        if ranges and not (full and day in full):
            _day_starts(day, ranges, tz, rules, starts)
        day += timedelta(days=1)
    return sorted(starts)


def _day_starts(day: date, ranges: list, tz, rules: _Rules, out: set[int]) -> None:
    midnight = datetime.combine(day, time(), tz)
    next_midnight = datetime.combine(day + timedelta(days=1), time(), tz)
    steady = midnight.utcoffset() == next_midnight.utcoffset()
    base = int(midnight.timestamp())
    step = rules.step
    for a, b in _parse(ranges):
        m = -(-a // step) * step  # the first grid minute at or after the range's start
        if steady:
            # No offset change this day: wall minutes map linearly onto real seconds, so the starts are one
            # arithmetic range, clipped to the window and to "the meeting ends by the range's end".
            step_s = step * 60
            first = base + m * 60
            if first < rules.lo:
                first += -(-(rules.lo - first) // step_s) * step_s
            out.update(range(first, min(base + b * 60 - rules.length + 1, rules.hi), step_s))
            continue
        range_start, range_end = _instant(midnight, a, earliest=True), _instant(midnight, b, earliest=False)
        while m < b:
            for start in _real_instants(midnight, m):
                if range_start <= start and start + rules.length <= range_end and rules.lo <= start < rules.hi:
                    out.add(start)
            m += step


def _real_instants(midnight: datetime, minute: int) -> list[int]:
    """The real instants a wall time of that day names: none in a spring-forward gap, two in a fall-back repeat."""
    wall = midnight + timedelta(minutes=minute)  # aware arithmetic is wall-clock arithmetic: same tzinfo
    found = []
    for fold in (0, 1):
        candidate = wall.replace(fold=fold)
        seconds = int(candidate.timestamp())
        back = datetime.fromtimestamp(seconds, wall.tzinfo)
        if back.replace(tzinfo=None, fold=0) == wall.replace(tzinfo=None, fold=0) and seconds not in found:
            found.append(seconds)
    return found


def _instant(midnight: datetime, minute: int, *, earliest: bool) -> int:
    """A range boundary in real seconds: the earliest (start) or latest (end) reading of a repeated wall time;
    inside a gap the earlier reading, which is safe both ways (no existing start lies before the gap's end)."""
    real = _real_instants(midnight, minute)
    if not real:
        wall = midnight + timedelta(minutes=minute)
        return min(int(wall.replace(fold=f).timestamp()) for f in (0, 1))
    return min(real) if earliest else max(real)


def _free(starts: list[int], busy: list[tuple[float, float]], rules: _Rules) -> list[int]:
    """The starts whose hold (the meeting widened by the buffers) overlaps no busy interval: one walk of both."""
    free = []
    i, n = 0, len(busy)
    for start in starts:
        hold_start, hold_end = start - rules.before, start + rules.length + rules.after
        # Both lists are sorted and the busy intervals disjoint, so the pointer only moves forward.
        while i < n and busy[i][1] <= hold_start:
            i += 1
        if i < n and busy[i][0] < hold_end:
            continue
        free.append(start)
    return free
