"""The content library's privacy hook (see privacy.hooks): the links reps shared with a person and what the person
did with them.

Export: each share (which asset, by whom, about which deal, when; expiry, revocation, first and last opening)
and each opening (when, which version, time spent, pages seen, downloaded). The link's token is left out: it is a
secret, and the export may travel.

Erasure: the openings are deleted: how long someone read which pages is behaviour about the person, like the web
tracking's page views (forms deletes those too). A share keeps its facts (a rep sent this asset on this deal, on
that day: the influence report counts them, and the contact row it points at is anonymized) but stops working
and forgets what was seen: revoked, a fresh random token (the old link, which may sit in a mailbox, now finds
nothing), and its view counters reset. The timeline's content touches are scrubbed by the timeline's own hook.
"""

from collections.abc import Iterator
from typing import Any

from smarketing.content.models import Share, ShareView, new_share_token
from smarketing.privacy.hooks import CHUNK, Erasure, Subject

SHARE_FIELDS = (
    "id",
    "asset__title",
    "asset__asset_type",
    "shared_by__full_name",
    "shared_by__email",
    "deal__name",
    "channel",
    "created_at",
    "expires_at",
    "revoked_at",
    "first_viewed_at",
    "last_viewed_at",
    "view_count",
)
VIEW_FIELDS = (
    "share_id",
    "asset__title",
    "version__number",
    "started_at",
    "last_seen_at",
    "seconds",
    "pages_seen",
    "max_page",
    "downloaded",
)


def _contact_ids(subject: Subject) -> list[int]:
    # The contact and the duplicates merged into it (merging moves shares and views, but say so anyway).
    return [int(pk) for pk in subject.object_ids if str(pk).isdigit()] or [subject.contact.pk]


def _shares(subject: Subject) -> Iterator[dict]:
    rows = Share.objects.filter(contact_id__in=_contact_ids(subject)).order_by("id").values(*SHARE_FIELDS)
    for row in rows.iterator(chunk_size=CHUNK):
        yield {
            "id": row["id"],
            "asset": row["asset__title"],
            "asset_type": row["asset__asset_type"],
            "shared_by": row["shared_by__full_name"] or row["shared_by__email"],
            "deal": row["deal__name"],
            "channel": row["channel"],
            "shared_at": row["created_at"],
            "expires_at": row["expires_at"],
            "revoked_at": row["revoked_at"],
            "first_viewed_at": row["first_viewed_at"],
            "last_viewed_at": row["last_viewed_at"],
            "view_count": row["view_count"],
        }


def _views(subject: Subject) -> Iterator[dict]:
    rows = ShareView.objects.filter(contact_id__in=_contact_ids(subject)).order_by("id").values(*VIEW_FIELDS)
    for row in rows.iterator(chunk_size=CHUNK):
        yield {
            "share": row["share_id"],
            "asset": row["asset__title"],
            "version": row["version__number"],
            "started_at": row["started_at"],
            "last_seen_at": row["last_seen_at"],
            "seconds": row["seconds"],
            "pages_seen": row["pages_seen"],
            "max_page": row["max_page"],
            "downloaded": row["downloaded"],
        }


def export(subject: Subject) -> dict[str, Any]:
    return {"content_shares": _shares(subject), "content_views": _views(subject)}


def erase(erasure: Erasure) -> dict[str, int]:
    contact_ids = _contact_ids(erasure)
    views, _ = ShareView.objects.filter(contact_id__in=contact_ids).delete()
    shares = Share.objects.filter(contact_id__in=contact_ids)
    shares.filter(revoked_at__isnull=True).update(revoked_at=erasure.at)  # one revoked earlier keeps its date
    revoked = 0
    for pk in list(shares.values_list("pk", flat=True)):
        # One UPDATE per share: each gets its own new token (the column is unique).
        revoked += Share.objects.filter(pk=pk).update(
            token=new_share_token(), first_viewed_at=None, last_viewed_at=None, view_count=0
        )
    return {"delete_content_views": views, "revoke_content_shares": revoked}
