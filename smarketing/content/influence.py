"""Content influence: what each asset did, as query objects (core.metric.Metric) that the library's report, the
asset page, the API and the joint KPI dashboard all call, so a figure means the same thing everywhere.

What counts (all within the optional window [since, until], dates in the current time zone):

- a **share**: a Share row (a rep sent the asset to a contact, optionally about a deal);
- a **view**: a ShareView row (the contact opened a share link), or a `content_viewed` touch that names the asset
  (`details.asset_id`, as API clients record views made elsewhere) and is not the touch of a share link's opening
  (those carry `details.share_id` and already are a ShareView: counting both would count one opening twice);
- **contacts reached**: distinct contacts with a share or a view;
- a deal is **touched** by an asset when, before the deal closed (or while it is open), the asset was shared on
  the deal, viewed through a share made on the deal, viewed in a touch on the deal, or viewed by one of the deal's
  contacts; touched deals are split won / lost / open, and **influenced revenue** is the sum of the touched won
  deals' amounts, per currency (amounts in different currencies are never added up);
- **stage progression**: each touch on a deal falls in one of the deal's stage visits (a DealStageChange to the
  stage, until the next change); the visit *moved forward* when its next change went to a later stage or to won,
  was *lost* when it went to a lost stage, and *stalled* otherwise (no change since, or a move back).

Set-based SQL in a fixed number of queries whatever the data (AssetInfluence three, StageProgression three,
LibraryLeaders one). The events are Django's own SQL (the JSON key lookups and the window's dates are right on
SQLite and PostgreSQL alike); only the joins around them are written here, in SQL both databases run.
"""

import dataclasses
import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.models import BigIntegerField, Case, CharField, F, Q, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from smarketing.content.kinds import CONTENT_VIEWED
from smarketing.content.models import Asset, Share, ShareView, Status
from smarketing.core.metric import Metric
from smarketing.crm.models import Deal, DealContact, DealStageChange, DealStatus, Stage

SHARE, VIEW = "share", "view"
FORWARD, STALLED, LOST = "forward", "stalled", "lost"
MAX_LEADERS = 50
CENT = Decimal("0.01")


@dataclasses.dataclass(frozen=True)
class Amount:
    """An amount in one currency."""

    currency: str
    amount: Decimal


@dataclasses.dataclass(frozen=True)
class AssetFigures:
    """One asset's influence."""

    asset_id: int
    title: str
    asset_type: str
    status: str
    views: int = 0
    shares: int = 0
    contacts: int = 0
    deals_won: int = 0
    deals_lost: int = 0
    deals_open: int = 0
    revenue: tuple[Amount, ...] = ()

    @property
    def deals(self) -> int:
        return self.deals_won + self.deals_lost + self.deals_open

    @property
    def win_rate(self) -> float | None:
        closed = self.deals_won + self.deals_lost
        return self.deals_won / closed if closed else None

    def as_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "revenue"}
        data["deals"] = self.deals
        data["revenue"] = [{"currency": r.currency, "amount": str(r.amount)} for r in self.revenue]
        return data


@dataclasses.dataclass(frozen=True)
class AssetProgress:
    """How the deal-stage visits an asset touched in one stage went on."""

    asset_id: int
    title: str
    forward: int = 0
    stalled: int = 0
    lost: int = 0

    @property
    def touched(self) -> int:
        return self.forward + self.stalled + self.lost

    @property
    def forward_rate(self) -> float | None:
        return self.forward / self.touched if self.touched else None


@dataclasses.dataclass(frozen=True)
class StageFigures:
    """One deal stage: the assets shared or viewed while deals were in it, most often followed by progress first."""

    stage_id: int
    stage: str
    pipeline: str
    assets: tuple[AssetProgress, ...]

    @property
    def forward(self) -> int:
        return sum(a.forward for a in self.assets)

    @property
    def touched(self) -> int:
        return sum(a.touched for a in self.assets)


def _money(value) -> Decimal:
    # SQLite sums decimals as floats: rounding to cents gives back the exact figure.
    return Decimal(str(value or 0)).quantize(CENT)


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclasses.dataclass(frozen=True)
class ContentWindow(Metric):
    """The parameters every influence figure takes: one asset (or all) and an optional window of dates."""

    asset_id: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None  # included

    def clean(self) -> None:
        if self.asset_id is not None and not _positive_int(self.asset_id):
            raise ValueError("Choose an asset.")
        for value in (self.since, self.until):
            if value is not None and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
                raise ValueError("Give the period as dates.")
        if self.since and self.until and self.until < self.since:
            raise ValueError("The period must end after it starts.")

    # -- the events --------------------------------------------------------------------------------------------

    def _bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.since, dt.time(), tzinfo=zone) if self.since else None
        end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), tzinfo=zone) if self.until else None
        return start, end

    def _in_window(self, queryset, field: str):
        start, end = self._bounds()
        if start is not None:
            queryset = queryset.filter(**{f"{field}__gte": start})
        if end is not None:
            queryset = queryset.filter(**{f"{field}__lt": end})
        return queryset

    def events(self):
        """Every share and view as (a: asset, c: contact, d: deal or null, t: when, k: "share" | "view"): one
        UNION ALL of Django querysets, for the joins below."""
        from smarketing.timeline.models import Touchpoint

        def kind(value):
            return Value(value, output_field=CharField())

        shares = self._in_window(Share.objects.order_by(), "created_at")
        views = self._in_window(ShareView.objects.order_by(), "started_at")
        # An API client's details are free-form: only a whole number names an asset, and the CASE keeps
        # PostgreSQL from casting anything else (a CAST in WHERE could run before the pattern test).
        asset_of_touch = Case(
            When(details__asset_id__regex=r"^[0-9]{1,18}$", then=Cast(KT("details__asset_id"), BigIntegerField())),
            default=None,
            output_field=BigIntegerField(),
        )
        touches = (
            self._in_window(Touchpoint.objects.order_by(), "occurred_at")
            .filter(kind=CONTENT_VIEWED, details__has_key="asset_id")
            .exclude(details__has_key="share_id")
            .annotate(touch_asset=asset_of_touch)
            .filter(touch_asset__isnull=False)
        )
        if self.asset_id is not None:
            shares = shares.filter(asset_id=self.asset_id)
            views = views.filter(asset_id=self.asset_id)
            touches = touches.filter(touch_asset=self.asset_id)
        shares = shares.annotate(
            a=F("asset_id"), c=F("contact_id"), d=F("deal_id"), t=F("created_at"), k=kind(SHARE)
        ).values("a", "c", "d", "t", "k")
        views = views.annotate(
            a=F("asset_id"), c=F("contact_id"), d=F("share__deal_id"), t=F("started_at"), k=kind(VIEW)
        ).values("a", "c", "d", "t", "k")
        touches = touches.annotate(
            a=F("touch_asset"), c=F("contact_id"), d=F("deal_id"), t=F("occurred_at"), k=kind(VIEW)
        ).values("a", "c", "d", "t", "k")
        return shares.union(views, touches, all=True)

    def _ctes(self) -> tuple[str, list]:
        """`e`: the events; `p`: (asset, deal, when) of every touch on a deal, directly or through a viewer on it;
        `x`: each (asset, deal) once, when a touch came before the deal closed."""
        events_sql, params = self.events().query.sql_with_params()
        deals, roles = Deal._meta.db_table, DealContact._meta.db_table
        sql = (
            f"WITH e AS ({events_sql}), "
            "p AS (SELECT e.a, e.d, e.t FROM e WHERE e.d IS NOT NULL "
            f"UNION ALL SELECT e.a, r.deal_id AS d, e.t FROM e JOIN {roles} r ON r.contact_id = e.c WHERE e.k = %s), "
            f"x AS (SELECT DISTINCT p.a, p.d FROM p JOIN {deals} dl ON dl.id = p.d "
            "WHERE dl.closed_at IS NULL OR p.t < dl.closed_at) "
        )
        return sql, [*params, VIEW]

    def _fetch(self, sql: str, params: list) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


@dataclasses.dataclass(frozen=True)
class AssetInfluence(ContentWindow):
    """Per asset: views, shares, contacts reached, deals touched (won / lost / open) and influenced revenue.

    With `asset_id`, that asset's one row (zeros when nothing happened); without, every asset that had any
    activity in the window and every approved one (an approved asset nobody uses is worth seeing), most won deals
    first."""

    name = "content.asset_influence"

    def compute(self) -> tuple[AssetFigures, ...]:
        ctes, params = self._ctes()
        activity = self._fetch(
            ctes + "SELECT e.a, SUM(CASE WHEN e.k = %s THEN 1 ELSE 0 END), SUM(CASE WHEN e.k = %s THEN 1 ELSE 0 END), "
            "COUNT(DISTINCT e.c) FROM e GROUP BY e.a",
            [*params, VIEW, SHARE],
        )
        deals = self._fetch(
            ctes + f"SELECT x.a, dl.status, dl.currency, COUNT(*), SUM(dl.amount) FROM x "
            f"JOIN {Deal._meta.db_table} dl ON dl.id = x.d GROUP BY x.a, dl.status, dl.currency",
            params,
        )
        figures: dict[int, dict] = {}
        for asset_id, views, shares, contacts in activity:
            figures[asset_id] = {"views": int(views or 0), "shares": int(shares or 0), "contacts": int(contacts)}
        revenue: dict[int, dict[str, Decimal]] = {}
        for asset_id, status, currency, count, amount in deals:
            row = figures.setdefault(asset_id, {})
            key = {DealStatus.WON: "deals_won", DealStatus.LOST: "deals_lost"}.get(status, "deals_open")
            row[key] = row.get(key, 0) + count
            if status == DealStatus.WON:
                per_currency = revenue.setdefault(asset_id, {})
                per_currency[currency] = per_currency.get(currency, Decimal("0")) + _money(amount)
        assets = Asset.objects.order_by()
        if self.asset_id is not None:
            assets = assets.filter(pk=self.asset_id)
        else:
            assets = assets.filter(Q(pk__in=list(figures)) | Q(status=Status.APPROVED))
        rows = []
        for asset in assets.values("id", "title", "asset_type", "status"):
            money = sorted(revenue.get(asset["id"], {}).items(), key=lambda item: (-item[1], item[0]))
            rows.append(
                AssetFigures(
                    asset_id=asset["id"],
                    title=asset["title"],
                    asset_type=asset["asset_type"],
                    status=asset["status"],
                    revenue=tuple(Amount(c, a) for c, a in money),
                    **figures.get(asset["id"], {}),
                )
            )
        rows.sort(key=lambda r: (-r.deals_won, -r.deals, -r.views, -r.shares, r.title.lower(), r.asset_id))
        return tuple(rows)

    def one(self) -> AssetFigures | None:
        """The row of `asset_id` (None when there is no such asset)."""
        rows = self.result()
        return rows[0] if rows else None


@dataclasses.dataclass(frozen=True)
class StageProgression(ContentWindow):
    """Per deal stage (open stages, in pipeline order): which assets were shared or viewed while deals were in
    it, and whether those stage visits then moved forward, stalled or were lost."""

    name = "content.stage_progression"

    def compute(self) -> tuple[StageFigures, ...]:
        ctes, params = self._ctes()
        changes, stages = DealStageChange._meta.db_table, Stage._meta.db_table
        # The visits of the touched deals only: a deal's window is computed over all its changes, so filtering
        # whole deals first keeps each LEAD right and spares the window over every deal there is.
        order = "PARTITION BY c.deal_id ORDER BY c.changed_at, c.id"
        sql = (
            ctes + f", v AS (SELECT c.id, c.deal_id, c.to_stage_id, c.changed_at, "
            f"LEAD(c.changed_at) OVER ({order}) AS next_at, LEAD(c.to_stage_id) OVER ({order}) AS next_stage "
            f"FROM {changes} c WHERE c.deal_id IN (SELECT p.d FROM p)) "
            "SELECT v.to_stage_id, p.a, CASE WHEN v.next_stage IS NULL THEN %s WHEN ns.outcome = %s THEN %s "
            "WHEN ns.outcome = %s OR ns.position > s.position THEN %s ELSE %s END, COUNT(DISTINCT v.id) "
            "FROM v JOIN p ON p.d = v.deal_id AND p.t >= v.changed_at AND (v.next_at IS NULL OR p.t < v.next_at) "
            f"JOIN {stages} s ON s.id = v.to_stage_id LEFT JOIN {stages} ns ON ns.id = v.next_stage "
            "WHERE s.outcome = %s GROUP BY 1, 2, 3"
        )
        outcome = [STALLED, Stage.Outcome.LOST, LOST, Stage.Outcome.WON, FORWARD, STALLED, Stage.Outcome.OPEN]
        rows = self._fetch(sql, [*params, *outcome])
        counts: dict[int, dict[int, dict[str, int]]] = {}
        for stage_id, asset_id, result, n in rows:
            counts.setdefault(stage_id, {}).setdefault(asset_id, {})[result] = n
        asset_ids = {a for per_stage in counts.values() for a in per_stage}
        titles = dict(Asset.objects.filter(pk__in=asset_ids).values_list("id", "title"))
        stage_rows = Stage.objects.filter(pk__in=list(counts)).select_related("pipeline")
        stage_rows = stage_rows.order_by("pipeline__position", "pipeline_id", "position")
        out = []
        for stage in stage_rows:
            assets = [
                AssetProgress(asset_id=a, title=titles.get(a, f"Asset {a}"), **results)
                for a, results in counts[stage.pk].items()
            ]
            assets.sort(key=lambda x: (-x.forward, -x.touched, x.title.lower(), x.asset_id))
            out.append(StageFigures(stage.pk, stage.name, stage.pipeline.name, tuple(assets)))
        return tuple(out)


@dataclasses.dataclass(frozen=True)
class LibraryLeaders(ContentWindow):
    """The assets with the most influenced revenue in one currency: (asset id, title, won deals, revenue)."""

    name = "content.library_leaders"
    currency: str = "USD"
    limit: int = 10

    def clean(self) -> None:
        super().clean()
        if not isinstance(self.currency, str) or len(self.currency) != 3 or not self.currency.isalpha():
            raise ValueError("Give a three-letter currency code.")
        if not _positive_int(self.limit) or self.limit > MAX_LEADERS:
            raise ValueError(f"Show from 1 to {MAX_LEADERS} assets.")

    def compute(self) -> tuple[tuple[int, str, int, Decimal], ...]:
        ctes, params = self._ctes()
        sql = (
            ctes + f"SELECT x.a, ast.title, COUNT(*), SUM(dl.amount) FROM x "
            f"JOIN {Deal._meta.db_table} dl ON dl.id = x.d JOIN {Asset._meta.db_table} ast ON ast.id = x.a "
            "WHERE dl.status = %s AND dl.currency = %s GROUP BY x.a, ast.title "
            "ORDER BY SUM(dl.amount) DESC, x.a LIMIT %s"
        )
        rows = self._fetch(sql, [*params, DealStatus.WON, self.currency.upper(), self.limit])
        return tuple((a, title, int(n), _money(amount)) for a, title, n, amount in rows)
