"""The features of predictive scoring, extracted set-based: one SQL statement per batch of contacts.

A feature is a number per contact: who they are (a senior title, the company's size, industry and country, the
source they first came from, the fit score) and what they did in the 90 days before "as of" (page views,
pricing views, form submissions, email opens and clicks, meetings booked, webinars) and how long ago their
last activity was. The statement joins each contact to its company and to one aggregate of its touchpoints;
the database does the counting, Python only turns the rows into a numpy matrix.

"As of" is now when scoring. When training, it is the moment of the contact's outcome (the close of their
first won deal, or of their first lost deal if they never won), so the counts describe the contact before the
outcome and not the customer they became. The simplification: properties (title, company, source) and the fit
score are read as they are today, because the CRM keeps no history of them. The engagement score is left out
for the same reason: it is today's sum, touches after the outcome included, and the as-of counts carry the
same facts without that leak.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db import connection
from django.db.models import Count

from smarketing.crm.models import Company, Contact, Deal, DealContact, DealStatus
from smarketing.crm.sources import source_label
from smarketing.timeline.models import Touchpoint

WINDOW_DAYS = 90  # engagement counts look this far back from "as of"
RECENCY_CAP_DAYS = 365  # a contact silent for longer (or never active) counts as silent for this long
TOP_N = 5  # one-hot features for the most common industries, countries and sources of the training contacts

COUNT, FLAG, DAYS, NUMBER = "count", "flag", "days", "number"

# The touch kinds the features read (declared in forms/, email/ and crm/ kinds.py; test_predictive checks it).
# Each engagement count: its kinds and an optional URL fragment of the page viewed.
COUNTS = {
    "page_views": (("page_viewed",), ""),
    "pricing_views": (("page_viewed",), "/pricing"),
    "form_submissions": (("form_submitted",), ""),
    "email_opens": (("email_opened",), ""),
    "email_clicks": (("email_clicked",), ""),
    "meetings_booked": (("meeting_booked",), ""),
    "webinars": (("webinar_attended",), ""),
}
# What counts as activity for "days since the last activity": the counted kinds and the sales conversations.
ACTIVITY_KINDS = (
    "page_viewed",
    "form_submitted",
    "email_opened",
    "email_clicked",
    "meeting_booked",
    "webinar_attended",
    "event_attended",
    "content_viewed",
    "call_logged",
    "email_logged",
    "meeting_logged",
)

# Seniority read from the job title, matched on whole words (the title is padded with spaces, and commas and
# slashes become spaces, so "CTO" does not match "Director" and "VP, Sales" still matches "vp").
TITLE_PATTERNS = {
    "title_clevel": ("% chief %", "% ceo %", "% cfo %", "% cto %", "% coo %", "% cmo %", "% cro %", "% founder %"),
    "title_vp": ("% vp %", "% svp %", "% evp %", "%vice president%"),
    "title_director": ("%director%", "% head of %"),
}

# (words when present or counted, words when absent) per fixed feature; {n} is the count, {s} its plural "s".
WORDS = {
    "page_views": ("Viewed {n} page{s} in 90 days", "No page views in 90 days"),
    "pricing_views": ("Viewed pricing {n} time{s} in 90 days", "Did not view pricing in 90 days"),
    "form_submissions": ("Submitted {n} form{s} in 90 days", "No form submitted in 90 days"),
    "email_opens": ("Opened {n} email{s} in 90 days", "Opened no email in 90 days"),
    "email_clicks": ("Clicked {n} email link{s} in 90 days", "Clicked no email link in 90 days"),
    "meetings_booked": ("Booked {n} meeting{s} in 90 days", "Booked no meeting in 90 days"),
    "webinars": ("Attended {n} webinar{s} in 90 days", "Attended no webinar in 90 days"),
    "title_clevel": ("C-level title", "Not a C-level title"),
    "title_vp": ("VP-level title", "Not a VP-level title"),
    "title_director": ("Director-level title", "Not a director-level title"),
    "company_500": ("Works at a 500+ company", "Not at a 500+ company"),
    "company_50": ("Works at a 50–499 company", "Not at a 50–499 company"),
}

LABELS = {
    "page_views": "Page views (90 days)",
    "pricing_views": "Pricing page views (90 days)",
    "form_submissions": "Form submissions (90 days)",
    "email_opens": "Email opens (90 days)",
    "email_clicks": "Email clicks (90 days)",
    "meetings_booked": "Meetings booked (90 days)",
    "webinars": "Webinars attended (90 days)",
    "days_since_activity": "Days since the last activity",
    "fit_score": "Fit score",
    "title_clevel": "C-level title",
    "title_vp": "VP-level title",
    "title_director": "Director-level title",
    "company_500": "Company of 500+ employees",
    "company_50": "Company of 50–499 employees",
}

ONE_HOT = {"industry": "co.industry", "country": "co.country", "source": "c.first_source"}


@dataclass(frozen=True)
class Feature:
    """One column of the model: a stable name stored with the model, what it measures, and how to say it."""

    name: str  # "pricing_views", "industry=Software"
    kind: str  # COUNT (fed to the model as log1p), FLAG (0/1), DAYS, NUMBER
    value: str = ""  # the one-hot value

    @property
    def label(self) -> str:
        if self.value:
            column = self.name.split("=", 1)[0]
            shown = source_label(self.value) if column == "source" else self.value
            return {"industry": "Industry: {}", "country": "Country: {}", "source": "First source: {}"}[column].format(
                shown
            )
        return LABELS[self.name]

    def words(self, raw: float) -> str:
        """The sentence for this contact's value: "Viewed pricing 3 times in 90 days"."""
        n = int(round(raw))
        if self.kind == DAYS:
            if n >= RECENCY_CAP_DAYS:
                return "No activity in the last year"
            if n >= 30:
                return f"No activity for {n} days"
            return "Active today" if n == 0 else f"Last active {n} day{'s' if n != 1 else ''} ago"
        if self.kind == NUMBER:
            return f"{self.label} {n}"
        if self.value:
            column = self.name.split("=", 1)[0]
            shown = source_label(self.value) if column == "source" else self.value
            yes, no = {
                "industry": ("Works in {}", "Not in {}"),
                "country": ("Company in {}", "Company not in {}"),
                "source": ("First came from {}", "Did not come from {}"),
            }[column]
            return (yes if n else no).format(shown)
        yes, no = WORDS[self.name]
        return yes.format(n=n, s="" if n == 1 else "s") if n else no

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "value": self.value, "label": self.label}

    @classmethod
    def from_dict(cls, data: dict) -> "Feature":
        return cls(name=data["name"], kind=data["kind"], value=data.get("value", ""))


def fixed_features() -> list[Feature]:
    """The features every model has (the one-hot ones depend on the training data: see one_hot_features)."""
    return [
        *(Feature(name, COUNT) for name in COUNTS),
        Feature("days_since_activity", DAYS),
        Feature("fit_score", NUMBER),
        *(Feature(name, FLAG) for name in TITLE_PATTERNS),
        Feature("company_500", FLAG),
        Feature("company_50", FLAG),
    ]


def one_hot_features(top: int = TOP_N) -> list[Feature]:
    """Flags for the `top` most common industries, countries and first sources among contacts with an outcome."""
    labelled = DealContact.objects.filter(deal__status__in=[DealStatus.WON, DealStatus.LOST]).values("contact_id")
    contacts = Contact.objects.filter(pk__in=labelled)
    found = []
    columns = (("industry", "company__industry"), ("country", "company__country"), ("source", "first_source"))
    for column, path in columns:
        values = (
            contacts.exclude(**{f"{path}__isnull": True})
            .exclude(**{path: ""})
            .values(path)
            .annotate(n=Count("id"))
            .order_by("-n", path)
            .values_list(path, flat=True)[:top]
        )
        found += [Feature(f"{column}={value}", FLAG, value) for value in values]
    return found


# -- the statement -------------------------------------------------------------------------------------------


def model_inputs(raw: np.ndarray, features: list[Feature]) -> np.ndarray:
    """What the model reads: counts as log(1 + n), so the tenth page view weighs less than the first."""
    values = np.array(raw, dtype=float, copy=True)
    for i, feature in enumerate(features):
        if feature.kind == COUNT:
            values[:, i] = np.log1p(values[:, i])
    return values


def _epoch(expr: str) -> str:
    """Seconds since the epoch of a timestamp expression (NULL stays NULL)."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {expr})"
    return f"((julianday({expr}) - 2440587.5) * 86400.0)"


def _minus_days(expr: str, days: int) -> str:
    if connection.vendor == "postgresql":
        return f"({expr} - INTERVAL '{int(days)} days')"
    return f"datetime({expr}, '-{int(days)} days')"


def _url(alias: str) -> str:
    if connection.vendor == "postgresql":
        return f"({alias}.details ->> 'url')"
    return f"json_extract({alias}.details, '$.url')"


def _driving_join() -> str:
    """The batch's contacts drive the join into the touchpoints' (contact, occurred_at) index. SQLite's planner
    would otherwise scan the whole touchpoint table once per batch; its CROSS JOIN keeps the written order."""
    return "CROSS JOIN" if connection.vendor == "sqlite" else "JOIN"


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def _property_sql(feature: Feature) -> tuple[str, list]:
    if feature.value:
        column = ONE_HOT[feature.name.split("=", 1)[0]]
        return f"CASE WHEN {column} = %s THEN 1 ELSE 0 END", [feature.value]
    if feature.name in TITLE_PATTERNS:
        padded = "(' ' || REPLACE(REPLACE(LOWER(c.title), ',', ' '), '/', ' ') || ' ')"
        patterns = TITLE_PATTERNS[feature.name]
        return "CASE WHEN " + " OR ".join([f"{padded} LIKE %s"] * len(patterns)) + " THEN 1 ELSE 0 END", list(patterns)
    if feature.name == "company_500":
        return "CASE WHEN co.employees >= %s THEN 1 ELSE 0 END", [500]
    if feature.name == "company_50":
        return "CASE WHEN co.employees >= %s AND co.employees < %s THEN 1 ELSE 0 END", [50, 500]
    if feature.name == "fit_score":
        return "c.fit_score", []
    raise ValueError(f"unknown feature {feature.name!r}")


def _statement(features: list[Feature], population: str, population_params: list) -> tuple[str, list]:
    """The SELECT of (contact id, label, as-of seconds, last-activity seconds, then one column per feature).

    `population` is the body of the CTE `pop(contact_id, label, as_of, since_window, since_cap)`.
    """
    params: list = list(population_params)
    counts, count_params = [], []
    for name, (kinds, url_part) in COUNTS.items():
        condition = f"t.occurred_at >= p2.since_window AND t.kind IN ({_placeholders(kinds)})"
        count_params += list(kinds)
        if url_part:
            condition += f" AND {_url('t')} LIKE %s"
            count_params.append(f"%{url_part}%")
        counts.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS n_{name}")
    touches = (
        f"SELECT t.contact_id AS contact_id, MAX(t.occurred_at) AS last_at, {', '.join(counts)} "
        f"FROM pop p2 {_driving_join()} {Touchpoint._meta.db_table} t ON t.contact_id = p2.contact_id "
        f"AND t.kind IN ({_placeholders(ACTIVITY_KINDS)}) "
        "AND t.occurred_at >= p2.since_cap AND t.occurred_at < p2.as_of "
        "GROUP BY t.contact_id"
    )
    columns, column_params = [], []
    for feature in features:
        if feature.kind == COUNT:
            columns.append(f"COALESCE(a.n_{feature.name}, 0)")
        elif feature.kind == DAYS:
            columns.append("0")  # filled in numpy from the two timestamps
        else:
            sql, values = _property_sql(feature)
            columns.append(sql)
            column_params += values
    sql = (
        f"WITH {population} "
        f"SELECT p.contact_id, p.label, {_epoch('p.as_of')}, {_epoch('a.last_at')}, {', '.join(columns)} "
        f"FROM pop p JOIN {Contact._meta.db_table} c ON c.id = p.contact_id "
        f"LEFT JOIN {Company._meta.db_table} co ON co.id = c.company_id "
        f"LEFT JOIN ({touches}) a ON a.contact_id = p.contact_id "
        "ORDER BY p.contact_id"
    )
    # Parameters in the order their placeholders appear: the CTE, the feature columns, then the touches' join.
    return sql, params + column_params + count_params + list(ACTIVITY_KINDS)


def _matrix(rows: list, features: list[Feature]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(contact ids, labels, raw feature values) from the statement's rows."""
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros((0, len(features)))
    data = np.array(rows, dtype=float)  # NULLs (no label, no activity) become nan
    ids, labels, as_of, last = data[:, 0].astype(np.int64), data[:, 1], data[:, 2], data[:, 3]
    values = data[:, 4:]
    days = np.where(np.isnan(last), RECENCY_CAP_DAYS, np.floor((as_of - last) / 86400.0))
    for i, feature in enumerate(features):
        if feature.kind == DAYS:
            values[:, i] = np.clip(days, 0, RECENCY_CAP_DAYS)
    return ids, labels, np.nan_to_num(values)


def _outcomes_cte() -> str:
    """pop: each contact with a won or lost deal, labelled 1 if any was won; as of their first such outcome."""
    deal, role = Deal._meta.db_table, DealContact._meta.db_table
    return (
        "outcomes AS ("
        "SELECT dc.contact_id AS contact_id, MAX(CASE WHEN d.status = %s THEN 1 ELSE 0 END) AS label, "
        "MIN(CASE WHEN d.status = %s THEN d.closed_at END) AS won_at, MIN(d.closed_at) AS closed_at "
        f"FROM {role} dc JOIN {deal} d ON d.id = dc.deal_id "
        "WHERE d.status IN (%s, %s) AND d.closed_at IS NOT NULL GROUP BY dc.contact_id), "
        "as_of AS (SELECT contact_id, label, COALESCE(won_at, closed_at) AS as_of FROM outcomes), "
        "pop AS (SELECT contact_id, label, as_of, "
        f"{_minus_days('as_of', WINDOW_DAYS)} AS since_window, {_minus_days('as_of', RECENCY_CAP_DAYS)} AS since_cap "
        "FROM as_of)"
    )


def outcome_counts() -> tuple[int, int]:
    """(won, lost): contacts with a won deal, and contacts whose deals were all lost."""
    won = (
        DealContact.objects.filter(deal__status=DealStatus.WON, deal__closed_at__isnull=False)
        .values("contact_id")
        .distinct()
    )
    closed = (
        DealContact.objects.filter(deal__status__in=[DealStatus.WON, DealStatus.LOST], deal__closed_at__isnull=False)
        .values("contact_id")
        .distinct()
    )
    n_won, n_closed = won.count(), closed.count()
    return n_won, n_closed - n_won


def training_data(features: list[Feature]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(contact ids, labels 1 = won / 0 = lost, raw values) of every contact with an outcome, as of it."""
    sql, params = _statement(
        features, _outcomes_cte(), [DealStatus.WON, DealStatus.WON, DealStatus.WON, DealStatus.LOST]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    ids, labels, values = _matrix(rows, features)
    return ids, labels.astype(int), values


def scoring_batches(
    features: list[Feature], *, now: datetime, batch_size: int = 5000
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(contact ids, raw values) of every contact as of `now`, `batch_size` contacts at a time (keyset by id)."""
    adapt = connection.ops.adapt_datetimefield_value
    moments = [adapt(now), adapt(now - timedelta(days=WINDOW_DAYS)), adapt(now - timedelta(days=RECENCY_CAP_DAYS))]
    contacts = Contact._meta.db_table
    population = (
        "pop AS (SELECT id AS contact_id, NULL AS label, %s AS as_of, %s AS since_window, %s AS since_cap "
        f"FROM {contacts} WHERE id > %s ORDER BY id LIMIT %s)"
    )
    if connection.vendor == "postgresql":
        # A bare placeholder has no type in a CTE's select list: say what the three moments are.
        population = population.replace("%s AS", "%s::timestamptz AS")
    after = 0
    while True:
        sql, params = _statement(features, population, [*moments, after, batch_size])
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            return
        ids, _labels, values = _matrix(rows, features)
        yield ids, values
        after = int(ids[-1])
        if len(rows) < batch_size:
            return
