"""The payload of each scheduling event and the words of its touches: one function each, for the services and any
bulk writer (the seed), so a webhook, a workflow and the timeline read the same facts."""


def meeting(meeting, **extra) -> dict:
    """`meeting.*` events: the meeting's identity, who and when. `contact_id` is what workflows' trigger reads."""
    return {
        "id": meeting.pk,
        "uid": meeting.uid,
        "meeting_type_id": meeting.meeting_type_id,
        "host_id": meeting.host_id,
        "contact_id": meeting.contact_id,
        "deal_id": meeting.deal_id,
        "status": meeting.status,
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "sequence": meeting.sequence,
        **extra,
    }


def touch_summary(kind: str, title: str) -> str:
    """The timeline line of a meeting touch."""
    words = {
        "meeting_booked": "Booked",
        "meeting_rescheduled": "Rescheduled",
        "meeting_canceled": "Canceled",
        "meeting_held": "Held",
        "meeting_no_show": "No-show",
    }
    return f"{words.get(kind, 'Meeting')}: {title}"[:300]


def touch_details(meeting, **extra) -> dict:
    return {
        "meeting_id": meeting.pk,
        "meeting_type_id": meeting.meeting_type_id,
        "host_id": meeting.host_id,
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        **extra,
    }
