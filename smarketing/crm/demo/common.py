"""Shapes shared by the CRM's demo generator: tables and columns, ids, the clock, weights and constants."""

import functools
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from smarketing.crm.models import LIFECYCLE_ORDER

DAY = 86400
HOUR = 3600
WINDOW_DAYS = 365
CHUNK_CONTACTS = 5000

# The funnel, as the CRM defines it (crm.lifecycle_rules); plain strings, as the rows hold them.
LADDER = [stage.value for stage in LIFECYCLE_ORDER]
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
