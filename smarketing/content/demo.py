"""The demo's content library: personas, products, ~30 assets with real files, a messaging guide, and a year of
shares and views that agree with the seeded deals (what the library holds is data in demo_library.py).

The library is what a marketing team of two (Maya and Noah) would have after a year: most assets approved, a few
waiting for review with named reviewers and a comment thread, one sent back, one retired (replaced by a newer
price list), one deck whose version 2 replaced version 1, one with a version 2 in review while version 1 keeps
being served, and some expiring soon. File assets are small multi-page PDFs drawn with Pillow and stored through
content.files like an upload (random name, sniffed type, page count), with their thumbnails.

Shares are derived from the deal history, not invented beside it: for each seeded deal without shares, the rep
(the deal's owner; the SDR, Sam, now and then in the first stage) shares assets tagged for the stage the deal was
in, at a moment inside its time in that stage (from DealStageChange) at which the asset was approved and not
retired, with a contact of the deal (one whose persona the asset speaks to, when there is one). Won deals share
more, and more case studies, and their contacts open more. Views come after their share (hours to days), while
the link was live, of the version published at that moment. The timeline gets the touches the services write
(content_shared, content_viewed, content_downloaded; a logged email for the email channel), with the words and
details of payloads_sharing.py. No audit entries and no events: nobody did this in this install.

A second seed reuses what the first made (personas, products, assets and messages by name) and shares only on
deals that have no shares yet. Everything is bulk-created; deterministic per deal from the seed (share tokens
excepted: they are secrets, so they come from `secrets`).
"""

import io
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from smarketing.accounts.models import User
from smarketing.content import files, kinds, payloads_sharing
from smarketing.content.demo_library import (
    DEFAULT_REVIEWER,
    GUIDE,
    INTERNAL_TYPES,
    LIBRARY,
    LINES,
    PERSONAS,
    PRODUCTS,
    SECTIONS,
    AssetSpec,
)
from smarketing.content.models import (
    Asset,
    AssetFunnelStage,
    AssetType,
    AssetVersion,
    Comment,
    Message,
    MessageKind,
    MessageRevision,
    Persona,
    Product,
    Review,
    Share,
    ShareView,
    Status,
    VersionStatus,
)
from smarketing.content.personas import persona_for
from smarketing.crm import kinds as crm_kinds
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import DealContact, DealStageChange, Stage
from smarketing.timeline.models import Team as TouchTeam
from smarketing.timeline.services import record_touches


@dataclass
class _Library:
    """What the share generator needs to know about each asset, read back from the database."""

    id: int
    title: str
    asset_type: str
    stage_ids: set[int]
    persona_ids: set[int]
    from_at: datetime  # first approval
    until_at: datetime | None  # retired
    versions: list = field(default_factory=list)  # approved versions (AssetVersion), oldest first

    def version_at(self, when: datetime):
        current = None
        for version in self.versions:
            if version.approved_at <= when:
                current = version
        return current


def seed_content(out: Callable[[str], None] = print, *, seed: int = 42, now: datetime | None = None) -> int:
    """The library, the guide, then shares and views for deals without any (see the module docstring); returns
    the shares created."""
    from smarketing.demo.users import seed_people

    started = time.monotonic()
    now = now or timezone.now()
    people = {key: user for key, user in seed_people().items() if user is not None}
    if "maya" not in people or "noah" not in people:
        out("Content: no users to own the library; skipped.")
        return 0
    pipeline = default_pipeline()
    open_stages = list(Stage.objects.filter(pipeline=pipeline, outcome="open").order_by("position")) if pipeline else []
    stored: list[str] = []  # files written to the storage by this run
    try:
        with transaction.atomic():
            personas = _personas()
            products = _products()
            made_assets = _assets(people, open_stages, personas, products, now, stored)
            made_messages = _messages(people, open_stages, personas, products, now)
            shares, views = _shares_and_views(people, open_stages, seed=seed, now=now)
    except BaseException:
        # The rows were rolled back: their files go too, so no orphan stays in the storage.
        for name in stored:
            files.delete_file(name)
        raise
    out(
        f"Content: {made_assets} assets and {made_messages} guide entries added, {shares:,} shares and "
        f"{views:,} views in {time.monotonic() - started:.1f} s."
    )
    return shares


# -- the library ---------------------------------------------------------------------------------------------


def _personas() -> dict[str, Persona]:
    existing = {p.name: p for p in Persona.objects.filter(name__in=[name for name, *_ in PERSONAS])}
    new = [
        Persona(name=name, description=description, title_keywords=keywords, position=i)
        for i, (name, description, keywords) in enumerate(PERSONAS)
        if name not in existing
    ]
    Persona.objects.bulk_create(new)
    return {**existing, **{p.name: p for p in new}}


def _products() -> dict[str, Product]:
    existing = {p.name: p for p in Product.objects.filter(name__in=PRODUCTS)}
    new = [Product(name=name) for name in PRODUCTS if name not in existing]
    Product.objects.bulk_create(new)
    return {**existing, **{p.name: p for p in new}}


def _stage_ids(open_stages: list[Stage], indexes: tuple[int, ...]) -> list[int]:
    """Spec indexes (of five open stages) mapped onto this pipeline's open stages, whatever their number."""
    if not open_stages:
        return []
    last = len(open_stages) - 1
    return sorted({open_stages[round(i * last / 4)].pk for i in indexes})


def _days(now: datetime, days: float, rng: random.Random) -> datetime:
    """`days` before `now`, at a working hour of that day (UTC)."""
    day = (now - timedelta(days=days)).replace(hour=8, minute=0, second=0, microsecond=0)
    return min(day + timedelta(minutes=rng.randint(0, 9 * 60)), now - timedelta(minutes=5))


def pdf_bytes(title: str, subtitle: str, sections: list[str], pages: int, *, seed: int = 0) -> bytes:
    """A small multi-page PDF: a title page, then a heading and a few lines per page, page numbers in the footer."""
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    big, mid, small = (ImageFont.load_default(size=s) for s in (26, 18, 13))
    images = []
    for n in range(1, pages + 1):
        image = Image.new("RGB", (612, 792), "white")  # US Letter at 72 dpi
        draw = ImageDraw.Draw(image)
        if n == 1:
            draw.rectangle([0, 0, 612, 250], fill=(30, 64, 175))
            y = 70
            for line in _wrap(title, 38):
                draw.text((48, y), line, font=big, fill="white")
                y += 36
            draw.text((48, 210), "Smarketing Demo Inc.", font=small, fill=(191, 219, 254))
            y = 290
            for line in _wrap(subtitle, 50):
                draw.text((48, y), line, font=mid, fill=(30, 41, 59))
                y += 28
        else:
            draw.rectangle([0, 0, 612, 8], fill=(30, 64, 175))
            draw.text((48, 40), sections[(n - 2) % len(sections)], font=big, fill=(30, 41, 59))
            y = 100
            for line in rng.sample(LINES, 5):
                for part in _wrap(line, 68):
                    draw.text((48, y), part, font=small, fill=(51, 65, 85))
                    y += 20
                y += 12
        draw.line([48, 750, 564, 750], fill=(203, 213, 225))
        draw.text((48, 758), title[:70], font=small, fill=(100, 116, 139))
        draw.text((520, 758), f"{n} / {pages}", font=small, fill=(100, 116, 139))
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], quality=50, title=title)
    return buffer.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines


def _file_fields(spec: AssetSpec, number: int, pages: int, stored: list[str]) -> dict:
    """A PDF for the version, stored like an upload (random name, sniffed type, page count)."""
    name = f"{spec.title[:80]}{' v' + str(number) if number > 1 else ''}.pdf".replace("/", "-").replace(":", "")
    data = pdf_bytes(
        spec.title,
        spec.description,
        SECTIONS[spec.asset_type],
        pages,
        seed=sum(map(ord, spec.title)) + number,
    )
    file = files.store_upload(io.BytesIO(data), name)
    stored.append(file.name)
    return {
        "file_name": file.name,
        "original_name": file.original_name,
        "mime_type": file.mime_type,
        "size": file.size,
        "sha256": file.sha256,
        "page_count": file.page_count,
    }


def _build(spec: AssetSpec, people: dict[str, User], rng: random.Random, now: datetime, stored: list[str]) -> tuple:
    """One asset of the library, unsaved, with its versions, reviews, comments and reviewers."""
    alex = people.get("alex")
    owner = people[spec.owner]
    reviewers = [people[k] for k in (spec.reviewers or (DEFAULT_REVIEWER[spec.owner],)) if k in people]
    reviewers = [u for u in reviewers if u.pk != owner.pk] or ([alex] if alex and alex.pk != owner.pk else [])
    approver = reviewers[0] if reviewers else None
    if spec.status in ("in_review", "changes"):
        created = _days(now, spec.submitted + rng.randint(2, 8), rng)
    else:
        created = _days(now, spec.approved + rng.randint(3, 12), rng)
    asset = Asset(
        title=spec.title,
        description=spec.description,
        asset_type=spec.asset_type,
        owner=owner,
        industry=spec.industry,
        language="en",
        expires_on=(now + timedelta(days=spec.expires_in)).date() if spec.expires_in is not None else None,
        expiry_reminded_at=now - timedelta(days=2) if spec.reminded else None,
        created_at=created,
        updated_at=created,
    )
    versions, reviews, comments = [], [], []

    def version(number, status, at, approved_at=None, note="", pages=spec.pages):
        fields = _file_fields(spec, number, pages, stored) if spec.pages else {"url": spec.url}
        v = AssetVersion(asset=asset, number=number, status=status, note=note, created_by=owner, created_at=at,
                         approved_at=approved_at, **fields)  # fmt: skip
        versions.append(v)
        return v

    def decided(v, decision, at, comment="", by=approver):
        reviews.append(Review(asset=asset, version=v, reviewer=by, decision=decision, comment=comment,
                              decided_at=at))  # fmt: skip

    if spec.status in ("in_review", "changes"):
        submitted = _days(now, spec.submitted, rng)
        if spec.status == "in_review":
            asset.status = Status.IN_REVIEW
            version(1, VersionStatus.IN_REVIEW, submitted - timedelta(hours=2))
        else:
            asset.status = Status.DRAFT
            v1 = version(1, VersionStatus.CHANGES_REQUESTED, submitted - timedelta(hours=2))
            decided(v1, Review.Decision.CHANGES_REQUESTED, submitted + timedelta(hours=20), spec.review_comment)
        asset.updated_at = submitted
    else:
        approved = _days(now, spec.approved, rng)
        if spec.first_sent_back:
            v1 = version(1, VersionStatus.CHANGES_REQUESTED, approved - timedelta(days=6))
            decided(v1, Review.Decision.CHANGES_REQUESTED, approved - timedelta(days=5), spec.first_sent_back)
            published = version(2, VersionStatus.APPROVED, approved - timedelta(days=1), approved,
                                note="Quote signed off by Northwind")  # fmt: skip
        else:
            published = version(1, VersionStatus.APPROVED, approved - timedelta(days=2), approved)
        decided(published, Review.Decision.APPROVED, approved, "Approved for sales.")
        asset.status, asset.approved_at, asset.approved_by = Status.APPROVED, approved, approver
        asset.updated_at = approved
        if spec.v2_approved:
            second = _days(now, spec.v2_approved, rng)
            published.status = VersionStatus.SUPERSEDED
            published = version(2, VersionStatus.APPROVED, second - timedelta(days=2), second,
                                note=spec.v2_note, pages=spec.pages + 1)  # fmt: skip
            decided(published, Review.Decision.APPROVED, second, "New version approved: links now serve it.")
            asset.approved_at = asset.updated_at = second
        if spec.v2_in_review:
            version(2, VersionStatus.IN_REVIEW, _days(now, spec.v2_in_review, rng), note=spec.v2_note,
                    pages=spec.pages + 1)  # fmt: skip
            asset.updated_at = versions[-1].created_at
        if spec.status == "retired":
            asset.status = Status.RETIRED
            asset.retired_at = asset.updated_at = _days(now, spec.retired, rng)
        asset.published = published
    for i, (author, body) in enumerate(spec.comments):
        if author in people:
            at = asset.updated_at - timedelta(hours=len(spec.comments) * 6 - i * 5)
            comments.append(Comment(asset=asset, author=people[author], body=body, created_at=at))
    return asset, versions, reviews, comments, reviewers


def _assets(people: dict[str, User], open_stages, personas, products, now: datetime, stored: list[str]) -> int:
    """The library's assets that do not exist yet (by title), with versions, reviews, comments and tags."""
    existing = set(Asset.objects.filter(title__in=[s.title for s in LIBRARY]).values_list("title", flat=True))
    specs = [s for s in LIBRARY if s.title not in existing]
    if not specs:
        return 0
    rng = random.Random("content-library")
    made = [(spec, *_build(spec, people, rng, now, stored)) for spec in specs]  # (spec, asset, versions, ...)

    Asset.objects.bulk_create([m[1] for m in made])
    versions = [v for m in made for v in m[2]]
    for v in versions:
        v.asset_id = v.asset.pk
    AssetVersion.objects.bulk_create(versions)
    published = []
    for _spec, asset, *_ in made:
        if hasattr(asset, "published"):
            asset.published_version_id = asset.published.pk
            published.append(asset)
    Asset.objects.bulk_update(published, ["published_version"])
    reviews = [r for m in made for r in m[3]]
    comments = [c for m in made for c in m[4]]
    for row in reviews:
        row.asset_id, row.version_id = row.asset.pk, row.version.pk
    for row in comments:
        row.asset_id = row.asset.pk
    Review.objects.bulk_create(reviews)
    Comment.objects.bulk_create(comments)
    # The tags: many-to-many rows through the models' own through tables, one INSERT each.
    stage_rows, persona_rows, product_rows, reviewer_rows, funnel_rows = [], [], [], [], []
    for spec, asset, _v, _r, _c, reviewers in made:
        stage_rows += [
            Asset.deal_stages.through(asset_id=asset.pk, stage_id=s) for s in _stage_ids(open_stages, spec.stages)
        ]
        persona_rows += [Asset.personas.through(asset_id=asset.pk, persona_id=personas[p].pk) for p in spec.personas]
        product_rows += [Asset.products.through(asset_id=asset.pk, product_id=products[p].pk) for p in spec.products]
        reviewer_rows += [Asset.reviewers.through(asset_id=asset.pk, user_id=u.pk) for u in reviewers]
        funnel_rows += [AssetFunnelStage(asset_id=asset.pk, lifecycle_stage=code) for code in spec.funnel]
    Asset.deal_stages.through.objects.bulk_create(stage_rows)
    Asset.personas.through.objects.bulk_create(persona_rows)
    Asset.products.through.objects.bulk_create(product_rows)
    Asset.reviewers.through.objects.bulk_create(reviewer_rows)
    AssetFunnelStage.objects.bulk_create(funnel_rows)
    _thumbnails([v for v in versions if v.file_name])
    stored += [v.thumbnail_name for v in versions if v.thumbnail_name]
    return len(made)


def _thumbnails(versions: list[AssetVersion]) -> None:
    """First-page thumbnails, as after an upload (tens of milliseconds each)."""
    from smarketing.content import previews

    for version in versions:
        previews.after_store(version)


# -- the messaging guide ---------------------------------------------------------------------------------------


def _messages(people: dict[str, User], open_stages, personas, products, now: datetime) -> int:
    existing = set(Message.objects.filter(title__in=[m.title for m in GUIDE]).values_list("title", flat=True))
    specs = [m for m in GUIDE if m.title not in existing]
    if not specs:
        return 0
    rng = random.Random("content-guide")
    maya, noah = people["maya"], people["noah"]
    riley = people.get("riley")
    made = []
    for position, spec in enumerate(specs):
        # Maya owns the value propositions and key messages; Noah the rest, reviewed by Maya (and sales for
        # competitor notes and objections).
        owner = maya if spec.kind in (MessageKind.VALUE_PROPOSITION, MessageKind.KEY_MESSAGE) else noah
        reviewers = [noah] if owner == maya else [maya]
        if spec.kind in (MessageKind.COMPETITOR, MessageKind.OBJECTION) and riley is not None:
            reviewers.append(riley)
        approved = _days(now, spec.approved, rng)
        message = Message(
            kind=spec.kind,
            title=spec.title,
            body=spec.revised or spec.body,
            competitor=spec.competitor,
            lifecycle_stages=list(spec.lifecycle),
            owner=owner,
            status=Status.APPROVED,
            approved_at=approved,
            approved_by=reviewers[0],
            position=position,
            created_at=approved - timedelta(days=rng.randint(2, 6)),
            updated_at=approved,
        )
        revisions = [MessageRevision(message=message, number=1, title=spec.title, body=spec.body, created_by=owner,
                                     created_at=message.created_at)]  # fmt: skip
        reviews = [
            Review(
                message=message,
                revision=revisions[0],
                reviewer=reviewers[0],
                decision=Review.Decision.APPROVED,
                comment="Approved for the guide.",
                decided_at=approved,
            )
        ]
        if spec.revised:
            # Edited and submitted again: the message stays approved and sales keeps seeing revision 1 until a
            # reviewer approves revision 2 (guide.has_pending).
            revised_at = _days(now, 3, rng)
            revisions.append(MessageRevision(message=message, number=2, title=spec.title, body=spec.revised,
                                             created_by=owner, created_at=revised_at))  # fmt: skip
            message.updated_at = revised_at
        made.append((spec, message, revisions, reviews, reviewers))
    Message.objects.bulk_create([m[1] for m in made])
    revisions = [r for m in made for r in m[2]]
    for r in revisions:
        r.message_id = r.message.pk
    MessageRevision.objects.bulk_create(revisions)
    for _spec, message, revs, _reviews, _ in made:
        message.approved_revision_id = revs[0].pk
    Message.objects.bulk_update([m[1] for m in made], ["approved_revision"])
    reviews = [r for m in made for r in m[3]]
    for r in reviews:
        r.message_id, r.revision_id = r.message.pk, r.revision.pk
    Review.objects.bulk_create(reviews)
    stage_rows, persona_rows, product_rows, reviewer_rows = [], [], [], []
    for spec, message, _r, _v, reviewers in made:
        stage_rows += [Message.deal_stages.through(message_id=message.pk, stage_id=s)
                       for s in _stage_ids(open_stages, spec.stages)]  # fmt: skip
        persona_rows += [Message.personas.through(message_id=message.pk, persona_id=personas[p].pk)
                         for p in spec.personas]  # fmt: skip
        product_rows += [Message.products.through(message_id=message.pk, product_id=products[p].pk)
                         for p in spec.products]  # fmt: skip
        reviewer_rows += [Message.reviewers.through(message_id=message.pk, user_id=u.pk) for u in reviewers]
    Message.deal_stages.through.objects.bulk_create(stage_rows)
    Message.personas.through.objects.bulk_create(persona_rows)
    Message.products.through.objects.bulk_create(product_rows)
    Message.reviewers.through.objects.bulk_create(reviewer_rows)
    return len(made)


# -- shares and views --------------------------------------------------------------------------------------------

SHARE_CHANCE = {"won": 0.75, "open": 0.6, "lost": 0.45}  # per stage a deal spent time in
VIEW_CHANCE = {"won": 0.92, "open": 0.75, "lost": 0.6}
CASE_STUDY_WEIGHT = {"won": 4.0, "open": 1.5, "lost": 1.0}
ROLE_WEIGHT = {"champion": 3, "decision_maker": 2}
PAD = timedelta(minutes=20)


def _library() -> list[_Library]:
    """The demo's assets that a rep may send outside, as they are in the database now."""
    assets = (
        Asset.objects.filter(title__in=[s.title for s in LIBRARY])
        .exclude(asset_type__in=INTERNAL_TYPES)
        .prefetch_related("deal_stages", "personas")
    )
    versions = defaultdict(list)
    for v in AssetVersion.objects.filter(asset__in=assets, approved_at__isnull=False).order_by("approved_at"):
        versions[v.asset_id].append(v)
    library = []
    for a in assets:
        if not versions[a.pk]:
            continue
        library.append(
            _Library(
                id=a.pk,
                title=a.title,
                asset_type=a.asset_type,
                stage_ids={s.pk for s in a.deal_stages.all()},
                persona_ids={p.pk for p in a.personas.all()},
                from_at=versions[a.pk][0].approved_at,
                until_at=a.retired_at,
                versions=versions[a.pk],
            )
        )
    return library


def _shares_and_views(people: dict[str, User], open_stages, *, seed: int, now: datetime) -> tuple[int, int]:
    library = _library()
    open_ids = {s.pk for s in open_stages}
    if not library or not open_ids:
        return 0, 0
    # Deals of the seeded pipeline that nobody has shared content on yet (a second seed adds only new ones).
    changes = defaultdict(list)
    rows = (
        DealStageChange.objects.filter(deal__pipeline_id=open_stages[0].pipeline_id)
        .exclude(deal__content_shares__isnull=False)
        .order_by("deal_id", "changed_at", "id")
        .values_list("deal_id", "to_stage_id", "changed_at", "deal__status", "deal__owner_id")
    )
    status_of, owner_of = {}, {}
    for deal_id, to_stage, changed_at, status, owner_id in rows.iterator(chunk_size=5000):
        changes[deal_id].append((to_stage, changed_at))
        status_of[deal_id], owner_of[deal_id] = status, owner_id
    contacts = defaultdict(list)
    for deal_id, contact_id, company_id, role, title, custom in (
        DealContact.objects.filter(deal_id__in=list(changes))
        .order_by("deal_id", "id")
        .values_list("deal_id", "contact_id", "contact__company_id", "role", "contact__title", "contact__custom")
        .iterator(chunk_size=5000)
    ):
        contacts[deal_id].append((contact_id, company_id, role, _Person(title or "", custom or {})))
    all_personas = list(Persona.objects.order_by("position", "name"))
    for members in contacts.values():
        for i, (contact_id, company_id, role, person) in enumerate(members):
            found = persona_for(person, all_personas)
            members[i] = (contact_id, company_id, role, found.pk if found else None)
    sam = people.get("sam")
    shares: list[Share] = []
    views: list[ShareView] = []
    for deal_id, moves in changes.items():
        if not contacts[deal_id]:
            continue
        rng = random.Random(f"content-{seed}-{deal_id}")
        status = status_of[deal_id]
        owner = owner_of[deal_id] or (sam.pk if sam else None)
        on_deal: list[Share] = []
        for i, (stage_id, entered) in enumerate(moves):
            if stage_id not in open_ids:
                continue
            left = moves[i + 1][1] if i + 1 < len(moves) else now
            for n in range(2):
                if rng.random() >= SHARE_CHANCE[status] * (1 if n == 0 else 0.35):
                    break
                shared_by = sam.pk if sam and i == 0 and rng.random() < 0.3 else owner
                share = _share(rng, library, deal_id, stage_id, entered, left, contacts[deal_id], status, shared_by,
                               {s.asset_id for s in on_deal}, now)  # fmt: skip
                if share is not None:
                    on_deal.append(share)
        for k, share in enumerate(on_deal):
            # Drawn from the deal's own generator, so a deal's history does not depend on the others'.
            seen = _views(rng, share, status, now, key=f"{deal_id}-{k}")
            if seen:
                share.first_viewed_at, share.last_viewed_at = seen[0].started_at, seen[-1].started_at
                share.view_count = len(seen)
            share.seen = seen
            views += seen
        shares += on_deal
    Share.objects.bulk_create(shares, batch_size=500)
    ShareView.objects.bulk_create(views, batch_size=500)  # each view's share has its id by now
    by_share = {share.pk: share.seen for share in shares}
    record_touches(_touches(shares, by_share), batch_size=1000)
    return len(shares), len(views)


@dataclass
class _Person:
    """What persona_for reads of a contact."""

    title: str
    custom: dict


def _share(rng, library, deal_id, stage_id, entered, left, members, status, shared_by, already, now) -> Share | None:
    """One share during the deal's stay in `stage_id`, of an asset tagged for that stage and live then (and not
    shared on this deal before)."""
    candidates = []
    for asset in library:
        if stage_id not in asset.stage_ids or asset.id in already:
            continue
        start = max(entered, asset.from_at) + PAD
        end = min(left, asset.until_at or now, now) - PAD
        if end <= start:
            continue
        weight = CASE_STUDY_WEIGHT[status] if asset.asset_type == AssetType.CASE_STUDY else 1.0
        candidates.append((asset, start, end, weight))
    if not candidates:
        return None
    asset, start, end, _w = rng.choices(candidates, weights=[c[3] for c in candidates])[0]
    at = start + (end - start) * rng.random()
    # A contact of the deal: the asset's persona if one fits, the champion or decision maker more often.
    weights = [ROLE_WEIGHT.get(m[2], 1) * (3 if m[3] in asset.persona_ids else 1) for m in members]
    contact_id, company_id, _role, _persona = rng.choices(members, weights=weights)[0]
    share = Share(
        asset_id=asset.id,
        contact_id=contact_id,
        deal_id=deal_id,
        shared_by_id=shared_by,
        channel=Share.Channel.EMAIL if rng.random() < 0.3 else Share.Channel.LINK,
        created_at=at,
    )
    if rng.random() < 0.25:
        share.expires_at = at + timedelta(days=30)
    if rng.random() < 0.03 and at + timedelta(days=3) < now:
        share.revoked_at = at + timedelta(days=rng.randint(3, 20))
        share.revoked_at = min(share.revoked_at, now - timedelta(hours=1))
    share.company_id = company_id  # for the touches (not a model field)
    share.library = asset
    return share


def _views(rng, share: Share, status: str, now: datetime, *, key: str) -> list[ShareView]:
    """The contact's openings: after the share, while the link worked, of the version published then."""
    if rng.random() >= VIEW_CHANCE[status]:
        return []
    asset = share.library
    ends = [now, share.expires_at, share.revoked_at, asset.until_at]
    closes = min(t for t in ends if t is not None)
    views = []
    at = share.created_at
    for n in range(1 + (rng.random() < 0.35) + (rng.random() < 0.15)):
        median_hours = 6 if n == 0 else 30
        at = at + timedelta(hours=min(rng.lognormvariate(math.log(median_hours), 1.0), 240))
        if at >= closes - timedelta(minutes=5):
            break
        version = asset.version_at(at)
        pages = version.page_count or 0
        if pages:
            complete = rng.random() < (0.6 if status == "won" else 0.4)
            max_page = pages if complete else rng.randint(1, pages)
            seen = list(range(1, max_page + 1))
            seconds = sum(rng.randint(15, 80) for _ in seen)
        else:
            max_page, seen, seconds = 0, [], rng.randint(40, 600)
        views.append(
            ShareView(
                share=share,
                asset_id=asset.id,
                contact_id=share.contact_id,
                version=version,
                view_key=f"demo-{key}-{n}-{rng.getrandbits(64):016x}",
                started_at=at,
                last_seen_at=at + timedelta(seconds=seconds),
                seconds=seconds,
                pages_seen=seen,
                max_page=max_page,
                downloaded=bool(pages) and rng.random() < 0.15,
            )
        )
    return views


def _touches(shares: list[Share], by_share: dict[int, list[ShareView]]) -> list[dict]:
    """The timeline rows the services write for these shares and views (payloads_sharing's words and details)."""
    from smarketing.content.sharing import share_url

    rows = []
    for share in shares:
        asset = share.library
        common = {"contact": share.contact_id, "company": share.company_id, "deal": share.deal_id}
        version = asset.version_at(share.created_at)
        rows.append(
            {**common, "kind": kinds.CONTENT_SHARED, "team": TouchTeam.SALES, "actor": share.shared_by_id,
             "source": "content", "occurred_at": share.created_at, "summary": payloads_sharing.shared_summary(
                 asset.title), "details": payloads_sharing.touch_details(share, version)}
        )  # fmt: skip
        if share.channel == Share.Channel.EMAIL:
            # share_by_email logs the email with the link, as crm's log_activity does.
            rows.append(
                {**common, "kind": crm_kinds.EMAIL_LOGGED, "team": TouchTeam.SALES, "actor": share.shared_by_id,
                 "occurred_at": share.created_at, "summary": f"Sent “{asset.title}”"[:300],
                 "details": {"body": f"{asset.title}: {share_url(share)}", "outcome": ""}}
            )  # fmt: skip
        for view in by_share.get(share.pk, []):
            number = view.version.number if view.version else None
            details = payloads_sharing.touch_details(share, view.version, view)
            rows.append(
                {**common, "kind": kinds.CONTENT_VIEWED, "team": TouchTeam.MARKETING, "source": "share_link",
                 "occurred_at": view.started_at, "summary": payloads_sharing.viewed_summary(asset.title, number),
                 "details": details}
            )  # fmt: skip
            if view.downloaded:
                rows.append(
                    {**common, "kind": kinds.CONTENT_DOWNLOADED, "team": TouchTeam.MARKETING, "source": "share_link",
                     "occurred_at": view.started_at + timedelta(seconds=max(1, view.seconds // 2)),
                     "summary": payloads_sharing.downloaded_summary(asset.title, number), "details": details}
                )  # fmt: skip
    return rows
