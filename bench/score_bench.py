"""Score recompute at the database's current size, beside a hand-written SQL statement computing the same
engagement sum (points × 0.5^(age/half-life) over every matching touch) in the same run.

    DATABASE_URL=postgres://... PYTHONPATH=. python bench/score_bench.py [--group NAME]

The recompute runs twice: the first pass writes every changed score (history, events, mirror), the second
finds nothing changed (the steady state after a rule edit that changes little). The baseline is one SELECT
of the engagement sums per contact for the group's first engagement rule, without writing anything.
"""

import argparse
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
django.setup()

from django.db import connection  # noqa: E402

from smarketing.scoring import recompute as rc  # noqa: E402
from smarketing.scoring.models import Dimension, ScoreGroup  # noqa: E402
from smarketing.timeline.models import Touchpoint  # noqa: E402


def baseline(group: ScoreGroup) -> float:
    rule = group.rules.filter(active=True, dimension=Dimension.ENGAGEMENT).first()
    if rule is None:
        return 0.0
    kinds = rule.condition["kinds"]
    age = rc._age_days("occurred_at")
    decay = "1.0" if not group.half_life_days else f"POWER(0.5, {age} / {int(group.half_life_days)}.0)"
    sql = (
        f"SELECT COUNT(*), SUM(s) FROM (SELECT contact_id, SUM({int(rule.points)} * {decay}) AS s"
        f" FROM timeline_touchpoint WHERE contact_id IS NOT NULL AND kind IN ({', '.join(['%s'] * len(kinds))})"
        " GROUP BY contact_id) x"
    )
    from django.utils import timezone

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, [rc._now_param(timezone.now()), *kinds])
        cursor.fetchone()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--group", default="")
    args = parser.parse_args()
    group = ScoreGroup.objects.filter(name=args.group).first() if args.group else ScoreGroup.objects.first()
    if group is None:
        raise SystemExit("No score group: create one (or seed the demo) first.")
    touches = Touchpoint.objects.order_by("-id").values_list("id", flat=True).first() or 0
    print(f"{connection.vendor}, group {group.name!r}, about {touches:,} touchpoints (max id)")
    first = rc.recompute()  # every group: a full run counts every touch (a one-group run stops at the cursor)
    print(f"recompute (writes):    {first.seconds:8.2f} s  {first.as_dict()}")
    second = rc.recompute()
    print(f"recompute (no change): {second.seconds:8.2f} s  changed={second.changed}")
    base = baseline(group)
    print(f"hand-written SQL sum:  {base:8.2f} s  (one engagement rule, no writes)")
    if base:
        print(f"ratio recompute/baseline: {second.seconds / base:.1f}x (steady), {first.seconds / base:.1f}x (writes)")


if __name__ == "__main__":
    main()
