"""The hosts' forms: meeting types (with their questions and hosts), weekly hours, date overrides, busy blocks,
the external calendar, and the public booking form.

The setup rows a host keeps for themselves (their types, hours, overrides, busy blocks) are saved here, each save
checked against scheduling/access.py and audited; the bookings themselves only ever go through services.py.
"""

import re
import zoneinfo
from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from smarketing.accounts.access import is_admin
from smarketing.accounts.forms import ServiceErrorsMixin
from smarketing.accounts.hours import DAYS, format_day, parse_day
from smarketing.accounts.models import Team, User
from smarketing.core.audit import record_audit
from smarketing.scheduling import access
from smarketing.scheduling.models import (
    Assignment,
    AvailabilityOverride,
    BusyBlock,
    MeetingType,
    MeetingTypeHost,
    Schedule,
)

MAX_QUESTIONS = 10
BLANK_QUESTION_ROWS = 2
# Contact properties a question may fill in; custom contact properties are added as "custom.<key>".
STANDARD_TARGETS = [("", "Nothing (keep it on the meeting)"), ("phone", "Phone"), ("title", "Job title"),
                    ("company.name", "Company name")]  # fmt: skip
TEAM_MODES = [Assignment.ROUND_ROBIN, Assignment.WEIGHTED, Assignment.COLLECTIVE, Assignment.OWNER_FIRST]


def time_zone_choices() -> list[tuple[str, str]]:
    return [(z, z.replace("_", " ")) for z in sorted(zoneinfo.available_timezones()) if "/" in z or z == "UTC"]


def question_targets() -> list[tuple[str, str]]:
    from smarketing.crm.models import PropertyDefinition

    custom = PropertyDefinition.objects.filter(object_type="contact").order_by("position", "label")
    return STANDARD_TARGETS + [(f"custom.{p.key}", p.label) for p in custom]


def parse_durations(text: str) -> list[int]:
    """ "15, 30, 60" → [15, 30, 60]; the first is the default."""
    values = []
    for part in filter(None, (p.strip() for p in re.split(r"[,\s]+", text or ""))):
        if not part.isdigit() or not 5 <= int(part) <= 480:
            raise ValidationError(f"{part!r}: durations are whole minutes from 5 to 480.")
        if int(part) not in values:
            values.append(int(part))
    if not values:
        raise ValidationError("Give at least one duration in minutes, like 30.")
    if len(values) > 6:
        raise ValidationError("At most six durations.")
    return values


class MeetingTypeForm(ServiceErrorsMixin, forms.ModelForm):
    """A meeting type; its questions and (team types) hosts come as rows in the same POST (see rows())."""

    durations_text = forms.CharField(
        label="Durations (minutes)",
        max_length=60,
        help_text="One or several, like 15, 30, 60; the first is the default.",
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="Nobody: my own type", label="Team type for"
    )

    class Meta:
        model = MeetingType
        fields = [
            "name",
            "slug",
            "description",
            "location_kind",
            "location_detail",
            "team",
            "assignment",
            "buffer_before",
            "buffer_after",
            "min_notice",
            "max_days_ahead",
            "max_per_day",
            "slot_interval",
            "confirmation_text",
            "reminder_text",
            "reminder_minutes",
        ]
        labels = {
            "slug": "Public address",
            "location_kind": "Where",
            "location_detail": "Location detail",
            "buffer_before": "Buffer before (minutes)",
            "buffer_after": "Buffer after (minutes)",
            "min_notice": "Minimum notice (minutes)",
            "max_days_ahead": "Bookable up to (days ahead)",
            "max_per_day": "At most per day (0 = no limit)",
            "slot_interval": "Start times every (minutes, 0 = the duration)",
            "reminder_minutes": "Reminder (minutes before, 0 = none)",
        }
        help_texts = {
            "slug": "The page is /meet/<this>/: lowercase letters, digits and dashes.",
            "location_detail": "The address, the phone text, or a video link (e.g. https://meet.example.com/{meeting}).",
            "assignment": "For team types: who gets each booking.",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "confirmation_text": forms.Textarea(attrs={"rows": 2}),
            "reminder_text": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, data=None, *, user: User, instance: MeetingType | None = None):
        initial = {}
        if instance is not None and instance.pk:
            initial["durations_text"] = ", ".join(str(d) for d in instance.durations or [30])
        else:
            initial["durations_text"] = "30"
        super().__init__(data, instance=instance, initial=initial)
        self.user = user
        self.raw = data
        self.targets = question_targets()
        if self.instance.pk:
            self.fields["team"].disabled = True  # a type stays personal or stays the team's
            self.fields["team"].queryset = Team.objects.filter(pk=self.instance.team_id or 0)
        elif is_admin(user):
            self.fields["team"].queryset = Team.objects.all()
        elif access.can_create_team_types(user):
            self.fields["team"].queryset = Team.objects.filter(pk=user.team_id)
        else:
            del self.fields["team"]
        self.fields["assignment"].choices = Assignment.choices
        self.fields["assignment"].required = False  # personal types are always PERSONAL (clean)

    def show_team(self) -> bool:
        return bool(self.instance.team_id) if self.instance.pk else "team" in self.fields

    # -- questions and hosts: plain rows of inputs, no JavaScript needed --

    def question_rows(self) -> list[dict]:
        if self.raw is not None:
            rows = self._posted_questions(validate=False)
        else:
            rows = [dict(q) for q in self.instance.questions or []]
        return rows + [{"key": "", "label": "", "maps_to": "", "required": False}] * BLANK_QUESTION_ROWS

    def _posted_questions(self, *, validate: bool) -> list[dict]:
        rows, seen = [], set()
        for i in range(MAX_QUESTIONS + BLANK_QUESTION_ROWS):
            label = (self.raw.get(f"q-{i}-label") or "").strip()[:200]
            if not label:
                continue
            maps_to = self.raw.get(f"q-{i}-maps_to") or ""
            if validate and maps_to not in {value for value, _ in self.targets}:
                raise ValidationError(f"{label}: choose what it fills in from the list.")
            key = slugify(self.raw.get(f"q-{i}-key") or label).replace("-", "_")[:40] or f"q{i}"
            if not key[0].isalpha():
                key = "q_" + key
            while key in seen:
                key += "_2"
            seen.add(key)
            required = self.raw.get(f"q-{i}-required") in ("on", "1", "true")
            rows.append({"key": key, "label": label, "maps_to": maps_to, "required": required, "type": "text"})
        if validate and len(rows) > MAX_QUESTIONS:
            raise ValidationError(f"At most {MAX_QUESTIONS} questions.")
        return rows

    def host_candidates(self) -> list[dict]:
        """The team's members, each with whether they host and their weight (team types only)."""
        team_id = self.instance.team_id if self.instance.pk else self._chosen_team_id()
        if not team_id:
            return []
        current = {}
        if self.instance.pk:
            current = {h.user_id: h.weight for h in self.instance.host_rows.all()}
        rows = []
        for member in (
            User.objects.filter(team_id=team_id, is_active=True).exclude(role="readonly").order_by("full_name")
        ):
            if self.raw is not None:
                hosting = self.raw.get(f"host-{member.pk}") == "on"
                weight = self.raw.get(f"weight-{member.pk}") or "1"
            else:
                hosting = member.pk in current
                weight = current.get(member.pk, 1)
            rows.append({"user": member, "hosting": hosting, "weight": weight})
        return rows

    def _chosen_team_id(self) -> int | None:
        value = str((self.raw or {}).get("team") or "")
        if "team" in self.fields and value.isdigit() and self.fields["team"].queryset.filter(pk=int(value)).exists():
            return int(value)
        return None

    def team_members_all(self) -> list[dict]:
        """For a new team type: every team the user may pick, with its members (the hosts' checkboxes)."""
        if self.instance.pk or "team" not in self.fields:
            return []
        teams = list(self.fields["team"].queryset)
        members = {}
        for member in (
            User.objects.filter(team__in=teams, is_active=True).exclude(role="readonly").order_by("full_name")
        ):
            members.setdefault(member.team_id, []).append(member)
        return [{"team": t, "members": members.get(t.pk, [])} for t in teams]

    def clean_slug(self):
        slug = self.cleaned_data["slug"].lower()
        if slug in {"l", "m", "feed", "embed", "static"}:
            raise ValidationError("That address is reserved; choose another.")
        return slug

    def clean_durations_text(self):
        return parse_durations(self.cleaned_data["durations_text"])

    def clean(self):
        data = super().clean()
        try:
            self.questions = self._posted_questions(validate=True) if self.raw is not None else []
        except ValidationError as exc:
            self.add_error(None, exc)
            self.questions = []
        team = data.get("team") if "team" in self.fields and not self.instance.pk else self.instance.team
        self.team_obj = team
        if team is None:
            data["assignment"] = Assignment.PERSONAL
            self.hosts = []
            return data
        if data.get("assignment") not in TEAM_MODES:
            self.add_error("assignment", "Choose how a team type assigns its bookings.")
        hosts = []
        members = {u.pk: u for u in User.objects.filter(team_id=team.pk, is_active=True).exclude(role="readonly")}
        for uid, member in members.items():
            if (self.raw or {}).get(f"host-{uid}") != "on":
                continue
            weight = str((self.raw or {}).get(f"weight-{uid}") or "1").strip()
            if not weight.isdigit() or int(weight) > 100:
                self.add_error(None, f"{member.display_name}: a weight is a whole number from 0 to 100.")
                continue
            hosts.append((member, int(weight)))
        if not hosts:
            self.add_error(None, "Tick at least one host for a team type.")
        self.hosts = hosts
        return data

    @transaction.atomic
    def save_as(self, actor) -> MeetingType:
        mt = self.instance
        creating = mt.pk is None
        if creating:
            access.require_create_type(actor, self.team_obj)
            if self.team_obj is None:
                mt.owner = actor
            else:
                mt.team = self.team_obj
                mt.owner = None
        else:
            access.require_manage_type(actor, MeetingType.objects.get(pk=mt.pk))
        mt.durations = self.cleaned_data["durations_text"]
        mt.questions = self.questions
        mt.assignment = self.cleaned_data["assignment"]
        mt.save()
        if mt.team_id:
            keep = {user.pk: weight for user, weight in self.hosts}
            MeetingTypeHost.objects.filter(meeting_type=mt).exclude(user_id__in=keep).delete()
            existing = {h.user_id: h for h in MeetingTypeHost.objects.filter(meeting_type=mt)}
            for uid, weight in keep.items():
                if uid in existing:
                    if existing[uid].weight != weight:
                        existing[uid].weight = weight
                        existing[uid].save(update_fields=["weight"])
                else:
                    MeetingTypeHost.objects.create(meeting_type=mt, user_id=uid, weight=weight)
        record_audit(actor=actor, action="create" if creating else "update", obj=mt)
        return mt


class HoursForm(ServiceErrorsMixin, forms.Form):
    """My weekly hours (one line per weekday, accounts.hours) and my time zone, which the hours are in."""

    time_zone = forms.ChoiceField(choices=time_zone_choices, help_text="Your hours and your calendar are in it.")

    def __init__(self, *args, user: User, **kwargs):
        initial = {
            "time_zone": user.time_zone,
            **{f"hours_{d}": format_day(user.working_hours.get(d)) for d, _ in DAYS},
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.user = user
        for day, label in DAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=label,
                required=False,
                max_length=100,
                widget=forms.TextInput(attrs={"placeholder": "Not working"}),
            )

    def hour_fields(self):
        return [self[f"hours_{day}"] for day, _ in DAYS]

    def clean(self):
        data = super().clean()
        hours = {}
        for day, _ in DAYS:
            try:
                ranges = parse_day(data.get(f"hours_{day}", ""))
            except ValidationError as exc:
                self.add_error(f"hours_{day}", exc)
                continue
            if ranges:
                hours[day] = ranges
        data["working_hours"] = hours
        return data

    def save(self) -> None:
        # The user's own profile, as accounts' profile page saves it (accounts.update_user is the admins' path).
        user = self.user
        access.require_write_self(user)
        old = (user.time_zone, user.working_hours)
        user.time_zone = self.cleaned_data["time_zone"]
        user.working_hours = self.cleaned_data["working_hours"]
        user.save(update_fields=["time_zone", "working_hours"])
        record_audit(
            actor=user,
            action="update",
            obj=user,
            object_repr=user.email,
            changes={"working hours": (old[1], user.working_hours), "time zone": (old[0], user.time_zone)},
        )


class OverrideForm(forms.Form):
    """A date with other hours than the week's, or a day off (no hours)."""

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    hours = forms.CharField(
        required=False, max_length=100, help_text="Like 10:00-12:00; leave empty for a day off.", label="Hours that day"
    )
    note = forms.CharField(required=False, max_length=200)

    def clean_hours(self):
        return parse_day(self.cleaned_data["hours"])

    def save(self, user: User) -> AvailabilityOverride:
        access.require_write_self(user)
        row, _ = AvailabilityOverride.objects.update_or_create(
            user=user,
            date=self.cleaned_data["date"],
            defaults={"ranges": self.cleaned_data["hours"], "note": self.cleaned_data["note"]},
        )
        return row


class BusyBlockForm(forms.Form):
    """Busy time typed in by the host, in their own time zone."""

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}), label="From")
    end = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}), label="To")
    title = forms.CharField(required=False, max_length=200, help_text="Only you see it.")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", "The end must be after the start.")
        return data

    def save(self, user: User) -> BusyBlock:
        access.require_write_self(user)
        tz = zoneinfo.ZoneInfo(user.time_zone or "UTC")
        day = self.cleaned_data["date"]
        starts = datetime.combine(day, self.cleaned_data["start"], tz)
        ends = datetime.combine(day, self.cleaned_data["end"], tz)
        return BusyBlock.objects.create(user=user, starts_at=starts, ends_at=ends, title=self.cleaned_data["title"])


class ExternalCalendarForm(forms.ModelForm):
    external_calendar_url = forms.URLField(
        required=False,
        max_length=1000,
        assume_scheme="https",
        label="External calendar (iCalendar URL)",
        help_text="Its events count as busy time; Google and Outlook both offer a secret iCal address. "
        "Leave empty to stop.",
    )

    class Meta:
        model = Schedule
        fields = ["external_calendar_url"]
        labels = {"external_calendar_url": "External calendar (iCalendar URL)"}
        help_texts = {
            "external_calendar_url": "Its events count as busy time; Google and Outlook both offer a secret "
            "iCal address. Leave empty to stop."
        }

    def clean_external_calendar_url(self):
        url = self.cleaned_data["external_calendar_url"].strip()
        if url and not url.lower().startswith(("https://", "http://")):
            raise ValidationError("An http(s) address.")
        return url


class BookingForm(forms.Form):
    """The public booking form: name, email, the type's questions, optional consent, and a honeypot."""

    name = forms.CharField(max_length=200, label="Your name")
    email = forms.EmailField(max_length=254, label="Email")
    consent = forms.BooleanField(required=False)
    # The honeypot: hidden from people (CSS and aria-hidden); a bot that fills it gets a fake success.
    website = forms.CharField(required=False, max_length=200, label="Leave this empty")

    def __init__(self, *args, meeting_type: MeetingType, consent_text: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent"].label = consent_text
        self.questions = [q for q in meeting_type.questions or [] if isinstance(q, dict) and q.get("key")]
        for q in self.questions:
            self.fields[f"q_{q['key']}"] = forms.CharField(
                label=str(q.get("label") or q["key"])[:200],
                required=bool(q.get("required")),
                max_length=1000,
                widget=forms.Textarea(attrs={"rows": 2}) if q.get("type") == "long" else forms.TextInput(),
            )

    def question_fields(self):
        return [self[f"q_{q['key']}"] for q in self.questions]

    def booker(self, time_zone: str, consent_text: str) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"].strip(),
            "email": data["email"].strip().lower(),
            "time_zone": time_zone,
            "answers": {q["key"]: data.get(f"q_{q['key']}", "").strip() for q in self.questions},
            "consent": bool(data.get("consent")),
            "consent_text": consent_text if data.get("consent") else "",
        }
