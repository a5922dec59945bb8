"""The year's campaign calendar the demo's touches point at (newsletters, webinars, ads, events, content)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from smarketing.crm.demo import words as W
from smarketing.crm.demo.common import DAY, HOUR, WINDOW_DAYS, ascii_fold


@dataclass
class CampaignSpec:
    """One planned campaign; `id` is filled once the row exists."""

    name: str
    channel: str
    utm_campaign: str
    starts_at: int
    ends_at: int
    oneshot: bool  # a send or an event on one date (vs. running over a period)
    owner: str  # demo user key
    utm_source: str
    utm_medium: str
    budget: Decimal | None = None
    talking_points: str = ""
    offer_summary: str = ""
    landing: str = "/"
    # Email campaigns: the links of the email, (path, label), the first one the main call to action; the
    # journey picks which one a click touch went to and the email demo stores them as the campaign's links.
    links: tuple[tuple[str, str], ...] = ()
    # An A/B test of subjects: 20 % of the audience gets the test at the start, the rest the winner 4 hours on.
    ab_test: bool = False
    id: int | None = None

    def __post_init__(self):
        if self.channel == "email" and not self.links:
            self.links = ((self.landing, "Learn more"),)


def campaign_plan(end: int) -> list[CampaignSpec]:
    """The marketing calendar of the twelve months before `end`: fixed, no randomness."""
    start = end - WINDOW_DAYS * DAY
    plan: list[CampaignSpec] = []

    def month(t: int) -> datetime:
        return datetime.fromtimestamp(t, UTC)

    for m in range(12):
        base = start + m * 30 * DAY + 2 * DAY
        when = month(base + 8 * DAY)  # named after the month of the newsletter send
        tag = when.strftime("%Y-%m")
        label = when.strftime("%B")
        topic = W.NEWSLETTER_TOPICS[(when.month - 1) % len(W.NEWSLETTER_TOPICS)]
        webinar = W.WEBINAR_TOPICS[(when.month - 1) % len(W.WEBINAR_TOPICS)]
        owner = "maya" if m % 2 else "noah"
        plan.append(
            CampaignSpec(
                f"{label} newsletter: {topic}",
                "email",
                f"{tag}-newsletter",
                base + 8 * DAY + 15 * HOUR,
                base + 8 * DAY + 15 * HOUR,
                True,
                owner,
                "newsletter",
                "email",
                landing="/blog/attribution-models-explained" if m % 3 == 0 else "/product",
                links=(
                    ("/blog/attribution-models-explained" if m % 3 == 0 else "/product", "Read the story"),
                    ("/webinars", f"Save your seat: {webinar}"),
                    ("/customers/case-studies/northwind", "How Northwind aligned marketing and sales"),
                    ("/pricing", "See pricing"),
                ),
            )
        )
        plan.append(
            CampaignSpec(
                f"Invite: {webinar}",
                "email",
                f"{tag}-webinar-invite",
                base + 12 * DAY + 14 * HOUR,
                base + 12 * DAY + 14 * HOUR,
                True,
                owner,
                "newsletter",
                "email",
                landing="/webinars",
                links=(("/webinars", "Register now"), ("/blog/mql-to-sql-handoff-sla", "Read last month's recap")),
            )
        )
        plan.append(
            CampaignSpec(
                f"Webinar: {webinar}",
                "webinar",
                f"{tag}-webinar",
                base + 20 * DAY + 16 * HOUR,
                base + 20 * DAY + 17 * HOUR,
                True,
                "maya",
                "webinar",
                "email",
                budget=Decimal("1500.00"),
                talking_points=f"{webinar}: live demo, customer guest, Q&A.",
                offer_summary="Attendees get a 30-day pilot with onboarding help.",
                landing="/webinars",
            )
        )
        if m % 3 == 0:
            q = f"Q{(when.month - 1) // 3 + 1} {when.year}"
            qtag = f"{when.year}-q{(when.month - 1) // 3 + 1}"
            span = base + 90 * DAY
            plan += [
                CampaignSpec(
                    f"{q} Paid search: CRM for aligned teams",
                    "paid",
                    f"{qtag}-paid-search",
                    base,
                    span,
                    False,
                    "maya",
                    *W.UTM["paid"][0],
                    budget=Decimal(24000 + 3000 * m),
                    offer_summary="Free 14-day trial, no credit card.",
                    landing="/pricing",
                ),
                CampaignSpec(
                    f"{q} LinkedIn ads: RevOps leaders",
                    "paid",
                    f"{qtag}-linkedin-ads",
                    base + 5 * DAY,
                    span,
                    False,
                    "maya",
                    *W.UTM["paid"][1],
                    budget=Decimal(18000 + 2000 * m),
                    offer_summary="The State of Alignment report, free download.",
                    landing="/resources/alignment-report",
                ),
                CampaignSpec(
                    f"{q} Social: customer stories",
                    "social",
                    f"{qtag}-social",
                    base,
                    span,
                    False,
                    "noah",
                    *W.UTM["social"][m // 3 % 3],
                    landing="/customers",
                ),
                CampaignSpec(
                    f"{q} Outbound push: mid-market SaaS",
                    "outreach",
                    f"{qtag}-outbound",
                    base + 10 * DAY,
                    base + 70 * DAY,
                    False,
                    "riley",
                    *W.UTM["outreach"][0],
                    talking_points="One system for marketing and sales; joint KPIs; self-hosted.",
                    offer_summary="Free migration from spreadsheets or HubSpot.",
                    landing="/demo",
                ),
            ]
        if m % 2 == 0:
            title = W.CONTENT_TITLES[m // 2 % len(W.CONTENT_TITLES)]
            plan.append(
                CampaignSpec(
                    title,
                    "content",
                    f"{tag}-content-{ascii_fold(title)[:24]}",
                    base + 3 * DAY,
                    end,
                    False,
                    "noah",
                    *W.UTM["content"][m // 2 % 2],
                    budget=Decimal("3000.00"),
                    landing="/resources/alignment-report",
                )
            )
        if m % 3 == 1:
            event = W.EVENTS[m // 3 % len(W.EVENTS)]
            plan.append(
                CampaignSpec(
                    event,
                    "event",
                    f"{tag}-{ascii_fold(event)[:24]}",
                    base + 16 * DAY + 9 * HOUR,
                    base + 17 * DAY + 17 * HOUR,
                    True,
                    "maya",
                    *W.UTM["event"][0],
                    budget=Decimal(12000 + 4000 * (m // 3)),
                    talking_points="Booth demo: the pipeline board and the alignment pack.",
                    offer_summary="Booth visitors: 20% off the first year.",
                )
            )
    nurture_links = (
        ("/product", "Take the two-minute tour"),
        ("/resources/alignment-report", "Get the State of Alignment report"),
        ("/demo", "Book a demo"),
    )
    for name, channel, tag, owner in (
        ("SEO: blog and guides", "organic", "evergreen-seo", "noah"),
        ("Partner referral program", "referral", "evergreen-partners", "maya"),
        ("Nurture: welcome series", "email", "evergreen-nurture-welcome", "noah"),
        ("Nurture: MQL follow-up", "email", "evergreen-nurture-mql", "maya"),
    ):
        links = nurture_links if channel == "email" else ()
        plan.append(
            CampaignSpec(
                name, channel, tag, start, end, False, owner, *W.UTM[channel][0], landing="/product", links=links
            )
        )
    # Launches: one-shot announcements to the whole audience (the second one with an A/B test of subjects).
    for name, tag, day, landing, links in (
        (
            "Product announcement: the pipeline board",
            "announce-pipeline-board",
            100,
            "/product/crm",
            (("/product/crm", "See the pipeline board"), ("/demo", "Book a demo"), ("/pricing", "See pricing")),
        ),
        (
            "Product launch: email marketing with closed-loop reports",
            "launch-email-marketing",
            250,
            "/product/email-marketing",
            (
                ("/product/email-marketing", "See what's new"),
                ("/product/analytics", "Explore the campaign report"),
                ("/docs/getting-started", "Read the getting-started guide"),
            ),
        ),
    ):
        at = start + day * DAY + 15 * HOUR
        plan.append(
            CampaignSpec(
                name,
                "email",
                tag,
                at,
                at,
                True,
                "maya",
                "newsletter",
                "email",
                landing=landing,
                links=links,
                ab_test=tag == "launch-email-marketing",
            )
        )
    plan.sort(key=lambda c: (c.starts_at, c.utm_campaign))
    return plan
