"""Benchmark: predictive scoring of every contact, beside a set-based baseline, same run.

    SMARKETING_DATA_DIR=var/bench100k .venv/bin/python bench/predictive_bench.py             # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_predictive .venv/bin/python bench/predictive_bench.py

Uses whatever database the settings point at (seed it first: `smarketing seed --contacts 1000000`, which also
trains the demo model). Writes the score table (`scoring_predictivescore`), nothing else. Steps, each timed:

- train: `train()` on every contact with a won or lost deal (skipped with --no-train: the active model is used);
- baseline: one hand-written `INSERT … SELECT … ON CONFLICT DO UPDATE` writing a constant score for every
  contact: the cost of the upsert alone, without features or factors;
- features: `scoring_batches()` read to the end (the SQL of the features, batch by batch), nothing written;
- score: `score_all()`: features, numpy, the factors in words and the bulk upsert: what the weekly job runs.

Prints contacts/s for each and the ratio of score to baseline.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

BASELINE_SQL = """
INSERT INTO scoring_predictivescore (contact_id, model_id, probability, factors, scored_at)
SELECT id, %s, 0.5, '[]', %s FROM crm_contact WHERE 1 = 1
ON CONFLICT (contact_id) DO UPDATE SET model_id = excluded.model_id, probability = excluded.probability,
    factors = excluded.factors, scored_at = excluded.scored_at
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-train", action="store_true", help="score with the active model")
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from smarketing.crm.models import Contact
    from smarketing.scoring.models import PredictiveModel
    from smarketing.scoring.predictive import features as F
    from smarketing.scoring.predictive.score import Scorer, score_all
    from smarketing.scoring.predictive.train import train

    contacts = Contact.objects.count()
    print(f"{connection.vendor}, {contacts:,} contacts, batches of {args.batch_size:,}")
    if args.no_train:
        model = PredictiveModel.objects.filter(active=True).first()
        if model is None:
            sys.exit("No active model: run without --no-train.")
    else:
        started = time.monotonic()
        model = train()
        seconds = time.monotonic() - started
        print(
            f"train     {seconds:8.1f} s  {model.get_status_display()}: {model.won_count:,} won, "
            f"{model.lost_count:,} lost, AUC {model.auc if model.auc is None else round(model.auc, 3)}"
        )
        if not model.active:
            sys.exit(model.message)

    def timed(label: str, run) -> float:
        started = time.monotonic()
        n = run()
        seconds = time.monotonic() - started
        print(f"{label:<9} {seconds:8.1f} s  {n / seconds:>10,.0f} contacts/s  ({n:,} contacts)")
        return seconds

    def baseline() -> int:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, [model.pk, connection.ops.adapt_datetimefield_value(timezone.now())])
            return cursor.rowcount

    def features_only() -> int:
        scorer = Scorer(model)
        return sum(len(ids) for ids, _raw in F.scoring_batches(scorer.features, now=timezone.now()))

    base = timed("baseline", baseline)
    timed("features", features_only)
    score = timed("score", lambda: score_all(model, batch_size=args.batch_size))
    print(f"score / baseline: {score / base:.1f}x")


if __name__ == "__main__":
    main()
