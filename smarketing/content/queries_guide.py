"""Reusable reads of the messaging guide: the guide's list (filtered, grouped by kind) and a message's page, each a
fixed number of queries however many messages, tags or revisions there are."""

from dataclasses import dataclass, field

from django.db.models import Exists, F, OuterRef, Prefetch, Q, Subquery

from smarketing.content.models import Message, MessageKind, MessageRevision, Persona, Review, Status
from smarketing.content.panels import KIND_ORDER, message_lines

# The status filter: everything in use by default; "review": what a reviewer can decide on now.
STATUS_FILTERS = [
    ("", "In use"),
    ("approved", "Approved"),
    ("review", "Waiting for review"),
    ("draft", "Drafts"),
    ("retired", "Retired"),
]


def _latest_revision_id():
    return Subquery(MessageRevision.objects.filter(message=OuterRef("pk")).order_by("-number").values("pk")[:1])


def decorate(message) -> None:
    """What the guide shows of a message: the approved text when there is one (what sales sees), else the
    current text; `pending` when an approved message has a newer revision waiting."""
    approved = message.approved_revision if message.approved_revision_id else None
    shown = approved if approved is not None and message.status in (Status.APPROVED, Status.RETIRED) else message
    message.text_title = shown.title
    message.text_lines = message_lines(shown.body)
    message.pending = bool(
        message.status == Status.APPROVED
        and message.approved_revision_id
        and getattr(message, "latest_id", None) not in (None, message.approved_revision_id)
    )


@dataclass
class Guide:
    """The guide's page: the filters as chosen and the messages grouped by kind."""

    persona: str = ""
    stage: str = ""
    kind: str = ""
    status: str = ""
    personas: list = field(default_factory=list)
    stage_options: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    count: int = 0

    @property
    def filtered(self) -> bool:
        return bool(self.persona or self.stage or self.kind or self.status)


def _choice(value, allowed) -> str:
    value = str(value or "")
    return value if value in allowed else ""


def guide(params) -> Guide:
    """The guide for GET parameters persona (id), stage ("d<stage id>" or "l<lifecycle code>"), kind, status.
    A message tagged for no stage (no persona) holds at every stage (for every persona), so it shows under any
    stage (persona) filter too."""
    from smarketing.content.queries import funnel_choices, stage_choices

    personas = list(Persona.objects.order_by("position", "name"))
    stage_options = [(f"d{value}", label) for value, label in stage_choices()]
    stage_options += [(f"l{value}", f"Funnel · {label}") for value, label in funnel_choices()]
    g = Guide(
        persona=_choice(params.get("persona"), {str(p.pk) for p in personas}),
        stage=_choice(params.get("stage"), {value for value, _ in stage_options}),
        kind=_choice(params.get("kind"), set(MessageKind.values)),
        status=_choice(params.get("status"), {value for value, _ in STATUS_FILTERS}),
        personas=personas,
        stage_options=stage_options,
    )
    rows = Message.objects.select_related("owner", "approved_revision").annotate(latest_id=_latest_revision_id())
    if g.status == "":
        rows = rows.exclude(status=Status.RETIRED)
    elif g.status == "review":
        # In review, or approved with a newer revision than the approved one.
        rows = rows.filter(
            Q(status=Status.IN_REVIEW) | (Q(status=Status.APPROVED) & ~Q(latest_id=F("approved_revision_id")))
        )
    else:
        rows = rows.filter(status=g.status)
    if g.kind:
        rows = rows.filter(kind=g.kind)
    if g.persona:
        tagged = Message.personas.through.objects.filter(message_id=OuterRef("pk"))
        rows = rows.filter(Exists(tagged.filter(persona_id=int(g.persona))) | ~Exists(tagged))
    if g.stage:
        stage_tags = Message.deal_stages.through.objects.filter(message_id=OuterRef("pk"))
        untagged = ~Exists(stage_tags) & Q(lifecycle_stages=[])
        if g.stage.startswith("d"):
            rows = rows.filter(Exists(stage_tags.filter(stage_id=int(g.stage[1:]))) | untagged)
        else:
            # The codes are plain words inside a JSON list: the quoted code matches it exactly, on both databases.
            rows = rows.filter(Q(lifecycle_stages__icontains=f'"{g.stage[1:]}"') | untagged)
    rows = rows.prefetch_related(
        Prefetch("personas", queryset=Persona.objects.order_by("position", "name")),
        "deal_stages",
    ).order_by("kind", "position", "id")
    by_kind: dict[str, list] = {}
    for message in rows:
        decorate(message)
        by_kind.setdefault(message.kind, []).append(message)
        g.count += 1
    g.groups = [(kind, by_kind[kind]) for kind in KIND_ORDER if kind in by_kind]
    return g


@dataclass
class MessagePage:
    """A message's page: the message, its revisions (newest first), its approval record and comments."""

    message: Message
    revisions: list
    reviews: list
    comments: list
    reviewer_ids: set
    reviewers: list

    @property
    def latest(self):
        return self.revisions[0] if self.revisions else None

    @property
    def approved(self):
        return self.message.approved_revision

    @property
    def pending(self) -> bool:
        return bool(self.message.pending)


def message_page(pk: int) -> MessagePage | None:
    message = (
        Message.objects.select_related("owner", "approved_revision", "approved_by")
        .annotate(latest_id=_latest_revision_id())
        .prefetch_related("personas", "products", "deal_stages__pipeline", "reviewers")
        .filter(pk=pk)
        .first()
    )
    if message is None:
        return None
    decorate(message)
    revisions = list(message.revisions.select_related("created_by").order_by("-number")[:50])
    reviews = list(
        Review.objects.filter(message=message)
        .select_related("reviewer", "revision")
        .order_by("-decided_at", "-id")[:50]
    )
    comments = list(message.comments.select_related("author").order_by("created_at", "id")[:200])
    reviewers = list(message.reviewers.all())
    return MessagePage(
        message=message,
        revisions=revisions,
        reviews=reviews,
        comments=comments,
        reviewer_ids={u.pk for u in reviewers},
        reviewers=reviewers,
    )
