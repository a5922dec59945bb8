"""Lead capture's privacy hook (see privacy.hooks): the forms a person submitted.

Export: every submission of the contact (form, status, the values they sent, consent and its wording, the page,
the address and browser it came from). Erasure: a submission keeps its facts (which form, when, its status, the
UTM values, whether consent was given: the form's figures and attribution count them) but loses what the
person typed, the page and referrer URLs (which can carry an address in their query), the IP address, the user
agent and any pending confirmation secret. (Web tracking adds its own sections for visitors and page views.)
"""

from collections.abc import Iterator
from typing import Any

from smarketing.forms import privacy_tracking
from smarketing.forms.models import FormSubmission
from smarketing.privacy.hooks import CHUNK, Erasure, Subject

SUBMISSION_FIELDS = (
    "form__name",
    "status",
    "data",
    "consent_given",
    "consent_text",
    "page_url",
    "referrer",
    "utm",
    "ip",
    "user_agent",
    "created_at",
    "confirmed_at",
)


def _contact_ids(subject: Subject) -> list[int]:
    return [int(pk) for pk in subject.object_ids if str(pk).isdigit()] or [subject.contact.pk]


def _submissions(subject: Subject) -> Iterator[dict]:
    rows = FormSubmission.objects.filter(contact_id__in=_contact_ids(subject)).order_by("id").values(*SUBMISSION_FIELDS)
    for row in rows.iterator(chunk_size=CHUNK):
        row["form"] = row.pop("form__name")
        yield row


def export(subject: Subject) -> dict[str, Any]:
    return {"form_submissions": _submissions(subject), **privacy_tracking.export(subject)}


def erase(erasure: Erasure) -> dict[str, int]:
    scrubbed = FormSubmission.objects.filter(contact_id__in=_contact_ids(erasure)).update(
        data={}, page_url="", referrer="", ip=None, user_agent="", confirm_token=None
    )
    return {"scrub_form_submissions": scrubbed, **privacy_tracking.erase(erasure)}
