"""The predictive model's job: retrain on the won and lost history, then score every contact.

Runs weekly (PREDICTIVE_RETRAIN_DAYS) and on "Retrain now". Imported by scoring/tasks.py so the periodic
scheduler finds it.
"""

from datetime import timedelta

from django.conf import settings
from django_tasks import task

from smarketing.jobs.periodic import periodic


@periodic(every=timedelta(days=settings.PREDICTIVE_RETRAIN_DAYS))
@task()
def retrain_predictive_model(user_id: int | None = None) -> dict:
    from smarketing.accounts.models import User
    from smarketing.scoring.predictive.score import score_all
    from smarketing.scoring.predictive.train import train

    user = User.objects.filter(pk=user_id).first() if user_id else None
    model = train(actor=user)
    scored = score_all(model) if model.active else 0
    return {"model": model.pk, "status": model.status, "auc": model.auc, "scored": scored}
