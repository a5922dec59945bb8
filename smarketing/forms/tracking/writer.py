"""Writing page views: the set-based batch writer behind the "page_view" ingest stream, and stitching.

record_page_views(records) takes a batch of parse_hit records and writes them with a handful of statements
whatever the batch size: visitors upserted by public id, page views bulk-inserted (each record's `hit_id` is
unique, so a batch replayed after a crash inserts nothing twice), the daily page counters incremented, and for
visitors already stitched to a contact a `page_viewed` touch per view (timeline.services) plus a `page.viewed`
outbox event (workflows' "page visited" trigger reads it).

stitch(visitor, contact, by=...) links a visitor to a contact, first stitch wins, and turns the visitor's earlier
anonymous views into touches on the contact's timeline at their original times.
"""

from collections import defaultdict
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from smarketing.core.bulk import bulk_insert
from smarketing.core.events import check_declared, notify_on_commit
from smarketing.core.models import Event
from smarketing.forms import kinds
from smarketing.forms.models import PageView, PageViewDaily, Visitor
from smarketing.forms.tracking.hits import UTM_KEYS, VID
from smarketing.timeline.services import append_touches

EVENT = "page.viewed"
STITCH_BY = ("form", "email_click")
CHUNK = 1000  # views joined per round when a visitor with a long history is stitched
_DAILY = PageViewDaily._meta.db_table
_VIEW_FIELDS = ("id", "visitor_id", "url", "path", "title", "referrer", "occurred_at", *UTM_KEYS)


# -- the shared rules: the touch and the event of a page view (the seed uses them too) -----------------------


def page_view_summary(path: str, title: str) -> str:
    """'Viewed /pricing — Pricing' (the timeline's line for a page view)."""
    return f"Viewed {path} — {title}" if title else f"Viewed {path}"


def touch_source(utm_source: str, referrer: str, url: str) -> str:
    """The touch's source: the UTM source, else the referring site when it is another one, else 'direct'."""
    if utm_source:
        return utm_source[:50]
    ref_host = urlsplit(referrer).netloc if referrer else ""
    if ref_host and ref_host != urlsplit(url).netloc:
        return ref_host[:50]
    return "direct"


def page_view_touch(view: dict, contact_id: int, campaign_id: int | None = None) -> dict:
    """timeline.services' arguments for the page_viewed touch of `view` (a PageView's values)."""
    details = {"url": view["url"], "path": view["path"], "title": view["title"]}
    if view["referrer"]:
        details["referrer"] = view["referrer"]
    utm = {key: view[key] for key in UTM_KEYS if view.get(key)}
    if utm:
        details["utm"] = utm
    return {
        "kind": kinds.PAGE_VIEWED,
        "contact": contact_id,
        "campaign": campaign_id,
        "summary": page_view_summary(view["path"], view["title"]),
        "source": touch_source(view.get("utm_source", ""), view["referrer"], view["url"]),
        "details": details,
        "occurred_at": view["occurred_at"],
    }


def page_view_payload(view: dict, *, contact_id: int, visitor_public_id: str, stitched: bool = False) -> dict:
    """The payload of a page.viewed event. `stitched`: an earlier anonymous view that joined at a stitch."""
    return {
        "page_view_id": view["id"],
        "contact_id": contact_id,
        "visitor_id": visitor_public_id,
        "url": view["url"],
        "path": view["path"],
        "title": view["title"],
        "referrer": view["referrer"],
        "utm": {key: view[key] for key in UTM_KEYS if view.get(key)},
        "at": view["occurred_at"].isoformat(),
        "stitched": stitched,
    }


def _event(view: dict, contact_id: int, visitor_public_id: str, *, stitched: bool) -> Event:
    payload = page_view_payload(view, contact_id=contact_id, visitor_public_id=visitor_public_id, stitched=stitched)
    return Event(name=EVENT, object_type="forms.pageview", object_id=str(view["id"]), payload=payload)


def _campaigns_by_utm(values) -> dict[str, int]:
    from smarketing.campaigns.models import Campaign

    values = {v for v in values if v}
    if not values:
        return {}
    rows = Campaign.objects.filter(utm_campaign__in=values).order_by("id").values_list("utm_campaign", "id")
    found: dict[str, int] = {}
    for utm, pk in rows:
        found.setdefault(utm, pk)
    return found


# -- the batch writer -------------------------------------------------------------------------------------------


def _at(value) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _clean(records: list[dict]) -> list[dict]:
    """Well-formed records, one per hit_id (a record that is not is dropped: the stream must not jam on it)."""
    seen, out = set(), []
    for record in records:
        try:
            hit_id = record["hit_id"]
            at = _at(record["occurred_at"])
        except (KeyError, TypeError, ValueError):
            continue
        if hit_id in seen or not isinstance(record.get("vid"), str) or not VID.fullmatch(record["vid"]):
            continue
        if timezone.is_naive(at):
            at = timezone.make_aware(at, UTC)
        seen.add(hit_id)
        out.append({**record, "occurred_at": at})
    return out


def record_page_views(records: list[dict]) -> None:
    """Write a batch of parse_hit records (the "page_view" ingest stream's handler). Idempotent on hit_id."""
    records = _clean(records)
    if not records:
        return
    try:
        with transaction.atomic():
            _write(records)
    except IntegrityError:
        # Another writer inserted some of these hits (or the same new visitor) since we looked: look again.
        with transaction.atomic():
            _write(records)


def _visitors(records: list[dict]) -> dict[str, dict]:
    """{public id: {"id", "contact_id", "last_seen_at"}} for every visitor of the batch, created when new."""
    span: dict[str, list] = {}
    for r in records:
        first, last = span.setdefault(r["vid"], [r["occurred_at"], r["occurred_at"]])
        span[r["vid"]] = [min(first, r["occurred_at"]), max(last, r["occurred_at"])]

    def read(public_ids):
        return {
            v["public_id"]: v
            for v in Visitor.objects.filter(public_id__in=public_ids).values(
                "id", "public_id", "contact_id", "last_seen_at"
            )
        }

    found = read(list(span))
    missing = [vid for vid in span if vid not in found]
    if missing:
        Visitor.objects.bulk_create(
            [Visitor(public_id=vid, first_seen_at=span[vid][0], last_seen_at=span[vid][1]) for vid in missing],
            ignore_conflicts=True,
        )
        found.update(read(missing))
    later = [
        Visitor(id=v["id"], last_seen_at=span[vid][1])
        for vid, v in found.items()
        if vid not in missing and span[vid][1] > v["last_seen_at"]
    ]
    if later:
        Visitor.objects.bulk_update(later, ["last_seen_at"])
    return found


def _click_stitches(records: list[dict], visitors: dict[str, dict]) -> None:
    """Stitch the visitors whose hit carried a valid email-click token (before their views are written, so the
    batch's own views are written as known and the earlier ones join)."""
    from smarketing.crm.models import Contact

    wanted: dict[str, int] = {}
    for r in records:
        if r.get("click_contact") and visitors[r["vid"]]["contact_id"] is None:
            wanted.setdefault(r["vid"], int(r["click_contact"]))
    if not wanted:
        return
    live = set(Contact.objects.filter(pk__in=set(wanted.values())).values_list("pk", flat=True))
    for vid, contact_id in wanted.items():  # one per clicked email link: few per batch
        if contact_id in live:
            _stitch(visitors[vid]["id"], vid, contact_id, by="email_click")
            visitors[vid]["contact_id"] = Visitor.objects.filter(pk=visitors[vid]["id"]).values_list(
                "contact_id", flat=True
            )[0]


def _write(records: list[dict]) -> None:
    visitors = _visitors(records)
    _click_stitches(records, visitors)
    done = set(PageView.objects.filter(hit_id__in=[r["hit_id"] for r in records]).values_list("hit_id", flat=True))
    records = [r for r in records if r["hit_id"] not in done]
    if not records:
        return
    campaigns = _campaigns_by_utm(r.get("utm_campaign", "") for r in records)
    views, touches = [], []
    for r in records:
        view = {key: r.get(key, "") for key in ("url", "path", "title", "referrer", *UTM_KEYS)}
        view["occurred_at"] = r["occurred_at"]
        contact_id = visitors[r["vid"]]["contact_id"]
        views.append((r, view, contact_id))
        if contact_id:
            touches.append(page_view_touch(view, contact_id, campaigns.get(view["utm_campaign"])))
    saved = iter(append_touches(touches))
    objs = []
    for r, view, contact_id in views:
        objs.append(
            PageView(
                visitor_id=visitors[r["vid"]]["id"],
                contact_id=contact_id,
                touchpoint_id=next(saved).pk if contact_id else None,
                hit_id=r["hit_id"],
                **view,
            )
        )
    bulk_insert(objs)
    events = [
        _event({**view, "id": obj.pk}, contact_id, r["vid"], stitched=False)
        for (r, view, contact_id), obj in zip(views, objs, strict=True)
        if contact_id
    ]
    if events:
        check_declared(EVENT)
        bulk_insert(events)
        notify_on_commit()
    _count(views)


def _count(views) -> None:
    """Add the batch's views to the daily counters: one upsert per (day, host, path), in key order (two batches
    never wait on each other in opposite orders)."""
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for r, view, contact_id in views:
        key = (
            timezone.localdate(view["occurred_at"]),
            (r.get("host") or urlsplit(view["url"]).netloc)[:200],
            view["path"],
        )
        counts[key][0] += 1
        counts[key][1] += 1 if contact_id else 0
    rows = [[day, host, path, n, known] for (day, host, path), (n, known) in sorted(counts.items())]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {_DAILY} (day, host, path, views, known_views) VALUES (%s, %s, %s, %s, %s) "
            f"ON CONFLICT (day, host, path) DO UPDATE SET views = {_DAILY}.views + excluded.views, "
            f"known_views = {_DAILY}.known_views + excluded.known_views",
            rows,
        )


# -- stitching --------------------------------------------------------------------------------------------------


def stitch(visitor_public_id: str, contact, *, by: str) -> int:
    """Link the visitor to `contact` (a Contact or its id) and join its earlier anonymous views to the contact's
    timeline at their original times; returns how many joined. First stitch wins: a visitor already stitched to
    another contact stays with it (0). An unknown visitor id is created (its hits may still be in the ingest
    buffer: they arrive as the contact's); a malformed one is ignored."""
    if by not in STITCH_BY:
        raise ValueError(f"unknown stitch origin {by!r}")
    contact_id = contact if isinstance(contact, int) else contact.pk
    if not isinstance(visitor_public_id, str) or not VID.fullmatch(visitor_public_id) or not contact_id:
        return 0
    with transaction.atomic():
        visitor, _ = Visitor.objects.get_or_create(public_id=visitor_public_id)
        return _stitch(visitor.pk, visitor_public_id, contact_id, by=by)


def _stitch(visitor_id: int, visitor_public_id: str, contact_id: int, *, by: str) -> int:
    # A conditional UPDATE: of two concurrent stitches of one visitor, exactly one finds it unclaimed.
    claimed = Visitor.objects.filter(pk=visitor_id, contact__isnull=True).update(
        contact_id=contact_id, stitched_at=timezone.now(), stitched_by=by
    )
    if not claimed and not Visitor.objects.filter(pk=visitor_id, contact_id=contact_id).exists():
        return 0
    return _join(visitor_id, visitor_public_id, contact_id)


def _join(visitor_id: int, visitor_public_id: str, contact_id: int) -> int:
    """Turn the visitor's views that have no touch yet into the contact's touches, CHUNK views per round."""
    joined = 0
    while True:
        views = list(
            PageView.objects.filter(visitor_id=visitor_id, touchpoint__isnull=True)
            .order_by("id")
            .values(*_VIEW_FIELDS)[:CHUNK]
        )
        if not views:
            return joined
        campaigns = _campaigns_by_utm(v["utm_campaign"] for v in views)
        touches = append_touches([page_view_touch(v, contact_id, campaigns.get(v["utm_campaign"])) for v in views])
        PageView.objects.bulk_update(
            [
                PageView(id=v["id"], contact_id=contact_id, touchpoint_id=t.pk)
                for v, t in zip(views, touches, strict=True)
            ],
            ["contact_id", "touchpoint_id"],
        )
        check_declared(EVENT)
        Event.objects.bulk_create([_event(v, contact_id, visitor_public_id, stitched=True) for v in views])
        notify_on_commit()
        joined += len(views)
