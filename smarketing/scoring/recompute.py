"""Scores computed in the database, set-based, for every contact at once (or a given few).

A group's score is
    fit        = sum of the points of the fit rules the contact matches (each rule a segment condition),
    engagement = sum over the touches each engagement rule matches of points × 0.5^(age in days / half-life),
                 counting only the rule's `max_times` most recent touches per contact, plus the manual and
                 workflow adjustments (which do not decay),
each capped by the group's cap, rounded to whole points.

One run of a group is a handful of statements, whatever the number of contacts:

1. `scoring_calc` (a temporary table) ← one INSERT … SELECT of the UNION ALL of every rule's matching rows
   (fit: the segment engine's SQL; engagement: the touch filter with ROW_NUMBER() per contact for max_times),
   summed per contact; contacts that had a score and now match nothing get a zero row.
2. `scoring_diff` ← the contacts whose capped scores differ from `scoring_contactscore` (old and new values).
3. From `scoring_diff`, one statement each: the history lines ("Rules changed: fit 20 → 35"), the upsert of
   ContactScore, the mirror onto crm_contact for the primary group (UPDATE … FROM), and the
   `contact.score_changed` events (INSERT … SELECT with the payload built in SQL, see payloads.py).
4. The contacts whose total crossed the group's MQL threshold move to MQL through crm's lifecycle service, one
   call each (only the crossing contacts).

The incremental job (scoring/incremental.py) and manual adjustments (services.adjust_score) fill `scoring_diff`
with their own rows and share steps 3 and 4 (`apply_diff`), so every path writes scores, mirrors, events and
MQL moves the same way.

Both databases run the same SQL except the age of a touch (julianday on SQLite, EXTRACT(EPOCH …) on
PostgreSQL) and the JSON builder of the payload; UPDATE … FROM and INSERT … ON CONFLICT exist on both
(SQLite ≥ 3.33). A run locks its group row (SELECT … FOR UPDATE on PostgreSQL; SQLite serializes writers), so a
recompute, the incremental job and an adjustment never interleave on the same group.
"""

import datetime
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.core.events import check_declared, notify_on_commit
from smarketing.core.models import Origin
from smarketing.crm.lifecycle_rules import promotes
from smarketing.crm.models import Contact, LifecycleStage
from smarketing.scoring import payloads, rules
from smarketing.scoring.models import ChangeSource, Dimension, ScoreGroup, ScoringRule, ScoringState
from smarketing.timeline.models import Touchpoint

logger = logging.getLogger(__name__)

# Scores are SmallIntegerFields: each dimension stays within ±16,000 so that the total fits as well.
LIMIT = 16_000
BOTH = (Dimension.FIT, Dimension.ENGAGEMENT)
ADJUSTMENT_SOURCES = (ChangeSource.MANUAL, ChangeSource.WORKFLOW)
# Stages a score may lift to MQL: the shared lifecycle rule decides (a stage off the funnel counts as a lead).
BELOW_MQL = tuple(stage for stage in LifecycleStage.values if promotes(stage, LifecycleStage.MQL))


@dataclass
class Stats:
    """What a run did: the figures the recompute page and the bench print."""

    groups: int = 0
    scored: int = 0  # contacts with at least one matching rule (or a score to reset)
    changed: int = 0  # contacts whose score in a group changed
    history: int = 0  # history lines written
    events: int = 0
    mql: int = 0
    seconds: float = 0.0

    def add(self, other: "Stats") -> None:
        for key in ("groups", "scored", "changed", "history", "events", "mql"):
            setattr(self, key, getattr(self, key) + getattr(other, key))

    def as_dict(self) -> dict:
        return asdict(self)


def recompute(
    group: ScoreGroup | None = None,
    contacts: Iterable[int] | None = None,
    *,
    dimensions: tuple[str, ...] = BOTH,
    label: str = "Rules changed",
    decay: bool = False,
    actor=None,
    now: datetime.datetime | None = None,
    progress=None,
) -> Stats:
    """Recompute `group` (or every group) for `contacts` (ids; None = everyone), set-based; returns the figures.

    `label` starts the history sentence ("Rules changed: fit 20 → 35"); `decay` marks the daily run, whose
    falling engagement reads "engagement decays over time". `progress(done, total, group)` is called after
    each group (the recompute job shows it).
    """
    started = time.perf_counter()
    now = now or timezone.now()
    groups = [group] if group is not None else list(ScoreGroup.objects.order_by("-is_primary", "id"))
    ids = None if contacts is None else sorted({int(c) for c in contacts})
    stats = Stats()
    if ids == []:
        return stats
    catch_up = group is None and ids is None and Dimension.ENGAGEMENT in dimensions
    for done, g in enumerate(groups, start=1):
        with transaction.atomic():
            state = locked_state()
            if catch_up and done == 1:
                # A full run counts every touch there is, so the incremental job continues after the newest one
                # (else it would add those touches a second time). A one-group run cannot move the shared
                # cursor; it counts the touches up to it and leaves the newer ones to the job.
                newest = Touchpoint.objects.aggregate(m=Max("id"))["m"] or 0
                if newest > state.last_touchpoint_id:
                    ScoringState.objects.filter(pk=state.pk).update(last_touchpoint_id=newest)
                    state.last_touchpoint_id = newest
            g = _lock(g)
            if g is None:
                continue
            stats.add(
                _recompute_group(
                    g,
                    ids,
                    dimensions=dimensions,
                    label=label,
                    decay=decay,
                    actor=actor,
                    now=now,
                    upto=state.last_touchpoint_id,
                )
            )
        if progress:
            progress(done, len(groups), g)
    stats.seconds = round(time.perf_counter() - started, 3)
    return stats


def locked_state() -> ScoringState:
    """The scoring state row, locked for this transaction: the recompute and the incremental job take it first,
    so they never interleave (and never count a touch twice)."""
    ScoringState.objects.get_or_create(pk=1)
    return ScoringState.objects.select_for_update().get(pk=1)


def _lock(group: ScoreGroup) -> ScoreGroup | None:
    """The group's row, locked for this transaction (None when it was deleted meanwhile)."""
    return ScoreGroup.objects.select_for_update().filter(pk=group.pk).first()


# -- SQL pieces ---------------------------------------------------------------------------------------------


def _vendor() -> str:
    return connection.vendor


def _now_param(now: datetime.datetime):
    return connection.ops.adapt_datetimefield_value(now)


def _age_days(column: str) -> str:
    """Days from a touch to `now` (one %s parameter), as a float."""
    if _vendor() == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM (%s - {column})) AS DOUBLE PRECISION) / 86400.0"
    return f"(julianday(%s) - julianday({column}))"


def _clamp(expression: str, cap: int | None) -> str:
    """`expression` within ±LIMIT and at most the group's cap. Integers only are written into the SQL."""
    upper = LIMIT if cap is None else min(int(cap), LIMIT)
    return (
        f"(CASE WHEN {expression} > {upper} THEN {upper}"
        f" WHEN {expression} < -{LIMIT} THEN -{LIMIT} ELSE {expression} END)"
    )


def _sql(qs) -> tuple[str, list] | None:
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return None
    return sql, list(params)


def _ensure_tables() -> None:
    """The two scratch tables, private to this connection; emptied before each use."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS scoring_calc"
            " (contact_id BIGINT PRIMARY KEY, fit INTEGER NOT NULL, engagement INTEGER NOT NULL)"
        )
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS scoring_diff (contact_id BIGINT PRIMARY KEY, old_fit INTEGER NOT"
            " NULL, old_eng INTEGER NOT NULL, new_fit INTEGER NOT NULL, new_eng INTEGER NOT NULL)"
        )
        cursor.execute("DELETE FROM scoring_calc")
        cursor.execute("DELETE FROM scoring_diff")


def _analyze(table: str) -> None:
    # PostgreSQL never auto-analyzes temporary tables: without statistics it would plan the 1M-row joins as if
    # the table held a thousand rows.
    if _vendor() == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")


def fit_parts(group: ScoreGroup, ids: list[int] | None, *, now) -> list[tuple[str, list]]:
    """One SELECT (contact_id, fit, eng) per active fit rule: the segment engine's contacts, the rule's points."""
    parts = []
    for rule in group.rules.filter(active=True, dimension=Dimension.FIT).order_by("position", "id"):
        qs = rules.fit_contacts(rule.condition, now=now)
        if ids is not None:
            qs = qs.filter(pk__in=ids)
        compiled = _sql(qs.values(cid=F("pk")))
        if compiled is None:
            continue
        sql, params = compiled
        parts.append(
            (
                f"SELECT f.cid AS contact_id, {int(rule.points)} AS fit, CAST(0 AS DOUBLE PRECISION) AS eng"
                f" FROM ({sql}) f",
                params,
            )
        )
    return parts


def engagement_parts(
    group: ScoreGroup, ids: list[int] | None, *, now, upto: int | None = None
) -> list[tuple[str, list]]:
    """One SELECT per active engagement rule: each matching touch's decayed points (the max_times most recent),
    counting the touches up to id `upto` (the incremental job's cursor: it scores the newer ones)."""
    parts = []
    half_life = int(group.half_life_days)
    for rule in group.rules.filter(active=True, dimension=Dimension.ENGAGEMENT).order_by("position", "id"):
        qs = rules.engagement_touches(rule.condition, now=now)
        if ids is not None:
            qs = qs.filter(contact_id__in=ids)
        if upto is not None:
            qs = qs.filter(id__lte=upto)
        compiled = _sql(qs.order_by().values("id", "contact_id", "occurred_at"))
        if compiled is None:
            continue
        sql, params = compiled
        age = _age_days("u.occurred_at")
        factor = "1.0" if half_life == 0 else f"POWER(0.5, (CASE WHEN t.age < 0 THEN 0 ELSE t.age END) / {half_life}.0)"
        if rule.max_times:
            # The rule's most recent touches per contact (they are worth the most after decay).
            inner = (
                f"SELECT u.contact_id, {age} AS age, ROW_NUMBER() OVER (PARTITION BY u.contact_id"
                f" ORDER BY u.occurred_at DESC, u.id DESC) AS rn FROM ({sql}) u"
            )
            where = f" WHERE t.rn <= {int(rule.max_times)}"
        else:
            inner = f"SELECT u.contact_id, {age} AS age FROM ({sql}) u"
            where = ""
        parts.append(
            (
                f"SELECT t.contact_id AS contact_id, 0 AS fit, {int(rule.points)} * {factor} AS eng"
                f" FROM ({inner}) t{where}",
                [_now_param(now), *params],
            )
        )
    # Manual and workflow adjustments count in full, for ever (they are someone's judgement, not a touch).
    contact_filter, contact_params = _in("contact_id", ids)
    parts.append(
        (
            "SELECT contact_id, 0 AS fit, CAST(delta AS DOUBLE PRECISION) AS eng FROM scoring_scorechange"
            f" WHERE group_id = {int(group.pk)} AND source IN (%s, %s){contact_filter}",
            [*ADJUSTMENT_SOURCES, *contact_params],
        )
    )
    return parts


def _in(column: str, ids: list[int] | None) -> tuple[str, list]:
    if ids is None:
        return "", []
    return f" AND {column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _recompute_group(group, ids, *, dimensions, label, decay, actor, now, upto) -> Stats:
    stats = Stats(groups=1)
    _ensure_tables()
    parts = []
    if Dimension.FIT in dimensions:
        parts += fit_parts(group, ids, now=now)
    if Dimension.ENGAGEMENT in dimensions:
        parts += engagement_parts(group, ids, now=now, upto=upto)
    g = int(group.pk)
    with connection.cursor() as cursor:
        if parts:
            union = " UNION ALL ".join(sql for sql, _ in parts)
            params = [p for _, ps in parts for p in ps]
            cursor.execute(
                "INSERT INTO scoring_calc (contact_id, fit, engagement)"
                " SELECT p.contact_id, SUM(p.fit), CAST(ROUND(SUM(p.eng)) AS INTEGER)"
                f" FROM ({union}) p GROUP BY p.contact_id",
                params,
            )
        # Contacts that had a score and match nothing now: their recomputed dimensions fall to zero.
        contact_filter, contact_params = _in("s.contact_id", ids)
        cursor.execute(
            "INSERT INTO scoring_calc (contact_id, fit, engagement) SELECT s.contact_id, 0, 0"
            f" FROM scoring_contactscore s WHERE s.group_id = {g}{contact_filter}"
            " AND NOT EXISTS (SELECT 1 FROM scoring_calc c WHERE c.contact_id = s.contact_id)",
            contact_params,
        )
        stats.scored = _count("scoring_calc")
        _analyze("scoring_calc")
        new_fit = _clamp("c.fit", group.fit_cap) if Dimension.FIT in dimensions else "COALESCE(s.fit, 0)"
        new_eng = (
            _clamp("c.engagement", group.engagement_cap)
            if Dimension.ENGAGEMENT in dimensions
            else "COALESCE(s.engagement, 0)"
        )
        cursor.execute(
            "INSERT INTO scoring_diff (contact_id, old_fit, old_eng, new_fit, new_eng)"
            " SELECT x.contact_id, x.old_fit, x.old_eng, x.new_fit, x.new_eng FROM ("
            " SELECT c.contact_id, COALESCE(s.fit, 0) AS old_fit, COALESCE(s.engagement, 0) AS old_eng,"
            f" {new_fit} AS new_fit, {new_eng} AS new_eng"
            f" FROM scoring_calc c LEFT JOIN scoring_contactscore s ON s.contact_id = c.contact_id AND s.group_id = {g}"
            ") x WHERE x.new_fit <> x.old_fit OR x.new_eng <> x.old_eng"
        )
    _analyze("scoring_diff")
    stats.history = _history_lines(group, dimensions=dimensions, label=label, decay=decay, actor=actor, now=now)
    stats.add(apply_diff(group, now=now))
    if ids is None:
        record_distribution(group, now=now)
    return stats


# The distribution's bands of total score (lower bounds); below the first and above the last are bands too.
BANDS = (0, 10, 20, 30, 40, 50, 60, 80, 100)


def band_labels() -> list[str]:
    return [f"below {BANDS[0]}"] + [f"{low}–{BANDS[i + 1] - 1}" for i, low in enumerate(BANDS[:-1])] + [f"{BANDS[-1]}+"]


def record_distribution(group: ScoreGroup, *, now) -> list[int]:
    """Count the group's scores per band (one GROUP BY, in the recompute job) for the scoring page's chart."""
    from django.db.models import Case, Count, IntegerField, Value, When

    from smarketing.scoring.models import ContactScore

    whens = [When(total__lt=BANDS[0], then=Value(0))]
    whens += [When(total__lt=BANDS[i + 1], then=Value(i + 1)) for i in range(len(BANDS) - 1)]
    band = Case(*whens, default=Value(len(BANDS)), output_field=IntegerField())
    rows = (
        ContactScore.objects.filter(group=group)
        .annotate(band=band)
        .values("band")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("band", "n")
    )
    found = dict(rows)
    counts = [found.get(i, 0) for i in range(len(BANDS) + 1)]
    state = ScoringState.objects.get(pk=1)
    state.distribution = {**state.distribution, str(group.pk): {"at": now.isoformat(), "counts": counts}}
    ScoringState.objects.filter(pk=1).update(distribution=state.distribution)
    return counts


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return cursor.fetchone()[0]


def _history_lines(group, *, dimensions, label, decay, actor, now) -> int:
    """One line per contact and changed dimension: "Rules changed: fit 20 → 35" / "engagement decays over time"."""
    written = 0
    actor_id = getattr(actor, "pk", None)
    if actor_id is None and getattr(actor, "on_behalf_of", None) is not None:
        actor_id = actor.on_behalf_of.pk
    with connection.cursor() as cursor:
        for dimension in dimensions:
            old, new = ("d.old_fit", "d.new_fit") if dimension == Dimension.FIT else ("d.old_eng", "d.new_eng")
            words = f"{label}: {dimension} "
            change = f"%s || CAST({old} AS TEXT) || ' → ' || CAST({new} AS TEXT)"
            if decay and dimension == Dimension.ENGAGEMENT:
                source = f"CASE WHEN {new} < {old} THEN %s ELSE %s END"
                reason = f"CASE WHEN {new} < {old} THEN %s ELSE {change} END"
                params = [ChangeSource.DECAY, ChangeSource.RECOMPUTE, "engagement decays over time", words]
            else:
                source, reason = "%s", change
                params = [ChangeSource.RECOMPUTE, words]
            cursor.execute(
                "INSERT INTO scoring_scorechange"
                " (contact_id, group_id, dimension, delta, score_after, source, reason, occurred_at, actor_id)"
                f" SELECT d.contact_id, {int(group.pk)}, %s, {new} - {old}, {new}, {source}, {reason}, %s, %s"
                f" FROM scoring_diff d WHERE {new} <> {old}",
                [dimension, *params, _now_param(now), actor_id],
            )
            written += cursor.rowcount
    return written


# -- writing what changed (shared by every path) ------------------------------------------------------------


def apply_diff(group: ScoreGroup, *, now: datetime.datetime, mql_actor=None) -> Stats:
    """Write the scores in `scoring_diff` (contact, old and new fit/engagement) for `group`: ContactScore, the
    mirror onto the contact for the primary group, one `contact.score_changed` event each, the MQL moves."""
    stats = Stats()
    g = int(group.pk)
    at = _now_param(now)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scoring_contactscore (contact_id, group_id, fit, engagement, total, updated_at)"
            f" SELECT d.contact_id, {g}, d.new_fit, d.new_eng, d.new_fit + d.new_eng, %s FROM scoring_diff d"
            " WHERE 1 = 1 ON CONFLICT (contact_id, group_id) DO UPDATE SET fit = excluded.fit,"
            " engagement = excluded.engagement, total = excluded.total, updated_at = excluded.updated_at",
            [at],
        )
        stats.changed = cursor.rowcount
        if not stats.changed:
            return stats
        if group.is_primary:
            # The list columns, sorts and segment conditions read these; not an edit (no version bump, no event).
            cursor.execute(
                "UPDATE crm_contact SET fit_score = d.new_fit, engagement_score = d.new_eng"
                " FROM scoring_diff d WHERE crm_contact.id = d.contact_id"
            )
        check_declared("contact.score_changed")
        payload, payload_params = payloads.score_changed_sql(_vendor(), group)
        cursor.execute(
            "INSERT INTO core_event (name, occurred_at, object_type, object_id, payload)"
            f" SELECT %s, %s, %s, CAST(d.contact_id AS TEXT), {payload}"
            " FROM scoring_diff d JOIN crm_contact c ON c.id = d.contact_id",
            ["contact.score_changed", at, "crm.contact", *payload_params],
        )
        stats.events = cursor.rowcount
        notify_on_commit()
        crossing = []
        if group.mql_threshold is not None:
            threshold = int(group.mql_threshold)
            stages = ", ".join(["%s"] * len(BELOW_MQL))
            cursor.execute(
                "SELECT d.contact_id, d.new_fit + d.new_eng"
                " FROM scoring_diff d JOIN crm_contact c ON c.id = d.contact_id"
                f" WHERE d.old_fit + d.old_eng < {threshold} AND d.new_fit + d.new_eng >= {threshold}"
                f" AND c.lifecycle_stage IN ({stages}) ORDER BY d.contact_id",
                list(BELOW_MQL),
            )
            crossing = cursor.fetchall()
    if crossing:
        stats.mql = promote_to_mql(group, dict(crossing), actor=mql_actor, now=now)
    return stats


def promote_to_mql(group: ScoreGroup, totals: dict[int, int], *, actor=None, now) -> int:
    """Move the contacts that crossed the threshold (and match the MQL segment, if any) to MQL, with the reason."""
    from smarketing.crm.services.lifecycle import change_lifecycle_stage
    from smarketing.segments import queries as segment_queries

    ids = list(totals)
    if group.mql_segment_id is not None:
        segment = group.mql_segment
        ids = list(segment_queries.members(segment).filter(pk__in=ids).values_list("pk", flat=True))
    actor = actor or system_actor(Origin.SYSTEM)
    moved = 0
    for contact in Contact.objects.filter(pk__in=ids).order_by("pk"):
        reason = f"Score {totals[contact.pk]} reached the MQL threshold {group.mql_threshold} of '{group.name}'"
        if change_lifecycle_stage(
            contact, LifecycleStage.MQL, actor=actor, origin=Origin.SYSTEM, reason=reason, at=now
        ):
            moved += 1
    return moved


def mirror_primary() -> int:
    """Copy the primary group's scores onto every contact (after another group became primary); set-based."""
    primary = ScoreGroup.objects.filter(is_primary=True).first()
    if primary is None:
        return 0
    g = int(primary.pk)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE crm_contact SET fit_score = s.fit, engagement_score = s.engagement FROM scoring_contactscore s"
            f" WHERE s.contact_id = crm_contact.id AND s.group_id = {g}"
            " AND (crm_contact.fit_score <> s.fit OR crm_contact.engagement_score <> s.engagement)"
        )
        changed = cursor.rowcount
        cursor.execute(
            "UPDATE crm_contact SET fit_score = 0, engagement_score = 0"
            " WHERE (fit_score <> 0 OR engagement_score <> 0) AND NOT EXISTS"
            f" (SELECT 1 FROM scoring_contactscore s WHERE s.contact_id = crm_contact.id AND s.group_id = {g})"
        )
        return changed + cursor.rowcount


def write_diff_rows(rows: Iterable[tuple[int, int, int, int, int]]) -> None:
    """Fill `scoring_diff` with (contact_id, old_fit, old_eng, new_fit, new_eng) rows (incremental paths)."""
    _ensure_tables()
    rows = list(rows)
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO scoring_diff (contact_id, old_fit, old_eng, new_fit, new_eng) VALUES (%s, %s, %s, %s, %s)",
                rows,
            )


def clamp(value: int, cap: int | None) -> int:
    """The Python twin of `_clamp`, for the incremental paths."""
    upper = LIMIT if cap is None else min(cap, LIMIT)
    return max(-LIMIT, min(upper, value))


def decay_factor(age_days: float, half_life_days: int) -> float:
    """The weight of a touch `age_days` old: the Python twin of the SQL POWER(0.5, age / half-life)."""
    if not half_life_days:
        return 1.0
    return 0.5 ** (max(age_days, 0.0) / half_life_days)


def active_rules(dimension: str):
    return ScoringRule.objects.filter(active=True, dimension=dimension).select_related("group")
