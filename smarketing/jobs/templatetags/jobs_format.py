"""Formatting for job and delivery logs: durations and ages."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def duration(value) -> str:
    """A timedelta (or milliseconds as a number) as '85 ms', '4.2 s', '3 min 4 s' or '2 h 5 min'."""
    if value is None or value == "":
        return "–"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value) / 1000
    if seconds < 0:
        seconds = 0
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"


@register.filter
def every(value: timedelta) -> str:
    """A period as 'every minute', 'every 5 minutes', 'every 2 hours'."""
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"every {unit}" if n == 1 else f"every {n} {unit}s"
    return f"every {seconds} seconds"
