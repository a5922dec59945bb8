"""The payload of the messaging guide's event (`message.approved`): one function, for guide.py, the API and any
bulk writer (the seed), so a webhook and a workflow read the same facts."""


def message(message) -> dict:
    """A message's identity and review state."""
    return {
        "id": message.pk,
        "kind": message.kind,
        "title": message.title,
        "competitor": message.competitor,
        "status": message.status,
        "owner_id": message.owner_id,
        "approved_revision_id": message.approved_revision_id,
    }


def message_approved(message_obj, revision, previous_revision_id) -> dict:
    """`message.approved`: the revision sales sees from now on, and the one it replaced (or None)."""
    return {
        **message(message_obj),
        "revision": {"id": revision.pk, "number": revision.number, "title": revision.title},
        "approved_by_id": message_obj.approved_by_id,
        "approved_at": message_obj.approved_at.isoformat() if message_obj.approved_at else None,
        "previous_revision_id": previous_revision_id,
    }
