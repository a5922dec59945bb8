"""Shared helpers of the forms tests: the editor's POST for a list of fields, and submissions made directly (the
submit service is the capture part's; these tests do not depend on it)."""

import datetime as dt

from django.db.models import F
from django.utils import timezone

from smarketing.forms.models import Form, FormSubmission


def editor_post(form: Form, rows: list[dict] | None = None, **settings) -> dict:
    """What the editor page posts for `form` with `rows` as its fields and `settings` changed."""
    data = {
        "name": form.name,
        "title": form.title,
        "intro": form.intro,
        "submit_label": form.submit_label,
        "success_message": form.success_message,
        "redirect_url": form.redirect_url,
        "consent_text": form.consent_text,
        "allowed_origins": form.allowed_origins,
        "min_fill_seconds": str(form.min_fill_seconds),
        "campaign": form.campaign_id or "",
        "default_owner": form.default_owner_id or "",
        "lifecycle_stage": form.lifecycle_stage,
    }
    for flag in ("consent_enabled", "consent_required", "double_opt_in"):
        if getattr(form, flag):
            data[flag] = "1"
    rows = form.fields if rows is None else rows
    data["field_count"] = str(len(rows))
    for i, row in enumerate(rows):
        for name, value in row.items():
            if name == "choices":
                data[f"fields-{i}-choices"] = "\n".join(value)
            elif isinstance(value, bool):
                if value:
                    data[f"fields-{i}-{name}"] = "1"
            else:
                data[f"fields-{i}-{name}"] = value
    data.update(settings)
    return data


def add_submission(form: Form, *, contact=None, status="accepted", days_ago: float = 0, **data) -> FormSubmission:
    """A submission as the capture part stores one, with the form's counters kept in step."""
    at = timezone.now() - dt.timedelta(days=days_ago)
    submission = FormSubmission.objects.create(form=form, contact=contact, status=status, data=data, created_at=at)
    Form.objects.filter(pk=form.pk).update(submission_count=F("submission_count") + 1, last_submission_at=at)
    return submission
