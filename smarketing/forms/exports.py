"""The `form_submissions` export (assembled by `dataio/exporter.py`): one form's submissions, with the form's
fields as columns. Filters: `form` (required) and `status` (as on the submissions list; blank = all but spam)."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from smarketing.forms import access, fields, queries
from smarketing.forms.models import Form, FormSubmission

LABEL = "Form submissions"


def _value(key: str) -> Callable:
    return lambda s: s.data.get(key)


def parse_filters(params, user) -> dict:
    raw = (params.get("form") or "").strip()
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError("Choose the form whose submissions to export.")
    if not Form.objects.filter(pk=int(raw)).exists():
        raise ValidationError("That form does not exist.")
    status = (params.get("status") or "").strip()
    if status not in queries.STATUS_FILTERS:
        raise ValidationError(f"“{status[:40]}” is not a submission status.")
    return {"form": int(raw), **({"status": status} if status else {})}


def queryset(filters: dict, user) -> QuerySet:
    access.require_view(user)
    form = Form.objects.get(pk=filters["form"])
    return queries.submissions(form, filters.get("status", "")).select_related("contact")


def header_and_getters(filters: dict) -> tuple[list[str], list[Callable]]:
    form = Form.objects.filter(pk=filters.get("form")).only("fields").first()
    known = fields.parse(form.fields) if form else []
    headers = ["Submission ID", "Received"]
    getters: list[Callable] = [lambda s: s.pk, lambda s: s.created_at]
    for field in known:
        headers.append(field.label or field.key)
        getters.append(_value(field.key))
    headers += ["Status", "Consent", "Consent wording", "Contact ID", "Contact Email", "Page URL", "Referrer"]
    getters += [
        lambda s: s.get_status_display(),
        lambda s: s.consent_given,
        lambda s: s.consent_text,
        lambda s: s.contact_id,
        lambda s: s.contact.email if s.contact_id else "",
        lambda s: s.page_url,
        lambda s: s.referrer,
    ]
    return headers, getters


MODEL = FormSubmission
