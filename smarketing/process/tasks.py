"""The handoff's job: the SLA clock every minute (first touches, breaches and escalations, reminders)."""

import logging
from datetime import timedelta

from django_tasks import task

from smarketing.jobs.periodic import periodic

logger = logging.getLogger(__name__)


@periodic(every=timedelta(minutes=1))
@task()
def sla_tick() -> dict:
    """Record first touches and breaches from the stored facts, escalate and remind (each once)."""
    from smarketing.process import sla

    result = sla.tick()
    if result["breached"] or result["reminded"]:
        logger.info("handoff SLA: %s", result)
    return result


@periodic(every=timedelta(minutes=5))
@task()
def sync_mailboxes() -> dict:
    """Sales email capture: each user's chosen IMAP folder, new messages only."""
    from smarketing.process.capture import imap

    return imap.sync_all()


@task()
def sync_mailbox(capture_id: int) -> dict:
    """Sync one user's folder now ("Sync now" on the Email capture page)."""
    from smarketing.process.capture import imap
    from smarketing.process.models import MailCapture

    mc = MailCapture.objects.select_related("user").filter(pk=capture_id, imap_enabled=True).first()
    if mc is None:
        return {"captured": 0}
    return {"captured": imap.sync(mc).captured}
