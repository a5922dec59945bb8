"""Team pipeline metrics for the manager's home: open deals by stage and rep, and the deals that stall."""

import dataclasses
import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from smarketing.accounts.models import User
from smarketing.core.metric import Metric
from smarketing.crm.models import Deal, DealStatus, Stage
from smarketing.metrics.deals import Money, largest_first
from smarketing.timeline.models import Touchpoint


def _check_id(value, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an id")


def _team_owner_ids(team_id: int):
    # A subquery, not a list: the planner walks each member's (owner, -id) deal index.
    return User.objects.filter(team_id=team_id).values("id")


def _money(totals: dict[str, Decimal]) -> tuple[Money, ...]:
    return tuple(sorted((Money(c, a) for c, a in totals.items()), key=largest_first))


@dataclasses.dataclass(frozen=True)
class StageTotal:
    """One stage of a pipeline: the team's open deals in it and what they add up to."""

    stage: Stage
    deals: int
    totals: tuple[Money, ...]
    weighted: tuple[Money, ...]  # amount × the stage's probability


@dataclasses.dataclass(frozen=True)
class RepTotal:
    """One rep's open deals across the pipelines."""

    owner: User
    deals: int
    totals: tuple[Money, ...]


@dataclasses.dataclass(frozen=True)
class TeamPipelineResult:
    """Open deals owned by a team's members, by stage (pipelines with deals, in board order) and by rep."""

    stages: tuple[StageTotal, ...]
    reps: tuple[RepTotal, ...]
    deals: int
    totals: tuple[Money, ...]


@dataclasses.dataclass(frozen=True)
class TeamPipeline(Metric[TeamPipelineResult]):
    """The open pipeline of one team: three queries (the grouped deals, their stages, the reps)."""

    team_id: int

    name = "pipeline.team"
    cache_seconds = 60  # a team figure: a minute old is fine, and it groups every open deal of the team

    def clean(self) -> None:
        _check_id(self.team_id, "team_id")

    def compute(self) -> TeamPipelineResult:
        rows = list(
            Deal.objects.filter(status=DealStatus.OPEN, owner__in=_team_owner_ids(self.team_id))
            .values("stage_id", "owner_id", "currency")
            .annotate(n=Count("id"), total=Sum("amount"))
            .order_by()
        )
        by_stage: dict[int, list] = defaultdict(lambda: [0, defaultdict(Decimal)])
        by_owner: dict[int, list] = defaultdict(lambda: [0, defaultdict(Decimal)])
        grand: dict[str, Decimal] = defaultdict(Decimal)
        for r in rows:
            total = r["total"] or Decimal("0")
            for bucket in (by_stage[r["stage_id"]], by_owner[r["owner_id"]]):
                bucket[0] += r["n"]
                bucket[1][r["currency"]] += total
            grand[r["currency"]] += total
        pipelines = set(Stage.objects.filter(id__in=list(by_stage)).values_list("pipeline_id", flat=True))
        stages = []
        # Won and lost stages hold no open deals: they would be rows of zeros.
        open_stages = Stage.objects.filter(pipeline_id__in=pipelines, outcome=Stage.Outcome.OPEN)
        for stage in open_stages.select_related("pipeline").order_by("pipeline__position", "pipeline_id", "position"):
            n, totals = by_stage.get(stage.id, (0, {}))
            weighted = {c: (a * stage.probability / 100).quantize(Decimal("1")) for c, a in totals.items()}
            stages.append(StageTotal(stage, n, _money(totals), _money(weighted)))
        owners = {u.pk: u for u in User.objects.filter(id__in=list(by_owner))}
        reps = [RepTotal(owners[pk], n, _money(t)) for pk, (n, t) in by_owner.items() if pk in owners]
        reps.sort(key=lambda r: (-r.deals, str(r.owner).lower()))
        return TeamPipelineResult(tuple(stages), tuple(reps), sum(n for n, _ in by_stage.values()), _money(grand))


@dataclasses.dataclass(frozen=True)
class StalledDeal:
    """An open deal past its stage's target time, or without activity for the metric's idle days."""

    deal: Deal
    days_in_stage: int
    target_days: int | None
    last_activity: datetime.datetime | None

    @property
    def over_target(self) -> bool:
        return self.target_days is not None and self.days_in_stage > self.target_days


@dataclasses.dataclass(frozen=True)
class StalledDealsResult:
    rows: tuple[StalledDeal, ...]
    more: bool  # more stalled deals than `limit`
    idle_days: int


@dataclasses.dataclass(frozen=True)
class StalledDeals(Metric[StalledDealsResult]):
    """A team's open deals that stall, longest in their stage first: two queries (stages with a target time,
    then the deals, each with an indexed probe of its newest touch)."""

    team_id: int
    idle_days: int = 14
    limit: int = 10

    name = "pipeline.stalled"
    cache_seconds = 60

    def clean(self) -> None:
        _check_id(self.team_id, "team_id")
        if not isinstance(self.idle_days, int) or not 1 <= self.idle_days <= 365:
            raise ValueError("idle_days must be from 1 to 365")
        if not isinstance(self.limit, int) or not 1 <= self.limit <= 100:
            raise ValueError("limit must be from 1 to 100")

    def compute(self) -> StalledDealsResult:
        now = timezone.now()
        idle_since = now - datetime.timedelta(days=self.idle_days)
        past_target = Q()
        for stage_id, target in Stage.objects.filter(target_days__isnull=False, outcome=Stage.Outcome.OPEN).values_list(
            "id", "target_days"
        ):
            past_target |= Q(stage_id=stage_id, stage_entered_at__lt=now - datetime.timedelta(days=target))
        touches = Touchpoint.objects.filter(deal_id=OuterRef("pk"))
        deals = list(
            Deal.objects.filter(status=DealStatus.OPEN, owner__in=_team_owner_ids(self.team_id))
            .annotate(active=Exists(touches.filter(occurred_at__gte=idle_since)))
            .filter(past_target | Q(active=False))
            .annotate(last_activity=Subquery(touches.order_by("-occurred_at").values("occurred_at")[:1]))
            .select_related("stage", "owner", "company")
            .order_by("stage_entered_at", "id")[: self.limit + 1]
        )
        rows = tuple(
            StalledDeal(d, max(0, (now - d.stage_entered_at).days), d.stage.target_days, d.last_activity)
            for d in deals[: self.limit]
        )
        return StalledDealsResult(rows, len(deals) > self.limit, self.idle_days)
