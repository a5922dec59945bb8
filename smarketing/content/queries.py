"""Reusable reads of the content library: the library list (search, filters, sort, keyset pages) and an asset's
page. Each is a fixed number of queries however many assets, tags or versions there are."""

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from smarketing.accounts.models import User
from smarketing.content.files import IMAGES, PDF
from smarketing.content.models import (
    Asset,
    AssetFunnelStage,
    AssetType,
    AssetVersion,
    Persona,
    Product,
    Status,
    VersionStatus,
)
from smarketing.core.queries import Page, SortOption, keyset_page

PAGE_SIZE = 24
SHARES_SHOWN = 50  # on an asset's page; the shares page lists them all
EXPIRING_DAYS = 30  # "expiring soon": the filter and the card's warning
SORTS = {
    "updated": SortOption("Recently changed", ("-updated_at", "-id")),
    "newest": SortOption("Newest first", ("-created_at", "-id")),
    "title": SortOption("Title A–Z", ("title", "id")),
    "expiry": SortOption("Expiry date", ("expires_on", "id")),
}
DEFAULT_SORT = "updated"
PICTURED = [PDF.mime, *IMAGES]


def funnel_choices() -> list[tuple[str, str]]:
    from smarketing.crm.models import LIFECYCLE_ORDER

    return [(str(code), code.label) for code in LIFECYCLE_ORDER]


def stage_choices() -> list[tuple[str, str]]:
    """Every deal stage, named with its pipeline when there are several (one query)."""
    from smarketing.crm.models import Stage

    stages = list(Stage.objects.select_related("pipeline").order_by("pipeline__position", "pipeline_id", "position"))
    several = len({s.pipeline_id for s in stages}) > 1
    return [(str(s.pk), f"{s.pipeline.name} · {s.name}" if several else s.name) for s in stages]


@dataclass
class Filter:
    """One filter of the library's bar: its GET parameter, its choices and the value chosen now."""

    param: str
    label: str
    options: list[tuple[str, str]]
    value: str = ""
    more: bool = False  # under "More filters"
    any_label: str = "Any"


@dataclass
class Library:
    """The library list as asked for: the search, the filters, the sort, one page of assets and its links."""

    q: str
    sort_key: str
    filters: list[Filter]
    page: Page
    query: str  # the search, filters and sort as a query string (no cursor): the first page
    sorts: dict = field(default_factory=lambda: SORTS)

    @property
    def active_count(self) -> int:
        return sum(1 for f in self.filters if f.value)

    @property
    def more_active(self) -> bool:
        return any(f.value for f in self.filters if f.more)

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.active_count)

    @property
    def next_query(self) -> str:
        cursor = urlencode({"after": self.page.next_cursor}) if self.page.next_cursor else ""
        return "&".join(part for part in (self.query, cursor) if part)


def _int(value) -> int | None:
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _choice(value, options) -> str:
    value = str(value or "")
    return value if value in {v for v, _ in options} else ""


def build_filters(params) -> list[Filter]:
    """The filter bar with the values of `params` (request.GET), each checked against its choices (five queries:
    stages, personas, products, owners, languages)."""
    owners = User.objects.filter(Exists(Asset.objects.filter(owner=OuterRef("pk")))).order_by("full_name", "email")
    languages = Asset.objects.order_by("language").values_list("language", flat=True).distinct()
    spec = [
        ("type", "Type", list(AssetType.choices), False, "Any"),
        (
            "status",
            "Status",
            [(s.value, s.label) for s in Status] + [("all", "Any, retired too")],
            False,
            "In use (not retired)",
        ),
        ("stage", "Deal stage", stage_choices(), False, "Any"),
        ("funnel", "Funnel stage", funnel_choices(), False, "Any"),
        ("persona", "Persona", [(str(p.pk), p.name) for p in Persona.objects.all()], False, "Any"),
        ("product", "Product", [(str(p.pk), p.name) for p in Product.objects.all()], True, "Any"),
        ("owner", "Owner", [(str(u.pk), u.display_name) for u in owners], True, "Anyone"),
        ("language", "Language", [(code, code) for code in languages if code], True, "Any"),
        ("expiring", "Expiry", [("soon", f"Expiring within {EXPIRING_DAYS} days"), ("past", "Expired")], True, "Any"),
    ]
    return [
        Filter(
            param=param,
            label=label,
            options=options,
            value=_choice(params.get(param), options),
            more=more,
            any_label=any_label,
        )  # fmt: skip
        for param, label, options, more, any_label in spec
    ]


def filtered(qs: QuerySet, q: str, values: dict[str, str], today=None) -> QuerySet:
    """`qs` narrowed by the search and the chosen filter values ({param: value}, already validated)."""
    today = today or timezone.localdate()
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(description__icontains=q))
    status = values.get("status", "")
    if status == Status.IN_REVIEW:
        # "In review" also finds approved assets whose next version waits for its reviewers.
        waiting = AssetVersion.objects.filter(asset=OuterRef("pk"), status=VersionStatus.IN_REVIEW)
        qs = qs.filter(Q(status=Status.IN_REVIEW) | Q(Exists(waiting)))
    elif status in Status.values:
        qs = qs.filter(status=status)
    elif status != "all":
        qs = qs.exclude(status=Status.RETIRED)
    if values.get("type"):
        qs = qs.filter(asset_type=values["type"])
    # One row per asset and tag in each through table (unique), so these joins never repeat an asset.
    if values.get("stage"):
        qs = qs.filter(deal_stages=int(values["stage"]))
    if values.get("funnel"):
        qs = qs.filter(funnel_stages__lifecycle_stage=values["funnel"])
    if values.get("persona"):
        qs = qs.filter(personas=int(values["persona"]))
    if values.get("product"):
        qs = qs.filter(products=int(values["product"]))
    if values.get("owner"):
        qs = qs.filter(owner_id=int(values["owner"]))
    if values.get("language"):
        qs = qs.filter(language=values["language"])
    if values.get("expiring") == "soon":
        qs = qs.filter(expires_on__gte=today, expires_on__lte=today + timedelta(days=EXPIRING_DAYS))
    elif values.get("expiring") == "past":
        qs = qs.filter(expires_on__lt=today)
    return qs


def with_card_data(qs: QuerySet) -> QuerySet:
    """What a card shows: owner, whether a version waits for review, whether it has a picture (its
    thumbnail), and its funnel stages and personas (two prefetches)."""
    pending = AssetVersion.objects.filter(asset=OuterRef("pk"), status=VersionStatus.IN_REVIEW)
    # Only PDFs and images have a rendered thumbnail (previews.can_preview); other cards show their type's name.
    pictured = AssetVersion.objects.filter(asset=OuterRef("pk"), mime_type__in=PICTURED).exclude(file_name="")
    return (
        qs.select_related("owner")
        .annotate(pending_review=Exists(pending), has_thumb=Exists(pictured))
        .prefetch_related(
            Prefetch("funnel_stages", queryset=AssetFunnelStage.objects.order_by("id")),
            Prefetch("personas", queryset=Persona.objects.all()),
        )
    )


def library(params, *, size: int = PAGE_SIZE, today=None) -> Library:
    """The library page for request.GET `params`: 5 queries for the filter bar, 1 for the page, 2 prefetches."""
    today = today or timezone.localdate()
    q = " ".join(str(params.get("q") or "").split())[:100]
    sort_key = params.get("sort") if params.get("sort") in SORTS else DEFAULT_SORT
    filters = build_filters(params)
    values = {f.param: f.value for f in filters if f.value}
    qs = with_card_data(filtered(Asset.objects.all(), q, values, today))
    page = keyset_page(qs, SORTS[sort_key], params.get("after"), size)
    for asset in page.rows:
        asset.expiring_soon = bool(asset.expires_on and asset.expires_on <= today + timedelta(days=EXPIRING_DAYS))
        asset.expired = bool(asset.expires_on and asset.expires_on < today)
    query = {"q": q, **values}
    if sort_key != DEFAULT_SORT:
        query["sort"] = sort_key
    return Library(
        q=q,
        sort_key=sort_key,
        filters=filters,
        page=page,
        query=urlencode({k: v for k, v in query.items() if v}),
    )


# -- an asset's page -------------------------------------------------------------------------------------------


@dataclass
class AssetPage:
    """Everything the asset's page shows, read in a fixed number of queries."""

    asset: Asset
    versions: list
    pending: AssetVersion | None  # the newest version not yet approved (draft, in review, changes requested)
    in_review: AssetVersion | None
    reviews: list
    comments: list
    shares: list
    reviewer_ids: set
    reviewers: list
    funnel_stages: list
    deal_stages: list
    personas: list
    products: list


def asset_page(pk: int) -> AssetPage | None:
    asset = (
        Asset.objects.select_related("owner", "published_version", "approved_by", "published_version__created_by")
        .filter(pk=pk)
        .first()
    )
    if asset is None:
        return None
    from smarketing.content.models import Comment, Review, Share

    versions = list(asset.versions.select_related("created_by").order_by("-number")[:100])
    latest = versions[0] if versions else None
    pending = latest if latest is not None and latest.status in (
        VersionStatus.DRAFT, VersionStatus.IN_REVIEW, VersionStatus.CHANGES_REQUESTED
    ) else None  # fmt: skip
    in_review = pending if pending is not None and pending.status == VersionStatus.IN_REVIEW else None
    reviewers = list(asset.reviewers.order_by("full_name", "email"))
    stages = list(asset.deal_stages.select_related("pipeline").order_by("pipeline__position", "position"))
    labels = dict(funnel_choices())
    return AssetPage(
        asset=asset,
        versions=versions,
        pending=pending,
        in_review=in_review,
        reviews=list(Review.objects.filter(asset=asset).select_related("reviewer", "version")[:100]),
        comments=list(Comment.objects.filter(asset=asset).select_related("author")[:200]),
        shares=list(
            Share.objects.filter(asset=asset)
            .select_related("contact", "deal", "shared_by")
            .order_by("-created_at")[:SHARES_SHOWN]
        ),
        reviewer_ids={u.pk for u in reviewers},
        reviewers=reviewers,
        funnel_stages=[
            labels.get(code, code)
            for code in asset.funnel_stages.order_by("id").values_list("lifecycle_stage", flat=True)
        ],  # fmt: skip
        deal_stages=stages,
        personas=list(asset.personas.all()),
        products=list(asset.products.all()),
    )
