"""What a form submission says on the timeline and in the outbox, built once for the submission service and
for bulk writers (the seed): the `form_submitted` touch's summary and details, and the `form.submitted` event."""


def touch_summary(form_name: str) -> str:
    return f"Submitted “{form_name}”"[:300]


def touch_details(*, form_id: int, form_name: str, submission_id: int, page_url: str = "") -> dict:
    details = {"form": form_name, "form_id": form_id, "submission_id": submission_id}
    if page_url:
        details["page_url"] = page_url[:500]
    return details


def form_submitted(submission, contact) -> dict:
    """`form.submitted`: the form, the submission's cleaned values and consent, and the contact it reached."""
    form = submission.form
    return {
        "id": submission.pk,
        "form": {"id": form.pk, "name": form.name, "public_id": form.public_id},
        "status": submission.status,
        "contact_id": contact.pk if contact is not None else None,
        "email": contact.email if contact is not None else "",
        "data": submission.data,
        "consent_given": submission.consent_given,
        "utm": submission.utm,
        "page_url": submission.page_url,
        "created_at": submission.created_at.isoformat(),
    }
