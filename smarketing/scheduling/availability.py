"""Free slots: hosts' weekly hours and date overrides, minus their holds and busy blocks (filled by the engine part).

free_slots(meeting_type, start=date, end=date, duration=30, now=None) -> list[Slot]
check_slot(meeting_type, starts_at, duration, now=None) -> list[int]   # hosts free for it, else SlotUnavailable
"""

from dataclasses import dataclass
from datetime import date, datetime


class SlotUnavailable(Exception):
    """The asked time is not (or no longer) offered: outside hours, too soon, too far, or someone took it."""


@dataclass(frozen=True)
class Slot:
    """A bookable start (aware, UTC) and end, and the hosts free for it (all of them for a collective type)."""

    starts_at: datetime
    ends_at: datetime
    hosts: tuple[int, ...]


def free_slots(meeting_type, *, start: date, end: date, duration: int | None = None, now=None) -> list[Slot]:
    """Every offered slot whose start falls on a day from `start` to `end` (inclusive, UTC dates), in order."""
    raise NotImplementedError


def check_slot(meeting_type, starts_at: datetime, duration: int | None = None, now=None) -> list[int]:
    """The ids of the hosts free for a meeting at `starts_at`; raises SlotUnavailable when it is not offered."""
    raise NotImplementedError
