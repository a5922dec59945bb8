"""Process analytics as query objects (core.metric.Metric): validated parameters in, set-based SQL out, a typed
result. The process analytics page, the API and (later) the joint KPI dashboard call the same classes.

- `StageFunnel`: of the deals created in a period (in one pipeline, optionally one owner or source), how many
  reached each stage, and the conversion from each stage to the next.
- `TimeInStage`: how long deals stayed in each stage they left in the period (median, p75, p90: nearest-rank
  percentiles with window functions, the same SQL on SQLite and PostgreSQL), against the stage's target.
- `LifecycleFunnel`: contacts reaching each lifecycle stage (or a later one) in a period, subscriber to customer.
- `WeakestStep`: the step that falls flat: the stage whose conversion dropped most against the period before,
  or whose median time lags its target most.
"""

import dataclasses
import datetime as dt

from django.db import connection
from django.utils import timezone

from smarketing.core.metric import Metric

MAX_DAYS = 800


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    return (dt.datetime.combine(start, dt.time(), tzinfo=zone), dt.datetime.combine(end, dt.time(), tzinfo=zone))


def _adapt(value):
    return connection.ops.adapt_datetimefield_value(value)


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclasses.dataclass(frozen=True)
class _DealPeriod(Metric):
    pipeline_id: int
    start: dt.date
    end: dt.date
    owner_id: int | None = None
    source: str = ""

    def clean(self) -> None:
        if not isinstance(self.pipeline_id, int) or isinstance(self.pipeline_id, bool):
            raise ValueError("Choose a pipeline.")
        if not isinstance(self.start, dt.date) or not isinstance(self.end, dt.date) or self.end <= self.start:
            raise ValueError("The period must end after it starts.")
        if (self.end - self.start).days > MAX_DAYS:
            raise ValueError(f"A period spans at most {MAX_DAYS} days.")
        if self.owner_id is not None and (not isinstance(self.owner_id, int) or isinstance(self.owner_id, bool)):
            raise ValueError("Choose an owner.")
        if not isinstance(self.source, str) or len(self.source) > 50:
            raise ValueError("A source has at most 50 characters.")

    def _stages(self) -> list[dict]:
        from smarketing.crm.models import Stage

        return list(
            Stage.objects.filter(pipeline_id=self.pipeline_id)
            .order_by("position", "id")
            .values("id", "name", "position", "outcome", "team", "target_days", "probability")
        )

    def _deal_filter(self, alias: str = "d") -> tuple[str, list]:
        low, high = _bounds(self.start, self.end)
        sql = f"{alias}.pipeline_id = %s AND {alias}.created_at >= %s AND {alias}.created_at < %s"
        params = [self.pipeline_id, _adapt(low), _adapt(high)]
        if self.owner_id is not None:
            sql += f" AND {alias}.owner_id = %s"
            params.append(self.owner_id)
        if self.source:
            sql += f" AND {alias}.source = %s"
            params.append(self.source)
        return sql, params


@dataclasses.dataclass(frozen=True)
class StageFunnel(_DealPeriod):
    """Deals created in the period: how many reached each open or won stage, and each step's conversion."""

    name = "process_stage_funnel"

    def compute(self) -> list[dict]:
        where, params = self._deal_filter()
        # One pass: each deal's furthest stage (lost stages do not count as progress), then one count per stage.
        sql = f"""
            WITH reached AS (
                SELECT d.id AS deal_id, MAX(s.position) AS furthest
                FROM crm_deal d
                JOIN crm_dealstagechange c ON c.deal_id = d.id
                JOIN crm_stage s ON s.id = c.to_stage_id
                WHERE {where} AND s.outcome <> 'lost'
                GROUP BY d.id
            )
            SELECT st.id, COUNT(r.deal_id)
            FROM crm_stage st LEFT JOIN reached r ON r.furthest >= st.position
            WHERE st.pipeline_id = %s AND st.outcome <> 'lost'
            GROUP BY st.id
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, self.pipeline_id])
            counts = dict(cursor.fetchall())
        rows = [s for s in self._stages() if s["outcome"] != "lost"]
        result = []
        for i, stage in enumerate(rows):
            reached = counts.get(stage["id"], 0)
            following = counts.get(rows[i + 1]["id"], 0) if i + 1 < len(rows) else None
            result.append(
                {
                    **stage,
                    "reached": reached,
                    "next_reached": following,
                    "conversion": _rate(following, reached) if following is not None else None,
                }
            )
        return result


@dataclasses.dataclass(frozen=True)
class TimeInStage(_DealPeriod):
    """Time spent in each stage by the deals that left it in the period: count, median, p75, p90 (days)."""

    name = "process_time_in_stage"

    def compute(self) -> list[dict]:
        low, high = _bounds(self.start, self.end)
        where = "s.pipeline_id = %s AND c.changed_at >= %s AND c.changed_at < %s AND c.seconds_in_from IS NOT NULL"
        params = [self.pipeline_id, _adapt(low), _adapt(high)]
        join = ""
        if self.owner_id is not None or self.source:
            join = "JOIN crm_deal d ON d.id = c.deal_id"
            if self.owner_id is not None:
                where += " AND d.owner_id = %s"
                params.append(self.owner_id)
            if self.source:
                where += " AND d.source = %s"
                params.append(self.source)
        sql = f"""
            WITH ranked AS (
                SELECT c.from_stage_id AS stage_id, c.seconds_in_from AS seconds,
                       ROW_NUMBER() OVER (PARTITION BY c.from_stage_id ORDER BY c.seconds_in_from) AS rn,
                       COUNT(*) OVER (PARTITION BY c.from_stage_id) AS n
                FROM crm_dealstagechange c
                JOIN crm_stage s ON s.id = c.from_stage_id
                {join}
                WHERE {where}
            )
            SELECT stage_id, MAX(n),
                   MIN(CASE WHEN rn * 100 >= n * 50 THEN seconds END),
                   MIN(CASE WHEN rn * 100 >= n * 75 THEN seconds END),
                   MIN(CASE WHEN rn * 100 >= n * 90 THEN seconds END)
            FROM ranked GROUP BY stage_id
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = {row[0]: row[1:] for row in cursor.fetchall()}
        result = []
        for stage in self._stages():
            if stage["outcome"] != "open":
                continue
            n, p50, p75, p90 = found.get(stage["id"], (0, None, None, None))
            days = [None if v is None else round(v / 86400, 1) for v in (p50, p75, p90)]
            target = stage["target_days"]
            result.append(
                {
                    **stage,
                    "count": n or 0,
                    "median_days": days[0],
                    "p75_days": days[1],
                    "p90_days": days[2],
                    "over_target": target is not None and days[0] is not None and days[0] > target,
                }
            )
        return result


@dataclasses.dataclass(frozen=True)
class LifecycleFunnel(Metric):
    """Contacts that reached each lifecycle stage in the period (by their history), subscriber to customer."""

    name = "process_lifecycle_funnel"
    start: dt.date
    end: dt.date
    source: str = ""

    def clean(self) -> None:
        if not isinstance(self.start, dt.date) or not isinstance(self.end, dt.date) or self.end <= self.start:
            raise ValueError("The period must end after it starts.")
        if (self.end - self.start).days > MAX_DAYS:
            raise ValueError(f"A period spans at most {MAX_DAYS} days.")
        if not isinstance(self.source, str) or len(self.source) > 50:
            raise ValueError("A source has at most 50 characters.")

    def compute(self) -> list[dict]:
        from smarketing.crm.models import LIFECYCLE_ORDER

        low, high = _bounds(self.start, self.end)
        where = "l.changed_at >= %s AND l.changed_at < %s"
        params = [_adapt(low), _adapt(high)]
        join = ""
        if self.source:
            join = "JOIN crm_contact c ON c.id = l.contact_id"
            where += " AND c.first_source = %s"
            params.append(self.source)
        stages = [s for s in LIFECYCLE_ORDER if s != "evangelist"]
        # Each contact's furthest stage in the period; reaching a stage counts for every stage before it too
        # (a lead that came in as an MQL passed "lead"), so the funnel only narrows.
        rank = "CASE l.to_stage " + " ".join(f"WHEN %s THEN {i}" for i in range(len(stages))) + " END"
        sql = f"""
            WITH furthest AS (
                SELECT l.contact_id, MAX({rank}) AS r
                FROM crm_lifecyclechange l {join}
                WHERE {where}
                GROUP BY l.contact_id
            )
            SELECT r, COUNT(*) FROM furthest WHERE r IS NOT NULL GROUP BY r
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [s.value for s in stages] + params)
            at_rank = dict(cursor.fetchall())
        counts = {stage.value: sum(n for r, n in at_rank.items() if r >= i) for i, stage in enumerate(stages)}
        result = []
        for i, stage in enumerate(stages):
            reached = counts.get(stage.value, 0)
            following = counts.get(stages[i + 1].value, 0) if i + 1 < len(stages) else None
            result.append(
                {
                    "stage": stage.value,
                    "label": stage.label,
                    "reached": reached,
                    "conversion": _rate(following, reached) if following is not None else None,
                }
            )
        return result


@dataclasses.dataclass(frozen=True)
class WeakestStep(_DealPeriod):
    """The step that falls flat: the largest conversion drop against the previous period of the same length,
    or else the largest lag of the median time in stage behind its target."""

    name = "process_weakest_step"

    def compute(self) -> dict | None:
        span = self.end - self.start
        common = {"pipeline_id": self.pipeline_id, "owner_id": self.owner_id, "source": self.source}
        now = StageFunnel(start=self.start, end=self.end, **common).compute()
        before = {r["id"]: r for r in StageFunnel(start=self.start - span, end=self.start, **common).compute()}
        worst = None
        for row in now:
            old = before.get(row["id"])
            if row["conversion"] is None or old is None or old["conversion"] is None or row["reached"] < 5:
                continue
            drop = old["conversion"] - row["conversion"]
            if drop > 0 and (worst is None or drop > worst["points"]):
                worst = {
                    "stage_id": row["id"],
                    "stage": row["name"],
                    "team": row["team"],
                    "points": round(drop, 1),
                    "why": f"{row['name']} → next converted {row['conversion']} %, down from {old['conversion']} % "
                    "the period before",
                }
        if worst is not None:
            return worst
        lag = None
        for row in TimeInStage(start=self.start, end=self.end, **common).compute():
            target, median = row["target_days"], row["median_days"]
            if not target or median is None or row["count"] < 5 or median <= target:
                continue
            ratio = median / target
            if lag is None or ratio > lag["ratio"]:
                lag = {
                    "stage_id": row["id"],
                    "stage": row["name"],
                    "team": row["team"],
                    "ratio": round(ratio, 1),
                    "why": f"deals spend {median} days in {row['name']} (median), against a target of {target}",
                }
        return lag
