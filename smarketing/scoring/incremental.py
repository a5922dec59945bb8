"""Scoring new touches as they arrive, and the daily decay.

Every minute the job reads the touchpoints written since its cursor (`ScoringState.last_touchpoint_id`), in
windows of WINDOW ids, and adds each matching engagement rule's points to the contact's score in the rule's
group, writing one history line per scored touch ("+10: Viewed /pricing on 12 Nov", with the touch and the rule
set). The lines, the scores, the events, the MQL moves and the cursor commit in one transaction, so a crash
replays the window and scores nothing twice.

Touches commit out of id order (a transaction that took id 100 may commit after the one that took id 101), so
each run also re-reads RESCAN ids behind its cursor; the unique (touchpoint, rule) constraint on the history
and a NOT-yet-scored filter make the re-read harmless. A touch that stays uncommitted for longer than that
(a very long import) is scored by the next daily decay run, which recomputes engagement from the timeline.

Approximations the daily run corrects: a touch beyond a rule's `max_times` is not scored here (the recompute
counts the most recent touches), and points are decayed from the touch's time once, when scored.
"""

import datetime
import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.formats import date_format

from smarketing.core.bulk import bulk_insert
from smarketing.scoring import recompute as rc
from smarketing.scoring import rules
from smarketing.scoring.models import (
    ChangeSource,
    ContactScore,
    Dimension,
    ScoreChange,
    ScoreGroup,
    ScoringRule,
    ScoringState,
)
from smarketing.timeline.models import Touchpoint

logger = logging.getLogger(__name__)

WINDOW = 5000  # touch ids per transaction
RESCAN = 1000  # ids re-read behind the cursor (late commits)
MAX_WINDOWS = 50  # per run; the next minute's run continues


def state() -> ScoringState:
    obj, _ = ScoringState.objects.get_or_create(pk=1)
    return obj


def score_new_touches(*, now: datetime.datetime | None = None, max_windows: int = MAX_WINDOWS) -> int:
    """Score the touches written since the cursor; returns how many history lines it wrote."""
    written = 0
    for _ in range(max_windows):
        lines, more = _score_window(now=now)
        written += lines
        if not more:
            break
    return written


def _score_window(*, now) -> tuple[int, bool]:
    now = now or timezone.now()
    with transaction.atomic():
        st = rc.locked_state()
        newest = Touchpoint.objects.aggregate(m=Max("id"))["m"] or 0
        if newest <= st.last_touchpoint_id:
            # Nothing new. A late commit below the cursor is caught by the re-read that comes with the next touch.
            return 0, False
        start = max(0, st.last_touchpoint_id - RESCAN)
        end = min(newest, st.last_touchpoint_id + WINDOW)
        groups = {g.pk: g for g in ScoreGroup.objects.select_for_update().order_by("pk")}
        engagement = [
            r
            for r in ScoringRule.objects.filter(active=True, dimension=Dimension.ENGAGEMENT).order_by(
                "group_id", "position", "id"
            )
            if r.group_id in groups
        ]
        lines = _score_touches(engagement, groups, start=start, end=end, now=now) if engagement else 0
        ScoringState.objects.filter(pk=1).update(last_touchpoint_id=end)
    return lines, end < newest


def _score_touches(engagement: list[ScoringRule], groups: dict, *, start: int, end: int, now) -> int:
    # Which (touch, rule) pairs match: one query per rule over the id window (the primary key range).
    matches: list[tuple[dict, ScoringRule]] = []
    for rule in engagement:
        touches = rules.engagement_touches(rule.condition, now=now).filter(id__gt=start, id__lte=end)
        for row in touches.order_by().values("id", "contact_id", "occurred_at", "summary"):
            matches.append((row, rule))
    if not matches:
        return 0
    touch_ids = {row["id"] for row, _ in matches}
    scored = set(
        ScoreChange.objects.filter(touchpoint_id__in=touch_ids, rule__isnull=False).values_list(
            "touchpoint_id", "rule_id"
        )
    )
    before: dict[tuple[int, int], int] = defaultdict(int)  # (rule, contact) → matching touches already counted
    for row, rule in matches:
        if (row["id"], rule.pk) in scored:
            before[(rule.pk, row["contact_id"])] += 1
    matches = [(row, rule) for row, rule in matches if (row["id"], rule.pk) not in scored]
    if not matches:
        return 0
    matches.sort(key=lambda m: (m[0]["id"], m[1].pk))
    contact_ids = {row["contact_id"] for row, _ in matches}
    # max_times: plus how many matching touches each contact had before the window (one query per such rule).
    for rule in {rule.pk: rule for _, rule in matches if rule.max_times}.values():
        counted = (
            rules.engagement_touches(rule.condition, now=now)
            .filter(contact_id__in=contact_ids, id__lte=start)
            .order_by()
            .values("contact_id")
            .annotate(n=Count("id"))
        )
        for row in counted:
            before[(rule.pk, row["contact_id"])] += row["n"]
    current = {
        (s.group_id, s.contact_id): [s.fit, s.engagement]
        for s in ContactScore.objects.filter(contact_id__in=contact_ids, group_id__in=groups)
    }
    old = {key: tuple(value) for key, value in current.items()}
    lines = []
    seen: dict[tuple[int, int], int] = defaultdict(int)
    for row, rule in matches:
        contact_id = row["contact_id"]
        group = groups[rule.group_id]
        if rule.max_times:
            key = (rule.pk, contact_id)
            if before[key] + seen[key] >= rule.max_times:
                continue
            seen[key] += 1
        age = (now - row["occurred_at"]).total_seconds() / 86400
        points = round(rule.points * rc.decay_factor(age, group.half_life_days))
        score = current.setdefault((group.pk, contact_id), [0, 0])
        new = rc.clamp(score[1] + points, group.engagement_cap)
        if new == score[1]:
            continue
        lines.append(
            ScoreChange(
                contact_id=contact_id,
                group_id=group.pk,
                dimension=Dimension.ENGAGEMENT,
                delta=new - score[1],
                score_after=new,
                source=ChangeSource.RULE,
                reason=touch_reason(row["summary"], row["occurred_at"]),
                rule=rule,
                touchpoint_id=row["id"],
                occurred_at=row["occurred_at"],
            )
        )
        score[1] = new
    bulk_insert(lines)
    by_group: dict[int, list] = defaultdict(list)
    for (group_id, contact_id), (fit, eng) in current.items():
        before_fit, before_eng = old.get((group_id, contact_id), (0, 0))
        if (fit, eng) != (before_fit, before_eng):
            by_group[group_id].append((contact_id, before_fit, before_eng, fit, eng))
    for group_id, rows in by_group.items():
        rc.write_diff_rows(rows)
        rc.apply_diff(groups[group_id], now=now)
    return len(lines)


def touch_reason(summary: str, occurred_at: datetime.datetime) -> str:
    """The history sentence of a scored touch: "Viewed /pricing on 12 Nov"."""
    day = date_format(timezone.localtime(occurred_at), "j M")
    return f"{summary} on {day}"[:300]


def apply_decay(*, now: datetime.datetime | None = None, force: bool = False) -> rc.Stats:
    """Once a day: engagement recomputed from the timeline with today's decay, one aggregate line per contact."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if state().decayed_on == today and not force:
        return rc.Stats()
    stats = rc.recompute(dimensions=(Dimension.ENGAGEMENT,), label="Recalculated", decay=True, now=now)
    # Marked after the run: a crash half-way repeats it, which is harmless (the recompute is absolute).
    ScoringState.objects.filter(pk=1).update(decayed_on=today)
    return stats


# -- fit follows the contact --------------------------------------------------------------------------------

CONSUMER = "scoring"
CONTACT_EVENTS = ("contact.created", "contact.updated")


def rescore_changed_records(events) -> int:
    """Outbox consumer: recompute fit for the contacts created or changed (and those of changed companies)."""
    from smarketing.crm.models import Contact

    contact_ids = {int(e.object_id) for e in events if e.name in CONTACT_EVENTS and e.object_id.isdigit()}
    company_ids = {int(e.object_id) for e in events if e.name == "company.updated" and e.object_id.isdigit()}
    if company_ids:
        contact_ids |= set(Contact.objects.filter(company_id__in=company_ids).values_list("pk", flat=True)[:10_000])
    if not contact_ids or not ScoreGroup.objects.exists():
        return 0
    stats = rc.recompute(contacts=contact_ids, dimensions=(Dimension.FIT,), label="Contact changed")
    return stats.changed
