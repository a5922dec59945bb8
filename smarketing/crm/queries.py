"""Reusable reads for the CRM lists: allow-listed search, filters and sorts, and record lookups by text.

A list request's GET parameters become a validated `RecordList` here. Only parameter names in the allow-lists
below reach the ORM; every value is checked, and a bad one is dropped with a message the page shows instead of
an error. Querysets are built from fixed lookups written in this file, never from a dict a user made.

Search uses indexed prefix conditions only (core.queries.prefix_q) and pages are keyset pages of size+1 rows,
so a list stays fast at a million contacts: nothing here counts a table.
"""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BigIntegerField, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast

from smarketing.accounts.models import User
from smarketing.core.queries import Page, SortOption, capped_count, keyset_page, prefix_q, union_keyset_ids
from smarketing.crm.models import (
    Company,
    ConsentStatus,
    Contact,
    Deal,
    DealStatus,
    LeadStatus,
    LifecycleStage,
    ObjectType,
    PropertyDefinition,
    Stage,
)
from smarketing.crm.normalize import normalize_domain
from smarketing.crm.sources import SOURCES

PAGE_SIZE = 50
SEARCH_MAX = 100  # longer search terms are cut; no name or email prefix needs more

TOTAL_CAP = 10_000  # a list counts its rows up to this; above it the page says "more than 10,000"


def _sorts(*pairs: tuple[str, str, tuple[str, ...], str]) -> dict[str, SortOption]:
    """Each sort and its reverse ("-key"): a header click flips between them. Both directions read the same
    index, forwards or backwards; every key below has one (see the models' indexes)."""
    options = {"newest": SortOption("Newest first", ("-id",)), "oldest": SortOption("Oldest first", ("id",))}
    for key, label, fields, reverse_label in pairs:
        flipped = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in fields)
        options[key] = SortOption(label, fields)
        options[f"-{key}"] = SortOption(reverse_label, flipped)
    return options


def reverse_sort(key: str) -> str:
    """The key of the same sort the other way round."""
    if key in ("newest", "oldest"):
        return "oldest" if key == "newest" else "newest"
    return key[1:] if key.startswith("-") else f"-{key}"


CONTACT_SORTS = _sorts(
    ("name", "Last name A–Z", ("last_key", "id"), "Last name Z–A"),
    ("email", "Email A–Z", ("email", "id"), "Email Z–A"),
    (
        "lifecycle",
        "Lifecycle changed, latest first",
        ("-lifecycle_changed_at", "-id"),
        "Lifecycle changed, earliest first",
    ),
    ("fit", "Highest fit score", ("-fit_score", "-id"), "Lowest fit score"),
    ("engagement", "Highest engagement score", ("-engagement_score", "-id"), "Lowest engagement score"),
    # last_touch_at is empty until a contact's first touch; those contacts come last either way.
    ("last_touch", "Last touch, latest first", ("-last_touch_at", "-id"), "Last touch, earliest first"),
)
COMPANY_SORTS = _sorts(("name", "Name A–Z", ("name_key", "id"), "Name Z–A"))
DEAL_SORTS = _sorts(
    ("amount", "Largest amount", ("-amount", "-id"), "Smallest amount"),
    ("stage_age", "Longest in stage", ("stage_entered_at", "id"), "Newest in stage"),
    ("name", "Name A–Z", ("name", "id"), "Name Z–A"),
    ("close", "Closing soonest", ("close_date", "id"), "Closing latest"),
)


class BadValue(ValueError):
    """A filter value that cannot be used; the message says why, in words for the user."""


@dataclass
class Filter:
    """One allow-listed filter: its GET parameter, how the form shows it, and how a value narrows a queryset."""

    param: str
    label: str
    widget: str  # "select", "text", "number", "date" or "company" (text with suggestions)
    apply: Callable[[QuerySet, str], QuerySet]  # raises BadValue
    options: list[tuple[str, str]] = field(default_factory=list)
    more: bool = False  # shown under "More filters" rather than in the first row
    value: str = ""  # the accepted value after parsing, for re-rendering and links
    display: str = ""  # how the accepted value reads in its box, when that differs from the value


@dataclass
class RecordList:
    """A validated list request: search term, filters, sort and the queryset they produce."""

    kind: str
    q: str
    sort_key: str
    sorts: dict[str, SortOption]
    filters: list[Filter]
    queryset: QuerySet
    messages: list[str]
    # The list without its search condition (access and filters only), and the search's prefix conditions when
    # it was selective (see page()); None otherwise.
    unsearched: QuerySet | None = None
    search_conditions: list | None = None

    @property
    def sort(self) -> SortOption:
        return self.sorts[self.sort_key]

    def params(self) -> list[tuple[str, str]]:
        """The accepted parameters, to carry into "Next" links and back after a bulk action."""
        out = [("q", self.q)] if self.q else []
        if self.sort_key != "newest":
            out.append(("sort", self.sort_key))
        out.extend((f.param, f.value) for f in self.filters if f.value)
        return out

    @property
    def active_count(self) -> int:
        return sum(1 for f in self.filters if f.value)

    @property
    def more_active(self) -> bool:
        return any(f.value for f in self.filters if f.more)

    def page(self, cursor: str | None, size: int = PAGE_SIZE) -> Page:
        if not self.q:
            return keyset_page(self.queryset, self.sort, cursor, size)
        # A search finds the page's keys on narrow rows first, then loads those rows with their relations.
        # In one query PostgreSQL joins company and owner to every candidate before it sorts (5,800 "freya"s:
        # 40,000 buffers, 180 ms under load); narrow, a dense prefix ("s") is filtered inside the covering sort
        # index (crm migration 0007) and a selective one sorts bare keys.
        columns = [name.lstrip("-") for name in self.sort.fields]
        keys = self._page_from_sorted_candidates(cursor, size, columns)
        if keys is None:
            keys = keyset_page(self.queryset.select_related(None).only(*columns), self.sort, cursor, size)
        model, *_, related = LISTS[self.kind]
        keys.rows = rows_in_order(model.objects.select_related(*related), [row.pk for row in keys.rows])
        return keys

    def _page_from_sorted_candidates(self, cursor: str | None, size: int, columns: list[str]) -> Page | None:
        """A selective search's page on PostgreSQL from its candidates' sort keys alone, or None.

        Sorting every candidate ("wei": 6,000 contacts) means reading each one's row for its sort key. The
        prefix indexes carry the sort columns (crm 0012), so the first CANDIDATE_WINDOW candidates in sort order
        come from index-only reads; the access rule and filters then keep some of them. That is the page if
        a whole page plus one survives, or if the window held every remaining candidate; otherwise (filters
        that drop most candidates) the caller sorts them all.
        """
        if not self.search_conditions or connection.vendor != "postgresql":
            return None
        ids = union_keyset_ids(self.queryset.model, self.search_conditions, self.sort, cursor, CANDIDATE_WINDOW)
        window = _among(self.unsearched.select_related(None).only(*columns), ids, array=True)
        keys = keyset_page(window, self.sort, cursor, size)
        if len(ids) < CANDIDATE_WINDOW or keys.next_cursor is not None:
            return keys
        return None

    def total(self, page: Page, cap: int | None = None) -> int:
        """The list's row count, exact up to `cap` (cap + 1 means "more than cap"); free when one page holds
        the whole list."""
        if not page.has_previous and page.next_cursor is None:
            return len(page.rows)
        return capped_count(self.queryset, TOTAL_CAP if cap is None else cap)


def rows_in_order(base: QuerySet, ids: list[int]) -> list:
    """The rows with these primary keys (already found through the access and search conditions), read from
    `base` (the model's queryset with its relations, *without* those conditions: carried along, the candidate
    array would be hashed again for 50 rows), in the order of `ids`. One query; none for no ids."""
    if not ids:
        return []
    found = {row.pk: row for row in base.filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


# ---------------------------------------------------------------------------------------------------------
# Value parsing


def parse_decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw.replace(",", "").strip())
    except InvalidOperation:
        raise BadValue(f"{raw!r} is not a number")
    if not value.is_finite() or abs(value) >= Decimal("1e15"):
        raise BadValue(f"{raw!r} is out of range")
    return value


def parse_date(raw: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(raw.strip())
    except ValueError:
        raise BadValue(f"{raw!r} is not a date (use YYYY-MM-DD)")


def parse_id(raw: str) -> int:
    raw = raw.strip().lstrip("#")
    if not raw.isdigit() or len(raw) > 18:
        raise BadValue(f"{raw!r} is not a record id")
    return int(raw)


# ---------------------------------------------------------------------------------------------------------
# Looking records up by what a person types


def company_label(company: Company) -> str:
    """How a company shows in a company box: readable, and unambiguous when typed back."""
    if company.domain:
        return f"{company.name} ({company.domain})"
    return f"{company.name} #{company.pk}"


_TRAILING_ID = re.compile(r"(?:^|\s)#(\d{1,18})$")
_TRAILING_DOMAIN = re.compile(r"\(([^()]+)\)$")


def resolve_company(text: str) -> Company:
    """The company meant by `text`: "Name (domain)", "Name #id", "#id", a domain or an exact name.

    Raises BadValue when nothing matches or the name is shared by several companies.
    """
    text = (text or "").strip()
    if not text:
        raise BadValue("Type a company name or domain")
    if text.isdigit():
        text = f"#{text}"  # links from record pages pass the bare id
    match = _TRAILING_ID.search(text)
    if match:
        company = Company.objects.filter(pk=int(match.group(1))).first()
        if company is None:
            raise BadValue(f"No company has id {match.group(1)}")
        return company
    match = _TRAILING_DOMAIN.search(text)
    candidates = [match.group(1)] if match else []
    if " " not in text and "." in text:
        candidates.append(text)
    for candidate in candidates:
        try:
            domain = normalize_domain(candidate)
        except ValidationError:
            continue
        company = Company.objects.filter(domain=domain).first()
        if company is not None:
            return company
    # An exact name: the indexed name_key, at most two rows to tell "one" from "several".
    named = list(Company.objects.filter(name_key=text.lower()[:200]).order_by("id")[:2])
    if len(named) == 1:
        return named[0]
    if named:
        raise BadValue(f"Several companies are called {text!r}; pick one from the suggestions")
    raise BadValue(f"No company called {text!r}")


def resolve_contact(text: str) -> Contact:
    """The contact with this email address (any case), or with "#id"."""
    text = (text or "").strip()
    if text.startswith("#") or text.isdigit():
        contact = Contact.objects.filter(pk=parse_id(text)).first()
    else:
        contact = Contact.objects.filter(email=text.lower()).first()
    if contact is None:
        raise BadValue(f"No contact with the email {text!r}")
    return contact


def suggest_companies(term: str, limit: int = 10) -> list[Company]:
    term = search_term(term)
    if not term:
        return []
    found = list(Company.objects.filter(prefix_q("name_key", term)).order_by("name_key", "id")[:limit])
    if len(found) < limit:
        seen = {c.pk for c in found}
        domain = _domain_term(term)
        by_domain = Company.objects.filter(prefix_q("domain", domain)).order_by("domain")[:limit]
        found += [c for c in by_domain if c.pk not in seen][: limit - len(found)]
    return found


def suggest_contacts(term: str, limit: int = 10) -> list[Contact]:
    term = search_term(term)
    if not term:
        return []
    qs = Contact.objects.order_by("email")
    if "@" in term:
        return list(qs.filter(prefix_q("email", term))[:limit])
    return list(qs.filter(prefix_q("email", term) | prefix_q("name_key", term))[:limit])


# ---------------------------------------------------------------------------------------------------------
# Search


def search_term(q: str) -> str:
    """What a search box means: lowercased, spaces collapsed, at most SEARCH_MAX characters."""
    return " ".join((q or "").lower().split())[:SEARCH_MAX]


def _domain_term(term: str) -> str:
    for prefix in ("https://", "http://", "www."):
        if term.startswith(prefix):
            term = term[len(prefix) :]
    return term


SEARCH_CANDIDATES = 10_000  # per searched column; above this a prefix is "dense" (see _search_any)
CANDIDATE_WINDOW = 200  # candidates read in sort order for one page of a selective search (RecordList.page)
DEAL_SEARCH_CANDIDATES = 2_000


def _search_any(qs: QuerySet, conditions: list, cap: int | None = None) -> QuerySet:
    """Rows matching any of the indexed prefix `conditions`, fast whatever the sort.

    An OR of prefixes combined with ORDER BY ... LIMIT lets PostgreSQL walk the sort's index and filter,
    which reads most of the table when the matches sit late in that order (a search for "jacob" sorted by
    email: every email before "jacob" is read first; 0.9 s at 1M contacts). So each prefix is first read
    from its own index, up to SEARCH_CANDIDATES ids, and a selective search becomes a primary-key list
    (_among). Only a dense prefix (more matches than that, one or two letters) keeps the plain OR, where
    matches are common enough that the ordered walk finds a page quickly.
    """
    return _search_any_selective(qs, conditions, cap)[0]


def _search_any_selective(qs: QuerySet, conditions: list, cap: int | None = None) -> tuple[QuerySet, bool]:
    """_search_any, and whether the search was selective (its candidates became a primary-key list)."""
    cap = SEARCH_CANDIDATES if cap is None else cap
    ids: set[int] = set()
    for condition in conditions:
        found = list(qs.model.objects.filter(condition).values_list("pk", flat=True)[: cap + 1])
        if len(found) > cap:
            combined = conditions[0]
            for other in conditions[1:]:
                combined |= other
            return qs.filter(combined), False
        ids.update(found)
    return _among(qs, sorted(ids)), True


def _among(qs: QuerySet, ids: list[int], *, array: bool = False) -> QuerySet:
    """`qs` restricted to these primary keys, in a form the database answers key by key, then sorts.

    On PostgreSQL a literal `id IN (…)` list of a few thousand ids still lets the planner walk the sort's
    index (it assumes the ids are spread evenly over it; for "jacob" by email they are not: 1.2 s). Joined
    as `IN (SELECT unnest(array))` the planner knows the row count and fetches each key, then sorts the few
    thousand rows (30 ms at 6,000 candidates). It is also one parameter, however many ids.
    """
    if connection.vendor == "postgresql" and (array or len(ids) > 100):
        # A fixed SQL text; the ids travel as one bound array parameter.
        keys = RawSQL("SELECT unnest(%s::bigint[])", (ids,), output_field=BigIntegerField())  # noqa: S611
        return qs.filter(pk__in=keys)
    return qs.filter(pk__in=ids)


def contact_search_conditions(term: str) -> list[Q]:
    """Email prefix, or name prefix (first name or "first last"), or last name prefix; all indexed."""
    if "@" in term:
        return [prefix_q("email", term)]
    return [prefix_q("email", term), prefix_q("name_key", term), prefix_q("last_key", term)]


def search_contacts(qs: QuerySet, term: str) -> QuerySet:
    return _search_any(qs, contact_search_conditions(term))


def search_companies(qs: QuerySet, term: str) -> QuerySet:
    return _search_any(qs, [prefix_q("name_key", term), prefix_q("domain", _domain_term(term))])


def search_deals(qs: QuerySet, term: str) -> QuerySet:
    """Contains-search on the deal name ("renewal" finds "Acme – Renewal 2027").

    On PostgreSQL the trigram index deal_name_trgm_idx (crm migration 0005) finds the matches, read first as
    candidates like a prefix search (_search_any): the planner cannot estimate a contains pattern, and for a
    rare term sorted newest first it would walk every deal backwards (0.1 s at 44k deals). SQLite scans the
    deals, far fewer than contacts.
    """
    # A lower cap than for prefixes: reading a contains-match costs a recheck of the name, and a term with
    # more than 2,000 matches among the deals is common enough for the ordered walk.
    return _search_any(qs, [Q(name__icontains=term)], cap=DEAL_SEARCH_CANDIDATES)


# ---------------------------------------------------------------------------------------------------------
# Filter builders (each returns a Filter whose apply() uses a field name fixed here)


def choice_filter(param: str, label: str, field_name: str, choices, *, more: bool = False) -> Filter:
    allowed = {str(value) for value, _ in choices}

    def apply(qs, raw):
        if raw not in allowed:
            raise BadValue(f"{raw!r} is not one of the options")
        return qs.filter(**{field_name: raw})

    return Filter(param, label, "select", apply, [(str(v), str(lbl)) for v, lbl in choices], more)


def owner_filter(user, users: list[User]) -> Filter:
    ids = {str(u.pk): u.pk for u in users}

    def apply(qs, raw):
        if raw == "me":
            return qs.filter(owner_id=user.pk)
        if raw in ("none", "unassigned"):
            return qs.filter(owner__isnull=True)
        if raw in ids:
            return qs.filter(owner_id=ids[raw])
        raise BadValue(f"{raw!r} is not an active user")

    options = [("me", "Me"), ("none", "Unassigned")] + [(str(u.pk), str(u)) for u in users]
    return Filter("owner", "Owner", "select", apply, options)


def company_filter() -> Filter:
    def apply(qs, raw):
        company = resolve_company(raw)
        f.display = company_label(company)
        return qs.filter(company=company)

    f = Filter("company", "Company", "company", apply)
    return f


def source_filter() -> Filter:
    def apply(qs, raw):
        if not re.fullmatch(r"[\w .:/()&+,'-]{1,50}", raw):
            raise BadValue(f"{raw!r} is not a source")
        return qs.filter(first_source=raw)

    return Filter("source", "First source", "select", apply, list(SOURCES), more=True)


def range_filters(prefix: str, label: str, field_name: str, widget: str) -> list[Filter]:
    parse = parse_decimal if widget == "number" else parse_date

    def at_least(qs, raw):
        return qs.filter(**{f"{field_name}__gte": parse(raw)})

    def at_most(qs, raw):
        return qs.filter(**{f"{field_name}__lte": parse(raw)})

    low, high = ("min", "max") if widget == "number" else ("from", "to")
    return [
        Filter(f"{prefix}_{low}", f"{label} {low}", widget, at_least, more=True),
        Filter(f"{prefix}_{high}", f"{label} {high}", widget, at_most, more=True),
    ]


def custom_filters(definitions: list[PropertyDefinition]) -> list[Filter]:
    """One filter per custom property; the JSON key comes from the definition row, never from the request.

    Each condition goes through an alias of a KeyTransform expression, so a key is always a single JSON key
    (a key with "__" in it cannot turn into a nested lookup).
    """
    filters = []
    for index, d in enumerate(definitions):
        alias = f"cpf{index}"
        param = f"cp_{d.key}"
        label = d.label
        if d.type == PropertyDefinition.Type.NUMBER:
            filters += _custom_range(alias, param, label, d.key, _json_number, "number", ("min", "max"))
        elif d.type == PropertyDefinition.Type.DATE:
            filters += _custom_range(alias, param, label, d.key, _iso_date, "date", ("from", "to"))
        elif d.type == PropertyDefinition.Type.BOOLEAN:
            filters.append(_custom_bool(alias, param, label, d.key))
        elif d.type == PropertyDefinition.Type.CHOICE:
            filters.append(_custom_choice(alias, param, label, d.key, [str(c) for c in d.choices]))
        else:
            filters.append(_custom_text(alias, param, label, d.key))
    return filters


def _json_number(raw: str) -> int | float:
    # Stored custom numbers are JSON numbers (see crm.properties), compared as such.
    value = parse_decimal(raw)
    return int(value) if value == value.to_integral_value() else float(value)


def _iso_date(raw: str) -> str:
    return parse_date(raw).isoformat()


def _custom_range(alias, param, label, key, parse, widget, words) -> list[Filter]:
    # Numbers compare as JSON numbers; dates are stored as ISO text, so text order is date order.
    expression = (
        KeyTransform(key, "custom") if widget == "number" else Cast(KeyTextTransform(key, "custom"), TextField())
    )

    def at_least(qs, raw):
        return qs.alias(**{alias: expression}).filter(**{f"{alias}__gte": parse(raw)})

    def at_most(qs, raw):
        return qs.alias(**{alias: expression}).filter(**{f"{alias}__lte": parse(raw)})

    return [
        Filter(f"{param}_{words[0]}", f"{label} {words[0]}", widget, at_least, more=True),
        Filter(f"{param}_{words[1]}", f"{label} {words[1]}", widget, at_most, more=True),
    ]


def _custom_equals(qs: QuerySet, alias: str, key: str, value, expression) -> QuerySet:
    """Rows whose custom property `key` equals `value`.

    PostgreSQL: JSON containment (`custom @> {"key": value}`), answered by the jsonb_path_ops GIN index on
    `custom` (crm migration 0005); an expression on `custom -> key` could use no index, since keys are
    defined at run time. SQLite has no containment lookup: it compares the extracted value.
    """
    if connection.vendor == "postgresql":
        return qs.filter(custom__contains={key: value})
    return qs.alias(**{alias: expression}).filter(**{alias: value})


def _custom_bool(alias, param, label, key) -> Filter:
    values = {"yes": True, "no": False}

    def apply(qs, raw):
        if raw not in values:
            raise BadValue(f"{raw!r} is not yes or no")
        return _custom_equals(qs, alias, key, values[raw], KeyTransform(key, "custom"))

    return Filter(param, label, "select", apply, [("yes", "Yes"), ("no", "No")], more=True)


def _custom_choice(alias, param, label, key, choices) -> Filter:
    def apply(qs, raw):
        if raw not in choices:
            raise BadValue(f"{raw!r} is not one of the options")
        return _custom_equals(qs, alias, key, raw, Cast(KeyTextTransform(key, "custom"), TextField()))

    return Filter(param, label, "select", apply, [(c, c) for c in choices], more=True)


def _custom_text(alias, param, label, key) -> Filter:
    def apply(qs, raw):
        if len(raw) > 2000:
            raise BadValue("is too long")
        expression = Cast(KeyTextTransform(key, "custom"), TextField())
        return qs.alias(**{alias: expression}).filter(**{f"{alias}__iexact": raw})

    return Filter(param, label, "text", apply, more=True)


# ---------------------------------------------------------------------------------------------------------
# The three lists


def active_users() -> list[User]:
    return list(User.objects.filter(is_active=True).order_by("full_name", "email"))


def _definitions(object_type: str) -> list[PropertyDefinition]:
    return list(PropertyDefinition.objects.filter(object_type=object_type))


def contact_filters(user, users, definitions) -> list[Filter]:
    return [
        choice_filter("lifecycle", "Lifecycle stage", "lifecycle_stage", LifecycleStage.choices),
        owner_filter(user, users),
        company_filter(),
        choice_filter("lead_status", "Lead status", "lead_status", LeadStatus.choices),
        source_filter(),
        choice_filter("consent", "Consent", "consent_status", ConsentStatus.choices, more=True),
        *custom_filters(definitions),
    ]


def company_filters(user, users, definitions) -> list[Filter]:
    def industry(qs, raw):
        if len(raw) > 100:
            raise BadValue("is too long")
        return qs.filter(industry__iexact=raw)

    def country(qs, raw):
        if len(raw) > 100:
            raise BadValue("is too long")
        return qs.filter(country__iexact=raw)

    return [
        owner_filter(user, users),
        Filter("industry", "Industry", "text", industry),
        Filter("country", "Country", "text", country, more=True),
        *custom_filters(definitions),
    ]


def deal_filters(user, users, definitions) -> list[Filter]:
    stages = list(Stage.objects.select_related("pipeline").order_by("pipeline__position", "pipeline_id", "position"))
    pipelines = {s.pipeline_id: s.pipeline for s in stages}
    several = len(pipelines) > 1
    stage_options = [(str(s.pk), f"{s.pipeline.name}: {s.name}" if several else s.name) for s in stages]
    pipeline = choice_filter("pipeline", "Pipeline", "pipeline_id", [(p.pk, p.name) for p in pipelines.values()])
    return [
        *([pipeline] if several else []),
        choice_filter("stage", "Stage", "stage_id", stage_options),
        choice_filter("status", "Status", "status", DealStatus.choices),
        owner_filter(user, users),
        company_filter(),
        *range_filters("amount", "Amount", "amount", "number"),
        *range_filters("close", "Close date", "close_date", "date"),
        *custom_filters(definitions),
    ]


LISTS = {
    "contact": (Contact, CONTACT_SORTS, search_contacts, contact_filters, ("company", "owner")),
    "company": (Company, COMPANY_SORTS, search_companies, company_filters, ("owner",)),
    "deal": (Deal, DEAL_SORTS, search_deals, deal_filters, ("stage", "company", "owner")),
}


def build_list(kind: str, user, params, *, users: list[User] | None = None, definitions=None) -> RecordList:
    """Parse `params` (request.GET) into a RecordList; unknown parameters are ignored, bad values reported."""
    model, sorts, search, make_filters, related = LISTS[kind]
    users = active_users() if users is None else users
    definitions = _definitions(ObjectType(kind)) if definitions is None else definitions
    filters = make_filters(user, users, definitions)
    messages = []
    qs = model.objects.for_user(user, "view").select_related(*related)

    q = search_term(params.get("q", ""))
    sort_key = params.get("sort", "newest")
    if sort_key not in sorts:
        if sort_key:
            messages.append(f"Unknown sort {sort_key[:40]!r} ignored; showing newest first.")
        sort_key = "newest"
    for f in filters:
        raw = params.get(f.param, "").strip()
        if not raw:
            continue
        try:
            qs = f.apply(qs, raw)
        except BadValue as exc:
            messages.append(f"{f.label} filter ignored: {exc}.")
            continue
        f.value = raw
    unsearched, search_conditions = qs, None
    if q and kind == "contact":
        conditions = contact_search_conditions(q)
        qs, selective = _search_any_selective(qs, conditions)
        search_conditions = conditions if selective else None
    elif q:
        qs = search(qs, q)
    return RecordList(kind, q, sort_key, sorts, filters, qs, messages, unsearched, search_conditions)
