"""Scheduling's privacy hook (see privacy.hooks): the meetings a person booked.

Export: each meeting of the contact (type, host, times, status, the name, address and zone they gave, their
answers, the cancel reason). Erasure: a meeting keeps its facts (type, host, times, status: the host's calendar
and the meeting figures count them, and the hold keeps the host's time taken) but loses what the person typed:
their name (also in the title), address, answers and cancel reason; the manage link dies (new nonce).
"""

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from smarketing.privacy.hooks import CHUNK, ERASED, Erasure, Subject
from smarketing.scheduling.models import Meeting, new_token

MEETING_FIELDS = (
    "meeting_type__name",
    "host__email",
    "title",
    "status",
    "starts_at",
    "ends_at",
    "location",
    "booker_name",
    "booker_email",
    "booker_time_zone",
    "answers",
    "created_at",
    "canceled_at",
    "cancel_reason",
)


def _contact_ids(subject: Subject) -> list[int]:
    return [int(pk) for pk in subject.object_ids if str(pk).isdigit()] or [subject.contact.pk]


def _theirs(subject: Subject):
    # Their contact's meetings, and any booked with their address before a merge or without a contact.
    return Meeting.objects.filter(Q(contact_id__in=_contact_ids(subject)) | Q(booker_email=subject.contact.email))


def _meetings(subject: Subject) -> Iterator[dict]:
    for row in _theirs(subject).order_by("id").values(*MEETING_FIELDS).iterator(chunk_size=CHUNK):
        row["meeting_type"] = row.pop("meeting_type__name")
        row["host"] = row.pop("host__email")
        yield row


def export(subject: Subject) -> dict[str, Any]:
    return {"meetings": _meetings(subject)}


def erase(erasure: Erasure) -> dict[str, int]:
    scrubbed = 0
    for meeting in _theirs(erasure).select_related("meeting_type").only("pk", "meeting_type__name").iterator():
        name = meeting.meeting_type.name if meeting.meeting_type_id else "Meeting"
        scrubbed += Meeting.objects.filter(pk=meeting.pk).update(
            title=f"{name} with {ERASED}"[:200],
            booker_name=ERASED,
            booker_email="",
            answers={},
            cancel_reason="",
            manage_nonce=new_token()[:32],
        )
    return {"scrub_meetings": scrubbed}
