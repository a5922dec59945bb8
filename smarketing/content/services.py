"""Writes of the content library: assets, versions, the review, retiring; the messaging guide in guide.py and
sharing in sharing.py."""


def move_on_contact_merge(primary_id: int, duplicate_id: int) -> None:
    """Shares and their views follow the surviving contact."""
    from smarketing.content.models import Share, ShareView

    Share.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)
    ShareView.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)
