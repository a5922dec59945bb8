"""The "content for this stage" panel on deal and contact pages (registered with crm's record panels).

For a deal: its stage and the personas of its contacts; for a contact: its lifecycle stage, the stages of its
open deals and its own persona. The panel shows

- the approved messages (status approved, the text of `approved_revision`, never a pending edit) tagged for
  that stage, or for no stage at all (they hold everywhere), and for those personas or none; when no persona is
  known, persona-specific messages show too (the rep knows who is on the call);
- the recommended shareable assets (Asset.shareable), ranked by: tagged with this deal stage (or, on a contact,
  the lifecycle stage), then persona, product (the record's custom property "product"), the company's
  industry, then by how often the asset was shared on deals that were later won: one query, the ranking in SQL.

A fixed number of queries whatever the record, the library or the guide hold (assertNumQueries in the tests).
"""

from dataclasses import dataclass, field

from django.db.models import BooleanField, Case, Count, Exists, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from smarketing.content import labels_guide  # noqa: F401 (its labels are declared at startup)
from smarketing.content.models import (
    Asset,
    AssetFunnelStage,
    Message,
    MessageKind,
    Persona,
    Share,
    Status,
)
from smarketing.content.personas import deal_personas, load_personas, persona_for
from smarketing.crm.models import DealStatus
from smarketing.crm.panels import register_record_panel

PANEL_KINDS = ("deal", "contact")
TITLE = "Content for this stage"
ASSETS_SHOWN = 6
MESSAGES_PER_KIND = 5
PRODUCT_PROPERTY = "product"  # a deal's or contact's custom property naming a Product (comma-separated if several)
# The order a rep reads them in during a call: what to say, then what they will object, then the background.
KIND_ORDER = [
    MessageKind.TALKING_POINT,
    MessageKind.KEY_MESSAGE,
    MessageKind.OBJECTION,
    MessageKind.VALUE_PROPOSITION,
    MessageKind.COMPETITOR,
]

for _kind in PANEL_KINDS:
    register_record_panel(_kind, "content", TITLE, "content:panel")


@dataclass
class Panel:
    """What the panel shows for one record."""

    kind: str
    record: object
    stage_names: list[str] = field(default_factory=list)
    lifecycle_stage: str = ""
    personas: list[Persona] = field(default_factory=list)
    industry: str = ""
    groups: list[tuple[str, list]] = field(default_factory=list)  # (kind label, messages)
    assets: list[Asset] = field(default_factory=list)
    share_contact_id: int | None = None
    share_deal_id: int | None = None

    @property
    def empty(self) -> bool:
        return not self.groups and not self.assets


def _products(record) -> list[str]:
    custom = record.custom if isinstance(getattr(record, "custom", None), dict) else {}
    raw = custom.get(PRODUCT_PROPERTY)
    values = raw if isinstance(raw, list) else str(raw or "").split(",")
    return [v.strip() for v in (str(x) for x in values) if v.strip()][:10]


def message_lines(text: str) -> list[str]:
    """A message body as its bullet lines: one per non-empty line, without a typed bullet."""
    return [line.strip().lstrip("-•*").strip() for line in str(text or "").splitlines() if line.strip()]


def approved_messages() -> list[Message]:
    """Every approved message with its approved revision and tags (three queries: there are few of them)."""
    rows = (
        Message.objects.filter(status=Status.APPROVED, approved_revision__isnull=False)
        .select_related("approved_revision")
        .prefetch_related("personas", "deal_stages")
        .order_by("kind", "position", "id")
    )
    return list(rows)


def pick_messages(
    messages: list[Message], *, stage_ids: set[int], lifecycle: str, persona_ids: set[int]
) -> list[tuple[str, list]]:
    """The messages for these stages and personas, grouped by kind in KIND_ORDER, the most specific first."""
    chosen: dict[str, list[tuple[tuple, Message]]] = {}
    for message in messages:
        tagged_stages = {s.pk for s in message.deal_stages.all()}
        tagged_lifecycle = set(message.lifecycle_stages or [])
        for_stage = bool(tagged_stages & stage_ids) or (lifecycle and lifecycle in tagged_lifecycle)
        if (tagged_stages or tagged_lifecycle) and not for_stage:
            continue
        tagged_personas = {p.pk for p in message.personas.all()}
        for_persona = bool(tagged_personas & persona_ids)
        if tagged_personas and persona_ids and not for_persona:
            continue
        revision = message.approved_revision
        message.text_title, message.text_lines = revision.title, message_lines(revision.body)
        message.for_stage, message.for_persona = bool(for_stage), for_persona
        chosen.setdefault(message.kind, []).append(((not for_stage, not for_persona, message.position), message))
    groups = []
    for kind in KIND_ORDER:
        rows = sorted(chosen.get(kind, []), key=lambda pair: (pair[0], pair[1].pk))
        if rows:
            groups.append((kind, [m for _, m in rows[:MESSAGES_PER_KIND]]))
    return groups


def recommended_assets(
    *,
    stage_ids: set[int],
    lifecycle: str,
    persona_ids: set[int],
    products: list[str],
    industry: str,
    limit: int = ASSETS_SHOWN,
) -> list[Asset]:
    """The shareable assets that fit, best first: one query, each row with the flags of why it fits
    (`for_stage`, `for_persona`, `for_product`, `for_industry`) and `won_shares`."""
    no = Value(False, output_field=BooleanField())
    stage_tag = Asset.deal_stages.through.objects.filter(asset_id=OuterRef("pk"), stage_id__in=stage_ids)
    funnel_tag = AssetFunnelStage.objects.filter(asset_id=OuterRef("pk"), lifecycle_stage=lifecycle)
    if stage_ids and lifecycle:
        for_stage = Q(Exists(stage_tag)) | Q(Exists(funnel_tag))
    elif stage_ids:
        for_stage = Q(Exists(stage_tag))
    elif lifecycle:
        for_stage = Q(Exists(funnel_tag))
    else:
        for_stage = None
    product_match = Q()
    for name in products:
        product_match |= Q(product__name__iexact=name)
    won_shares = (
        Share.objects.filter(asset_id=OuterRef("pk"), deal__status=DealStatus.WON)
        .order_by()
        .values("asset_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    flags = {
        "for_stage": Case(When(for_stage, then=True), default=False, output_field=BooleanField())
        if for_stage is not None
        else no,
        "for_persona": Exists(
            Asset.personas.through.objects.filter(asset_id=OuterRef("pk"), persona_id__in=persona_ids)
        )
        if persona_ids
        else no,
        "for_product": Exists(Asset.products.through.objects.filter(product_match, asset_id=OuterRef("pk")))
        if products
        else no,
        "for_industry": Case(When(industry__iexact=industry, then=True), default=False, output_field=BooleanField())
        if industry
        else no,
    }
    rows = (
        Asset.objects.filter(status=Status.APPROVED, published_version__isnull=False)
        .annotate(**flags, won_shares=Coalesce(Subquery(won_shares, output_field=IntegerField()), 0))
        .filter(
            Q(for_stage=True) | Q(for_persona=True) | Q(for_product=True) | Q(for_industry=True) | Q(won_shares__gt=0)
        )
        .order_by("-for_stage", "-for_persona", "-for_product", "-for_industry", "-won_shares", "-updated_at", "-id")
        .only("id", "title", "asset_type", "status", "published_version_id", "updated_at", "industry")
    )
    return list(rows[:limit])


def deal_panel(deal) -> Panel:
    """`deal` with its stage and company loaded (crm's get_record does)."""
    from smarketing.crm.models import DealContact

    roles = list(DealContact.objects.filter(deal=deal).select_related("contact").order_by("id")[:50])
    contacts = [r.contact for r in roles]
    personas = deal_personas(contacts, load_personas())
    industry = deal.company.industry if deal.company_id else ""
    stage_ids = {deal.stage_id}
    persona_ids = {p.pk for p in personas}
    panel = Panel(
        kind="deal",
        record=deal,
        stage_names=[deal.stage.name],
        personas=personas,
        industry=industry,
        share_contact_id=contacts[0].pk if contacts else None,  # the primary contact, as crm counts it
        share_deal_id=deal.pk,
    )
    panel.groups = pick_messages(approved_messages(), stage_ids=stage_ids, lifecycle="", persona_ids=persona_ids)
    panel.assets = recommended_assets(
        stage_ids=stage_ids, lifecycle="", persona_ids=persona_ids, products=_products(deal), industry=industry
    )
    return panel


def contact_panel(contact) -> Panel:
    """`contact` with its company loaded."""
    from smarketing.crm.models import DealContact, DealStatus

    open_roles = list(
        DealContact.objects.filter(contact=contact, deal__status=DealStatus.OPEN)
        .select_related("deal__stage")
        .order_by("-deal_id")[:10]
    )
    deals = [r.deal for r in open_roles]
    persona = persona_for(contact, load_personas())
    personas = [persona] if persona is not None else []
    industry = contact.company.industry if contact.company_id else ""
    stage_ids = {d.stage_id for d in deals}
    persona_ids = {p.pk for p in personas}
    names = []
    for deal in deals:
        if deal.stage.name not in names:
            names.append(deal.stage.name)
    panel = Panel(
        kind="contact",
        record=contact,
        stage_names=names,
        lifecycle_stage=contact.lifecycle_stage,
        personas=personas,
        industry=industry,
        share_contact_id=contact.pk,
        share_deal_id=deals[0].pk if len(deals) == 1 else None,  # with several open deals the rep picks one
    )
    lifecycle = contact.lifecycle_stage
    panel.groups = pick_messages(approved_messages(), stage_ids=stage_ids, lifecycle=lifecycle, persona_ids=persona_ids)
    panel.assets = recommended_assets(
        stage_ids=stage_ids,
        lifecycle=lifecycle,
        persona_ids=persona_ids,
        products=_products(contact),
        industry=industry,
    )
    return panel
