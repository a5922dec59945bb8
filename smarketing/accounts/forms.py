import zoneinfo

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from smarketing.accounts import throttle
from smarketing.accounts.hours import DAYS, format_day, parse_day
from smarketing.accounts.models import Role, Team, TeamKind, User

ROLE_HELP = (
    "Admins change settings; managers see and change every record; members change their own records and log "
    "activity on any; read-only users only look."
)


class LoginForm(AuthenticationForm):
    """Email and password, with per-account and per-address limits on failures (accounts/throttle.py)."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean(self):
        email = (self.cleaned_data.get("username") or "").strip().lower()
        ip = throttle.client_ip(self.request)
        wait = throttle.login_wait(email, ip)
        if wait:
            # Refused before the password is checked: a locked account answers the same, right or wrong.
            raise ValidationError(throttle.locked_message(wait), code="locked")
        try:
            cleaned = super().clean()
        except ValidationError:
            if email and self.cleaned_data.get("password"):
                throttle.login_failed(email, ip)
            raise
        if email and self.user_cache is not None:
            throttle.login_succeeded(email)
        return cleaned


class ServiceErrorsMixin:
    """Put a service's ValidationError on the fields it names (unknown names: on the form itself)."""

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for name, errors in exc.message_dict.items():
            self.add_error(name if name in self.fields else None, errors)


def _time_zone_choices():
    return [(z, z) for z in sorted(zoneinfo.available_timezones())]


def _team_field():
    return forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="No team")


class InviteForm(ServiceErrorsMixin, forms.Form):
    email = forms.EmailField(help_text="They get an email with a link to set their password.")
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER, help_text=ROLE_HELP)
    team = _team_field()


class UserForm(ServiceErrorsMixin, forms.Form):
    """A user's settings; working hours are one line per weekday (accounts.hours)."""

    full_name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, help_text=ROLE_HELP)
    team = _team_field()
    time_zone = forms.ChoiceField(choices=_time_zone_choices)

    def __init__(self, *args, user: User, **kwargs):
        initial = {
            "full_name": user.full_name,
            "role": user.role,
            "team": user.team_id,
            "time_zone": user.time_zone,
            **{f"hours_{day}": format_day(user.working_hours.get(day)) for day, _ in DAYS},
        }
        super().__init__(*args, initial=initial, **kwargs)
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

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in ("full_name", "role", "team", "time_zone", "working_hours")}


class TeamForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(
        label="Kind", choices=TeamKind.choices, help_text="Which side of the funnel the team works."
    )


class MemberChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} · now on {obj.team}" if obj.team_id else f"{obj} · no team"


class TeamMembersForm(TeamForm):
    members = MemberChoiceField(
        queryset=User.objects.filter(is_active=True).select_related("team"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="A user is on one team: ticking someone moves them here from their current team.",
    )
