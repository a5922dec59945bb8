"""Lead scoring's jobs: the recompute after rule edits, new touches every minute, decay once a day."""

import logging
from datetime import timedelta

from django_tasks import task

from smarketing.jobs.periodic import periodic

logger = logging.getLogger(__name__)


@task()
def recompute_scores(group_id: int | None = None, actor_id: int | None = None) -> dict:
    """Recompute every group (or one) set-based, showing progress on the scoring page."""
    from smarketing.accounts.access import system_actor
    from smarketing.accounts.models import User
    from smarketing.core.models import Origin
    from smarketing.scoring import services

    user = User.objects.filter(pk=actor_id).first() if actor_id else None
    stats = services.run_recompute(group_id, actor=system_actor(Origin.SYSTEM, on_behalf_of=user))
    logger.info("scores recomputed: %s", stats.as_dict())
    return stats.as_dict()


@periodic(every=timedelta(minutes=1))
@task()
def score_new_touches() -> int:
    """Add the engagement points of the touches written since the last run (one history line per touch)."""
    from smarketing.scoring import incremental

    return incremental.score_new_touches()


@periodic(every=timedelta(days=1))
@task()
def decay_scores() -> dict:
    """Engagement decays: recomputed from the timeline with today's weights, one line per contact that fell."""
    from smarketing.scoring import incremental

    return incremental.apply_decay().as_dict()


# predictive: the weekly retrain and score (scoring/predictive/tasks.py)
from smarketing.scoring.predictive.tasks import retrain_predictive_model  # noqa: E402, F401
