"""The `wait` flow step: park the enrollment for a while, or until a weekday and time in the contact's zone.

    {"duration": {"days": 2, "hours": 0, "minutes": 0}}
    {"until": {"weekdays": [0, 2], "time": "09:00"}}      (Monday = 0; the next such moment after now)

The wait is a row, not a sleeping process: the runner sets the enrollment's next_run_at and the StepRun stays
WAITING until then, so a restart changes nothing. settings.WORKFLOW_WAIT_SCALE multiplies every wait (tests and
demos shorten "2 days" to seconds without skipping it).
"""

import datetime
import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError

from smarketing.workflows.actions import Action, StepContext, StepOutcome, action

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_DAYS = 365
UNITS = {"days": MAX_DAYS, "hours": MAX_DAYS * 24, "minutes": MAX_DAYS * 24 * 60}


def _amount(raw, unit: str) -> int:
    if raw in (None, ""):
        return 0
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= UNITS[unit]:
        raise ValidationError(f"{unit.title()}: a whole number from 0 to {UNITS[unit]}.")
    return raw


def contact_zone(contact) -> zoneinfo.ZoneInfo:
    """The contact's time zone, else the install's."""
    for name in (getattr(contact, "time_zone", "") or "", settings.TIME_ZONE):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
    return zoneinfo.ZoneInfo("UTC")


def next_weekday_time(now: datetime.datetime, weekdays: list[int], at: str, zone) -> datetime.datetime:
    """The first moment after `now` that falls on one of `weekdays` at `at` (HH:MM) in `zone`."""
    hour, minute = (int(part) for part in at.split(":"))
    local = now.astimezone(zone)
    for offset in range(8):
        day = local.date() + datetime.timedelta(days=offset)
        if day.weekday() not in weekdays:
            continue
        moment = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)
        if moment > now:
            return moment
    raise AssertionError("a weekday in the next 8 days always exists")


def scaled(now: datetime.datetime, until: datetime.datetime) -> datetime.datetime:
    scale = settings.WORKFLOW_WAIT_SCALE
    return until if scale == 1 else now + (until - now) * scale


@action("wait", label="Wait")
class Wait(Action):
    def validate(self, params: dict) -> dict:
        if params.get("until"):
            until = params["until"]
            if not isinstance(until, dict):
                raise ValidationError("Choose the weekdays and a time.")
            weekdays = until.get("weekdays", until.get("weekday"))
            if isinstance(weekdays, int | str):
                weekdays = [weekdays]
            if not isinstance(weekdays, list) or not weekdays:
                raise ValidationError("Choose at least one weekday.")
            days = set()
            for day in weekdays:
                if isinstance(day, str) and day.isdigit():
                    day = int(day)
                if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                    raise ValidationError("A weekday is 0 (Monday) to 6 (Sunday).")
                days.add(day)
            at = str(until.get("time") or "09:00").strip()
            if not TIME.match(at):
                raise ValidationError("The time is HH:MM, e.g. 09:00.")
            return {"until": {"weekdays": sorted(days), "time": at}}
        duration = params.get("duration")
        if not isinstance(duration, dict):
            raise ValidationError("Say how long to wait.")
        clean = {unit: _amount(duration.get(unit), unit) for unit in UNITS}
        total = datetime.timedelta(**clean)
        if total <= datetime.timedelta(0):
            raise ValidationError("Wait at least one minute.")
        if total > datetime.timedelta(days=MAX_DAYS):
            raise ValidationError(f"Wait at most {MAX_DAYS} days.")
        return {"duration": clean}

    def until(self, params: dict, contact, now: datetime.datetime) -> datetime.datetime:
        if "until" in params:
            spec = params["until"]
            target = next_weekday_time(now, spec["weekdays"], spec["time"], contact_zone(contact))
        else:
            target = now + datetime.timedelta(**params["duration"])
        return scaled(now, target)

    def run(self, ctx: StepContext) -> StepOutcome:
        until = self.until(ctx.step["params"], ctx.contact, ctx.now)
        return StepOutcome(status="waiting", wait_until=until, summary=self.describe(ctx.step["params"]))

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        until = self.until(ctx.step["params"], ctx.contact, ctx.now)
        return StepOutcome(
            status="waiting", wait_until=until, summary=f"Would {self.describe(ctx.step['params']).lower()}"
        )

    def describe(self, params: dict) -> str:
        if "until" in params:
            days = ", ".join(WEEKDAYS[d] for d in params["until"]["weekdays"])
            return f"Wait until {days} at {params['until']['time']} (contact's time zone)"
        parts = [f"{n} {unit[:-1] if n == 1 else unit}" for unit, n in (params.get("duration") or {}).items() if n]
        return "Wait " + (" ".join(parts) or "a moment")
