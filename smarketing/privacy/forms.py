from django import forms

from smarketing.privacy.services import REASON_MAX


class EraseForm(forms.Form):
    """Erasing cannot be undone: the admin types the contact's email to show they mean this person."""

    confirm_email = forms.CharField(
        label="Type the contact's email address to confirm",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "data-erase-confirm": ""}),
    )
    reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept after the erasure, so do not name the person: e.g. “GDPR request by email, ticket 4411”.",
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_confirm_email(self) -> str:
        typed = self.cleaned_data["confirm_email"].strip().lower()
        if typed != self.email.lower():
            raise forms.ValidationError("This is not the contact's email address.")
        return typed


class FindForm(forms.Form):
    """A privacy request arrives with an email address; find the contact it belongs to."""

    email = forms.CharField(label="Email address", max_length=254)
