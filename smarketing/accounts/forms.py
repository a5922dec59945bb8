from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from smarketing.accounts import throttle


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
