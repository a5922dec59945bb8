"""Writes of the messaging guide: value propositions, key messages, talking points, objection handling and
competitor notes, each versioned (MessageRevision) and approved like an asset.

    message = create_message(actor, kind="objection", title="Too expensive", body="...", personas=[cfo])  # rev 1
    update_message(message, actor, body="...")            # rev 2
    submit_message(message, actor)                         # → in review, reviewers notified
    review_message(message, reviewer, Review.Decision.APPROVED)   # → approved_revision = rev 2, message.approved

Sales only ever sees an approved message's *approved revision*: editing an approved message writes a new
revision that waits for approval (the message stays approved and keeps showing the approved text), exactly as a
new asset version waits while the published one is served. A message that was never approved goes draft → in
review → approved; an edit while it is in review sends it back to draft (reviewers decide on what was
submitted). Tags (personas, stages, products) are not versioned: they change at once.

Every write checks content/access.py, runs in one transaction with its audit entry, and locks the message row
where two people could race (two reviewers deciding, a reviewer deciding while the owner edits).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import is_person, is_system
from smarketing.accounts.models import Role, User
from smarketing.content import access, kinds, labels_guide, payloads_guide  # noqa: F401 (labels: declared)
from smarketing.content.models import (
    Comment,
    Message,
    MessageKind,
    MessageRevision,
    Persona,
    Product,
    Review,
    Status,
)
from smarketing.core.audit import actor_user, record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin

TEXT_FIELDS = ("title", "body")
SIMPLE_FIELDS = ("kind", "competitor", "position")
TAG_FIELDS = ("personas", "deal_stages", "products", "reviewers", "lifecycle_stages")
MAX_TITLE = 200
MAX_BODY = 5000


def message_url(message) -> str:
    return reverse("content:message_detail", args=[message.pk])


def latest_revision(message) -> MessageRevision | None:
    return message.revisions.order_by("-number").first()


def has_pending(message, latest_id: int | None = None) -> bool:
    """An approved message with a newer revision than the approved one: sales sees the approved text meanwhile."""
    if message.status != Status.APPROVED or message.approved_revision_id is None:
        return False
    if latest_id is None:
        latest = latest_revision(message)
        latest_id = latest.pk if latest else None
    return latest_id is not None and latest_id != message.approved_revision_id


# -- validation ------------------------------------------------------------------------------------------------


def _clean_text(fields: dict, *, creating: bool) -> dict:
    errors, clean = {}, {}
    if "title" in fields or creating:
        title = " ".join(str(fields.get("title") or "").split())
        if not title:
            errors["title"] = "Give the message a title: the headline, the objection or the competitor."
        elif len(title) > MAX_TITLE:
            errors["title"] = f"At most {MAX_TITLE} characters."
        clean["title"] = title
    if "body" in fields or creating:
        body = str(fields.get("body") or "").replace("\x00", "").replace("\r\n", "\n").strip()
        if not body:
            errors["body"] = "Write what to say."
        elif len(body) > MAX_BODY:
            errors["body"] = f"At most {MAX_BODY} characters."
        clean["body"] = body
    if errors:
        raise ValidationError(errors)
    return clean


def _clean_simple(fields: dict, *, creating: bool) -> dict:
    errors, clean = {}, {}
    if "kind" in fields or creating:
        if fields.get("kind") not in MessageKind.values:
            errors["kind"] = "Choose what kind of message it is."
        clean["kind"] = fields.get("kind")
    if "competitor" in fields:
        competitor = " ".join(str(fields["competitor"] or "").split())
        if len(competitor) > 100:
            errors["competitor"] = "At most 100 characters."
        clean["competitor"] = competitor
    if "position" in fields:
        try:
            position = int(fields["position"] or 0)
        except (TypeError, ValueError):
            position = -1
        if not 0 <= position <= 32767:
            errors["position"] = "A whole number from 0 to 32767."
        clean["position"] = position
    if errors:
        raise ValidationError(errors)
    return clean


def _ids(values) -> set[int]:
    try:
        return {int(getattr(v, "pk", v)) for v in values or []}
    except (TypeError, ValueError):
        return {-1}


def _clean_tags(fields: dict) -> dict:
    from smarketing.crm.models import LIFECYCLE_ORDER, Stage

    errors, tags = {}, {}
    for name, model, words in (
        ("personas", Persona, "personas"),
        ("products", Product, "products"),
        ("deal_stages", Stage, "deal stages"),
    ):
        if name in fields:
            ids = _ids(fields[name])
            if ids and model.objects.filter(pk__in=ids).count() != len(ids):
                errors[name] = f"Choose from the {words} offered."
            tags[name] = sorted(ids)
    if "reviewers" in fields:
        ids = _ids(fields["reviewers"])
        found = list(User.objects.filter(pk__in=ids, is_active=True).exclude(role=Role.READ_ONLY))
        if len(found) != len(ids):
            errors["reviewers"] = "Reviewers are active users who can edit (not read-only)."
        tags["reviewers"] = found
    if "lifecycle_stages" in fields:
        allowed = [str(code) for code in LIFECYCLE_ORDER]
        codes = [str(c) for c in fields["lifecycle_stages"] or []]
        if any(c not in allowed for c in codes):
            errors["lifecycle_stages"] = "Choose from the lifecycle stages offered."
        tags["lifecycle_stages"] = [c for c in allowed if c in codes]  # funnel order, no duplicates
    if errors:
        raise ValidationError(errors)
    return tags


def _tag_ids(message) -> dict:
    return {
        "personas": sorted(message.personas.values_list("pk", flat=True)),
        "products": sorted(message.products.values_list("pk", flat=True)),
        "deal_stages": sorted(message.deal_stages.values_list("pk", flat=True)),
        "reviewers": sorted(message.reviewers.values_list("pk", flat=True)),
        "lifecycle_stages": list(message.lifecycle_stages or []),
    }


def _set_tags(message, tags: dict) -> None:
    for name in ("personas", "products", "deal_stages", "reviewers"):
        if name in tags:
            getattr(message, name).set(tags[name])
    if "lifecycle_stages" in tags:
        message.lifecycle_stages = tags["lifecycle_stages"]


def _check_unknown(fields: dict, allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})


def _revise(message, actor, text: dict, now) -> MessageRevision:
    number = (message.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    return MessageRevision.objects.create(
        message=message,
        number=number,
        title=text["title"],
        body=text["body"],
        created_by=actor_user(actor),
        created_at=now,
    )


# -- the writes ------------------------------------------------------------------------------------------------


def create_message(
    actor, *, owner: User | None = None, allow_self_approval: bool = False, origin: str = Origin.UI, **fields
) -> Message:
    """A new message (a draft) with its revision 1.

    `fields`: kind, title, body, competitor, position, and the tags personas, deal_stages, products (instances
    or ids), lifecycle_stages (lifecycle codes), reviewers (users or ids).
    """
    access.require_create(actor)
    _check_unknown(fields, set(TEXT_FIELDS) | set(SIMPLE_FIELDS) | set(TAG_FIELDS))
    owner = owner or actor_user(actor)
    if owner is None:
        raise ValidationError({"owner": "A message needs an owner."})
    if owner.pk != getattr(actor_user(actor), "pk", None) and not access.can_edit(actor, Message(owner=owner)):
        raise PermissionDenied("Only an admin or the owner's manager can give a message to someone else.")
    if allow_self_approval and not access.can_allow_self_approval(actor):
        raise PermissionDenied("Only an admin can let an owner approve their own message.")
    text = _clean_text(fields, creating=True)
    simple = _clean_simple(fields, creating=True)
    tags = _clean_tags(fields)
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            owner=owner,
            status=Status.DRAFT,
            allow_self_approval=bool(allow_self_approval),
            lifecycle_stages=tags.get("lifecycle_stages", []),
            created_at=now,
            updated_at=now,
            **text,
            **simple,
        )
        _set_tags(message, tags)
        revision = _revise(message, actor, text, now)
        record_audit(actor=actor, action="create", obj=message, origin=origin, changes={"revision": (None, 1)})
    message.latest = revision
    return message


def update_message(message, actor, *, origin: str = Origin.UI, **fields) -> Message:
    """Change a message: a new title or body is a new revision (nothing new when the text is the same); tags,
    kind and position change at once. On an approved message the new revision waits for approval."""
    access.require_edit(actor, message)
    _check_unknown(fields, set(TEXT_FIELDS) | set(SIMPLE_FIELDS) | set(TAG_FIELDS) | {"allow_self_approval"})
    text = _clean_text(fields, creating=False)
    simple = _clean_simple(fields, creating=False)
    tags = _clean_tags(fields)
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.status == Status.RETIRED:
            raise ValidationError("This message is retired: it can no longer be changed.")
        changes = {}
        if "allow_self_approval" in fields and bool(fields["allow_self_approval"]) != message.allow_self_approval:
            if not access.can_allow_self_approval(actor):
                raise PermissionDenied("Only an admin can let an owner approve their own message.")
            changes["allow_self_approval"] = (message.allow_self_approval, bool(fields["allow_self_approval"]))
            message.allow_self_approval = bool(fields["allow_self_approval"])
        new_text = {name: text.get(name, getattr(message, name)) for name in TEXT_FIELDS}
        revision = None
        if any(new_text[name] != getattr(message, name) for name in TEXT_FIELDS):
            revision = _revise(message, actor, new_text, now)
            changes["revision"] = (revision.number - 1, revision.number)
            for name in TEXT_FIELDS:
                setattr(message, name, new_text[name])
            if message.status == Status.IN_REVIEW:
                message.status = Status.DRAFT  # a changed text is not what the reviewers were asked about
                changes["status"] = (Status.IN_REVIEW, Status.DRAFT)
        for name, value in simple.items():
            if getattr(message, name) != value:
                changes[name] = (getattr(message, name), value)
                setattr(message, name, value)
        if tags:
            before = _tag_ids(message)
            _set_tags(message, tags)
            after = _tag_ids(message)
            changes.update({name: (before[name], after[name]) for name in tags if before[name] != after[name]})
        if not changes:
            return message
        message.updated_at = now
        message.save()
        record_audit(actor=actor, action="update", obj=message, origin=origin, changes=changes)
    return message


def _reviewers_to_ask(message) -> list[User]:
    """The named reviewers; with none, the admins (someone must be able to decide)."""
    reviewers = list(message.reviewers.filter(is_active=True))
    if reviewers:
        return reviewers
    return list(User.objects.filter(is_active=True, role=Role.ADMIN).order_by("id")[:20])


def submit_message(message, actor, *, origin: str = Origin.UI) -> MessageRevision:
    """Ask the reviewers (notified) to decide on the latest revision. A draft becomes "in review"; an approved
    message with a pending revision stays approved (sales keeps the approved text) while its edit is reviewed."""
    from smarketing.notifications.services import notify

    access.require_edit(actor, message)
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("owner").get(pk=message.pk)
        revision = latest_revision(message)
        if message.status == Status.RETIRED:
            raise ValidationError("This message is retired.")
        if message.status == Status.IN_REVIEW:
            raise ValidationError("This message is already waiting for review.")
        if message.status == Status.APPROVED and not has_pending(message, revision.pk):
            raise ValidationError("Nothing new to submit: edit the message first.")
        if message.status == Status.DRAFT:
            message.status = Status.IN_REVIEW
        message.updated_at = timezone.now()
        message.save(update_fields=["status", "updated_at"])
        record_audit(
            actor=actor, action="submit", obj=message, origin=origin, changes={"revision": (None, revision.number)}
        )
        for reviewer in _reviewers_to_ask(message):
            if reviewer.pk == message.owner_id and not message.allow_self_approval:
                continue
            notify(
                reviewer,
                kind=kinds.NOTIFY_REVIEW,
                title=f"Please review the message “{message.title}” (revision {revision.number})"[:200],
                url=message_url(message),
                actor=actor,
                about=message,
            )
    return revision


def awaiting_review(message, latest_id: int | None = None) -> bool:
    """Is there a revision a reviewer can decide on now?"""
    return message.status == Status.IN_REVIEW or has_pending(message, latest_id)


def review_message(message, actor, decision: str, comment: str = "", *, origin: str = Origin.UI) -> Review:
    """A reviewer's decision on the latest revision: approve (it becomes the text sales sees; message.approved)
    or request changes (a comment saying what). Same rules as assets (access.require_review): a named
    reviewer or an admin, never the owner unless an admin allowed it."""
    from smarketing.notifications.services import notify

    if decision not in Review.Decision.values:
        raise ValidationError({"decision": "Approve or request changes."})
    comment = (comment or "").strip().replace("\x00", "")
    if len(comment) > 2000:
        raise ValidationError({"comment": "At most 2000 characters."})
    if decision == Review.Decision.CHANGES_REQUESTED and not comment:
        raise ValidationError({"comment": "Say what should change."})
    now = timezone.now()
    with transaction.atomic():
        # Locked before reading: of two reviewers deciding at once the second finds nothing left to decide.
        message = Message.objects.select_for_update().select_related("owner").get(pk=message.pk)
        access.require_review(actor, message)
        revision = latest_revision(message)
        if message.status == Status.RETIRED:
            raise ValidationError("This message is retired.")
        if revision is None or not awaiting_review(message, revision.pk):
            raise ValidationError("Nothing is waiting for review: someone may have just decided.")
        reviewer = actor_user(actor)
        row = Review.objects.create(
            message=message, revision=revision, reviewer=reviewer, decision=decision, comment=comment, decided_at=now
        )
        if decision == Review.Decision.APPROVED:
            previous = message.approved_revision_id
            message.approved_revision = revision
            message.status = Status.APPROVED
            message.approved_at, message.approved_by = now, reviewer
            message.updated_at = now
            message.save(update_fields=["approved_revision", "status", "approved_at", "approved_by", "updated_at"])
            record_audit(
                actor=actor, action="approve", obj=message, origin=origin, changes={"revision": (None, revision.number)}
            )
            publish("message.approved", message, payloads_guide.message_approved(message, revision, previous))
            title = f"Your message “{message.title}” was approved"
        else:
            if message.status == Status.IN_REVIEW:
                message.status = Status.DRAFT
            message.updated_at = now
            message.save(update_fields=["status", "updated_at"])
            record_audit(
                actor=actor,
                action="request_changes",
                obj=message,
                origin=origin,
                changes={"revision": (revision.number, revision.number)},
            )
            title = f"Changes requested on your message “{message.title}”"
        notify(
            message.owner,
            kind=kinds.NOTIFY_DECIDED,
            title=title[:200],
            body=comment[:500],
            url=message_url(message),
            actor=actor,
            about=message,
        )
    return row


def retire_message(message, actor, *, origin: str = Origin.UI) -> Message:
    """Out of the guide: sales stops seeing it. Retiring twice changes nothing."""
    access.require_edit(actor, message)
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.status == Status.RETIRED:
            return message
        previous = message.status
        message.status, message.updated_at = Status.RETIRED, timezone.now()
        message.save(update_fields=["status", "updated_at"])
        record_audit(
            actor=actor, action="retire", obj=message, origin=origin, changes={"status": (previous, Status.RETIRED)}
        )
    return message


def can_comment(user) -> bool:
    return is_system(user) or (is_person(user) and access.can_create(user))


def add_message_comment(message, actor, body: str, *, origin: str = Origin.UI) -> Comment:
    """A comment in the message's review thread: anyone who can add content (not read-only users)."""
    if not can_comment(actor):
        raise PermissionDenied("Read-only users cannot comment.")
    body = (body or "").strip().replace("\x00", "")
    if not body:
        raise ValidationError({"body": "Write a comment first."})
    if len(body) > 4000:
        raise ValidationError({"body": "At most 4000 characters."})
    with transaction.atomic():
        comment = Comment.objects.create(message=message, author=actor_user(actor), body=body)
        record_audit(actor=actor, action="comment", obj=message, origin=origin, changes={"comment": (None, comment.pk)})
    return comment
