"""The webhooks' privacy hook: delivery logs keep the request bodies that were sent (see privacy.hooks)."""

from smarketing.privacy.hooks import CONTACT_TYPE, Erasure
from smarketing.webhooks.services import forget_object


def erase(erasure: Erasure) -> dict[str, int]:
    """Deliveries of events about the contact (and merged duplicates) are deleted: their bodies hold the
    person's data, and the events themselves stay (scrubbed by core's hook)."""
    deleted = sum(forget_object(CONTACT_TYPE, object_id) for object_id in erasure.object_ids)
    return {"scrub_webhook_deliveries": deleted}
