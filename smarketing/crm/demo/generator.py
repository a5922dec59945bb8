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

import math
import random
from decimal import Decimal

from smarketing.crm import summaries
from smarketing.crm.demo import journey
from smarketing.crm.demo import words as W
from smarketing.crm.demo.campaigns import CampaignSpec
from smarketing.crm.demo.common import (
    CHUNK_CONTACTS,
    DAY,
    EMAIL_PATTERNS,
    FINAL_STAGES,
    FIRST_CHANNELS,
    HOUR,
    LADDER,
    LEAD_STATUS,
    RANK,
    STAGE_GAP_DAYS,
    TABLES,
    TOUCH_FACTOR,
    WINDOW_DAYS,
    Cast,
    Chunk,
    Clock,
    Ids,
    StageInfo,
    _Deal,
    _dumps,
    _Person,
    ascii_fold,
    lookup,
)
from smarketing.crm.normalize import company_search_key


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
        self.welcome = next(c for c in campaigns if c.utm_campaign == "evergreen-nurture-welcome")
        self.mql_nurture = next((c for c in campaigns if c.utm_campaign == "evergreen-nurture-mql"), None)
        self.email_oneshots = sorted(
            (c for c in campaigns if c.channel == "email" and c.oneshot), key=lambda c: c.starts_at
        )
        self.email_starts = [c.starts_at for c in self.email_oneshots]
        # The one campaign whose complaints went over the 0.3 % line (a mid-year webinar invitation).
        invites = [c for c in campaigns if c.utm_campaign.endswith("-webinar-invite")]
        invites.sort(key=lambda c: c.starts_at)
        self.complaints = invites[len(invites) // 2].id if invites else None
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
                # Per link of an email: the click touch (summary, details) and the page view it leads to.
                "links": [
                    (
                        f"Clicked {path} in “{c.name}”"[:300],
                        _dumps({"url": path, "link": n}),
                        self.page_summary.get(path, f"Viewed {path}"),
                        self.page_details.get(path) or _dumps({"url": path}),
                    )
                    for n, (path, _label) in enumerate(c.links, start=1)
                ],
                "unsubscribed": f"Unsubscribed from “{c.name}”"[:300],
                "complained": f"Marked “{c.name}” as spam"[:300],
                "bounced": f"Email bounced: “{c.name}” (550 5.1.1 mailbox unavailable)"[:300],
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
            journey.contact_rows(self, rows, p, company)
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
        events = [
            (
                d.created,
                d.id,
                "deal_created",
                "sales",
                d.owner,
                None,
                "",
                summaries.deal_created(d.name, d.amount, "USD"),
                "{}",
            )
        ]
        prev = d.moves[0][0]
        for stage, at in d.moves[1:]:
            kind = {"won": "deal_won", "lost": "deal_lost"}.get(stage.outcome, "deal_stage_changed")
            reason = d.reason if stage.outcome != "open" else ""
            summary = summaries.deal_stage_changed(d.name, prev.name, stage.name, reason)
            details = _dumps({"from": prev.id, "to": stage.id, "reason": reason, "amount": str(d.amount)})
            events.append((at, d.id, kind, "sales", d.owner, None, "", summary, details))
            prev = stage
        return events
