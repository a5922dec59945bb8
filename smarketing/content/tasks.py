"""Background jobs of the content library: the periodic expiry reminder (daily)."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from smarketing.jobs.periodic import periodic

logger = logging.getLogger(__name__)

REMIND_DAYS_BEFORE = 7
BATCH = 500


def due_expiry_reminders(today=None) -> list[int]:
    """Ids of assets in use whose expiry date is at most a week away (or passed) and whose owner was not reminded.

    The scan reads the partial index asset_expiry_idx (expires_on, only the rows not reminded yet), so reminded
    assets cost nothing however many there are.
    """
    from smarketing.content.models import Asset, Status

    today = today or timezone.localdate()
    return list(
        Asset.objects.filter(
            expiry_reminded_at__isnull=True,
            expires_on__isnull=False,
            expires_on__lte=today + timedelta(days=REMIND_DAYS_BEFORE),
        )
        .exclude(status=Status.RETIRED)
        .order_by("expires_on", "id")
        .values_list("pk", flat=True)[:BATCH]
    )


def remind_expiring(asset_id: int, now=None) -> bool:
    """Claim one asset's reminder and notify its owner in one transaction: True when this call reminded.

    The claim is a conditional UPDATE (expiry_reminded_at null → now): of two workers, or two runs, only one
    matches; a crash before the commit leaves neither the claim nor the notification, so the next run reminds once.
    """
    from smarketing.content.kinds import NOTIFY_EXPIRING
    from smarketing.content.models import Asset
    from smarketing.content.services import asset_url
    from smarketing.notifications.services import notify

    now = now or timezone.now()
    with transaction.atomic():
        claimed = Asset.objects.filter(pk=asset_id, expiry_reminded_at__isnull=True, expires_on__isnull=False).update(
            expiry_reminded_at=now
        )
        if not claimed:
            return False
        asset = Asset.objects.select_related("owner").get(pk=asset_id)
        today = timezone.localdate(now)
        when = "expired" if asset.expires_on < today else "expires"
        notify(
            asset.owner,
            kind=NOTIFY_EXPIRING,
            title=f"“{asset.title}” {when} on {asset.expires_on:%b %-d, %Y}"[:200],
            body="Upload a current version, move the date, or retire it so nobody sends it any more.",
            url=asset_url(asset),
            about=asset,
        )
    return True


def send_expiry_reminders(now=None) -> int:
    now = now or timezone.now()
    return sum(remind_expiring(asset_id, now) for asset_id in due_expiry_reminders(timezone.localdate(now)))


@periodic(every=timedelta(days=1))
@task()
def expiry_reminders() -> dict:
    """Each owner is reminded once, a week before an asset's expiry date."""
    return {"reminded": send_expiry_reminders()}
