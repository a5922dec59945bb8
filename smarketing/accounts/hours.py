"""Working hours: a placeholder the scheduling pillar will read ({"mon": [["09:00", "17:00"]], ...}).

Typed as one line per weekday ("09:00-12:00, 13:00-17:30"); stored as lists of [start, end] in the user's
own time zone.
"""

import re

from django.core.exceptions import ValidationError

DAYS = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
]
_RANGE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*[-–]\s*([01]?\d|2[0-4]):([0-5]\d)$")


def parse_day(text: str) -> list[list[str]]:
    """ "09:00-12:00, 13:00-17:00" → [["09:00", "12:00"], ["13:00", "17:00"]]; raises ValidationError."""
    ranges = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        match = _RANGE.match(part)
        if not match:
            raise ValidationError(f"{part!r} is not a time range; write it like 09:00-17:00.")
        h1, m1, h2, m2 = match.groups()
        start, end = f"{int(h1):02d}:{m1}", f"{int(h2):02d}:{m2}"
        if end <= start or end > "24:00":
            raise ValidationError(f"{part}: the end must be after the start.")
        if ranges and start < ranges[-1][1]:
            raise ValidationError(f"{part}: ranges must be in order and not overlap.")
        ranges.append([start, end])
    return ranges


def format_day(ranges) -> str:
    return ", ".join(f"{start}-{end}" for start, end in ranges or [])


def clean_hours(value) -> dict:
    """Check a stored-shape dict (from the form or the API): known days, ordered non-overlapping ranges."""
    if not isinstance(value, dict) or set(value) - {d for d, _ in DAYS}:
        raise ValidationError("Working hours name the days mon … sun.")
    cleaned = {}
    for day, _ in DAYS:
        ranges = value.get(day) or []
        if not isinstance(ranges, list) or not all(isinstance(r, list | tuple) and len(r) == 2 for r in ranges):
            raise ValidationError(f"{day}: a list of [start, end] pairs.")
        parsed = parse_day(", ".join(f"{a}-{b}" for a, b in ranges))
        if parsed:
            cleaned[day] = parsed
    return cleaned


def summary(hours: dict) -> str:
    """ "Mon–Fri 09:00-17:00" style text for lists; "Not set" when empty."""
    if not hours:
        return "Not set"
    parts = [f"{label[:3]} {format_day(hours[day])}" for day, label in DAYS if hours.get(day)]
    return "; ".join(parts)
