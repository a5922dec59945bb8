"""Forms for the capture tests (formscapture), saved with a validated field list like the builder saves them."""

from smarketing.forms.fields import validate_definition
from smarketing.forms.models import Form, FormStatus

FIELDS = [
    {"key": "email", "label": "Work email", "type": "email", "maps_to": "contact.email", "required": True},
    {"key": "first_name", "label": "First name", "type": "text", "maps_to": "contact.first_name"},
    {"key": "last_name", "label": "Last name", "type": "text", "maps_to": "contact.last_name"},
    {"key": "title", "label": "Job title", "type": "text", "maps_to": "contact.title", "progressive": True},
    {"key": "phone", "label": "Phone", "type": "phone", "maps_to": "contact.phone"},
    {"key": "company", "label": "Company", "type": "text", "maps_to": "company.name", "progressive": True},
    {"key": "website", "label": "Website", "type": "text", "maps_to": "company.domain"},
    {"key": "message", "label": "Message", "type": "textarea"},
    {"key": "utm_source", "type": "hidden", "source": "utm_source", "maps_to": ""},
    {"key": "utm_campaign", "type": "hidden", "source": "utm_campaign", "maps_to": ""},
]


def make_form(fields=None, **data) -> Form:
    data.setdefault("name", "Contact us")
    data.setdefault("status", FormStatus.LIVE)
    data.setdefault("min_fill_seconds", 0)
    notify = data.pop("notify_users", [])
    form = Form.objects.create(fields=validate_definition(fields or FIELDS), **data)
    form.notify_users.set(notify)
    return form
