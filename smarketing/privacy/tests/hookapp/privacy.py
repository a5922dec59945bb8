"""Privacy hooks of the test-only app: they record what they received, and the erase hook can be told to fail."""

ORDER = 99  # after core's audit and events
SEEN: list[tuple] = []
FAIL = {"erase": False}


def export(subject) -> dict:
    SEEN.append(("export", subject.contact.pk, list(subject.object_ids)))
    return {"hookapp": {"contact_id": subject.contact.pk}}


def erase(erasure) -> dict[str, int]:
    if FAIL["erase"]:
        raise RuntimeError("webhook store unavailable")
    SEEN.append(("erase", erasure.contact.email, list(erasure.object_ids)))
    return {"scrub_webhooks": 42}
