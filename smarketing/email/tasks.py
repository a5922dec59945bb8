"""Background jobs of email campaigns: the senders (email/sending.py) and the minute-by-minute dispatcher that
starts scheduled campaigns, wakes senders of campaigns with due sends, recovers claims of dead workers, picks
A/B winners and pauses a campaign whose complaint rate passes the bulk-sender limit."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django_tasks import task

from smarketing.jobs.periodic import periodic

logger = logging.getLogger(__name__)

# Gmail and Yahoo's 2024 bulk-sender rules: keep spam complaints under 0.3 %. Judged once enough mail went out.
COMPLAINT_LIMIT = 0.003
COMPLAINT_MIN_SENT = 1000


def wake_senders(ec_id: int, *, run_after=None, count: int | None = None) -> None:
    """Enqueue the sender job of a campaign (several, so several workers share a big campaign)."""
    count = settings.EMAIL_SENDERS_PER_CAMPAIGN if count is None else count
    job = send_campaign.using(run_after=run_after) if run_after else send_campaign
    for _ in range(max(count, 1)):
        job.enqueue(ec_id)


@task(takes_context=True)
def send_campaign(context, email_campaign_id: int) -> dict:
    """Send what is due of one campaign; claims are exclusive, so any number of these may run together."""
    from smarketing.email import sending

    workers = getattr(context.task_result, "worker_ids", None) or []
    worker_id = workers[-1] if workers else sending.local_worker_id()
    return sending.run(email_campaign_id, worker_id).as_dict()


@periodic(every=timedelta(minutes=1))
@task()
def dispatch_campaigns() -> dict:
    """Start scheduled campaigns whose moment came; keep sending campaigns moving (a lost wake-up, a crash)."""
    from smarketing.accounts.access import system_actor
    from smarketing.core.models import Origin
    from smarketing.email import sending, services
    from smarketing.email.models import CampaignStatus, EmailCampaign, EmailSend, SendStatus

    now = timezone.now()
    started = woken = recovered = 0
    for ec in EmailCampaign.objects.filter(status=CampaignStatus.SCHEDULED).select_related("campaign")[:100]:
        if services.start_moment(ec) <= now:
            try:
                services.start_sending(system_actor(Origin.SYSTEM, on_behalf_of=ec.campaign.owner), ec)
                started += 1
            except Exception:
                logger.exception("scheduled campaign %s could not start", ec.pk)
    for ec in EmailCampaign.objects.filter(status=CampaignStatus.SENDING).select_related("campaign")[:100]:
        recovered += sending.recover(ec.pk, now)
        due = EmailSend.objects.filter(campaign_id=ec.pk, status=SendStatus.QUEUED, send_after__lte=now).exists()
        if due:
            wake_senders(ec.pk, count=1)
            woken += 1
        else:
            sending.finish_if_done(ec.pk)
        pause_on_complaints(ec)
    return {"started": started, "woken": woken, "recovered": recovered, "ab": pick_ab_winners_now(now)}


def pause_on_complaints(ec) -> bool:
    """Pause a campaign whose complaint rate passed 0.3 % (checked once a minute, not per message)."""
    from smarketing.accounts.access import system_actor
    from smarketing.core.models import Origin
    from smarketing.email import services
    from smarketing.email.models import SendStatus

    figures = ec.sends.aggregate(
        sent=Count("id", filter=Q(status=SendStatus.SENT)),
        complained=Count("id", filter=Q(complained_at__isnull=False)),
    )
    if figures["sent"] < COMPLAINT_MIN_SENT or figures["complained"] <= figures["sent"] * COMPLAINT_LIMIT:
        return False
    services.pause(
        system_actor(Origin.SYSTEM),
        ec,
        reason=f"{figures['complained']} spam complaints for {figures['sent']} sent (over 0.3 %)",
    )
    return True


def pick_ab_winners_now(now) -> int:
    """Once an A/B test's window is over: the subject with more human opens (or clicks) wins; ties go to A.
    The held remainder is released with it."""
    from smarketing.core.audit import record_audit
    from smarketing.core.models import Origin
    from smarketing.email import audience
    from smarketing.email.models import CampaignStatus, EmailCampaign

    picked = 0
    candidates = EmailCampaign.objects.filter(
        status=CampaignStatus.SENDING, ab_test_percent__gt=0, ab_winner="", started_at__isnull=False
    ).exclude(subject_b="")
    for ec in candidates[:100]:
        if ec.started_at + timedelta(hours=ec.ab_window_hours) > now:
            continue
        field = "first_clicked_at" if ec.ab_metric == "clicks" else "first_opened_at"
        scores = dict(
            ec.sends.filter(variant__in=("a", "b"), **{f"{field}__isnull": False})
            .values_list("variant")
            .annotate(n=Count("id"))
            .values_list("variant", "n")
            .order_by()
        )
        winner = "b" if scores.get("b", 0) > scores.get("a", 0) else "a"
        if not EmailCampaign.objects.filter(pk=ec.pk, ab_winner="").update(ab_winner=winner):
            continue
        released = audience.release_held(ec, winner, now=now)
        record_audit(
            actor=None,
            action="ab_winner",
            obj=ec,
            origin=Origin.SYSTEM,
            changes={"winner": ("", winner), "opens_or_clicks": (None, scores), "released": (None, released)},
        )
        wake_senders(ec.pk)
        picked += 1
    return picked
