from django import forms

from smarketing.core.events import event_types
from smarketing.webhooks.models import ALL_EVENTS
from smarketing.webhooks.targets import UnsafeTarget, check_url


def event_choices() -> list[tuple[str, str]]:
    return [(e.name, e.label) for e in event_types()]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="An http(s) URL on a public address. Smarketing POSTs signed JSON to it.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/smarketing", "autocomplete": "off"}),
    )
    description = forms.CharField(max_length=200, required=False)
    all_events = forms.BooleanField(
        label="All events", required=False, help_text="Includes event types added in later versions."
    )
    # A callable: the catalogue is read when the form is built, so every app's declared events are offered.
    events = forms.MultipleChoiceField(choices=event_choices, required=False, widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(required=False, initial=True, help_text="Inactive endpoints receive nothing.")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        try:
            check_url(url)
        except UnsafeTarget as exc:
            raise forms.ValidationError(str(exc), code="unsafe_url")
        return url

    def clean(self):
        data = super().clean()
        if data.get("all_events"):
            data["event_list"] = [ALL_EVENTS]
        elif data.get("events"):
            data["event_list"] = [e.name for e in event_types() if e.name in data["events"]]
        else:
            self.add_error("events", "Choose at least one event, or all events.")
        return data

    @classmethod
    def initial_for(cls, endpoint) -> dict:
        return {
            "url": endpoint.url,
            "description": endpoint.description,
            "all_events": ALL_EVENTS in endpoint.events,
            "events": [e for e in endpoint.events if e != ALL_EVENTS],
            "active": endpoint.active,
        }
