"""The closed-loop report of one email campaign: what the email did, then what followed among those it engaged.

`CampaignReport(email_campaign_id, window_days)` is the one query object behind the report page, its CSV and
GET /api/v1/campaigns/{id}/report, so a figure means the same thing everywhere.

- The funnel reads only `email.EmailSend` rows, i.e. what Smarketing sent and tracked itself: touchpoints
  recorded through the API (imported history) cannot inflate it. Opens and clicks are human only: a send
  counts as opened when it has a first open and at least one human open (`opens`), machine opens (Apple
  Mail Privacy Protection, link scanners, prefetch) are kept in `machine_opens` and never counted.
- "What followed" looks at the contacts who engaged (a human open or click) and counts, within
  `window_days` after their first engagement: moves into lead, MQL and SQL (crm LifecycleChange rows),
  deals created with one of them among the deal's contacts, and the amounts of those deals that are won.

Every figure is set-based SQL: seven queries whatever the campaign's size (assertNumQueries in the tests),
none of them a per-recipient loop. The result is cached for a minute: the page is opened often while a
campaign is sending, and a minute-old figure is fine there.
"""

import dataclasses
import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    When,
)
from django.db.models.functions import Coalesce, Least, TruncHour
from django.utils import timezone

from smarketing.core.metric import Metric
from smarketing.crm.models import Deal, DealStatus, LifecycleChange, LifecycleStage
from smarketing.email.models import EmailCampaign, EmailLink, EmailSend, SendStatus
from smarketing.metrics.deals import Money

WINDOW_CHOICES = (7, 14, 30, 60, 90, 180)
HOURLY_HOURS = 48  # the timeline is hourly for the first two days after sending started, then daily
HARD = "hard"

# A send is human-opened (clicked) when it has a first open (click) and at least one human one.
HUMAN_OPEN = Q(opens__gt=0, first_opened_at__isnull=False)
HUMAN_CLICK = Q(clicks__gt=0, first_clicked_at__isnull=False)


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by (the page shows "–", not 0 %)."""
    return part / whole if whole else None


@dataclasses.dataclass(frozen=True)
class Figures:
    """One column of the report: the whole campaign (variant "") or one A/B variant."""

    variant: str
    recipients: int = 0  # sends created when the audience was frozen
    sent: int = 0
    bounced: int = 0
    hard_bounced: int = 0
    soft_bounced: int = 0
    opened: int = 0
    clicked: int = 0
    unsubscribed: int = 0
    complained: int = 0
    suppressed: int = 0
    failed: int = 0
    machine_opened: int = 0  # sends with only machine opens: shown apart, never in `opened`
    # What followed among engaged contacts, within the window
    engaged: int = 0
    leads: int = 0
    mqls: int = 0
    sqls: int = 0
    deals: int = 0
    deals_won: int = 0
    revenue: tuple[Money, ...] = ()

    @property
    def label(self) -> str:
        return f"Variant {self.variant.upper()}" if self.variant else "All recipients"

    @property
    def delivered(self) -> int:
        return max(self.sent - self.bounced, 0)

    @property
    def open_rate(self) -> float | None:
        return rate(self.opened, self.delivered)

    @property
    def click_rate(self) -> float | None:
        return rate(self.clicked, self.delivered)

    @property
    def click_to_open_rate(self) -> float | None:
        return rate(self.clicked, self.opened)

    @property
    def bounce_rate(self) -> float | None:
        return rate(self.bounced, self.sent)

    @property
    def unsubscribe_rate(self) -> float | None:
        return rate(self.unsubscribed, self.delivered)

    @property
    def complaint_rate(self) -> float | None:
        return rate(self.complained, self.delivered)

    def as_dict(self) -> dict:
        """The figures as plain JSON values (the API and the CSV read this, so they say the same)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "revenue"}
        data["delivered"] = self.delivered
        for name in RATES:
            value = getattr(self, name)
            data[name] = None if value is None else round(value, 6)
        data["revenue"] = [{"currency": m.currency, "amount": str(m.amount)} for m in self.revenue]
        return data


RATES = ("open_rate", "click_rate", "click_to_open_rate", "bounce_rate", "unsubscribe_rate", "complaint_rate")


@dataclasses.dataclass(frozen=True)
class Bucket:
    """Unique first opens and first clicks in one period of the timeline (an hour, then a day)."""

    start: datetime.datetime
    hourly: bool
    opens: int
    clicks: int


@dataclasses.dataclass(frozen=True)
class LinkClicks:
    """One link of the email in the click map: its human clicks and their share of all link clicks."""

    position: int
    url: str
    label: str
    clicks: int
    machine_clicks: int
    share: float | None


@dataclasses.dataclass(frozen=True)
class CampaignReportResult:
    """The report: the total, each A/B variant, the timeline and the click map."""

    email_campaign_id: int
    window_days: int
    started_at: datetime.datetime | None
    total: Figures
    variants: tuple[Figures, ...]
    timeline: tuple[Bucket, ...]
    links: tuple[LinkClicks, ...]
    computed_at: datetime.datetime

    def as_dict(self) -> dict:
        return {
            "campaign": self.email_campaign_id,
            "window_days": self.window_days,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "computed_at": self.computed_at.isoformat(),
            "total": self.total.as_dict(),
            "variants": [v.as_dict() for v in self.variants],
            "timeline": [
                {
                    "start": b.start.isoformat(),
                    "period": "hour" if b.hourly else "day",
                    "opens": b.opens,
                    "clicks": b.clicks,
                }
                for b in self.timeline
            ],
            "links": [
                {
                    "position": link.position,
                    "url": link.url,
                    "label": link.label,
                    "clicks": link.clicks,
                    "machine_clicks": link.machine_clicks,
                    "share": None if link.share is None else round(link.share, 6),
                }
                for link in self.links
            ],
        }


@dataclasses.dataclass(frozen=True)
class CampaignReport(Metric[CampaignReportResult]):
    """The closed-loop report of one email campaign with a window (days) for what followed an engagement."""

    email_campaign_id: int
    window_days: int = 30

    name = "email.campaign_report"
    cache_seconds = 60

    def clean(self) -> None:
        if not isinstance(self.email_campaign_id, int) or isinstance(self.email_campaign_id, bool):
            raise ValueError("email_campaign_id must be a whole number")
        if not isinstance(self.window_days, int) or isinstance(self.window_days, bool):
            raise ValueError("The window must be a whole number of days.")
        if not 1 <= self.window_days <= 365:
            raise ValueError("The window must be from 1 to 365 days.")

    # -- the pieces ---------------------------------------------------------------------------------------

    def sends(self):
        return EmailSend.objects.filter(campaign_id=self.email_campaign_id)

    def engaged_sends(self):
        """The sends whose contact engaged, each with `engaged_at` (first human open or click) and `until`."""
        open_at = Case(When(HUMAN_OPEN, then=F("first_opened_at")), output_field=DateTimeField())
        click_at = Case(When(HUMAN_CLICK, then=F("first_clicked_at")), output_field=DateTimeField())
        # LEAST ignores NULLs on PostgreSQL but not on SQLite: coalescing each side makes both agree.
        engaged_at = Least(Coalesce(open_at, click_at), Coalesce(click_at, open_at))
        window = datetime.timedelta(days=self.window_days)
        return (
            self.sends()
            .filter(HUMAN_OPEN | HUMAN_CLICK, contact_id__isnull=False)
            .annotate(engaged_at=engaged_at)
            .annotate(until=ExpressionWrapper(F("engaged_at") + window, output_field=DateTimeField()))
        )

    def _funnel(self) -> dict[str, dict]:
        rows = (
            self.sends()
            .values("variant")
            .annotate(
                recipients=Count("id"),
                sent=Count("id", filter=Q(status=SendStatus.SENT)),
                bounced=Count("id", filter=Q(bounced_at__isnull=False)),
                hard_bounced=Count("id", filter=Q(bounced_at__isnull=False, bounce_kind=HARD)),
                opened=Count("id", filter=HUMAN_OPEN),
                clicked=Count("id", filter=HUMAN_CLICK),
                unsubscribed=Count("id", filter=Q(unsubscribed_at__isnull=False)),
                complained=Count("id", filter=Q(complained_at__isnull=False)),
                suppressed=Count("id", filter=Q(status=SendStatus.SUPPRESSED)),
                failed=Count("id", filter=Q(status=SendStatus.FAILED)),
                machine_opened=Count("id", filter=Q(machine_opens__gt=0) & ~HUMAN_OPEN),
                engaged=Count("id", filter=(HUMAN_OPEN | HUMAN_CLICK) & Q(contact_id__isnull=False)),
            )
            .order_by("variant")
        )
        out = {}
        for row in rows:
            row["soft_bounced"] = row["bounced"] - row["hard_bounced"]
            out[row.pop("variant")] = row
        return out

    def _followed(self) -> dict[str, dict]:
        """Leads, MQLs and SQLs among the engaged contacts, per variant: one join of the engaged sends with the
        stage moves in their windows.

        One join rather than an EXISTS per stage: PostgreSQL probes the (contact, changed_at) index once per
        engaged send instead of three times (1.4 s → about a third of it at 100,000 recipients, 20 % engaged).
        The engaged sends are Django's own SQL (so `until`, the date arithmetic, is right on SQLite and
        PostgreSQL alike); only the join around it is written here.
        """
        engaged_sql, params = (
            self.engaged_sends().values("id", "variant", "contact_id", "engaged_at", "until").query.sql_with_params()
        )
        stages = (LifecycleStage.LEAD, LifecycleStage.MQL, LifecycleStage.SQL)
        moves = LifecycleChange._meta.db_table
        sql = (
            f"SELECT e.variant, m.to_stage, COUNT(DISTINCT e.id) FROM ({engaged_sql}) e "
            f"JOIN {moves} m ON m.contact_id = e.contact_id AND m.to_stage IN (%s, %s, %s) "
            "AND m.changed_at > e.engaged_at AND m.changed_at <= e.until "
            "GROUP BY e.variant, m.to_stage"
        )
        out: dict[str, dict] = {}
        names = {LifecycleStage.LEAD: "leads", LifecycleStage.MQL: "mqls", LifecycleStage.SQL: "sqls"}
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *stages])
            for variant, stage, n in cursor.fetchall():
                out.setdefault(variant, {"leads": 0, "mqls": 0, "sqls": 0})[names[stage]] = n
        return out

    def _deals(self, variants: list[str]) -> list[dict]:
        """Deals created within the window after one of their contacts engaged, with the variants behind them.

        A deal with engaged contacts in both variants counts once in the total and once in each variant.
        """

        def engaged_on(deal_variant: str | None):
            sends = self.engaged_sends().filter(
                contact__deal_roles__deal=OuterRef("pk"),
                engaged_at__lt=OuterRef("created_at"),
                until__gte=OuterRef("created_at"),
            )
            return Exists(sends.filter(variant=deal_variant) if deal_variant is not None else sends)

        flags = {f"in_{v}": engaged_on(v) for v in variants if v}
        deals = Deal.objects.filter(engaged_on(None)).annotate(**flags)
        return list(deals.values("id", "status", "amount", "currency", *flags))

    def _timeline(self, started_at: datetime.datetime | None) -> tuple[Bucket, ...]:
        def per_hour(condition: Q, field: str) -> dict[datetime.datetime, int]:
            rows = (
                self.sends()
                .filter(condition)
                .annotate(hour=TruncHour(field, tzinfo=datetime.UTC))
                .values("hour")
                .annotate(n=Count("id"))
                .order_by()
            )
            return {row["hour"]: row["n"] for row in rows}

        opens = per_hour(HUMAN_OPEN, "first_opened_at")
        clicks = per_hour(HUMAN_CLICK, "first_clicked_at")
        hours = sorted(set(opens) | set(clicks))
        if not hours:
            return ()
        start = (started_at or hours[0]).astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)
        start = min(start, hours[0])
        daily_from = start + datetime.timedelta(hours=HOURLY_HOURS)
        buckets: dict[tuple[datetime.datetime, bool], list[int]] = {}
        # Every hour of the first two days is shown (an empty hour is a real zero on the chart); after that,
        # only the days that had any activity.
        last_hour = min(hours[-1], daily_from - datetime.timedelta(hours=1))
        hour = start
        while hour <= last_hour:
            buckets[(hour, True)] = [0, 0]
            hour += datetime.timedelta(hours=1)
        for hour in hours:
            if hour < daily_from:
                key = (hour, True)
            else:
                midnight = hour.replace(hour=0)
                key = (max(midnight, daily_from), False)
            counts = buckets.setdefault(key, [0, 0])
            counts[0] += opens.get(hour, 0)
            counts[1] += clicks.get(hour, 0)
        return tuple(Bucket(when, hourly, o, c) for (when, hourly), (o, c) in sorted(buckets.items()))

    def _links(self) -> tuple[LinkClicks, ...]:
        links = list(
            EmailLink.objects.filter(campaign_id=self.email_campaign_id)
            .order_by("-clicks", "position")
            .values_list("position", "url", "label", "clicks", "machine_clicks")
        )
        total = sum(link[3] for link in links)
        return tuple(LinkClicks(p, url, label, c, m, rate(c, total)) for p, url, label, c, m in links)

    # -- the result ---------------------------------------------------------------------------------------

    def compute(self) -> CampaignReportResult:
        started_at = (
            EmailCampaign.objects.filter(pk=self.email_campaign_id).values_list("started_at", flat=True).first()
        )
        funnel = self._funnel()
        followed = self._followed()
        variants = sorted(set(funnel) | set(followed))
        deals = self._deals(variants)

        def figures(variant: str, funnel_rows: list[dict], followed_rows: list[dict], deal_rows: list[dict]):
            values: dict = {}
            for row in funnel_rows + followed_rows:
                for key, n in row.items():
                    values[key] = values.get(key, 0) + n
            won: dict[str, Decimal] = {}
            for deal in deal_rows:
                if deal["status"] == DealStatus.WON:
                    won[deal["currency"]] = won.get(deal["currency"], Decimal("0")) + deal["amount"]
            revenue = tuple(Money(c, a) for c, a in sorted(won.items(), key=lambda item: (-item[1], item[0])))
            return Figures(
                variant=variant,
                deals=len(deal_rows),
                deals_won=sum(1 for d in deal_rows if d["status"] == DealStatus.WON),
                revenue=revenue,
                **values,
            )

        total = figures("", list(funnel.values()), list(followed.values()), deals)
        per_variant = tuple(
            figures(v, [funnel.get(v, {})], [followed.get(v, {})], [d for d in deals if d.get(f"in_{v}")])
            for v in variants
            if v
        )
        return CampaignReportResult(
            email_campaign_id=self.email_campaign_id,
            window_days=self.window_days,
            started_at=started_at,
            total=total,
            variants=per_variant,
            timeline=self._timeline(started_at),
            links=self._links(),
            computed_at=timezone.now(),
        )
