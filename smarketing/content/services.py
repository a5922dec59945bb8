"""Writes of the content library: assets, versions, the review, retiring; the messaging guide in guide.py and
sharing in sharing.py.

    asset = create_asset(actor, title=..., asset_type=..., upload=fileobj | url="https://...", reviewers=[...])
    add_version(asset, actor, upload=fileobj, note="New pricing")   # v2, a draft
    submit_for_review(asset, actor)                                   # the latest version → in review
    review(asset, reviewer, Review.Decision.APPROVED, "Looks good")   # → published_version, every link serves it

The published version (Asset.published_version) is the one share links serve; a newer version replaces it only
when approved, so until then sales keeps sending the approved one. Every write here checks content/access.py,
runs in one transaction with its audit entry, and locks the asset row (select_for_update) where two people could
race: two reviewers deciding at once, or a reviewer deciding while the owner uploads a new version. On SQLite every
write transaction is BEGIN IMMEDIATE (settings), which serializes them the same way.
"""

import logging
from datetime import date
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import is_person, is_system
from smarketing.accounts.models import Role, User
from smarketing.content import access, kinds, payloads
from smarketing.content.models import (
    Asset,
    AssetFunnelStage,
    AssetType,
    AssetVersion,
    Comment,
    Review,
    Status,
    VersionStatus,
)
from smarketing.core.audit import actor_user, record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin

logger = logging.getLogger(__name__)

# The fields create_asset and update_asset take, besides the tags (many-to-many) and the first version.
SIMPLE_FIELDS = ("title", "description", "asset_type", "industry", "language", "expires_on")
TAG_FIELDS = ("deal_stages", "personas", "products", "reviewers")
PENDING = (VersionStatus.DRAFT, VersionStatus.IN_REVIEW, VersionStatus.CHANGES_REQUESTED)


def move_on_contact_merge(primary_id: int, duplicate_id: int) -> None:
    """Shares and their views follow the surviving contact."""
    from smarketing.content.models import Share, ShareView

    Share.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)
    ShareView.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)


def asset_url(asset) -> str:
    return reverse("content:asset_detail", args=[asset.pk])


# -- validation ------------------------------------------------------------------------------------------------


def _funnel_codes(values) -> list[str]:
    from smarketing.crm.models import LIFECYCLE_ORDER

    allowed = [str(code) for code in LIFECYCLE_ORDER]
    codes = [str(v) for v in values or []]
    unknown = [c for c in codes if c not in allowed]
    if unknown:
        raise ValidationError({"funnel_stages": f"Unknown lifecycle stage: {', '.join(unknown)[:100]}."})
    return [c for c in allowed if c in codes]  # funnel order, no duplicates


def _reviewer_users(values) -> list[User]:
    users = list(values or [])
    ids = {getattr(u, "pk", u) for u in users}
    found = list(User.objects.filter(pk__in=ids, is_active=True).exclude(role=Role.READ_ONLY))
    if len(found) != len(ids):
        raise ValidationError({"reviewers": "Reviewers are active users who can edit (not read-only)."})
    return found


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    # http(s) only: a javascript: or data: URL shown as a link would run in the app's origin.
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > 1000:
        raise ValidationError({"url": "Give a web address starting with https:// (or http://)."})
    return url


def _clean_simple(values: dict, *, creating: bool) -> dict:
    errors = {}
    clean = {}
    for name in SIMPLE_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name in ("title", "description", "industry", "language"):
            value = " ".join(str(value or "").split()) if name != "description" else str(value or "").strip()
        clean[name] = value
    if "title" in clean and not clean["title"]:
        errors["title"] = "Give the asset a title."
    elif len(clean.get("title", "")) > 200:
        errors["title"] = "At most 200 characters."
    if creating and "asset_type" not in clean:
        errors["asset_type"] = "Choose what kind of asset it is."
    elif "asset_type" in clean and clean["asset_type"] not in AssetType.values:
        errors["asset_type"] = "Choose what kind of asset it is."
    if "language" in clean:
        clean["language"] = clean["language"].lower() or "en"
        if len(clean["language"]) > 10:
            errors["language"] = "A language code such as en, de or pt-br."
    if len(clean.get("industry", "")) > 100:
        errors["industry"] = "At most 100 characters."
    if len(clean.get("description", "")) > 5000:
        errors["description"] = "At most 5000 characters."
    expires_on = clean.get("expires_on")
    if expires_on is not None and not isinstance(expires_on, date):
        errors["expires_on"] = "Give a date."
    if errors:
        raise ValidationError(errors)
    return clean


def _check_owner(actor, owner) -> None:
    """Giving an asset to someone else is for who could edit it then: an admin, their manager, the system."""
    if owner is None or owner.pk == getattr(actor_user(actor), "pk", None):
        return
    if not owner.is_active or owner.role == Role.READ_ONLY:
        raise ValidationError({"owner": "The owner is an active user who can edit (not read-only)."})
    if not access.can_edit(actor, Asset(owner=owner)):
        raise PermissionDenied("Only an admin or the owner's manager can give an asset to someone else.")


def _check_self_approval(actor, value) -> None:
    if value and not access.can_allow_self_approval(actor):
        raise PermissionDenied("Only an admin can let an owner approve their own asset.")


def _set_tags(asset, tags: dict) -> None:
    for name in ("deal_stages", "personas", "products"):
        if name in tags:
            getattr(asset, name).set(list(tags[name] or []))
    if "reviewers" in tags:
        asset.reviewers.set(tags["reviewers"])
    if "funnel_stages" in tags:
        codes = tags["funnel_stages"]
        AssetFunnelStage.objects.filter(asset=asset).exclude(lifecycle_stage__in=codes).delete()
        have = set(AssetFunnelStage.objects.filter(asset=asset).values_list("lifecycle_stage", flat=True))
        AssetFunnelStage.objects.bulk_create(
            [AssetFunnelStage(asset=asset, lifecycle_stage=c) for c in codes if c not in have]
        )


def _tag_ids(asset) -> dict:
    return {
        "deal_stages": sorted(asset.deal_stages.values_list("pk", flat=True)),
        "personas": sorted(asset.personas.values_list("pk", flat=True)),
        "products": sorted(asset.products.values_list("pk", flat=True)),
        "reviewers": sorted(asset.reviewers.values_list("pk", flat=True)),
        "funnel_stages": list(asset.funnel_stages.values_list("lifecycle_stage", flat=True).order_by("id")),
    }


def _clean_tags(fields: dict) -> dict:
    tags = {}
    for name in ("deal_stages", "personas", "products"):
        if name in fields:
            tags[name] = list(fields[name] or [])
    if "reviewers" in fields:
        tags["reviewers"] = _reviewer_users(fields["reviewers"])
    if "funnel_stages" in fields:
        tags["funnel_stages"] = _funnel_codes(fields["funnel_stages"])
    return tags


# -- versions --------------------------------------------------------------------------------------------------


def _store(upload):
    """The upload in the content storage (outside any transaction: streaming a large file must not hold locks)."""
    from smarketing.content import files

    name = getattr(upload, "name", "") or "upload"
    try:
        return files.store_upload(upload, name)
    except files.UploadRefused as exc:
        raise ValidationError({"upload": str(exc)}) from None


def _discard(stored) -> None:
    """A stored file whose rows were rolled back: removed, so no orphan stays in the storage."""
    if stored is None:
        return
    from smarketing.content import files

    try:
        files.delete_file(stored.name)
    except Exception:  # the original error matters more; an orphan file is only disk space
        logger.exception("content: could not delete orphan file %s", stored.name)


def _after_store(version_id: int) -> None:
    """The files helper's follow-up (a thumbnail, the page count), after the commit and never failing the upload."""
    try:
        from smarketing.content import previews
    except ImportError:
        return
    hook = getattr(previews, "after_store", None)
    if hook is None:
        return
    version = AssetVersion.objects.select_related("asset").filter(pk=version_id).first()
    if version is None:
        return
    try:
        hook(version)
    except Exception:  # a preview is a nicety: the version is saved and served without it
        logger.exception("content: preview of version %s failed", version_id)


def _source(upload, url: str):
    """(stored file or None, clean url): exactly one of them."""
    url = _clean_url(url)
    if upload is not None and url:
        raise ValidationError({"url": "Upload a file or give a web address, not both."})
    if upload is None and not url:
        raise ValidationError({"upload": "Upload a file or give a web address."})
    return (_store(upload) if upload is not None else None), url


def _write_version(asset, actor, *, stored, url: str, note: str, number: int) -> AssetVersion:
    fields = {"url": url}
    if stored is not None:
        fields = {
            "file_name": stored.name,
            "original_name": stored.original_name[:255],
            "mime_type": stored.mime_type[:100],
            "size": stored.size,
            "sha256": stored.sha256,
            "page_count": stored.page_count,
        }
    version = AssetVersion.objects.create(
        asset=asset,
        number=number,
        status=VersionStatus.DRAFT,
        note=(note or "").strip()[:500],
        created_by=actor_user(actor),
        **fields,
    )
    if stored is not None:
        transaction.on_commit(lambda: _after_store(version.pk))
    return version


# -- assets ----------------------------------------------------------------------------------------------------


def create_asset(
    actor,
    *,
    upload=None,
    url: str = "",
    note: str = "",
    owner: User | None = None,
    allow_self_approval: bool = False,
    origin: str = Origin.UI,
    **fields,
) -> Asset:
    """A new asset (a draft) with its version 1: a file (`upload`, a file object with a name) or a `url`.

    `fields`: title, asset_type, description, industry, language, expires_on, and the tags deal_stages,
    personas, products (model instances or ids), funnel_stages (lifecycle codes), reviewers (users or ids).
    """
    access.require_create(actor)
    unknown = set(fields) - set(SIMPLE_FIELDS) - set(TAG_FIELDS) - {"funnel_stages"}
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    owner = owner or actor_user(actor)
    if owner is None:
        raise ValidationError({"owner": "An asset needs an owner."})
    _check_owner(actor, owner)
    _check_self_approval(actor, allow_self_approval)
    simple = _clean_simple(fields, creating=True)
    tags = _clean_tags(fields)
    stored, url = _source(upload, url)
    now = timezone.now()
    try:
        with transaction.atomic():
            asset = Asset.objects.create(
                owner=owner,
                allow_self_approval=bool(allow_self_approval),
                status=Status.DRAFT,
                created_at=now,
                updated_at=now,
                **simple,
            )
            _set_tags(asset, tags)
            version = _write_version(asset, actor, stored=stored, url=url, note=note, number=1)
            record_audit(
                actor=actor,
                action="create",
                obj=asset,
                origin=origin,
                changes={"version": (None, version.number)},
            )
    except BaseException:
        _discard(stored)
        raise
    return asset


def update_asset(asset, actor, *, origin: str = Origin.UI, **fields) -> Asset:
    """Change an asset's description and tags (not its file: that is add_version). A new expiry date gets its own
    reminder. `owner` and `allow_self_approval` follow their own rules (see _check_owner, an admin only)."""
    access.require_edit(actor, asset)
    allowed = set(SIMPLE_FIELDS) | set(TAG_FIELDS) | {"funnel_stages", "owner", "allow_self_approval"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    simple = _clean_simple(fields, creating=False)
    tags = _clean_tags(fields)
    with transaction.atomic():
        asset = Asset.objects.select_for_update().select_related("owner").get(pk=asset.pk)
        changes = {}
        if "owner" in fields and fields["owner"] is not None and fields["owner"].pk != asset.owner_id:
            _check_owner(actor, fields["owner"])
            changes["owner"] = (asset.owner_id, fields["owner"].pk)
            asset.owner = fields["owner"]
        if "allow_self_approval" in fields and bool(fields["allow_self_approval"]) != asset.allow_self_approval:
            # Switching it on or off is an admin's decision either way.
            if not access.can_allow_self_approval(actor):
                raise PermissionDenied("Only an admin can let an owner approve their own asset.")
            changes["allow_self_approval"] = (asset.allow_self_approval, bool(fields["allow_self_approval"]))
            asset.allow_self_approval = bool(fields["allow_self_approval"])
        for name, value in simple.items():
            old = getattr(asset, name)
            if old != value:
                changes[name] = (old.isoformat() if isinstance(old, date) else old, value)
                setattr(asset, name, value)
        if "expires_on" in changes:
            asset.expiry_reminded_at = None  # the new date is reminded of a week before it
        before = _tag_ids(asset) if tags else {}
        _set_tags(asset, tags)
        if tags:
            after = _tag_ids(asset)
            changes.update({name: (before[name], after[name]) for name in tags if before[name] != after[name]})
        if not changes:
            return asset
        asset.updated_at = timezone.now()
        asset.save()
        record_audit(actor=actor, action="update", obj=asset, origin=origin, changes=changes)
    return asset


def add_version(asset, actor, *, upload=None, url: str = "", note: str = "", origin: str = Origin.UI) -> AssetVersion:
    """A new version (number = the highest + 1), a draft: the published one keeps being served until this one is
    approved. A version still waiting for review goes back to draft: reviewers decide on the newest only."""
    access.require_edit(actor, asset)
    if asset.status == Status.RETIRED:
        raise ValidationError("This asset is retired: restore it before uploading a new version.")
    stored, url = _source(upload, url)
    try:
        with transaction.atomic():
            # The asset's row lock numbers versions one at a time (the unique constraint is the backstop) and keeps
            # a reviewer from approving the version this one replaces while it is being written.
            asset = Asset.objects.select_for_update().get(pk=asset.pk)
            if asset.status == Status.RETIRED:
                raise ValidationError("This asset is retired: restore it before uploading a new version.")
            number = (asset.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            withdrawn = asset.versions.filter(status=VersionStatus.IN_REVIEW).update(status=VersionStatus.DRAFT)
            version = _write_version(asset, actor, stored=stored, url=url, note=note, number=number)
            fields = ["updated_at"]
            if withdrawn and asset.status == Status.IN_REVIEW:
                asset.status = Status.DRAFT  # nothing is in review any more until the new version is submitted
                fields.append("status")
            asset.updated_at = timezone.now()
            asset.save(update_fields=fields)
            record_audit(
                actor=actor,
                action="version_add",
                obj=asset,
                origin=origin,
                changes={"version": (number - 1, number)},
            )
    except BaseException:
        _discard(stored)
        raise
    return version


def latest_version(asset) -> AssetVersion | None:
    return asset.versions.order_by("-number").first()


def _reviewers_to_ask(asset) -> list[User]:
    """The named reviewers; with none, the admins (someone must be able to decide)."""
    reviewers = list(asset.reviewers.filter(is_active=True))
    if reviewers:
        return reviewers
    return list(User.objects.filter(is_active=True, role=Role.ADMIN).order_by("id")[:20])


def submit_for_review(asset, actor, *, origin: str = Origin.UI) -> AssetVersion:
    """The latest version goes to its reviewers (notified). The asset reads "in review" unless it already has a
    published version: then it stays approved and shareable, and the pending version shows as in review."""
    from smarketing.notifications.services import notify

    access.require_edit(actor, asset)
    with transaction.atomic():
        asset = Asset.objects.select_for_update().select_related("owner").get(pk=asset.pk)
        if asset.status == Status.RETIRED:
            raise ValidationError("This asset is retired: restore it first.")
        version = latest_version(asset)
        if version is None or version.status not in (VersionStatus.DRAFT, VersionStatus.CHANGES_REQUESTED):
            raise ValidationError("There is no new version to submit: upload one first.")
        version.status = VersionStatus.IN_REVIEW
        version.save(update_fields=["status"])
        if asset.published_version_id is None:
            asset.status = Status.IN_REVIEW
        asset.updated_at = timezone.now()
        asset.save(update_fields=["status", "updated_at"])
        record_audit(
            actor=actor, action="submit", obj=asset, origin=origin, changes={"version": (None, version.number)}
        )
        publish(
            "asset.submitted", asset, payloads.asset_submitted(asset, version, getattr(actor_user(actor), "pk", None))
        )
        for reviewer in _reviewers_to_ask(asset):
            if reviewer.pk == asset.owner_id and not asset.allow_self_approval:
                continue
            notify(
                reviewer,
                kind=kinds.NOTIFY_REVIEW,
                title=f"Please review “{asset.title}” (version {version.number})"[:200],
                body=version.note,
                url=asset_url(asset),
                actor=actor,
                about=asset,
            )
    return version


def can_review(user, asset, reviewer_ids: set[int] | None = None) -> bool:
    return access.can_review(user, asset, reviewer_ids)


def _require_review(user, asset) -> None:
    access.require_review(user, asset)  # raises with the message that fits (own asset, or not a reviewer)


def review(asset, actor, decision: str, comment: str = "", *, origin: str = Origin.UI) -> Review:
    """A reviewer's decision on the version waiting for review: approve (it becomes the published version, the
    previous one superseded) or request changes (a comment saying what). Only a named reviewer or an admin, and
    never the owner unless an admin allowed it (access.require_review)."""
    from smarketing.notifications.services import notify

    if decision not in Review.Decision.values:
        raise ValidationError({"decision": "Approve or request changes."})
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationError({"comment": "At most 2000 characters."})
    if decision == Review.Decision.CHANGES_REQUESTED and not comment:
        raise ValidationError({"comment": "Say what should change."})
    now = timezone.now()
    with transaction.atomic():
        # Locked before anything is read: of two reviewers deciding at once the second waits, then finds no version
        # in review any more and is told so instead of approving it twice (or approving what was sent back).
        asset = Asset.objects.select_for_update().select_related("owner").get(pk=asset.pk)
        _require_review(actor, asset)
        if asset.status == Status.RETIRED:
            raise ValidationError("This asset is retired: restore it before deciding on a version.")
        version = asset.versions.filter(status=VersionStatus.IN_REVIEW).order_by("-number").first()
        if version is None:
            raise ValidationError("Nothing is waiting for review: someone may have just decided.")
        reviewer = actor_user(actor)
        row = Review.objects.create(
            asset=asset, version=version, reviewer=reviewer, decision=decision, comment=comment, decided_at=now
        )
        if decision == Review.Decision.APPROVED:
            previous = asset.published_version_id
            if previous:
                AssetVersion.objects.filter(pk=previous).update(status=VersionStatus.SUPERSEDED)
            version.status, version.approved_at = VersionStatus.APPROVED, now
            version.save(update_fields=["status", "approved_at"])
            asset.published_version = version
            asset.status = Status.APPROVED
            asset.approved_at, asset.approved_by = now, reviewer
            asset.updated_at = now
            asset.save(update_fields=["published_version", "status", "approved_at", "approved_by", "updated_at"])
            record_audit(
                actor=actor,
                action="approve",
                obj=asset,
                origin=origin,
                changes={"published_version": (previous, version.pk)},
            )
            publish("asset.approved", asset, payloads.asset_approved(asset, version, previous))
            title = f"“{asset.title}” version {version.number} was approved"
        else:
            version.status = VersionStatus.CHANGES_REQUESTED
            version.save(update_fields=["status"])
            if asset.published_version_id is None and asset.status == Status.IN_REVIEW:
                asset.status = Status.DRAFT
            asset.updated_at = now
            asset.save(update_fields=["status", "updated_at"])
            record_audit(
                actor=actor,
                action="request_changes",
                obj=asset,
                origin=origin,
                changes={"version": (version.number, version.number)},
            )
            title = f"Changes requested on “{asset.title}” version {version.number}"
        notify(asset.owner, kind=kinds.NOTIFY_DECIDED, title=title[:200], body=comment[:500], url=asset_url(asset),
               actor=actor, about=asset)  # fmt: skip
    return row


def retire(asset, actor, *, origin: str = Origin.UI) -> Asset:
    """Take an asset out of use: its share links stop serving it (sharing checks Asset.shareable), it leaves the
    stage panels. Retiring twice changes nothing."""
    access.require_edit(actor, asset)
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset.pk)
        if asset.status == Status.RETIRED:
            return asset
        previous = asset.status
        now = timezone.now()
        asset.status, asset.retired_at, asset.updated_at = Status.RETIRED, now, now
        asset.save(update_fields=["status", "retired_at", "updated_at"])
        record_audit(
            actor=actor, action="retire", obj=asset, origin=origin, changes={"status": (previous, asset.status)}
        )
        publish("asset.retired", asset, payloads.asset_retired(asset))
    return asset


def restore(asset, actor, *, origin: str = Origin.UI) -> Asset:
    """Back from retirement: approved (and shareable again) when it has a published version, else in review or
    draft as its latest version is."""
    access.require_edit(actor, asset)
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset.pk)
        if asset.status != Status.RETIRED:
            return asset
        if asset.published_version_id:
            status = Status.APPROVED
        elif asset.versions.filter(status=VersionStatus.IN_REVIEW).exists():
            status = Status.IN_REVIEW
        else:
            status = Status.DRAFT
        asset.status, asset.retired_at, asset.updated_at = status, None, timezone.now()
        # A date that passed while it was retired would never be reminded of again: a fresh reminder.
        asset.expiry_reminded_at = None
        asset.save(update_fields=["status", "retired_at", "updated_at", "expiry_reminded_at"])
        record_audit(
            actor=actor, action="restore", obj=asset, origin=origin, changes={"status": (Status.RETIRED, status)}
        )
    return asset


def can_comment(user) -> bool:
    return is_system(user) or (is_person(user) and access.can_create(user))


def add_comment(asset, actor, body: str, *, origin: str = Origin.UI) -> Comment:
    """A comment in the asset's review thread: anyone who can add content (not read-only users)."""
    if not can_comment(actor):
        raise PermissionDenied("Read-only users cannot comment.")
    body = (body or "").strip().replace("\x00", "")
    if not body:
        raise ValidationError({"body": "Write a comment first."})
    if len(body) > 4000:
        raise ValidationError({"body": "At most 4000 characters."})
    with transaction.atomic():
        comment = Comment.objects.create(asset=asset, author=actor_user(actor), body=body)
        record_audit(actor=actor, action="comment", obj=asset, origin=origin, changes={"comment": (None, comment.pk)})
    return comment
