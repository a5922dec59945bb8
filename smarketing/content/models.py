"""Content library and messaging guide: assets with versions and a review, the approved messages sales uses, and
tracked share links with the views they record.

An asset's *published* version is the one every share link serves: the latest approved version. A new upload is a
new `AssetVersion` (draft → in review → approved); until it is approved the old approved version keeps being
served, and once approved it replaces it for every existing link. Files live in the `content` storage (the data
directory, or S3-compatible storage when configured) under random names, and are only ever served by views that
check permissions (library) or a share token (public viewer): never at a guessable URL.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_share_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits


class AssetType(models.TextChoices):
    CASE_STUDY = "case_study", "Case study"
    WHITEPAPER = "whitepaper", "Whitepaper"
    EBOOK = "ebook", "E-book"
    DECK = "deck", "Deck"
    ONE_PAGER = "one_pager", "One-pager"
    BATTLECARD = "battlecard", "Battlecard"
    VIDEO = "video", "Video"
    BLOG_POST = "blog_post", "Blog post"
    EMAIL_TEMPLATE = "email_template", "Email template"


class Status(models.TextChoices):
    """The review status of an asset or a message (and of each asset version)."""

    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    RETIRED = "retired", "Retired"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"  # the published one is Asset.published_version
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    SUPERSEDED = "superseded", "Superseded"  # approved once, replaced by a newer approved version


class Persona(models.Model):
    """A buyer persona ("Head of Marketing", "IT Director"); a contact's is its `persona` property or its title."""

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    # Lowercase words matched against a contact's job title when it has no persona set: "cmo, marketing".
    title_keywords = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A product or plan that assets and messages are about."""

    name = models.CharField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Asset(models.Model):
    """A piece of content in the library: a file (with versions) or a URL, tagged for where it helps."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    asset_type = models.CharField(max_length=20, choices=AssetType.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assets")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # Where it helps: deal stages (pipeline stages), lifecycle stages (AssetFunnelStage), personas, products.
    deal_stages = models.ManyToManyField("crm.Stage", blank=True, related_name="assets")
    personas = models.ManyToManyField(Persona, blank=True, related_name="assets")
    products = models.ManyToManyField(Product, blank=True, related_name="assets")
    industry = models.CharField(max_length=100, blank=True)  # compared with Company.industry, case-insensitively
    language = models.CharField(max_length=10, default="en")
    # The version every share link serves (the latest approved one); null until a first approval.
    published_version = models.ForeignKey(
        "AssetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="assets_to_review")
    # Only an admin may set it: the owner may then approve their own asset.
    allow_self_approval = models.BooleanField(default=False)
    expires_on = models.DateField(null=True, blank=True)
    expiry_reminded_at = models.DateTimeField(null=True, blank=True)  # the reminder job's claim (conditional UPDATE)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-updated_at"], name="asset_status_idx"),
            models.Index(fields=["asset_type", "-updated_at"], name="asset_type_idx"),
            models.Index(fields=["owner", "-updated_at"], name="asset_owner_idx"),
            models.Index(fields=["expires_on"], condition=Q(expiry_reminded_at__isnull=True), name="asset_expiry_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def shareable(self) -> bool:
        return self.status == Status.APPROVED and self.published_version_id is not None


class AssetFunnelStage(models.Model):
    """An asset's lifecycle stage tag (subscriber … customer): where it helps a contact along."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="funnel_stages")
    lifecycle_stage = models.CharField(max_length=20)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "lifecycle_stage"], name="asset_funnel_unique")]
        indexes = [models.Index(fields=["lifecycle_stage", "asset"], name="asset_funnel_stage_idx")]

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.lifecycle_stage}"


class AssetVersion(models.Model):
    """One upload (or URL) of an asset; numbered from 1, never changed once written but for its review status."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    # A file: its random name in the content storage, the name it was uploaded as, its sniffed type and size.
    file_name = models.CharField(max_length=200, blank=True)  # storage name ("files/<hex>"), never user input
    original_name = models.CharField(max_length=255, blank=True)  # for Content-Disposition only, sanitized there
    mime_type = models.CharField(max_length=100, blank=True)  # sniffed from the bytes, never the extension
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)  # PDFs: for the viewer's page tracking
    thumbnail_name = models.CharField(max_length=200, blank=True)  # a PNG in the content storage, if rendered
    # A URL asset (a video, a blog post): http(s) only, shown as a link and framed never.
    url = models.URLField(max_length=1000, blank=True)
    note = models.CharField(max_length=500, blank=True)  # what changed
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "number"], name="asset_version_unique"),
            models.CheckConstraint(condition=~(Q(file_name="") & Q(url="")), name="asset_version_file_or_url"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} v{self.number}"

    @property
    def is_file(self) -> bool:
        return bool(self.file_name)


class MessageKind(models.TextChoices):
    VALUE_PROPOSITION = "value_proposition", "Value proposition"
    KEY_MESSAGE = "key_message", "Key message"
    TALKING_POINT = "talking_point", "Talking point"
    OBJECTION = "objection", "Objection handling"
    COMPETITOR = "competitor", "Competitor note"


class Message(models.Model):
    """An entry of the messaging guide: what to say, to whom, at which stage; approved like an asset.

    `title`/`body` are the current text; every saved change is a `MessageRevision`, and only an approved
    message (its approved revision: `approved_revision`) is shown to sales.
    """

    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    title = models.CharField(max_length=200)  # the objection, the competitor's name, the headline
    body = models.TextField(max_length=5000)  # the answer, the points (plain text; lines become bullets)
    competitor = models.CharField(max_length=100, blank=True)
    personas = models.ManyToManyField(Persona, blank=True, related_name="messages")
    deal_stages = models.ManyToManyField("crm.Stage", blank=True, related_name="messages")
    lifecycle_stages = models.JSONField(default=list, blank=True)  # lifecycle codes; few messages, read whole
    products = models.ManyToManyField(Product, blank=True, related_name="messages")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="messages_to_review")
    allow_self_approval = models.BooleanField(default=False)
    approved_revision = models.ForeignKey(
        "MessageRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "position", "id"]
        indexes = [models.Index(fields=["status", "kind"], name="message_status_idx")]

    def __str__(self) -> str:
        return self.title


class MessageRevision(models.Model):
    """One saved text of a message, numbered from 1."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=5000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["message", "-number"]
        constraints = [models.UniqueConstraint(fields=["message", "number"], name="message_revision_unique")]

    def __str__(self) -> str:
        return f"{self.message_id} r{self.number}"


class Review(models.Model):
    """A reviewer's decision on an asset version or a message revision: the approval record."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="reviews")
    version = models.ForeignKey(AssetVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="reviews")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="reviews")
    revision = models.ForeignKey(
        MessageRevision, null=True, blank=True, on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decision = models.CharField(max_length=20, choices=Decision.choices)
    comment = models.TextField(max_length=2000, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(asset__isnull=False, version__isnull=False, message__isnull=True, revision__isnull=True)
                | Q(asset__isnull=True, version__isnull=True, message__isnull=False, revision__isnull=False),
                name="review_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.reviewer_id}"


class Comment(models.Model):
    """A comment in an asset's or a message's review thread."""

    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="comments")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(asset__isnull=False, message__isnull=True) | Q(asset__isnull=True, message__isnull=False),
                name="comment_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return self.body[:60]


class Share(models.Model):
    """A personal tracked link to an asset for one contact (optionally about a deal), made by a rep.

    The link (/c/<token>/) always serves the asset's published version; it stops working when revoked, expired,
    or when the asset is retired. It reveals nothing but that asset.
    """

    class Channel(models.TextChoices):
        LINK = "link", "Link"
        EMAIL = "email", "Logged email"

    token = models.CharField(max_length=64, unique=True, default=new_share_token)
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="shares")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="content_shares")
    deal = models.ForeignKey(
        "crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="content_shares"
    )
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.LINK)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Kept by the viewer (conditional UPDATEs): the first view notifies the rep exactly once.
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["asset", "-created_at"], name="share_asset_idx"),
            models.Index(fields=["contact", "-created_at"], name="share_contact_idx"),
            models.Index(fields=["deal", "-created_at"], name="share_deal_idx"),
            models.Index(fields=["shared_by", "-created_at"], name="share_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} → {self.contact_id}"

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class ShareView(models.Model):
    """One opening of a share link by its contact: when, which version, how long, which pages, downloaded."""

    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="views")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="share_views")  # denormalized
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="content_views")
    version = models.ForeignKey(AssetVersion, null=True, on_delete=models.SET_NULL, related_name="+")
    # The viewer's random id for this opening (beacons carry it, signed); unique so a replayed open counts once.
    view_key = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    seconds = models.PositiveIntegerField(default=0)  # active time, from the viewer's heartbeats, capped
    pages_seen = models.JSONField(default=list, blank=True)  # sorted page numbers (PDFs)
    max_page = models.PositiveIntegerField(default=0)
    downloaded = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["asset", "-started_at"], name="shareview_asset_idx"),
            models.Index(fields=["contact", "-started_at"], name="shareview_contact_idx"),
            models.Index(fields=["share", "-started_at"], name="shareview_share_idx"),
        ]

    def __str__(self) -> str:
        return f"view of share {self.share_id} at {self.started_at:%Y-%m-%d %H:%M}"
