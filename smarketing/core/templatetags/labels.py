"""Template filters for words, not codes: `{{ touch.outcome|label:"outcome" }}`, `{{ name|field_label:type }}`."""

import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from smarketing.core import labels

register = template.Library()


@register.filter
def label(code, vocabulary: str = "") -> str:
    return labels.label(code, vocabulary)


@register.filter
def field_label(name, object_type: str) -> str:
    return labels.field_label(object_type, name)


@register.filter(is_safe=True)
def wbr(value) -> str:
    """An email address or URL with break opportunities after "@", "." and "/" (escaped first), so it wraps
    at a sensible point instead of overflowing its cell or breaking mid-word."""
    text = conditional_escape("" if value is None else str(value))
    return mark_safe(re.sub(r"([@./])(?=.)", r"\1<wbr>", text))  # noqa: S308 -- escaped above; adds only <wbr>
