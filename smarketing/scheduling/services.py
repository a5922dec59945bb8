"""Every important write of scheduling: booking, rescheduling, canceling, outcomes (filled by the booking part)."""


def move_on_contact_merge(primary_id: int, duplicate_id: int) -> None:
    """A merged contact's meetings and booking links follow the survivor."""
    from smarketing.scheduling.models import BookingLink, Meeting

    Meeting.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)
    BookingLink.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)


class SlotTaken(Exception):
    """Someone else booked this host's time first (the database refused the overlapping hold)."""


def book(meeting_type, *, starts_at, duration=None, booker: dict, link=None, meta=None):
    """Book a slot: contact created or updated (consent), meeting, holds, touch, event, emails. Raises SlotTaken,
    availability.SlotUnavailable or ValidationError (with field messages for the booker)."""
    raise NotImplementedError


def reschedule(meeting, *, starts_at, actor=None):
    """Move a meeting to another offered slot (same UID, SEQUENCE + 1, new invitation); the booker or the host."""
    raise NotImplementedError


def cancel(meeting, *, reason: str = "", actor=None):
    """Cancel: holds released, METHOD:CANCEL sent to both sides, a touch and `meeting.canceled`."""
    raise NotImplementedError


def record_outcome(meeting, *, outcome: str, actor):
    """The host records held or no-show (Meeting.Status.HELD / NO_SHOW): a touch and its event."""
    raise NotImplementedError


def manage_token(meeting) -> str:
    """The signed, opaque token of the booker's reschedule/cancel links (scoped to this meeting and its nonce)."""
    raise NotImplementedError


def meeting_for_token(token: str):
    """The meeting a manage token is for, or None when forged, stale (nonce replaced) or the meeting is gone."""
    raise NotImplementedError
