"""The handoff settings' forms: SLA policy, routing, rejection reasons, reps' shares and time away, commitment."""

import datetime as dt
import json
import re
from zoneinfo import available_timezones

import holidays as holiday_data
from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from smarketing.accounts import hours
from smarketing.accounts.models import Team
from smarketing.core.audit import record_audit
from smarketing.process import routing
from smarketing.process.models import (
    MailCapture,
    MqlCommitment,
    RejectionReason,
    RepRouting,
    RoutingSettings,
    SlaPolicy,
)

COUNTRIES = sorted(holiday_data.list_supported_countries())


class SlaForm(forms.ModelForm):
    """The first-touch promise and the week it is counted in."""

    week = forms.CharField(
        required=False,
        label="Working hours",
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text='One line per day, like "mon 09:00-17:00" (several ranges: "mon 09:00-12:00, 13:00-17:00"). '
        "Empty: Monday to Friday, 9 to 5.",
    )
    holidays_text = forms.CharField(
        required=False,
        label="Company holidays",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Dates the team does not work besides public holidays, one per line (2026-12-24).",
    )

    class Meta:
        model = SlaPolicy
        fields = ["first_touch_hours", "time_zone", "holiday_country", "holiday_subdivision", "remind_before_minutes"]
        labels = {
            "first_touch_hours": "First sales touch within (business hours)",
            "holiday_country": "Public holidays of (country code)",
            "remind_before_minutes": "Remind the owner this many minutes before",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        policy = self.instance
        self.fields["week"].initial = "\n".join(
            f"{day} {hours.format_day(ranges)}" for day, ranges in (policy.working_hours or {}).items()
        )
        self.fields["holidays_text"].initial = "\n".join(policy.extra_holidays or [])

    def clean_first_touch_hours(self):
        value = self.cleaned_data["first_touch_hours"]
        if not 1 <= value <= 200:
            raise ValidationError("Between 1 and 200 business hours.")
        return value

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"].strip()
        if value not in available_timezones():
            raise ValidationError("Choose a time zone like Europe/Berlin or America/New_York.")
        return value

    def clean_holiday_country(self):
        value = self.cleaned_data["holiday_country"].strip().upper()
        if value and value not in COUNTRIES:
            raise ValidationError("Use a supported two-letter country code (US, DE, FR, GB, …).")
        return value

    def clean_week(self):
        week = {}
        known = {day for day, _ in hours.DAYS}
        for line in filter(None, (line.strip() for line in self.cleaned_data["week"].splitlines())):
            day, _, ranges = line.partition(" ")
            day = day.lower()[:3]
            if day not in known:
                raise ValidationError(f"{line!r}: start the line with a day (mon, tue, …).")
            week[day] = hours.parse_day(ranges)
        return week

    def clean_holidays_text(self):
        dates = []
        for line in filter(None, (line.strip() for line in self.cleaned_data["holidays_text"].splitlines())):
            try:
                dates.append(dt.date.fromisoformat(line).isoformat())
            except ValueError:
                raise ValidationError(f"{line!r} is not a date like 2026-12-24.") from None
        return sorted(set(dates))[:366]

    def clean(self):
        data = super().clean()
        country, subdivision = data.get("holiday_country"), (data.get("holiday_subdivision") or "").strip().upper()
        if country and subdivision:
            try:
                holiday_data.country_holidays(country, subdiv=subdivision)
            except NotImplementedError:
                self.add_error("holiday_subdivision", f"{country} has no subdivision {subdivision}.")
        data["holiday_subdivision"] = subdivision
        return data

    def apply(self):
        policy = self.save(commit=False)
        policy.working_hours = self.cleaned_data["week"]
        policy.extra_holidays = self.cleaned_data["holidays_text"]
        policy.holiday_subdivision = self.cleaned_data["holiday_subdivision"]
        policy.updated_at = timezone.now()
        try:
            policy.calendar().add(timezone.now(), policy.first_touch_hours)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        policy.save()
        return policy


class RoutingForm(forms.ModelForm):
    rules_json = forms.CharField(
        required=False,
        label="Rules",
        widget=forms.Textarea(attrs={"rows": 4, "class": "code-input"}),
        help_text='The first match wins, e.g. [{"field": "company.country", "value": "DE", "owner": 3}]. '
        "Fields: " + ", ".join(routing.RULE_FIELDS) + ".",
    )

    class Meta:
        model = RoutingSettings
        fields = ["team", "mode", "prefer_account_owner"]
        labels = {"team": "New MQLs go to", "prefer_account_owner": "The account owner first, when there is one"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["team"].required = True
        self.fields["rules_json"].initial = json.dumps(self.instance.rules or [])

    def clean_rules_json(self):
        text = self.cleaned_data["rules_json"].strip()
        if not text or text == "[]":
            return []
        try:
            rules = json.loads(text)
        except ValueError:
            raise ValidationError("The rules are not valid JSON.") from None
        try:
            return routing.clean_rules(rules)
        except ValidationError as exc:  # {"rules": [...]} from the shared check: this field's errors
            raise ValidationError(exc.messages) from None

    def clean(self):
        data = super().clean()
        if data.get("mode") == "rules" and not data.get("rules_json"):
            self.add_error("rules_json", "Rules mode needs at least one rule.")
        return data

    def apply(self):
        row = self.save(commit=False)
        row.rules = self.cleaned_data["rules_json"]
        row.updated_at = timezone.now()
        row.save()
        return row


class ReasonForm(forms.ModelForm):
    class Meta:
        model = RejectionReason
        fields = ["label"]
        labels = {"label": "New rejection reason"}

    def apply(self):
        reason = self.save(commit=False)
        reason.position = (
            RejectionReason.objects.order_by("-position").values_list("position", flat=True).first() or 0
        ) + 1
        reason.save()
        return reason


class CommitmentForm(forms.ModelForm):
    class Meta:
        model = MqlCommitment
        fields = ["mql_target", "acceptance_target"]
        labels = {
            "mql_target": "MQLs marketing commits to this month",
            "acceptance_target": "Accepted by sales, at least (%)",
        }

    def __init__(self, *args, month, **kwargs):
        super().__init__(*args, **kwargs)
        self.month = month

    def clean_acceptance_target(self):
        value = self.cleaned_data["acceptance_target"]
        if value > 100:
            raise ValidationError("A percentage, at most 100.")
        return value

    def apply(self):
        commitment = self.save(commit=False)
        commitment.month = self.month
        commitment.save()
        return commitment


@transaction.atomic
def save(form, *, actor):
    """Save one settings form and audit it (the audit names the part changed)."""
    obj = form.apply()
    record_audit(
        actor=actor,
        action="process_settings",
        obj=obj,
        changes={f: [None, str(form.cleaned_data.get(f))] for f in form.changed_data},
    )
    return obj


def _date(value: str, label: str):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{label}: {value!r} is not a date.") from None


@transaction.atomic
def save_reps(data, *, actor) -> int:
    """Each rep's weight and time away, from rows named weight-<id>, away_from-<id>, away_until-<id>."""
    users = {u.pk: u for u in routing.assignable_users()}
    saved = 0
    for key in data:
        if not key.startswith("weight-") or not key[7:].isdigit() or int(key[7:]) not in users:
            continue
        user = users[int(key[7:])]
        try:
            weight = int(data.get(key) or 0)
        except ValueError:
            raise ValidationError(f"{user}: the weight is a whole number.") from None
        if not 0 <= weight <= 100:
            raise ValidationError(f"{user}: a weight from 0 to 100.")
        away_from = _date(data.get(f"away_from-{user.pk}"), str(user))
        away_until = _date(data.get(f"away_until-{user.pk}"), str(user))
        if away_from and away_until and away_until < away_from:
            raise ValidationError(f"{user}: the time away ends before it starts.")
        RepRouting.objects.update_or_create(
            user=user, defaults={"weight": weight, "away_from": away_from, "away_until": away_until}
        )
        saved += 1
    if saved:
        record_audit(actor=actor, action="process_settings", obj=actor, changes={"reps": [None, saved]})
    return saved


class MailCaptureForm(forms.ModelForm):
    """A user's IMAP folder for sales email capture; the password is write-only (blank keeps the stored one)."""

    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label="Password or app password",
        help_text="Stored encrypted. Leave empty to keep the one saved.",
    )

    class Meta:
        model = MailCapture
        fields = [
            "create_contacts",
            "imap_enabled",
            "imap_host",
            "imap_port",
            "imap_ssl",
            "imap_username",
            "imap_folder",
        ]
        labels = {
            "create_contacts": "Create a contact for an address Smarketing does not know",
            "imap_enabled": "Sync a mailbox folder",
            "imap_host": "IMAP server",
            "imap_port": "Port",
            "imap_ssl": "TLS (port 993)",
            "imap_username": "User name",
            "imap_folder": "Folder or label to read (only this one)",
        }

    def clean_imap_host(self):
        host = self.cleaned_data["imap_host"].strip().lower()
        if host and not re.fullmatch(r"[a-z0-9.-]{1,253}", host):
            raise ValidationError("A host name like imap.example.com.")
        return host

    def clean_imap_port(self):
        port = self.cleaned_data["imap_port"]
        if not 1 <= port <= 65535:
            raise ValidationError("A port from 1 to 65535.")
        return port

    def clean_imap_folder(self):
        folder = self.cleaned_data["imap_folder"].strip()
        if not folder or len(folder) > 200 or any(ord(c) < 32 for c in folder):
            raise ValidationError("Name one folder, like CRM or [Gmail]/Sent Mail.")
        return folder

    def clean(self):
        data = super().clean()
        if data.get("imap_enabled") and not (data.get("imap_host") and data.get("imap_username")):
            self.add_error("imap_host", "Give the server and the user name to sync a folder.")
        if data.get("imap_enabled") and not (data.get("password") or self.instance.imap_password):
            self.add_error("password", "Give the password once.")
        return data

    def apply(self):
        from smarketing.process.capture import secret

        mc = self.save(commit=False)
        if self.cleaned_data.get("password"):
            mc.imap_password = secret.encrypt(self.cleaned_data["password"])
        changed_server = {"imap_host", "imap_username", "imap_folder", "imap_port"} & set(self.changed_data)
        if changed_server:  # another folder: read it from the start
            mc.imap_last_uid, mc.imap_uidvalidity = 0, None
        mc.last_error = ""
        mc.save()
        return mc
