"""The deterministic generator: twelve months of a B2B company's marketing and sales history, as table rows.

Pure Python, no database access: it yields chunks of rows (tuples in the column order of `COLUMNS`) that a
loader writes in bulk. Everything is drawn from one `random.Random(seed)` in a fixed order, so the same
seed, sizes and end date give the same rows.

The story per contact: a first touch on some channel (ad click, page views, a form, a webinar, a badge scan,
an outbound email), the contact is created, then months of marketing touches (campaign emails opened and
clicked, page views, content, webinars) and, once marketing-qualified, sales touches by the owner (calls,
emails, meetings, notes, tasks). Lifecycle stages move forward with realistic drop-off; contacts that reach
"opportunity" get a deal in the default pipeline that moves stage by stage and is won, lost or still open;
winning makes every contact on the deal a customer. History rows and timeline touches carry the same
timestamps, exactly as crm.services would have written them.
"""

import functools
import html
import json
import math
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter

from django.utils.html import strip_tags

from smarketing.crm.normalize import company_search_key, contact_search_keys
from smarketing.crm.seed import words as W

DAY = 86400
HOUR = 3600
WINDOW_DAYS = 365
CHUNK_CONTACTS = 5000

LABELS = {
    "subscriber": "Subscriber",
    "lead": "Lead",
    "mql": "Marketing-qualified lead",
    "sql": "Sales-qualified lead",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "evangelist": "Evangelist",
    "other": "Other",
}
LADDER = ["subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist"]
RANK = {stage: i for i, stage in enumerate(LADDER)}

# Where contacts end up (per mille). Reaching MQL 25%, SQL 10%, opportunity 5%, customer 2%.
FINAL_STAGES = [
    ("subscriber", 300),
    ("lead", 440),
    ("mql", 150),
    ("sql", 50),
    ("opportunity", 30),
    ("customer", 17),
    ("evangelist", 3),
    ("other", 10),
]
# Contacts further down the funnel have longer timelines; normalized so the mean stays --touches-per-contact.
TOUCH_FACTOR = {
    "subscriber": 0.6,
    "lead": 0.8,
    "mql": 1.5,
    "sql": 2.0,
    "opportunity": 2.8,
    "customer": 3.5,
    "evangelist": 4.0,
    "other": 0.5,
}
FIRST_CHANNELS = [
    ("organic", 24),
    ("paid", 20),
    ("content", 13),
    ("social", 9),
    ("webinar", 8),
    ("event", 6),
    ("referral", 8),
    ("direct", 6),
    ("outreach", 6),
]
# Median days between lifecycle stages (log-normal around it).
STAGE_GAP_DAYS = {"lead": 21, "mql": 18, "sql": 5, "opportunity": 8, "evangelist": 75, "other": 30}
LEAD_STATUS = {
    "subscriber": [("", 1)],
    "lead": [("new", 5), ("open", 3), ("attempted", 1), ("unqualified", 1)],
    "mql": [("open", 2), ("in_progress", 3), ("attempted", 2), ("connected", 2)],
    "sql": [("connected", 3), ("in_progress", 2), ("open_deal", 1)],
    "opportunity": [("open_deal", 1)],
    "customer": [("", 1)],
    "evangelist": [("", 1)],
    "other": [("unqualified", 2), ("bad_timing", 1), ("", 1)],
}
REASONS = {
    "lead": ["Form submission: Demo request", "Downloaded gated content", "Replied to a nurture email"],
    "mql": ["Lead score reached 62", "Lead score reached 75", "Requested a demo", "Attended a webinar"],
    "sql": [
        "Accepted by sales: budget confirmed",
        "Accepted by sales: active project",
        "Accepted by sales: decision maker engaged",
    ],
    "evangelist": ["Agreed to a case study", "Referred a new customer", "Spoke at our webinar"],
    "other": ["Partner, not a prospect", "Vendor", "Job applicant"],
}
EMAIL_PATTERNS = [("{f}.{l}", 55), ("{fi}{l}", 20), ("{f}", 8), ("{f}{li}", 6), ("{f}_{l}", 5), ("{l}.{f}", 6)]


def lookup(pairs, size: int = 1000) -> list:
    """A list where each value appears in proportion to its weight: table[int(random() * len)] picks one."""
    total = sum(w for _, w in pairs)
    out = []
    for value, weight in pairs:
        out.extend([value] * max(1, round(size * weight / total)))
    return out


@functools.cache
def ascii_fold(text: str) -> str:
    """'Sofía' -> 'sofia', "O'Brien" -> 'obrien': what goes into emails and domains."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class Clock:
    """Seconds since the epoch <-> the text the databases take; cached per day and per second of a day."""

    def __init__(self, end: int, tz_suffix: str):
        self.end = end
        self.start = end - WINDOW_DAYS * DAY
        self.base = self.start - 60 * DAY
        first = datetime.fromtimestamp(self.base, UTC).date().toordinal()
        self.dates = [datetime.fromordinal(first + i).date().isoformat() for i in range(WINDOW_DAYS + 300)]
        self.days = [d + " " for d in self.dates]
        self.tod = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{tz_suffix}" for s in range(DAY)]

    def ts(self, t: int) -> str:
        d, s = divmod(t - self.base, DAY)
        return self.days[d] + self.tod[s]

    def date(self, t: int) -> str:
        return self.dates[(t - self.base) // DAY]

    def day(self, t: int) -> int:
        """Day index inside the window (0 = first day), clamped."""
        return min(max((t - self.start) // DAY, 0), WINDOW_DAYS)


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
    id: int | None = None


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
    for name, channel, tag, owner in (
        ("SEO: blog and guides", "organic", "evergreen-seo", "noah"),
        ("Partner referral program", "referral", "evergreen-partners", "maya"),
        ("Nurture: welcome series", "email", "evergreen-nurture-welcome", "noah"),
        ("Nurture: MQL follow-up", "email", "evergreen-nurture-mql", "maya"),
    ):
        plan.append(CampaignSpec(name, channel, tag, start, end, False, owner, *W.UTM[channel][0], landing="/product"))
    plan.append(
        CampaignSpec(
            "Product announcement: the pipeline board",
            "email",
            "announce-pipeline-board",
            start + 100 * DAY + 15 * HOUR,
            start + 100 * DAY + 15 * HOUR,
            True,
            "maya",
            "newsletter",
            "email",
            landing="/product/crm",
        )
    )
    plan.sort(key=lambda c: (c.starts_at, c.utm_campaign))
    return plan


@dataclass
class Cast:
    """User ids the generator assigns as owners and actors."""

    aes: list[int]  # account executives (and the manager), own companies and deals
    sdr: int  # works marketing-qualified leads
    marketers: list[int]


@dataclass
class StageInfo:
    id: int
    name: str
    position: int
    outcome: str
    target_days: int | None


@dataclass
class Chunk:
    """Rows for every table, in dependency order, plus counters for progress lines."""

    rows: dict[str, list] = field(default_factory=dict)
    companies: list = field(default_factory=list)  # planned (company, size, heavy); rows come from fill()
    contacts: int = 0
    touches: int = 0


TABLES = ["company", "contact", "deal", "dealcontact", "lifecycle", "stagechange", "task", "note", "touch"]

# The columns each generated row fills, in order (loaders append defaults for any other column).
COLUMNS = {
    "company": "id owner_id custom created_at updated_at version name name_key domain industry employees "
    "annual_revenue country".split(),
    "contact": "id owner_id custom created_at updated_at version email first_name last_name name_key last_key "
    "title phone company_id lifecycle_stage lifecycle_changed_at lead_status first_source first_utm_source "
    "first_utm_medium first_utm_campaign first_touch_at last_source last_utm_source last_utm_medium "
    "last_utm_campaign last_touch_at consent_status consent_at consent_basis consent_source fit_score "
    "engagement_score".split(),
    "deal": "id owner_id custom created_at updated_at version name company_id pipeline_id stage_id "
    "stage_entered_at amount currency close_date status closed_at close_reason source campaign_id".split(),
    "dealcontact": "id deal_id contact_id role".split(),
    "lifecycle": "id contact_id from_stage to_stage changed_at actor_id origin reason".split(),
    "stagechange": "id deal_id from_stage_id to_stage_id changed_at actor_id origin seconds_in_from".split(),
    "task": "id kind title description due_at owner_id created_by_id contact_id company_id deal_id created_at "
    "completed_at".split(),
    "note": "id body author_id contact_id company_id deal_id created_at".split(),
    "touch": "id occurred_at contact_id company_id deal_id kind team actor_id campaign_id source summary "
    "details".split(),
}


class Ids:
    """Next primary key per table; seeded from max(id) + 1 so a seed can add to a non-empty database."""

    def __init__(self, start: dict[str, int]):
        self.next = dict(start)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


class _Person:
    __slots__ = (
        "id first last email title phone fit target channel heavy path owner deal role t_first t_created acq"
    ).split()


class _Deal:
    __slots__ = "id name owner amount primary members outcome created moves close reason after row_index".split()


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


class Generator:
    """Yields `Chunk`s of rows. Call `chunks()` once."""

    def __init__(
        self,
        *,
        contacts: int,
        companies: int,
        touches_per_contact: float,
        seed: int,
        clock: Clock,
        cast: Cast,
        pipeline_id: int,
        stages: list[StageInfo],
        campaigns: list[CampaignSpec],
        ids: Ids,
        origin: str = "seed",
    ):
        self.n_contacts = contacts
        self.n_companies = max(1, min(companies, contacts))
        self.tpc = touches_per_contact
        self.rng = random.Random(seed)
        self.clock = clock
        self.cast = cast
        self.pipeline_id = pipeline_id
        self.stages = sorted(stages, key=lambda s: s.position)
        self.open_stages = [s for s in self.stages if s.outcome == "open"]
        self.won_stage = next(s for s in self.stages if s.outcome == "won")
        self.lost_stage = next(s for s in self.stages if s.outcome == "lost")
        self.ids = ids
        self.origin = origin
        self.created_details = _dumps({"origin": origin})
        self.seen_domains: set[str] = set()
        self.seen_personal: set[str] = set()
        self._tables()
        self._campaigns(campaigns)
        norm = sum(TOUCH_FACTOR[s] * w for s, w in FINAL_STAGES) / sum(w for _, w in FINAL_STAGES)
        # Log-normal spread (sigma 0.8) of timeline lengths; exp(sigma^2/2) keeps the mean where we want it.
        self.touch_scale = {s: self.tpc * f / norm / math.exp(0.32) for s, f in TOUCH_FACTOR.items()}
        self.heavy = 0 if contacts < 10_000 else max(1, contacts // 250_000)

    # ------------------------------------------------------------------------------------------------------
    # Set-up

    def _tables(self) -> None:
        self.t_stage = lookup(FINAL_STAGES)
        self.t_channel = lookup(FIRST_CHANNELS)
        self.t_title = lookup([((t, fit), w) for t, fit, w in W.TITLES])
        self.t_business = lookup([((b, ind), w) for b, ind, w in W.BUSINESS_WORDS])
        self.t_country = lookup([(c, c[1]) for c in W.COUNTRIES])
        self.t_size = lookup([(s, s[2]) for s in W.COMPANY_SIZES])
        self.t_page = lookup(W.PAGES)
        self.t_pattern = lookup(EMAIL_PATTERNS)
        self.t_status = {stage: lookup(pairs) for stage, pairs in LEAD_STATUS.items()}
        self.t_lost = lookup(W.LOST_REASONS)
        self.t_call = lookup([(c, c[4]) for c in W.CALLS])
        self.page_summary = {p: f"Viewed {p}" for p, _ in W.PAGES}
        self.page_details = {p: _dumps({"url": p}) for p, _ in W.PAGES}
        self.first_names = W.FIRST_NAMES
        self.last_names = W.LAST_NAMES
        self.note_bodies = W.NOTES
        forms = {f for fs in W.FORMS_BY_CHANNEL.values() for f in fs} | {"Contact sales"}
        self.form_txt = {f: (f"Submitted “{f}”", _dumps({"form": f})) for f in forms}

    def _campaigns(self, campaigns: list[CampaignSpec]) -> None:
        clock = self.clock
        self.campaigns = campaigns
        self.by_id = {c.id: c for c in campaigns}
        days = WINDOW_DAYS + 1
        # Per channel and day: campaigns that can produce a touch that day. One-shot sends stay "active" for a
        # week (late opens); events and webinars are looked up as "the next one after this day" instead.
        self.active: dict[str, list[list[CampaignSpec]]] = {}
        self.upcoming: dict[str, list[CampaignSpec | None]] = {}
        for channel in ("email", "paid", "social", "content", "organic", "referral", "outreach"):
            per_day: list[list[CampaignSpec]] = [[] for _ in range(days)]
            for c in campaigns:
                if c.channel != channel:
                    continue
                last = c.starts_at + 7 * DAY if c.oneshot else c.ends_at
                for d in range(clock.day(c.starts_at), clock.day(min(last, clock.end - 1)) + 1):
                    per_day[d].append(c)
            self.active[channel] = per_day
        for channel in ("webinar", "event"):
            dated = sorted((c for c in campaigns if c.channel == channel), key=lambda c: c.starts_at)
            per_day = []
            for d in range(days):
                day_start = clock.start + d * DAY
                per_day.append(next((c for c in dated if c.starts_at >= day_start), None))
            self.upcoming[channel] = per_day
        self.seo = next(c for c in campaigns if c.utm_campaign == "evergreen-seo")
        self.partners = next(c for c in campaigns if c.utm_campaign == "evergreen-partners")
        self.nurture = [c for c in campaigns if c.utm_campaign.startswith("evergreen-nurture")]
        # Summaries and details per campaign, built once: the hot loop only looks them up.
        self.txt = {}
        for c in campaigns:
            self.txt[c.id] = {
                "sent": f"Marketing email sent: “{c.name}”"[:300],
                "opened": f"Opened “{c.name}”"[:300],
                "clicked": f"Clicked {c.landing} in “{c.name}”"[:300],
                "click_details": _dumps({"url": c.landing}),
                "ad": f"Clicked ad: {c.name}"[:300],
                "content": f"Viewed “{c.name}”"[:300],
                "download": f"Submitted “Content download: {c.name}”"[:300],
                "download_details": _dumps({"form": "Content download", "content": c.name}),
                "register": f"Registered for “{c.name}”"[:300],
                "register_details": _dumps({"form": "Webinar registration", "campaign": c.name}),
                "attended": f"Attended “{c.name}”"[:300],
                "event": f"Visited our booth at {c.name}"[:300],
                "source": c.utm_source or c.channel,
            }

    # ------------------------------------------------------------------------------------------------------
    # Companies and people

    def _sizes(self) -> list[int]:
        """Contacts per company: skewed (many small accounts, a few large ones), summing exactly."""
        rng = self.rng
        personal = int(self.n_contacts * 0.03) if self.n_contacts >= 100 else 0
        at_companies = self.n_contacts - personal
        n = min(self.n_companies, at_companies)
        weights = [rng.lognormvariate(0, 1.0) for _ in range(n)]
        total = sum(weights)
        spare = at_companies - n
        sizes = [1 + int(spare * w / total) for w in weights]
        short = at_companies - sum(sizes)
        for _ in range(short):
            sizes[rng.randrange(n)] += 1
        for i in range(min(self.heavy, n)):
            sizes[i] = max(sizes[i], 3)
        excess = sum(sizes) - at_companies
        i = n - 1
        while excess > 0 and i >= 0:  # taken back from the tail after the heavy accounts were enlarged
            if sizes[i] > 1:
                sizes[i] -= 1
                excess -= 1
            else:
                i -= 1
        self.n_personal = personal
        return sizes

    def _company(self) -> dict:
        rng = self.rng
        rnd = rng.random
        r = rnd()
        if r < 0.45:
            brand = W.BRAND_HEADS[int(rnd() * len(W.BRAND_HEADS))] + W.BRAND_TAILS[int(rnd() * len(W.BRAND_TAILS))]
        elif r < 0.75:
            brand = (
                W.SYLLABLES_A[int(rnd() * len(W.SYLLABLES_A))]
                + W.SYLLABLES_B[int(rnd() * len(W.SYLLABLES_B))]
                + W.SYLLABLES_C[int(rnd() * len(W.SYLLABLES_C))]
            )
        else:
            brand = self.last_names[int(rnd() * len(self.last_names))]
        business, industry = self.t_business[int(rnd() * len(self.t_business))]
        country, _, tlds, phone_format, legal = self.t_country[int(rnd() * len(self.t_country))]
        name = f"{brand} {business}"
        suffix = legal[int(rnd() * len(legal))]
        if suffix and rnd() < 0.5:
            name = f"{name} {suffix}"
        low, high, _, deal_low, deal_high = self.t_size[int(rnd() * len(self.t_size))]
        employees = int(low + (high - low) * rnd() ** 2)
        revenue = Decimal(employees * (80_000 + int(rnd() * 220_000)) // 10_000 * 10_000)
        slug = ascii_fold(brand)
        tld = tlds[int(rnd() * len(tlds))]
        both = slug + ascii_fold(business)
        candidates = [f"{slug}.{tld}", f"{both}.{tld}", f"{slug}hq.{tld}", f"get{slug}.{tld}", f"{both}.com"]
        if rnd() < 0.4:
            candidates[0], candidates[1] = candidates[1], candidates[0]
        domain = next((d for d in candidates if d not in self.seen_domains), None)
        n = 2
        while domain is None:
            domain = f"{slug}{n}.{tld}" if f"{slug}{n}.{tld}" not in self.seen_domains else None
            n += 1
        self.seen_domains.add(domain)
        return {
            "name": name[:200],
            "domain": domain,
            "slug": slug,
            "tld": tld,
            "industry": industry,
            "employees": employees,
            "revenue": revenue,
            "country": country,
            "phone": phone_format,
            "deal_low": deal_low,
            "deal_high": deal_high,
            "owner": self.cast.aes[int(rnd() * len(self.cast.aes))],
        }

    def _phone(self, fmt: str) -> str:
        rnd = self.rng.random
        return "".join(str(int(rnd() * 10)) if ch == "#" else ch for ch in fmt)

    def _person(self, company: dict | None, used: set[str]) -> _Person:
        rnd = self.rng.random
        p = _Person()
        first = self.first_names[int(rnd() * len(self.first_names))]
        last = self.last_names[int(rnd() * len(self.last_names))]
        p.first, p.last = first, last
        f, l_ = ascii_fold(first), ascii_fold(last)
        if company is not None:
            pattern = self.t_pattern[int(rnd() * len(self.t_pattern))]
            local = pattern.format(f=f, l=l_, fi=f[:1], li=l_[:1])
            base, n = local, 2
            while local in used:
                local = f"{base}{n}"
                n += 1
            used.add(local)
            p.email = f"{local}@{company['domain']}"
        else:
            domain = W.PERSONAL_DOMAINS[int(rnd() * len(W.PERSONAL_DOMAINS))]
            email = f"{f}.{l_}{int(rnd() * 90) + 10}@{domain}"
            while email in self.seen_personal:
                email = f"{f}.{l_}{int(rnd() * 9000) + 1000}@{domain}"
            self.seen_personal.add(email)
            p.email = email
        p.title, p.fit = self.t_title[int(rnd() * len(self.t_title))]
        p.phone = self._phone(company["phone"] if company else "+1 ###-555-01##") if rnd() < 0.55 else ""
        p.target = self.t_stage[int(rnd() * len(self.t_stage))]
        channel = self.t_channel[int(rnd() * len(self.t_channel))]
        if channel == "outreach" and company is None:
            channel = "organic"
        p.channel = channel
        p.heavy = False
        p.acq = None
        p.deal = None
        p.role = ""
        p.owner = None
        return p

    # ------------------------------------------------------------------------------------------------------
    # Time lines

    def _gap(self, stage: str) -> int:
        return int(STAGE_GAP_DAYS[stage] * DAY * self.rng.lognormvariate(0, 0.8)) + HOUR

    def _stay(self, stage: StageInfo) -> int:
        return int((stage.target_days or 14) * DAY * self.rng.lognormvariate(0, 0.5)) + HOUR

    def _path(self, p: _Person, target: str) -> list[str]:
        """Stages visited from creation to `target`."""
        rnd = self.rng.random
        soft = p.channel in ("content", "social", "organic")
        if target == "subscriber":
            return ["subscriber"]
        if target == "other":
            return ["subscriber" if soft and rnd() < 0.5 else "lead", "other"]
        start = "subscriber" if (soft and rnd() < 0.5) or (target == "lead" and rnd() < 0.2) else "lead"
        if p.channel in ("outreach", "event"):
            start = "lead"
        return [start] + LADDER[RANK[start] + 1 : RANK[target] + 1]

    def _gaps(self, path: list[str]) -> list[int]:
        """Seconds from the first touch to creation, then between consecutive stages."""
        return [60 + int(self.rng.random() * 240)] + [self._gap(stage) for stage in path[1:]]

    @staticmethod
    def _fit(gaps: list[int], room: int) -> float:
        """Shrink `gaps` in place to fit 90% of `room`; returns the factor applied."""
        total = sum(gaps)
        if total <= room * 0.9:
            return 1.0
        factor = room * 0.9 / total
        gaps[:] = [max(60, int(g * factor)) for g in gaps]
        return factor

    def _recent(self, room: int) -> int:
        """An offset in [0, room): more recent starts are more likely (the company grows)."""
        return int(max(room, 0) * self.rng.random() ** 0.7)

    @staticmethod
    def _apply(p: _Person, path: list[str], gaps: list[int], t_first: int) -> None:
        p.t_first = t = t_first
        times = []
        for g in gaps:
            t += g
            times.append(t)
        p.t_created = times[0]
        p.path = list(zip(path, times, strict=True))

    def _schedule_forward(self, p: _Person, path: list[str]) -> None:
        clock = self.clock
        gaps = self._gaps(path)
        room = clock.end - clock.start - HOUR
        self._fit(gaps, room)
        total = sum(gaps)
        if p.channel == "event":
            # Met at a trade show: the first touch is the badge scan at one of the events.
            events = [c for c in self.campaigns if c.channel == "event" and c.starts_at + total < clock.end - HOUR]
            if events:
                p.acq = events[int(self.rng.random() * len(events))]
                self._apply(p, path, gaps, p.acq.starts_at + int(self.rng.random() * 8 * HOUR))
                return
            p.channel = "organic"
        self._apply(p, path, gaps, clock.start + self._recent(room - total))

    def _schedule_before(self, p: _Person, path: list[str], at: int, gaps: list[int] | None = None) -> None:
        """Stages of `path` with the last one reached exactly at `at`."""
        gaps = gaps if gaps is not None else self._gaps(path)
        self._fit(gaps, at - self.clock.start - HOUR)
        self._apply(p, path, gaps, at - sum(gaps))
        if p.channel == "event":
            # A badge scan in the two months before creation, else the contact came in some other way.
            ev = self.upcoming["event"][self.clock.day(p.t_first - 60 * DAY)]
            if ev is not None and ev.starts_at + 8 * HOUR < p.t_created - 60:
                p.acq = ev
                p.t_first = ev.starts_at + int(self.rng.random() * 8 * HOUR)
            else:
                p.channel = "organic"

    def _deal_plan(self, d: _Deal) -> int:
        """Entry offsets (seconds after creation) of the stages a deal visits; returns the span until now
        (open deals) or until it closed."""
        rnd = self.rng.random
        opens = self.open_stages
        if d.outcome == "won":
            visited = [s for i, s in enumerate(opens) if not ((i == 2 and rnd() < 0.2) or (i == 3 and rnd() < 0.1))]
        else:
            visited = opens[: min(len(opens) - 1, int(rnd() ** 1.6 * len(opens))) + 1]
        offsets = []
        t = 0
        stay = 0
        for i, stage in enumerate(visited):
            offsets.append((stage, t))
            stay = self._stay(stage)
            if i + 1 < len(visited):
                t += stay
        if d.outcome == "open":
            span = t + int(stay * rnd() * 0.9) + HOUR  # part of the current stage's stay has passed
        else:
            span = t + stay
            offsets.append((self.won_stage if d.outcome == "won" else self.lost_stage, span))
        d.moves = offsets
        return span

    # ------------------------------------------------------------------------------------------------------
    # The run

    def chunks(self):
        sizes = self._sizes()
        personal_every = (len(sizes) / self.n_personal) if self.n_personal else 0
        next_personal = personal_every
        chunk = self._new_chunk()
        groups_done = 0
        personal_left = self.n_personal
        for index, size in enumerate(sizes):
            company = self._company()
            company["id"] = self.ids.take("company")
            chunk.companies.append((company, size, index < self.heavy))
            chunk.contacts += size
            groups_done += 1
            while personal_left and groups_done >= next_personal:
                chunk.companies.append((None, 1, False))
                chunk.contacts += 1
                personal_left -= 1
                next_personal += personal_every
            if chunk.contacts >= CHUNK_CONTACTS:
                yield chunk
                chunk = self._new_chunk()
        while personal_left:
            chunk.companies.append((None, 1, False))
            chunk.contacts += 1
            personal_left -= 1
        if chunk.companies:
            yield chunk

    def _new_chunk(self) -> Chunk:
        return Chunk(rows={t: [] for t in TABLES})

    def fill(self, chunk: Chunk) -> None:
        """Generate every row of a planned chunk (after the caller settled the companies' domains)."""
        for company, size, heavy in chunk.companies:
            self._group(chunk, company, size, heavy)
        chunk.touches = len(chunk.rows["touch"])

    def _group(self, chunk: Chunk, company: dict | None, size: int, heavy: bool) -> None:
        rng = self.rng
        rnd = rng.random
        used: set[str] = set()
        people = [self._person(company, used) for _ in range(size)]
        if heavy:
            people[0].target = "customer"
            people[0].heavy = True
        for p in people:
            p.id = self.ids.take("contact")
        co_owner = company["owner"] if company else self.cast.aes[int(rnd() * len(self.cast.aes))]

        # Deals: contacts that reach opportunity group into deals at their company.
        deals: list[_Deal] = []
        for p in people:
            if RANK.get(p.target, -1) < RANK["opportunity"]:
                continue
            if deals and rnd() < 0.45 and len(deals[-1].members) < 4 and company is not None:
                d = deals[-1]
                d.members.append(p)
                p.deal = d
                p.role = ("influencer", "user", "champion", "other")[int(rnd() * 4)]
                continue
            d = _Deal()
            d.id = self.ids.take("deal")
            d.primary = p
            d.members = [p]
            d.owner = co_owner
            p.deal = d
            p.role = "decision_maker" if rnd() < 0.5 else "champion"
            if p.target in ("customer", "evangelist"):
                d.outcome = "won"
            else:
                d.outcome = "lost" if rnd() < 0.65 else "open"
            deals.append(d)

        # Time lines. Deal primaries first (the deal fixes the time), then joiners, then everyone else.
        clock = self.clock
        for d in deals:
            p = d.primary
            span = self._deal_plan(d)
            pre = self._path(p, "opportunity")
            gaps = self._gaps(pre)
            d.after = self._gap("evangelist") if p.target == "evangelist" else 0
            if d.outcome == "open":
                if span > 300 * DAY:
                    factor = 300 * DAY / span
                    d.moves = [(s, int(o * factor)) for s, o in d.moves]
                    span = int(span * factor)
                created = clock.end - span
                self._schedule_before(p, pre, created, gaps)
            else:
                whole = gaps + [span + d.after]
                room = clock.end - clock.start - HOUR
                factor = self._fit(whole, room)
                if factor != 1.0:
                    d.moves = [(s, int(o * factor)) for s, o in d.moves]
                    span = int(span * factor)
                    d.after = int(d.after * factor)
                start = clock.start + self._recent(room - sum(whole))
                created = start + sum(whole[:-1])
                self._schedule_before(p, pre, created, whole[:-1])
            d.created = created
            d.close = created + span if d.outcome != "open" else None
        for d in deals:
            for p in d.members[1:]:
                until = (d.close or clock.end) - d.created - HOUR
                at = d.created + int(rnd() * max(60, min(10 * DAY, until)))
                self._schedule_before(p, self._path(p, "opportunity"), at)
        for p in people:
            if p.deal is None:
                self._schedule_forward(p, self._path(p, p.target))

        # Owners: accounts and everyone sales works; about half of the cold leads.
        for p in people:
            reached = RANK.get(p.path[-1][0], 0)
            if p.deal is not None or reached >= RANK["sql"] or p.channel == "outreach":
                p.owner = co_owner
            elif reached == RANK["mql"]:
                p.owner = self.cast.sdr if rnd() < 0.6 else co_owner
            elif rnd() < (0.25 if reached == 0 else 0.5):
                p.owner = co_owner

        rows = chunk.rows
        for d in deals:
            self._deal_rows(rows, d, company)
        for p in people:
            self._contact_rows(rows, p, company)
        if company is not None:
            first = min(p.t_first for p in people) - int(rnd() * DAY)
            ts = self.clock.ts(first)
            rows["company"].append(
                (
                    company["id"],
                    company["owner"],
                    "{}",
                    ts,
                    ts,
                    1,
                    company["name"],
                    company_search_key(company["name"]),
                    company["domain"],
                    company["industry"],
                    company["employees"],
                    str(company["revenue"]),
                    company["country"],
                )
            )

    def _deal_rows(self, rows: dict, d: _Deal, company: dict | None) -> None:
        rng = self.rng
        rnd = rng.random
        clock = self.clock
        low, high = (company["deal_low"], company["deal_high"]) if company else (3000, 8000)
        amount = Decimal(int(low + (high - low) * rnd() ** 1.5) // 500 * 500).quantize(Decimal("0.01"))
        plan = W.PLANS[int(rnd() * len(W.PLANS))]
        seats = 5 * (1 + int(amount // 3000))
        cname = company["name"] if company else f"{d.primary.first} {d.primary.last}"
        d.name = f"{cname} – {plan} ({seats} seats)"[:200]
        d.amount = amount
        if d.outcome == "won":
            d.reason = W.WON_REASONS[int(rnd() * len(W.WON_REASONS))]
        elif d.outcome == "lost":
            d.reason = self.t_lost[int(rnd() * len(self.t_lost))]
        else:
            d.reason = ""
        # Absolute times of every move: created = entry into the first stage.
        moves = [(stage, d.created + offset) for stage, offset in d.moves]
        d.moves = moves
        last_stage, last_at = moves[-1]
        if d.outcome == "open":
            expected = clock.end + int((7 + rnd() * 80) * DAY)
            close_date = clock.date(expected)
            status, closed_at = "open", None
        else:
            close_date = clock.date(last_at)
            status, closed_at = d.outcome, clock.ts(last_at)
        p = d.primary
        rows["deal"].append(
            (
                d.id,
                d.owner,
                "{}",
                clock.ts(d.created),
                clock.ts(last_at),
                len(moves),
                d.name,
                company["id"] if company else None,
                self.pipeline_id,
                last_stage.id,
                clock.ts(last_at),
                str(amount),
                "USD",
                close_date,
                status,
                closed_at,
                d.reason,
                p.channel,
                None,  # campaign: set from the primary's first campaign in _contact_rows
            )
        )
        d.row_index = len(rows["deal"]) - 1
        for member in d.members:
            rows["dealcontact"].append((self.ids.take("dealcontact"), d.id, member.id, member.role))
        prev = None
        for stage, at in moves:
            rows["stagechange"].append(
                (
                    self.ids.take("stagechange"),
                    d.id,
                    prev[0].id if prev else None,
                    stage.id,
                    clock.ts(at),
                    d.owner,
                    self.origin,
                    (at - prev[1]) if prev else None,
                )
            )
            prev = (stage, at)

    def _deal_events(self, d: _Deal) -> list:
        """Timeline touches of a deal, on its primary contact's timeline (as move_deal_stage writes them)."""
        amount = f"{d.amount:,.2f} USD"
        events = [
            (
                d.created,
                d.id,
                "deal_created",
                "sales",
                d.owner,
                None,
                "",
                f"Deal created: {d.name} ({amount})"[:300],
                "{}",
            )
        ]
        prev = d.moves[0][0]
        for stage, at in d.moves[1:]:
            kind = {"won": "deal_won", "lost": "deal_lost"}.get(stage.outcome, "deal_stage_changed")
            reason = d.reason if stage.outcome != "open" else ""
            summary = f"{d.name}: {prev.name} → {stage.name}" + (f" ({reason})" if reason else "")
            details = _dumps({"from": prev.id, "to": stage.id, "reason": reason, "amount": str(d.amount)})
            events.append((at, d.id, kind, "sales", d.owner, None, "", summary[:300], details))
            prev = stage
        return events

    def _contact_rows(self, rows: dict, p: _Person, company: dict | None) -> None:  # noqa: C901
        rng = self.rng
        rnd = rng.random
        clock = self.clock
        end = clock.end
        origin = self.origin
        ev: list = []
        owner = p.owner
        channel = p.channel
        txt = self.txt

        # Lifecycle history: the path so far plus what the deal did to it.
        path = list(p.path)
        d = p.deal
        if d is not None and d.outcome == "won":
            won_at = d.moves[-1][1]
            path.append(("customer", won_at))
            if p.target == "evangelist":
                at = won_at + (d.after if p is d.primary and d.after else self._gap("evangelist"))
                if at < end - HOUR:
                    path.append(("evangelist", at))

        # First touch: the acquisition session that created the contact.
        t0 = p.t_first
        created = p.t_created
        acq = None
        form = ""
        if channel == "paid":
            acq = self._active("paid", t0) or self.seo
        elif channel == "social":
            acq = self._active("social", t0) or self.seo
        elif channel == "content":
            acq = self._active("content", t0) or self.seo
        elif channel == "organic":
            acq = self.seo
        elif channel == "referral":
            acq = self.partners
        elif channel == "outreach":
            acq = self._active("outreach", t0)
        elif channel == "webinar":
            acq = self.upcoming["webinar"][clock.day(t0)]
            if acq is not None and acq.starts_at <= created:
                acq = self.upcoming["webinar"][clock.day(t0) + 1] if clock.day(t0) < WINDOW_DAYS else None
            if acq is None:
                channel = p.channel = "organic"
                acq = self.seo
        elif channel == "event":
            acq = p.acq
        acq_id = acq.id if acq else None
        src = acq.utm_source if acq and acq.utm_source else channel
        if channel == "outreach":
            subject = "Sales email: Intro: how teams like yours align on KPIs"
            ev.append((t0, None, "email_logged", "sales", owner, acq_id, "", subject, "{}"))
        elif channel == "event":
            ev.append((t0, None, "event_attended", "marketing", None, acq_id, src, txt[acq_id]["event"], "{}"))
        elif channel == "webinar":
            form = "Webinar registration"
            ev.append(
                (
                    created,
                    None,
                    "form_submitted",
                    "marketing",
                    None,
                    acq_id,
                    src,
                    txt[acq_id]["register"],
                    txt[acq_id]["register_details"],
                )
            )
            if acq.starts_at < end and rnd() < 0.6:
                ev.append(
                    (
                        acq.starts_at + int(rnd() * 300),
                        None,
                        "webinar_attended",
                        "marketing",
                        None,
                        acq_id,
                        src,
                        txt[acq_id]["attended"],
                        f'{{"minutes": {20 + int(rnd() * 40)}}}',
                    )
                )
        else:
            forms = W.FORMS_BY_CHANNEL.get(channel, ["Contact sales"])
            form = forms[int(rnd() * len(forms))]
            if channel == "paid":
                ev.append((t0, None, "ad_clicked", "marketing", None, acq_id, src, txt[acq_id]["ad"], "{}"))
                page = acq.landing
            elif channel == "content":
                page = acq.landing
            else:
                page = self.t_page[int(rnd() * len(self.t_page))]
            ev.append(
                (
                    t0 + 5,
                    None,
                    "page_viewed",
                    "marketing",
                    None,
                    acq_id if channel != "direct" else None,
                    src,
                    self.page_summary.get(page, f"Viewed {page}"),
                    self.page_details.get(page) or _dumps({"url": page}),
                )
            )
            if channel == "content":
                ev.append(
                    (
                        created,
                        None,
                        "form_submitted",
                        "marketing",
                        None,
                        acq_id,
                        src,
                        txt[acq_id]["download"],
                        txt[acq_id]["download_details"],
                    )
                )
                ev.append(
                    (created + 20, None, "content_viewed", "marketing", None, acq_id, src, txt[acq_id]["content"], "{}")
                )
            else:
                ev.append(
                    (
                        created,
                        None,
                        "form_submitted",
                        "marketing",
                        None,
                        acq_id if channel != "direct" else None,
                        src,
                        *self.form_txt[form],
                    )
                )
        first_camp = acq if channel not in ("direct",) else None

        # The contact and its lifecycle history.
        created_actor = owner if channel == "outreach" else None
        first_stage = path[0][0]
        summary = f"Contact created ({LABELS[first_stage]})"
        ev.append(
            (created, None, "contact_created", "system", created_actor, None, channel, summary, self.created_details)
        )
        lc = rows["lifecycle"]
        lc.append(
            (self.ids.take("lifecycle"), p.id, "", first_stage, clock.ts(created), created_actor, origin, "Created")
        )
        prev = first_stage
        mql_at = sql_at = None
        for stage, at in path[1:]:
            if stage == "opportunity":
                reason = "Deal created" if p is d.primary else f"Added to deal {d.name}"[:300]
                actor = d.owner
            elif stage == "customer":
                reason, actor = "Deal won", d.owner
            elif stage == "sql":
                reasons = REASONS["sql"]
                reason, actor = reasons[int(rnd() * len(reasons))], owner
                sql_at = at
            else:
                reasons = REASONS[stage]
                reason, actor = reasons[int(rnd() * len(reasons))], None
                if stage == "mql":
                    mql_at = at
            lc.append((self.ids.take("lifecycle"), p.id, prev, stage, clock.ts(at), actor, origin, reason))
            summary = f"Lifecycle moved: {LABELS[prev]} → {LABELS[stage]}"
            details = _dumps({"from": prev, "to": stage, "reason": reason, "origin": origin})
            ev.append((at, None, "lifecycle_changed", "system", actor, None, "", summary, details))
            prev = stage
        if d is not None and p is d.primary:
            ev.extend(self._deal_events(d))
            if first_camp is not None:
                row = rows["deal"][d.row_index]
                rows["deal"][d.row_index] = row[:-1] + (first_camp.id,)
        final = path[-1][0]
        changed_at = path[-1][1]

        # Consent: given on the first form (or a badge scan); outbound contacts rest on legitimate interest.
        unsub = None
        if channel == "outreach":
            consent = ("granted", clock.ts(created), "legitimate_interest", "Outbound prospecting (B2B)")
        elif rnd() < 0.78:
            where = f"Badge scan: {acq.name}" if channel == "event" and acq else f"Form: {form or 'Newsletter signup'}"
            consent = ("granted", clock.ts(created), "consent", where[:200])
            if rnd() < 0.05:
                unsub = created + int((end - created) * rnd())
                ev.append(
                    (
                        unsub,
                        None,
                        "unsubscribed",
                        "marketing",
                        None,
                        None,
                        "email",
                        "Unsubscribed from marketing email",
                        "{}",
                    )
                )
                consent = ("withdrawn", clock.ts(unsub), "consent", "Unsubscribe link")
        else:
            consent = ("unknown", None, "", "")
        may_email = consent[0] == "granted" or unsub is not None
        email_until = unsub if unsub is not None else end

        # Sales works the contact from MQL (outbound: from the start) until the deal closes, or on.
        if owner is None or (mql_at is None and channel != "outreach" and d is None):
            sales_from = sales_to = None
        else:
            sales_from = t0 if channel == "outreach" else (mql_at or sql_at or (d.created if d else created))
            sales_to = end
            if d is not None and d.outcome == "lost" and final == "opportunity":
                sales_to = min(end, d.moves[-1][1] + 14 * DAY)
            if sales_to <= sales_from:
                sales_from = sales_to = None

        # Tasks and notes for the sales users.
        if sales_from is not None:
            self._tasks_and_notes(rows, ev, p, company, d, final, sales_from, sales_to)

        # Fill the timeline up to its drawn length with marketing and sales touches.
        if p.heavy:
            target = 5000 + int(rnd() * 1000)
        else:
            target = min(800, int(self.touch_scale[final] * rng.lognormvariate(0, 0.8) + 0.5))
        n = len(ev)
        span = end - t0
        sales_span = (sales_to - sales_from) if sales_from is not None else 0
        p_sales = 0.0 if sales_from is None else (0.35 if final in ("customer", "evangelist") else 0.45)
        active = self.active
        day0 = clock.start
        page_t = self.t_page
        psum = self.page_summary
        pdet = self.page_details
        while n < target:
            if rnd() < p_sales:
                t = sales_from + int(sales_span * rnd())
                t = t - (t - day0) % DAY + 8 * HOUR + int(rnd() * 9 * HOUR)
                if t < sales_from or t >= end:
                    t = sales_from + 60
                r = rnd()
                if r < 0.35:
                    call = self.t_call[int(rnd() * len(self.t_call))]
                    minutes = call[2] + int(rnd() * (call[3] - call[2] + 1))
                    ev.append(
                        (
                            t,
                            None,
                            "call_logged",
                            "sales",
                            owner,
                            None,
                            "",
                            call[0].format(first=p.first),
                            f'{{"outcome": "{call[1]}", "minutes": {minutes}}}',
                        )
                    )
                elif r < 0.8:
                    subject = W.SALES_EMAILS[int(rnd() * len(W.SALES_EMAILS))]
                    ev.append((t, None, "email_logged", "sales", owner, None, "", f"Sales email: {subject}", "{}"))
                else:
                    title, minutes = W.MEETINGS[int(rnd() * len(W.MEETINGS))]
                    ev.append(
                        (
                            t,
                            None,
                            "meeting_logged",
                            "sales",
                            owner,
                            None,
                            "",
                            title.format(first=p.first),
                            f'{{"minutes": {minutes}}}',
                        )
                    )
                n += 1
                continue
            t = t0 + 60 + int(span * rnd())
            d_ = (t - day0) // DAY
            if d_ > WINDOW_DAYS:
                d_ = WINDOW_DAYS
            r = rnd()
            if r < 0.42 and may_email and t < email_until:
                todays = active["email"][d_]
                c = todays[int(rnd() * len(todays))] if todays else self.nurture[0]
                sent = c.starts_at + int(rnd() * 1800) if c.oneshot else t
                if sent < created or sent >= email_until:
                    c = self.nurture[int(rnd() * 2)]
                    sent = t
                tx = txt[c.id]
                esrc = tx["source"]
                ev.append((sent, None, "email_sent", "marketing", None, c.id, esrc, tx["sent"], "{}"))
                n += 1
                if rnd() < 0.38:
                    opened = sent + int(rng.expovariate(1 / (3 * HOUR)))
                    if opened < end:
                        ev.append((opened, None, "email_opened", "marketing", None, c.id, esrc, tx["opened"], "{}"))
                        n += 1
                        if rnd() < 0.3:
                            clicked = opened + 20 + int(rnd() * 400)
                            ev.append(
                                (
                                    clicked,
                                    None,
                                    "email_clicked",
                                    "marketing",
                                    None,
                                    c.id,
                                    esrc,
                                    tx["clicked"],
                                    tx["click_details"],
                                )
                            )
                            ev.append(
                                (
                                    clicked + 4,
                                    None,
                                    "page_viewed",
                                    "marketing",
                                    None,
                                    c.id,
                                    esrc,
                                    psum.get(c.landing, f"Viewed {c.landing}"),
                                    pdet.get(c.landing) or tx["click_details"],
                                )
                            )
                            n += 2
                continue
            if r < 0.72:
                r2 = rnd()
                if r2 < 0.5:
                    c = self.seo
                elif r2 < 0.75:
                    c = None
                elif r2 < 0.9:
                    todays = active["social"][d_]
                    c = todays[0] if todays else self.seo
                else:
                    c = self.partners
                cid = c.id if c else None
                csrc = txt[cid]["source"] if c else "direct"
                k = 1 + (rnd() < 0.5) + (rnd() < 0.25)
                for j in range(k):
                    page = page_t[int(rnd() * len(page_t))]
                    ev.append((t + 45 * j, None, "page_viewed", "marketing", None, cid, csrc, psum[page], pdet[page]))
                n += k
                continue
            if r < 0.84:
                todays = active["content"][d_]
                if todays:
                    c = todays[int(rnd() * len(todays))]
                    tx = txt[c.id]
                    if rnd() < 0.2:
                        ev.append(
                            (
                                t - 20,
                                None,
                                "form_submitted",
                                "marketing",
                                None,
                                c.id,
                                tx["source"],
                                tx["download"],
                                tx["download_details"],
                            )
                        )
                        n += 1
                    ev.append((t, None, "content_viewed", "marketing", None, c.id, tx["source"], tx["content"], "{}"))
                    n += 1
                    continue
            if r < 0.93:
                todays = active["paid"][d_]
                if todays:
                    c = todays[int(rnd() * len(todays))]
                    tx = txt[c.id]
                    ev.append((t, None, "ad_clicked", "marketing", None, c.id, tx["source"], tx["ad"], "{}"))
                    ev.append(
                        (
                            t + 3,
                            None,
                            "page_viewed",
                            "marketing",
                            None,
                            c.id,
                            tx["source"],
                            psum.get(c.landing, f"Viewed {c.landing}"),
                            pdet.get(c.landing) or tx["click_details"],
                        )
                    )
                    n += 2
                    continue
            if r < 0.98:
                c = self.upcoming["webinar"][d_]
                if c is not None and t < c.starts_at < t + 25 * DAY:
                    tx = txt[c.id]
                    ev.append(
                        (
                            t,
                            None,
                            "form_submitted",
                            "marketing",
                            None,
                            c.id,
                            "webinar",
                            tx["register"],
                            '{"form": "Webinar registration"}',
                        )
                    )
                    n += 1
                    if c.starts_at < end and rnd() < 0.55:
                        ev.append(
                            (
                                c.starts_at + int(rnd() * 300),
                                None,
                                "webinar_attended",
                                "marketing",
                                None,
                                c.id,
                                "webinar",
                                tx["attended"],
                                f'{{"minutes": {15 + int(rnd() * 45)}}}',
                            )
                        )
                        n += 1
                    continue
            c = self.upcoming["event"][d_]
            if c is not None and t < c.starts_at < min(end - 8 * HOUR, t + 45 * DAY):
                ev.append(
                    (
                        c.starts_at + int(rnd() * 8 * HOUR),
                        None,
                        "event_attended",
                        "marketing",
                        None,
                        c.id,
                        "event",
                        txt[c.id]["event"],
                        "{}",
                    )
                )
            else:
                page = page_t[int(rnd() * len(page_t))]
                ev.append((t, None, "page_viewed", "marketing", None, None, "direct", psum[page], pdet[page]))
            n += 1

        ev.sort(key=itemgetter(0))
        # Attribution: the newest marketing touch is the last-touch source.
        last_camp = first_camp
        last_at = t0
        for e in reversed(ev):
            if e[3] == "marketing" and e[2] != "unsubscribed":
                last_at = e[0]
                last_camp = self.by_id.get(e[5]) if e[5] else None
                break
        n_marketing = sum(1 for e in ev if e[3] == "marketing")
        engagement = 100 if p.heavy else min(99, int(12 * math.log2(1 + n_marketing)))
        fit = p.fit
        if company is not None:
            fit = min(100, fit // 2 + (10 if company["employees"] > 50 else 0) + 40)
        ts = clock.ts
        cid = p.id
        coid = company["id"] if company else None
        rows["contact"].append(
            (
                cid,
                owner,
                "{}",
                ts(created),
                ts(changed_at),
                len(path),
                p.email,
                p.first,
                p.last,
                *contact_search_keys(p.first, p.last, p.email),
                p.title,
                p.phone,
                coid,
                final,
                ts(changed_at),
                self.t_status[final][int(rnd() * len(self.t_status[final]))],
                channel,
                first_camp.utm_source if first_camp else "",
                first_camp.utm_medium if first_camp else "",
                first_camp.utm_campaign if first_camp else "",
                ts(t0),
                last_camp.channel if last_camp else ("direct" if last_at != t0 else channel),
                last_camp.utm_source if last_camp else "",
                last_camp.utm_medium if last_camp else "",
                last_camp.utm_campaign if last_camp else "",
                ts(last_at),
                consent[0],
                consent[1],
                consent[2],
                consent[3],
                fit,
                engagement,
            )
        )
        out = rows["touch"].append
        take = self.ids.next["touch"]
        days, tod, base = clock.days, clock.tod, clock.base
        for e in ev:
            s = e[0] - base
            out((take, days[s // DAY] + tod[s % DAY], cid, coid, e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8]))
            take += 1
        self.ids.next["touch"] = take

    def _active(self, channel: str, t: int) -> CampaignSpec | None:
        todays = self.active[channel][self.clock.day(t)]
        return todays[int(self.rng.random() * len(todays))] if todays else None

    def _tasks_and_notes(self, rows, ev, p, company, d, final, sales_from, sales_to) -> None:
        rnd = self.rng.random
        clock = self.clock
        owner = p.owner
        coid = company["id"] if company else None
        cname = company["name"] if company else p.last
        deal_id = d.id if d is not None and d.outcome == "open" else None
        open_task = (final in ("mql", "sql") and rnd() < 0.25) or (
            deal_id is not None and p is d.primary and rnd() < 0.6
        )
        if open_task:
            kind, title = W.TASKS[int(rnd() * len(W.TASKS))]
            title = title.format(first=p.first, company=cname)[:200]
            due = clock.end + int((-10 + rnd() * 24) * DAY) // HOUR * HOUR + 9 * HOUR
            made = max(sales_from, min(due - int((2 + rnd() * 5) * DAY), clock.end - HOUR))
            tid = self.ids.take("task")
            rows["task"].append(
                (tid, kind, title, "", clock.ts(due), owner, owner, p.id, coid, deal_id, clock.ts(made), None)
            )
            ev.append(
                (
                    made,
                    deal_id,
                    "task_created",
                    "sales",
                    owner,
                    None,
                    "",
                    f"Task: {title}"[:300],
                    f'{{"task_id": {tid}, "kind": "{kind}"}}',
                )
            )
        if rnd() < 0.15:
            kind, title = W.TASKS[int(rnd() * len(W.TASKS))]
            title = title.format(first=p.first, company=cname)[:200]
            made = sales_from + int((sales_to - sales_from) * rnd() * 0.8)
            done = min(made + int((0.2 + rnd() * 3) * DAY), clock.end - 60)
            tid = self.ids.take("task")
            rows["task"].append(
                (
                    tid,
                    kind,
                    title,
                    "",
                    clock.ts(made + 2 * DAY),
                    owner,
                    owner,
                    p.id,
                    coid,
                    None,
                    clock.ts(made),
                    clock.ts(done),
                )
            )
            ev.append(
                (
                    made,
                    None,
                    "task_created",
                    "sales",
                    owner,
                    None,
                    "",
                    f"Task: {title}"[:300],
                    f'{{"task_id": {tid}, "kind": "{kind}"}}',
                )
            )
            ev.append(
                (
                    done,
                    None,
                    "task_completed",
                    "sales",
                    owner,
                    None,
                    "",
                    f"Task done: {title}"[:300],
                    f'{{"task_id": {tid}}}',
                )
            )
        if RANK.get(final, 0) >= RANK["sql"] and rnd() < 0.15:
            body = self.note_bodies[int(rnd() * len(self.note_bodies))].format(first=html.escape(p.first))
            at = sales_from + int((sales_to - sales_from) * rnd())
            nid = self.ids.take("note")
            rows["note"].append((nid, body, owner, p.id, coid, None, clock.ts(at)))
            excerpt = strip_tags(body)[:200]  # as crm.services.add_note writes it
            ev.append(
                (at, None, "note_added", "sales", owner, None, "", f"Note: {excerpt}"[:300], f'{{"note_id": {nid}}}')
            )
