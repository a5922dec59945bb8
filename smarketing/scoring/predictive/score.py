"""Scoring every contact from the active model's numbers: numpy over batches of features, one upsert per batch.

The probability is the logistic of intercept + Σ coef × (input − mean) / scale, exactly what scikit-learn's
predict_proba computes from the same numbers; each term is one feature's effect on the log-odds, and the three
largest (by size, for or against) become the contact's factors in words: "Viewed pricing 3 times in 90 days:
+0.21".
"""

import json
from datetime import datetime
from functools import lru_cache

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from smarketing.crm.models import Contact
from smarketing.scoring.models import PredictiveModel, PredictiveScore
from smarketing.scoring.predictive import features as F

TOP_FACTORS = 3
BATCH_SIZE = 5000


@lru_cache(maxsize=4096)
def _label_json(feature: F.Feature, value: int) -> str:
    # Values are small whole numbers (counts, days, flags), so a million contacts share a few hundred sentences.
    return json.dumps(feature.words(value))


class Scorer:
    """A trained model's numbers, ready to score raw feature rows."""

    def __init__(self, model: PredictiveModel):
        params = model.parameters
        self.features = [F.Feature.from_dict(f) for f in params["features"]]
        self.mean = np.array([f["mean"] for f in params["features"]])
        self.scale = np.array([f["scale"] for f in params["features"]])
        self.coef = np.array([f["coef"] for f in params["features"]])
        self.intercept = float(params["intercept"])

    def effects(self, raw: np.ndarray) -> np.ndarray:
        """Each feature's contribution to each contact's log-odds."""
        return (F.model_inputs(raw, self.features) - self.mean) / self.scale * self.coef

    def probabilities(self, effects: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.intercept + effects.sum(axis=1))))

    def factors_json(self, raw: np.ndarray, effects: np.ndarray) -> list[str]:
        """Each contact's top factors as the JSON stored in PredictiveScore.factors."""
        top = np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :TOP_FACTORS]
        values = np.rint(np.take_along_axis(raw, top, axis=1)).astype(int).tolist()
        chosen = np.take_along_axis(effects, top, axis=1).tolist()
        features = self.features
        return [
            "["
            + ", ".join(
                f'{{"label": {_label_json(features[j], v)}, "effect": {e:.2f}}}'
                for j, v, e in zip(row, vals, effs, strict=True)
            )
            + "]"
            for row, vals, effs in zip(top.tolist(), values, chosen, strict=True)
        ]

    def factors(self, raw: np.ndarray, effects: np.ndarray) -> list[list[dict]]:
        return [json.loads(text) for text in self.factors_json(raw, effects)]


def _upsert(model_id: int, ids: list[int], probabilities: list[float], factors: list[str], now) -> None:
    """One batch of scores written in one statement (PostgreSQL: arrays unnested; SQLite: executemany).

    Only contacts that still exist are written: one deleted since its features were read is skipped."""
    table, contacts = PredictiveScore._meta.db_table, Contact._meta.db_table
    update = (
        "ON CONFLICT (contact_id) DO UPDATE SET model_id = excluded.model_id, probability = excluded.probability, "
        "factors = excluded.factors, scored_at = excluded.scored_at"
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} (contact_id, model_id, probability, factors, scored_at) "
                "SELECT u.contact_id, %s, u.probability, u.factors::jsonb, %s "
                "FROM unnest(%s::bigint[], %s::float8[], %s::text[]) AS u(contact_id, probability, factors) "
                f"JOIN {contacts} c ON c.id = u.contact_id {update}",
                [model_id, moment, ids, probabilities, factors],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {table} (contact_id, model_id, probability, factors, scored_at) "
                f"SELECT %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM {contacts} WHERE id = %s) {update}",
                [
                    (contact_id, model_id, probability, text, moment, contact_id)
                    for contact_id, probability, text in zip(ids, probabilities, factors, strict=True)
                ],
            )


def score_all(
    model: PredictiveModel | None = None, *, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Score every contact with `model` (default: the active one). Returns how many were scored."""
    model = model or PredictiveModel.objects.filter(active=True).first()
    if model is None or not model.parameters.get("features"):
        return 0
    now = now or timezone.now()
    scorer = Scorer(model)
    total = 0
    for ids, raw in F.scoring_batches(scorer.features, now=now, batch_size=batch_size):
        effects = scorer.effects(raw)
        probabilities = scorer.probabilities(effects)
        with transaction.atomic():
            _upsert(model.pk, ids.tolist(), probabilities.tolist(), scorer.factors_json(raw, effects), now)
        total += len(ids)
    PredictiveModel.objects.filter(pk=model.pk).update(scored_count=total, scored_at=now)
    model.scored_count, model.scored_at = total, now
    return total
