from django import forms

from smarketing.api.models import TokenScope


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. “Zapier” or “Data warehouse sync”.")
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        help_text="Read-only tokens cannot change anything. Your role still limits what a read-and-write token can do.",
    )
