from django import forms
from django.core.exceptions import ValidationError

from smarketing.mail.models import SenderIdentity


class SuppressionSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=254, label="Find an address")


class SuppressionAddForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    note = forms.CharField(
        label="Why", required=False, max_length=150, help_text="Shown as the source, e.g. “asked by phone”."
    )


class SenderIdentityForm(forms.ModelForm):
    class Meta:
        model = SenderIdentity
        fields = ["name", "from_name", "from_email", "reply_to", "per_second", "per_hour", "is_default"]
        labels = {
            "name": "Name in the campaign wizard",
            "from_name": "From name",
            "from_email": "From address",
            "reply_to": "Reply-to address",
            "per_second": "Messages per second",
            "per_hour": "Messages per hour",
            "is_default": "Default sender",
        }
        help_texts = {
            "from_email": "Its domain should publish SPF and DKIM records (see the email delivery guide).",
            "reply_to": "Optional: where replies go when not to the from address.",
            "per_second": "The throttle shared by every worker sending under this identity.",
            "per_hour": "Warm a new domain up slowly: a few thousand per hour at first.",
        }

    def clean(self):
        data = super().clean()
        for key in ("from_name", "name"):
            if any(c in (data.get(key) or "") for c in "\r\n"):
                self.add_error(key, "Line breaks are not allowed here.")
        if data.get("per_second") and data.get("per_hour") and data["per_second"] > data["per_hour"]:
            raise ValidationError("The hourly limit cannot be lower than the per-second limit.")
        if data.get("per_second") == 0 or data.get("per_hour") == 0:
            raise ValidationError("Limits must be at least 1.")
        return data
