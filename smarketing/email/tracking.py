"""Turning raw tracking hits into facts: machine detection, counters, touchpoints and events.

The pixel and the click redirect only INSERT a TrackingHit (email/views/public.py). A periodic job processes the
unprocessed ones in batches. Each batch is one transaction: claim the hits (FOR UPDATE SKIP LOCKED on
PostgreSQL, so several workers share the work; SQLite serializes writers with IMMEDIATE transactions), decide
which are machines, add to the counters of the sends and links, write the touches and the outbox events, and
mark the hits processed. A crash anywhere rolls the whole batch back and the next run replays it: nothing is
lost and nothing counted twice.

Machines, kept out of the human counts (docs/email-tracking.md explains them to marketers):
- Apple Mail Privacy Protection fetches every image when mail arrives, from Apple's 17.0.0.0/8 network with the
  bare user agent "Mozilla/5.0";
- link scanners (Microsoft Defender Safe Links, Mimecast, Proofpoint, Barracuda...) follow every link at
  delivery: a click within CLICK_TOO_SOON of the send, several different links of one email clicked within
  BURST_WINDOW, a known scanner or script user agent;
- HEAD requests and prefetches (Sec-Purpose/Purpose: prefetch), flagged when the hit was recorded.
Hits younger than HOLD_BACK wait for the next run, so a scanner's burst is seen whole before it is judged.
"""

import ipaddress
import logging
import re
from collections import defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task

from smarketing.core.bulk import bulk_insert
from smarketing.core.events import check_declared, notify_on_commit
from smarketing.core.models import Event
from smarketing.email import kinds
from smarketing.email.models import EmailCampaign, EmailLink, EmailSend, HitKind, TrackingHit
from smarketing.jobs.periodic import periodic
from smarketing.timeline.services import record_touches

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
# Processed hits are evidence for a while (machine-detection audits, a reprocessing after a bug), then only the
# counters and touchpoints they produced are kept.
HIT_RETENTION = timedelta(days=90)
PRUNE_BATCH = 10_000
HOLD_BACK = timedelta(seconds=2)
CLICK_TOO_SOON = timedelta(seconds=2)
BURST_WINDOW = timedelta(seconds=1)
APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
MPP_USER_AGENT = "Mozilla/5.0"
SCANNER_AGENTS = re.compile(
    r"barracuda|mimecast|proofpoint|messagelabs|symantec|trendmicro|trend micro|forcepoint|fireeye|ironport|"
    r"sophos|zscaler|safelinks|safe links|bitdefender|checkpoint|appriver|spamtitan|hornetsecurity|"
    r"python-requests|python-urllib|aiohttp|curl/|wget/|go-http-client|java/|okhttp|libwww|httpclient|"
    r"headlesschrome|phantomjs|bot\b|bot/|crawler|spider|scanner|urlscan",
    re.IGNORECASE,
)
_SEND_TABLE = EmailSend._meta.db_table
_LINK_TABLE = EmailLink._meta.db_table


def _in_apple_network(ip: str | None) -> bool:
    if not ip:
        return False
    try:
        return ipaddress.ip_address(ip) in APPLE_NETWORK
    except ValueError:
        return False


def machine_reason(hit: dict, sent_at, burst_links: set) -> str:
    """Why a hit is a machine's ("" for a person). `burst_links`: the other links of the same send clicked within
    BURST_WINDOW of this click."""
    if hit["machine"]:
        return "prefetch"
    agent = (hit["user_agent"] or "").strip()
    if agent and SCANNER_AGENTS.search(agent):
        return "scanner"
    if hit["kind"] == HitKind.OPEN:
        if agent == MPP_USER_AGENT or _in_apple_network(hit["ip"]):
            return "apple-mpp"
        return ""
    if sent_at is not None and hit["at"] - sent_at < CLICK_TOO_SOON:
        return "too-soon"
    if burst_links - {hit["link_id"]}:
        return "burst"
    return ""


def _claim(limit: int, cutoff) -> list[dict]:
    """The oldest unprocessed hits recorded by `cutoff`, locked for this transaction and marked processed."""
    hits = list(
        TrackingHit.objects.filter(processed=False, at__lte=cutoff)
        .order_by("id")
        .select_for_update(skip_locked=True)
        .values("id", "send_id", "kind", "link_id", "at", "user_agent", "ip", "machine")[:limit]
    )
    if hits:
        TrackingHit.objects.filter(id__in=[h["id"] for h in hits]).update(processed=True)
    return hits


def _bursts(click_hits: list[dict]) -> dict[int, set]:
    """{hit id: the links of the same send clicked within BURST_WINDOW of it}, processed hits included (a burst
    may straddle two batches), from the (send, at) index."""
    if not click_hits:
        return {}
    lo = min(h["at"] for h in click_hits) - BURST_WINDOW
    hi = max(h["at"] for h in click_hits) + BURST_WINDOW
    nearby = defaultdict(list)
    rows = TrackingHit.objects.filter(
        send_id__in={h["send_id"] for h in click_hits}, kind=HitKind.CLICK, at__gte=lo, at__lte=hi
    ).values_list("send_id", "link_id", "at")
    for send_id, link_id, at in rows:
        nearby[send_id].append((link_id, at))
    return {
        h["id"]: {link for link, at in nearby[h["send_id"]] if abs(at - h["at"]) <= BURST_WINDOW} for h in click_hits
    }


def process_batch(limit: int = BATCH_SIZE, *, hold_back: timedelta = HOLD_BACK) -> int:
    """Process up to `limit` pending hits in one transaction; returns how many. `hold_back`: how old a hit must be
    (tests and demos that want their clicks counted at once pass timedelta(0))."""
    with transaction.atomic():
        hits = _claim(limit, timezone.now() - hold_back)
        if not hits:
            return 0
        _apply(hits)
    return len(hits)


def process_pending(limit: int = BATCH_SIZE, max_batches: int = 1000, *, hold_back: timedelta = HOLD_BACK) -> int:
    """Process every pending hit, batch after batch; returns how many."""
    total = 0
    for _ in range(max_batches):
        done = process_batch(limit, hold_back=hold_back)
        total += done
        if done < limit:
            break
    return total


def _apply(hits: list[dict]) -> None:
    send_ids = sorted({h["send_id"] for h in hits})
    # Locked in id order (two processors never deadlock on each other): the "first open" decision below must see
    # what a concurrent batch wrote, or both would write the email_opened touch.
    sends = {
        s["id"]: s
        for s in EmailSend.objects.filter(id__in=send_ids)
        .order_by("id")
        .select_for_update(of=("self",))
        .values("id", "campaign_id", "contact_id", "email", "sent_at", "first_opened_at", "first_clicked_at")
    }
    campaigns = {
        c["id"]: c
        for c in EmailCampaign.objects.filter(id__in={s["campaign_id"] for s in sends.values()}).values(
            "id", "campaign_id", "subject"
        )
    }
    link_ids = {h["link_id"] for h in hits if h["link_id"]}
    link_rows = {
        row["id"]: row for row in EmailLink.objects.filter(id__in=link_ids).values("id", "position", "url", "label")
    }
    bursts = _bursts([h for h in hits if h["kind"] == HitKind.CLICK])

    per_send = defaultdict(lambda: {"opens": 0, "mopens": 0, "clicks": 0, "mclicks": 0, "open": None, "click": None})
    per_link = defaultdict(lambda: [0, 0])
    machine_ids = []
    clicks = []  # human clicks: (hit, send, link)
    for hit in hits:
        send = sends.get(hit["send_id"])
        if send is None:  # deleted with its campaign since the hit came in
            continue
        reason = machine_reason(hit, send["sent_at"], bursts.get(hit["id"], set()))
        counts = per_send[send["id"]]
        if reason:
            machine_ids.append(hit["id"])
        if hit["kind"] == HitKind.OPEN:
            if reason:
                counts["mopens"] += 1
            else:
                counts["opens"] += 1
                counts["open"] = min(filter(None, [counts["open"], hit["at"]]))
            continue
        link = link_rows.get(hit["link_id"])
        if link:
            per_link[link["id"]][1 if reason else 0] += 1
        if reason:
            counts["mclicks"] += 1
            continue
        counts["clicks"] += 1
        counts["click"] = min(filter(None, [counts["click"], hit["at"]]))
        clicks.append((hit, send, link))

    touches, events = [], []
    send_updates = []
    for send_id, counts in per_send.items():
        send = sends[send_id]
        campaign = campaigns[send["campaign_id"]]
        # A person who clicked has opened, even if their client blocked the pixel.
        opened_at = min(filter(None, [counts["open"], counts["click"]]), default=None)
        if opened_at and send["first_opened_at"] is None:
            implied = counts["open"] is None
            if send["contact_id"]:
                touches.append(
                    {
                        "kind": kinds.EMAIL_OPENED,
                        "contact": send["contact_id"],
                        "campaign": campaign["campaign_id"],
                        "summary": f"Opened “{campaign['subject']}”",
                        "source": "email",
                        "details": {"send": send_id, "implied_by_click": implied},
                        "occurred_at": opened_at,
                    }
                )
            events.append(_event("email.opened", send, campaign, at=opened_at, implied_by_click=implied))
        send_updates.append(
            [
                counts["opens"],
                counts["mopens"],
                opened_at,
                counts["clicks"],
                counts["mclicks"],
                counts["click"],
                send_id,
            ]
        )
    for hit, send, link in clicks:
        campaign = campaigns[send["campaign_id"]]
        url = link["url"] if link else ""
        details = {"send": send["id"], "url": url, "position": link["position"] if link else None}
        if send["contact_id"]:
            touches.append(
                {
                    "kind": kinds.EMAIL_CLICKED,
                    "contact": send["contact_id"],
                    "campaign": campaign["campaign_id"],
                    "summary": f"Clicked {link['label'] if link else 'a link'} in “{campaign['subject']}”",
                    "source": "email",
                    "details": details,
                    "occurred_at": hit["at"],
                }
            )
        events.append(_event("email.clicked", send, campaign, at=hit["at"], url=url, position=details["position"]))

    with connection.cursor() as cursor:
        # One statement, many parameter sets (psycopg pipelines them; SQLite runs them in-process).
        cursor.executemany(
            f"UPDATE {_SEND_TABLE} SET opens = opens + %s, machine_opens = machine_opens + %s, "
            "first_opened_at = COALESCE(first_opened_at, %s), clicks = clicks + %s, "
            "machine_clicks = machine_clicks + %s, first_clicked_at = COALESCE(first_clicked_at, %s) WHERE id = %s",
            send_updates,
        )
        if per_link:
            cursor.executemany(
                f"UPDATE {_LINK_TABLE} SET clicks = clicks + %s, machine_clicks = machine_clicks + %s WHERE id = %s",
                [[human, machine, link_id] for link_id, (human, machine) in per_link.items()],
            )
    if machine_ids:
        TrackingHit.objects.filter(id__in=machine_ids).update(machine=True)
    if touches:
        record_touches(touches)
    if events:
        bulk_insert(events)
        notify_on_commit()


def _event(name: str, send: dict, campaign: dict, *, at, **extra) -> Event:
    check_declared(name)
    payload = {
        "send_id": send["id"],
        "campaign_id": campaign["campaign_id"],
        "email_campaign_id": campaign["id"],
        "contact_id": send["contact_id"],
        "email": send["email"],
        "at": at.isoformat(),
        **extra,
    }
    return Event(name=name, object_type="email.emailsend", object_id=str(send["id"]), payload=payload)


@periodic(every=timedelta(seconds=10))
@task()
def process_tracking_hits() -> int:
    """The periodic job: every pending hit, in batches (a few seconds behind real time, see HOLD_BACK)."""
    done = process_pending()
    if done:
        logger.info("processed %d tracking hits", done)
    return done


@periodic(every=timedelta(hours=1))
@task()
def prune_tracking_hits() -> int:
    """Delete processed hits older than HIT_RETENTION, a bounded batch at a time (short transactions)."""
    cutoff = timezone.now() - HIT_RETENTION
    deleted = 0
    while True:
        ids = list(
            TrackingHit.objects.filter(processed=True, at__lt=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:PRUNE_BATCH]
        )
        if not ids:
            return deleted
        deleted += TrackingHit.objects.filter(id__in=ids).delete()[0]
