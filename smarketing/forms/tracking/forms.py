"""The tracking settings form and the visits page's filters."""

from django import forms

from smarketing.forms.models import TrackingSettings
from smarketing.forms.tracking.config import parse_origins

ORIGINS_HELP = "One per line, like https://www.example.com (scheme, host and port if not the default; no path)."


def _origins(text: str, label: str) -> str:
    good, bad = parse_origins(text)
    if bad:
        shown = ", ".join(bad[:3])[:200]
        raise forms.ValidationError(f"{label}: these lines are not origins: {shown}. {ORIGINS_HELP}")
    if len(good) > 100:
        raise forms.ValidationError(f"{label}: at most 100 origins.")
    return "\n".join(good)


class TrackingSettingsForm(forms.ModelForm):
    class Meta:
        model = TrackingSettings
        fields = ["enabled", "honour_dnt", "require_consent", "allowed_origins", "stitch_origins"]
        labels = {
            "enabled": "Record page views",
            "honour_dnt": "Honour Do-Not-Track and Global Privacy Control",
            "require_consent": "Wait for the site's consent banner",
            "allowed_origins": "Sites that may send page views",
            "stitch_origins": "Sites that email links stitch on",
        }
        help_texts = {
            "enabled": "Off: the script still loads, and every hit is dropped.",
            "honour_dnt": "A browser that sends DNT: 1 or Sec-GPC: 1 is not tracked at all.",
            "require_consent": "No cookie and no page view until the page calls smarketing.consent(true).",
            "allowed_origins": "Empty: any site. " + ORIGINS_HELP,
            "stitch_origins": (
                "Links in marketing email to these sites carry a short signed token, so the visitor who clicks is "
                "recognised on arrival. Empty: no link carries one. " + ORIGINS_HELP
            ),
        }
        widgets = {
            "allowed_origins": forms.Textarea(attrs={"rows": 3, "class": "code-input", "maxlength": 10000}),
            "stitch_origins": forms.Textarea(attrs={"rows": 3, "class": "code-input", "maxlength": 10000}),
        }

    def clean_allowed_origins(self):
        return _origins(self.cleaned_data["allowed_origins"], "Sites that may send page views")

    def clean_stitch_origins(self):
        return _origins(self.cleaned_data["stitch_origins"], "Sites that email links stitch on")


class VisitFilterForm(forms.Form):
    who = forms.ChoiceField(
        choices=[("", "Everyone"), ("known", "Known contacts"), ("anonymous", "Anonymous")], required=False
    )
    path = forms.CharField(max_length=200, required=False, label="Path contains", strip=True)
