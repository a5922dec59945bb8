"""The demo's predictive model: trained on the seeded won/lost history right after the seed loads, so a
newcomer sees a model with its AUC, its strongest features and a score on every contact."""

import time
from collections.abc import Callable

from smarketing.scoring.predictive.score import score_all
from smarketing.scoring.predictive.train import auc_words, train


def train_demo_model(out: Callable[[str], None] = print) -> None:
    """Train and score (called by demo/seed.py once the rows are in); says what happened either way."""
    started = time.monotonic()
    model = train()
    if not model.active:
        out(f"Predictive model not trained: {model.message}")
        return
    trained = time.monotonic() - started
    scored = score_all(model)
    out(
        f"Predictive model trained on {model.won_count:,} won and {model.lost_count:,} lost in {trained:.1f} s: "
        f"AUC {model.auc:.2f} ({auc_words(model.auc)}); {scored:,} contacts scored in "
        f"{time.monotonic() - started - trained:.1f} s."
    )
