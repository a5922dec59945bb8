"""Tracked sharing: a rep's personal link to an approved asset for one contact, and what the contact does with it.

    share = share_asset(asset, contact, actor, deal=None, expires_at=None, channel="link")
    share, touch = share_by_email(asset, contact, actor, deal=None, expires_at=None, message="")
    revoke(share, actor)
    share = live_share(token)                  # the public viewer's lookup: None for anything that doesn't work
    view = record_open(share)                  # an opening: a ShareView, a touch, asset.viewed, the first-view note
    record_heartbeat(view, seconds, pages=[...])   # the viewer's beats: time and pages, capped
    view = record_download(view or share)      # one content_downloaded touch per opening

The link serves the asset's *published* version at the time it is opened, so an old link shows the newest
approved version. The public side of all this is views_public.py; it calls these functions as the contact (no
actor): the only check on that side is the token.
"""

import secrets
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.urls import reverse
from django.utils import timezone

from smarketing.content import access, kinds, labels_sharing, payloads_sharing  # noqa: F401 (labels: declared)
from smarketing.content.models import Asset, Share, ShareView, Status
from smarketing.core.audit import actor_user, record_audit
from smarketing.core.events import publish
from smarketing.crm import access as crm_access
from smarketing.crm.models import DealContact
from smarketing.timeline.services import record_touch

# The viewer beats every 15 s while its tab is visible. A beat is credited at most MAX_BEAT_SECONDS (a late one
# may carry a little more than 15 s) and never more than the wall time since the previous beat plus some slack,
# so a replayed or hurried beacon adds nothing; an opening is credited at most MAX_VIEW_SECONDS in all.
MAX_BEAT_SECONDS = 30
BEAT_SLACK_SECONDS = 5
MAX_VIEW_SECONDS = 4 * 3600
# A view key is accepted this long after the opening (a tab left open overnight stops counting).
VIEW_KEY_MAX_AGE = 12 * 3600
# Salts per purpose: a key signed for the beacon is no download key, and neither is any other signed value.
BEACON_SALT = "smarketing.content.sharing.beacon"
DOWNLOAD_SALT = "smarketing.content.sharing.download"

NOT_SHAREABLE = "Only approved assets with a published version can be shared."
RETIRED = "This asset is retired: it can no longer be shared."


def share_url(share: Share) -> str:
    """The link the contact gets (absolute, on SMARKETING_BASE_URL)."""
    return settings.SMARKETING_BASE_URL + reverse("content_public:view", args=[share.token])


def _clean_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if timezone.is_naive(expires_at):
        raise ValidationError({"expires_at": "Give the expiry with its time zone."})
    if expires_at <= now:
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    return expires_at


def share_asset(asset: Asset, contact, actor, *, deal=None, expires_at=None, channel: str = Share.Channel.LINK):
    """A new tracked link to `asset` for `contact` (about `deal`): a content_shared touch, asset.shared, audited.

    Only an approved asset with a published version is shared: a draft, one in review or a retired one is
    refused with a sentence saying why (ValidationError); a read-only user is refused (PermissionDenied)."""
    access.require_share(actor)
    crm_access.require(actor, "view", contact)
    if deal is not None:
        crm_access.require(actor, "view", deal)
        # The share counts towards the deal's influence: the contact must be one of the deal's people.
        if not DealContact.objects.filter(deal_id=deal.pk, contact_id=contact.pk).exists():
            raise ValidationError({"deal": f"{contact} is not a contact of the deal “{deal.name}”."})
    if channel not in Share.Channel.values:
        raise ValidationError({"channel": "Share as a link or a logged email."})
    now = timezone.now()
    expires_at = _clean_expiry(expires_at, now)
    with transaction.atomic():
        # Locked: a retire or a new approval running now cannot slip between the check and the share.
        asset = Asset.objects.select_for_update(of=("self",)).select_related("published_version").get(pk=asset.pk)
        if asset.status == Status.RETIRED:
            raise ValidationError(RETIRED)
        if not asset.shareable:
            raise ValidationError(NOT_SHAREABLE)
        version = asset.published_version
        share = Share.objects.create(
            asset=asset,
            contact=contact,
            deal=deal,
            shared_by=actor_user(actor),  # a system actor: the person it acts for, or none
            channel=channel,
            created_at=now,
            expires_at=expires_at,
        )
        record_touch(
            kind=kinds.CONTENT_SHARED,
            contact=contact,
            deal=deal,
            actor=actor,
            source="content",
            summary=payloads_sharing.shared_summary(asset.title),
            details=payloads_sharing.touch_details(share, version),
            occurred_at=now,
        )
        publish("asset.shared", asset, payloads_sharing.shared(share, version))
        record_audit(actor=actor, action="share", obj=share, object_repr=f"“{asset.title}” shared with {contact}")
    return share


def share_by_email(asset: Asset, contact, actor, *, deal=None, expires_at=None, message: str = ""):
    """ "Log as sales email": a share on the email channel and an `email_logged` activity on the contact whose body
    holds the link (and the rep's words), in one transaction. Returns (share, touch)."""
    from smarketing.crm import services as crm_services

    with transaction.atomic():
        share = share_asset(asset, contact, actor, deal=deal, expires_at=expires_at, channel=Share.Channel.EMAIL)
        parts = ((message or "").strip()[:5000], f"{asset.title}: {share_url(share)}")
        body = "\n\n".join(part for part in parts if part)
        touch = crm_services.log_activity(
            contact, kind="email", summary=f"Sent “{asset.title}”"[:300], body=body, actor=actor
        )
    return share, touch


def revoke(share: Share, actor) -> Share:
    """Stop a link working (its sharer, their team's manager, an admin). Revoking twice changes nothing."""
    access.require_edit(actor, share)
    now = timezone.now()
    with transaction.atomic():
        revoked = Share.objects.filter(pk=share.pk, revoked_at__isnull=True).update(revoked_at=now)
        if revoked:
            record_audit(
                actor=actor,
                action="revoke",
                obj=share,
                changes={"revoked_at": (None, now)},
                object_repr=f"Share of “{share.asset}” with {share.contact}",
            )
    share.refresh_from_db(fields=["revoked_at"])
    return share


# -- the public side: the contact, identified by the token only ------------------------------------------------


def live_share(token: str) -> Share | None:
    """The share behind a link, if the link works: known, not revoked, not expired, its asset not retired and
    published. One lookup on the unique index; every failure is the same None (the viewer's one 404)."""
    if not token or len(token) > 64:
        return None
    share = Share.objects.select_related("asset__published_version", "contact", "shared_by").filter(token=token).first()
    if share is None or not share.is_live():
        return None
    asset = share.asset
    # Not asset.shareable: a new version in review must not break the links already sent (the published one
    # keeps being served); only retiring the asset, or it having no published version, stops them.
    if asset.status in (Status.RETIRED, Status.DRAFT) or asset.published_version is None:
        return None
    return share


def sign_view(view: ShareView, salt: str = BEACON_SALT) -> str:
    """The key the viewer sends back: the share and the opening, signed for one purpose."""
    return signing.dumps([view.share_id, view.view_key], salt=salt, compress=False)


def view_for_key(share: Share, signed: str, salt: str = BEACON_SALT) -> ShareView | None:
    """The opening a signed key names, if the signature is good, recent, for this purpose and for this share."""
    if not isinstance(signed, str) or not signed or len(signed) > 300:
        return None
    try:
        share_id, view_key = signing.loads(signed, salt=salt, max_age=VIEW_KEY_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if share_id != share.pk or not isinstance(view_key, str):
        return None
    view = ShareView.objects.filter(view_key=view_key, share_id=share.pk).select_related("version").first()
    if view is not None:
        view.share = share  # the caller's, with its asset and contact loaded
    return view


def record_open(share: Share, *, now: datetime | None = None) -> ShareView:
    """The contact opened the link: a ShareView of the published version, a content_viewed touch on the contact
    (and the deal), asset.viewed, and on the share's first opening one notification to the rep."""
    now = now or timezone.now()
    asset = share.asset
    version = asset.published_version
    with transaction.atomic():
        view = ShareView.objects.create(
            share=share,
            asset=asset,
            contact_id=share.contact_id,
            version=version,
            view_key=secrets.token_urlsafe(24),
            started_at=now,
            last_seen_at=now,
        )
        # The counter goes up in the database (F), not from what this process read: concurrent openings all count.
        Share.objects.filter(pk=share.pk).update(view_count=F("view_count") + 1, last_viewed_at=now)
        # Conditional UPDATE: of two first openings at once, exactly one sets first_viewed_at (the other's WHERE
        # no longer matches once the row lock of the UPDATE above is released), so the rep is notified once.
        first = Share.objects.filter(pk=share.pk, first_viewed_at__isnull=True).update(first_viewed_at=now) == 1
        record_touch(
            kind=kinds.CONTENT_VIEWED,
            contact=share.contact,
            deal=share.deal_id,
            actor=None,
            source="share_link",
            summary=payloads_sharing.viewed_summary(asset.title, version.number if version else None),
            details=payloads_sharing.touch_details(share, version, view),
            occurred_at=now,
        )
        publish("asset.viewed", asset, payloads_sharing.viewed(view, share, first=first))
        if first and share.shared_by_id is not None:
            _notify_first_view(share)
    return view


def _notify_first_view(share: Share) -> None:
    from smarketing.notifications.services import notify

    notify(
        share.shared_by,
        kind=kinds.NOTIFY_FIRST_VIEW,
        title=f"{share.contact} opened “{share.asset.title}”",
        body="The first opening of the link you shared. Shared links shows how long they spent on it.",
        url=reverse("contact_detail", args=[share.contact_id]),
        actor=None,
        about=share,
    )


def page_count(version) -> int:
    """The pages the viewer shows (and beacons may name): a PDF's count, 1 for anything else."""
    if version is None:
        return 1
    return max(1, version.page_count or 1)


def record_heartbeat(
    view: ShareView, seconds: int, *, page: int | None = None, pages=(), now: datetime | None = None
) -> None:
    """A viewer's beat: `seconds` of visible time since its last beat and the pages seen since. Time is capped
    per beat and per opening; pages outside the version's are dropped (the beacon refuses them before)."""
    now = now or timezone.now()
    last = page_count(view.version) if view.version_id else 1
    seen = {p for p in [*pages, page] if isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= last}
    with transaction.atomic():
        # Locked: pages_seen is merged in Python (a JSON list has no portable set-based union), and two beats of
        # one opening at once must not lose each other's pages.
        current = ShareView.objects.select_for_update().only("pages_seen", "last_seen_at").get(pk=view.pk)
        elapsed = max(0, int((now - current.last_seen_at).total_seconds()))
        credit = max(0, min(int(seconds), MAX_BEAT_SECONDS, elapsed + BEAT_SLACK_SECONDS))
        merged = sorted(set(current.pages_seen or []) | seen)
        ShareView.objects.filter(pk=view.pk).update(
            seconds=Least(F("seconds") + credit, MAX_VIEW_SECONDS),
            last_seen_at=now,
            pages_seen=merged,
            max_page=Greatest(F("max_page"), max(seen, default=0)),
        )


def record_download(target: ShareView | Share, *, now: datetime | None = None) -> ShareView:
    """The contact downloaded the file: one content_downloaded touch per opening. Given a share (a download
    straight from the link, without the viewer's key), it is a new opening first."""
    now = now or timezone.now()
    view = target if isinstance(target, ShareView) else record_open(target, now=now)
    share = view.share
    with transaction.atomic():
        # Conditional UPDATE: a double click, or two tabs, still make one touch.
        if not ShareView.objects.filter(pk=view.pk, downloaded=False).update(downloaded=True):
            return view
        version = share.asset.published_version
        record_touch(
            kind=kinds.CONTENT_DOWNLOADED,
            contact=share.contact,
            deal=share.deal_id,
            actor=None,
            source="share_link",
            summary=payloads_sharing.downloaded_summary(share.asset.title, version.number if version else None),
            details=payloads_sharing.touch_details(share, version, view),
            occurred_at=now,
        )
    view.downloaded = True
    return view
