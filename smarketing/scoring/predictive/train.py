"""Training the predictive score: logistic regression on the won and lost history, kept as plain numbers.

`train()` always stores a PredictiveModel row, so the page can show every run honestly: "insufficient" with what
is missing, "failed" with the reason, or "trained" with its AUC on held-out contacts. Only a trained model
becomes the active one (the scores come from it); the previous active model stays active otherwise.
"""

import logging

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from smarketing.accounts.access import recorded_user, require_admin
from smarketing.core.audit import record_audit
from smarketing.scoring.models import ModelStatus, PredictiveModel
from smarketing.scoring.predictive import features as F

logger = logging.getLogger(__name__)

HELD_OUT = 0.25  # share of the contacts kept out of training to measure the AUC on
ALGORITHM = "StandardScaler + LogisticRegression(class_weight=balanced), scikit-learn"


def insufficient_message(won: int, lost: int, needed: int) -> str:
    return (
        f"{won:,} contact{'s' if won != 1 else ''} on won deals and {lost:,} on lost deals so far; "
        f"predictive scoring needs at least {needed:,} of each."
    )


def auc_words(auc: float | None) -> str:
    """The AUC in plain words, for people who never met a ROC curve."""
    if auc is None:
        return ""
    if auc >= 0.9:
        return "excellent at telling likely winners apart"
    if auc >= 0.8:
        return "good at telling likely winners apart"
    if auc >= 0.7:
        return "fair: often right about who is likely to win"
    if auc >= 0.6:
        return "weak: only a little better than guessing"
    return "no better than a coin toss: do not rely on it yet"


def train(*, actor=None) -> PredictiveModel:
    """Train on every contact with a won or lost deal; returns the stored run (active only if it trained)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    needed = settings.PREDICTIVE_MIN_OUTCOMES
    trained_by = recorded_user(actor) if actor is not None else None
    features = F.fixed_features() + F.one_hot_features()
    _ids, y, raw = F.training_data(features)
    won, lost = int(y.sum()), int(len(y) - y.sum())
    run = PredictiveModel(trained_at=timezone.now(), won_count=won, lost_count=lost, trained_by=trained_by)
    if won < needed or lost < needed:
        run.status = ModelStatus.INSUFFICIENT
        run.message = insufficient_message(won, lost, needed)
        run.save()
        return run
    X = F.model_inputs(raw, features)
    try:
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=HELD_OUT, stratify=y, random_state=0)
        scaler = StandardScaler().fit(X_train)
        classifier = LogisticRegression(class_weight="balanced", max_iter=1000)
        classifier.fit(scaler.transform(X_train), y_train)
        auc = float(roc_auc_score(y_test, classifier.predict_proba(scaler.transform(X_test))[:, 1]))
    except (ValueError, np.linalg.LinAlgError) as exc:
        logger.warning("predictive training failed: %s", exc)
        run.status = ModelStatus.FAILED
        run.message = f"Training failed: {str(exc)[:400]}"
        run.save()
        return run
    run.status = ModelStatus.TRAINED
    run.auc = auc
    run.message = (
        f"Trained on {len(y_train):,} contacts; the AUC is measured on the {len(y_test):,} held out ({HELD_OUT:.0%})."
    )
    run.parameters = {
        "algorithm": ALGORITHM,
        "intercept": float(classifier.intercept_[0]),
        "window_days": F.WINDOW_DAYS,
        "features": [
            {**feature.as_dict(), "mean": float(mean), "scale": float(scale), "coef": float(coef)}
            for feature, mean, scale, coef in zip(
                features, scaler.mean_, scaler.scale_, classifier.coef_[0], strict=True
            )
        ],
    }
    with transaction.atomic():
        # The one-active constraint: the old model steps down in the same transaction the new one steps up.
        PredictiveModel.objects.filter(active=True).update(active=False)
        run.active = True
        run.save()
    return run


def active_model() -> PredictiveModel | None:
    return PredictiveModel.objects.filter(active=True).first()


def request_retrain(actor) -> object:
    """ "Retrain now" (admins): enqueue the training job, which then scores every contact. Returns the job."""
    from smarketing.scoring.predictive.tasks import retrain_predictive_model

    require_admin(actor, "Only admins can retrain the predictive model.")
    user = recorded_user(actor)
    result = retrain_predictive_model.enqueue(user.pk if user else None)
    latest = PredictiveModel.objects.first()
    if latest is not None:
        record_audit(actor=actor, action="retrain", obj=latest, changes={"job": (None, str(result.id))})
    return result
