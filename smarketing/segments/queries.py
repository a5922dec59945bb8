"""The segment engine's public reads: a definition compiled to parameterized SQL, counts, members, audiences.

This is the one condition engine of the product (campaigns, workflows, scoring, KPIs and the calendar read
audiences here). A definition is first checked by `schema.validate_definition`; the compiler then maps each
allow-listed field and operator to an ORM lookup written in this module (the user's JSON never reaches
`filter(**...)` as keys) and lets Django write the SQL, so the same tree runs on SQLite and PostgreSQL with
every value a bound parameter.

Membership is set-based: an activity condition is one set of contact ids (`id IN (SELECT contact_id FROM
timeline_touchpoint WHERE kind ... GROUP BY contact_id HAVING COUNT(*) >= n)`), found through the (kind,
occurred_at) index; "since their last sales call" reads the contact's latest call from the top of the
(contact, -occurred_at) index; list membership is an EXISTS on the
(list, contact) unique index; "in segment" inlines the other segment's compiled condition.

Two-valued logic: SQL compares NULL to anything as "unknown", which NOT turns into "unknown" again, so a naive
"NOT (industry = 'saas')" would drop contacts without an industry. Every lookup below carries an explicit IS NOT
NULL (`known()` for columns, `guarded()` for expressions), so that every condition is plainly true or false and
NOT means "everyone else"; Django's own guard on negated lookups is not relied on (an OR can defeat it).
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Lower
from django.utils import timezone

from smarketing.crm.models import Contact
from smarketing.segments import schema
from smarketing.segments.models import ContactList, ListMembership, Segment
from smarketing.timeline.models import Touchpoint


def known(path: str, q: Q) -> Q:
    """`q`, and plainly false where `path` is NULL (no company, no value): NOT of it is then "everyone else".

    Django adds such a guard to a negated lookup itself, but not when another branch of an OR already made the
    join (`(… AND industry = x) OR NOT (industry = x)` dropped the contacts without a company; found by
    tests/test_properties.py), so the compiler never relies on it."""
    return q & Q(**{f"{path}__isnull": False})


ALWAYS = Q(pk__isnull=False)  # true for every contact: what an empty group means, so NOT of it means nobody
NEVER = Q(pk__isnull=True)


@dataclass
class _Compiler:
    """One compilation: the fixed `now`, the fields, the aliases the custom-property lookups need."""

    now: datetime.datetime
    fields: dict[str, schema.Field]
    aliases: dict[str, object] = field(default_factory=dict)
    # Segments being inlined on the way down: a guard against cycles that slipped past validation (a segment
    # edited through another path); validation is the place that explains them.
    stack: tuple[int, ...] = ()

    def group(self, node: dict) -> Q:
        parts = [self.group(child) if "rules" in child else self.rule(child) for child in node["rules"]]
        if not parts:
            q = ALWAYS
        else:
            q = parts[0]
            for part in parts[1:]:
                q = (q | part) if node["op"] == "or" else (q & part)
        return ~q if node.get("negate") else q

    def rule(self, node: dict) -> Q:
        if "event" in node:
            return self.event(node["event"])
        f = self.fields.get(node["field"])
        if f is None:  # a custom property deleted since the segment was saved: it matches nobody
            return NEVER
        operator, value = node["operator"], node.get("value")
        if f.type == schema.LIST:
            q = Q(Exists(ListMembership.objects.filter(contact_list_id=value, contact_id=OuterRef("pk"))))
            return q if operator == "in" else ~q
        if f.type == schema.SEGMENT:
            q = self.segment(value)
            return q if operator == "in" else ~q
        if f.custom_key:
            return self.custom(f, operator, value)
        return self.column(f, operator, value)

    # -- built-in columns -------------------------------------------------------------------------------

    def column(self, f: schema.Field, operator: str, value) -> Q:
        path = f.path
        if f.type == schema.TEXT:
            return self.text(path, operator, value)
        if f.type in (schema.CHOICE, schema.USER):
            if operator == "equals":
                return known(path, Q(**{path: value}))
            if operator == "not_equals":
                return ~known(path, Q(**{path: value}))
            if operator == "in":
                return known(path, Q(**{f"{path}__in": value}))
            if operator == "not_in":
                return ~known(path, Q(**{f"{path}__in": value}))
            return self.emptiness(path, operator, text=f.type == schema.CHOICE)
        if f.type == schema.NUMBER:
            return self.compare(path, operator, value)
        if f.type == schema.DATETIME:
            return self.moment(path, operator, value)
        raise AssertionError(f"no column compiler for {f.type}")

    def text(self, path: str, operator: str, value) -> Q:
        # Case-insensitive throughout: a marketer typing "SaaS" means the industry however it was written.
        if operator == "equals":
            return known(path, Q(**{f"{path}__iexact": value}))
        if operator == "not_equals":
            return ~known(path, Q(**{f"{path}__iexact": value}))
        if operator == "contains":
            return known(path, Q(**{f"{path}__icontains": value}))
        if operator == "not_contains":
            return ~known(path, Q(**{f"{path}__icontains": value}))
        if operator == "starts_with":
            return known(path, Q(**{f"{path}__istartswith": value}))
        if operator == "in":
            alias = self.alias(Lower(F(path)))
            return Q(**{f"{alias}__isnull": False, f"{alias}__in": sorted({v.lower() for v in value})})
        return self.emptiness(path, operator, text=True)

    def emptiness(self, path: str, operator: str, *, text: bool) -> Q:
        empty = Q(**{f"{path}__isnull": True})
        if text:
            empty |= Q(**{path: ""})
        return empty if operator == "is_empty" else ~empty

    def compare(self, path: str, operator: str, value) -> Q:
        if operator in ("is_empty", "is_not_empty"):
            return self.emptiness(path, operator, text=False)
        if operator == "between":
            return known(path, Q(**{f"{path}__gte": value[0], f"{path}__lte": value[1]}))
        if operator == "not_equals":
            return ~known(path, Q(**{path: value}))
        lookup = {"equals": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}[operator]
        return known(path, Q(**{f"{path}__{lookup}": value}))

    def moment(self, path: str, operator: str, value) -> Q:
        if operator in ("is_empty", "is_not_empty"):
            return self.emptiness(path, operator, text=False)
        if operator == "within_last_days":
            return known(path, Q(**{f"{path}__gte": self.now - datetime.timedelta(days=value)}))
        if operator == "more_than_days_ago":
            return known(path, Q(**{f"{path}__lt": self.now - datetime.timedelta(days=value)}))
        # Calendar days in the site's time zone: "after 2026-03-01" starts at midnight of the 2nd.
        if operator == "after":
            return known(path, Q(**{f"{path}__gte": day_start(value, 1)}))
        if operator == "before":
            return known(path, Q(**{f"{path}__lt": day_start(value)}))
        return known(path, Q(**{f"{path}__gte": day_start(value[0]), f"{path}__lt": day_start(value[1], 1)}))

    # -- custom properties (JSON) -----------------------------------------------------------------------

    def custom(self, f: schema.Field, operator: str, value) -> Q:
        key = f.custom_key
        if operator in ("is_empty", "is_not_empty"):
            alias = self.alias(Cast(KeyTextTransform(key, "custom"), TextField()))
            empty = Q(**{f"{alias}__isnull": True}) | Q(**{alias: ""})
            return empty if operator == "is_empty" else ~empty
        if f.type == schema.BOOLEAN:
            return self.guarded(KeyTransform(key, "custom"), "exact", operator == "is_true")
        if f.type == schema.NUMBER:
            expression = KeyTransform(key, "custom")
            if operator == "between":
                return self.guarded(expression, "gte", value[0]) & self.guarded(expression, "lte", value[1])
            if operator == "not_equals":
                return ~self.guarded(expression, "exact", value)
            lookup = {"equals": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}[operator]
            return self.guarded(expression, lookup, value)
        text = Cast(KeyTextTransform(key, "custom"), TextField())
        if f.type == schema.DATE:
            # Stored as ISO text (crm.properties), so text order is date order.
            today = timezone.localdate(self.now)
            if operator == "within_last_days":
                return self.guarded(text, "gte", (today - datetime.timedelta(days=value)).isoformat())
            if operator == "more_than_days_ago":
                return self.guarded(text, "lt", (today - datetime.timedelta(days=value)).isoformat())
            if operator == "after":
                return self.guarded(text, "gt", value)
            if operator == "before":
                return self.guarded(text, "lt", value)
            return self.guarded(text, "gte", value[0]) & self.guarded(text, "lte", value[1])
        if f.type == schema.CHOICE:
            if operator in ("equals", "not_equals"):
                q = self.guarded(text, "exact", value)
            else:
                q = self.guarded(text, "in", value)
            return ~q if operator in ("not_equals", "not_in") else q
        # Text.
        if operator == "in":
            return self.guarded(Lower(text), "in", sorted({v.lower() for v in value}))
        lookup, negated = {
            "equals": ("iexact", False),
            "not_equals": ("iexact", True),
            "contains": ("icontains", False),
            "not_contains": ("icontains", True),
            "starts_with": ("istartswith", False),
        }[operator]
        q = self.guarded(text, lookup, value)
        return ~q if negated else q

    def guarded(self, expression, lookup: str, value) -> Q:
        """`expression <lookup> value`, false (not unknown) where the expression is NULL."""
        alias = self.alias(expression)
        return Q(**{f"{alias}__isnull": False, f"{alias}__{lookup}": value})

    def alias(self, expression) -> str:
        # The alias names are ours ("seg_0", "seg_1", ...): user input never becomes a lookup path.
        name = f"seg_{len(self.aliases)}"
        self.aliases[name] = expression
        return name

    # -- activity and other segments --------------------------------------------------------------------

    def event(self, node: dict) -> Q:
        # One uncorrelated set of contact ids per condition: the (kind, occurred_at) index finds the matching
        # touches (a window of one kind is a small slice of the table), and the database hashes the ids once.
        # A correlated subquery per contact would probe the timeline a million times at 1M contacts.
        # contact_id IS NOT NULL keeps NOT IN two-valued (company-only touches have no contact).
        touches = matching_touches(node, now=self.now)
        if node.get("since") == "last_sales_call":
            # The contact's latest logged call or meeting, read from the top of the (contact, -occurred_at)
            # index; a contact never called has no such time, and NULL compares false: they do not match.
            last_call = (
                Touchpoint.objects.filter(contact_id=OuterRef("contact_id"), kind__in=schema.SALES_CALL_KINDS)
                .order_by("-occurred_at")
                .values("occurred_at")[:1]
            )
            touches = touches.filter(occurred_at__gt=Subquery(last_call))
        count = node.get("min_count", 1)
        ids = touches.order_by().values("contact_id")
        if count > 1:
            ids = ids.annotate(seg_n=Count("id")).filter(seg_n__gte=count).values("contact_id")
        return Q(pk__in=ids)

    def segment(self, segment_id: int) -> Q:
        if segment_id in self.stack:
            return NEVER
        definition = Segment.objects.filter(pk=segment_id).values_list("definition", flat=True).first()
        if definition is None:
            return NEVER
        inner = _Compiler(now=self.now, fields=self.fields, stack=(*self.stack, segment_id))
        q = inner.group(schema.validate_definition(definition, fields=self.fields, stored=True))
        return Q(pk__in=Contact.objects.alias(**inner.aliases).filter(q).values("pk"))


def matching_touches(node: dict, *, now: datetime.datetime) -> QuerySet:
    """The touches (with a contact) an activity condition's filter selects: kinds, campaign, address, window.

    Shared with lead scoring, whose engagement rules are this filter with points (scoring/rules.py).
    "since" and "min_count" are per contact and stay with the caller.
    """
    touches = Touchpoint.objects.filter(kind__in=node["kinds"], contact_id__isnull=False)
    if node.get("campaign") is not None:
        touches = touches.filter(campaign_id=node["campaign"])
    if node.get("url_contains"):
        touches = touches.alias(seg_url=Cast(KeyTextTransform("url", "details"), TextField())).filter(
            seg_url__icontains=node["url_contains"]
        )
    if node.get("within_days"):
        touches = touches.filter(occurred_at__gte=now - datetime.timedelta(days=node["within_days"]))
    return touches


def day_start(iso_day: str, plus_days: int = 0) -> datetime.datetime:
    day = datetime.date.fromisoformat(iso_day) + datetime.timedelta(days=plus_days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _definition_of(definition_or_segment) -> dict:
    if isinstance(definition_or_segment, Segment):
        return definition_or_segment.definition or schema.empty_definition()
    if isinstance(definition_or_segment, int):
        return Segment.objects.values_list("definition", flat=True).get(pk=definition_or_segment)
    return definition_or_segment


def matching(definition_or_segment, *, now: datetime.datetime | None = None, validate: bool = True) -> QuerySet:
    """The contacts matching a definition (or a Segment / its id), as an unevaluated queryset."""
    definition = _definition_of(definition_or_segment)
    fields = schema.all_fields()
    if validate:
        stored = isinstance(definition_or_segment, Segment | int)
        segment_id = definition_or_segment.pk if isinstance(definition_or_segment, Segment) else None
        definition = schema.validate_definition(definition, segment_id=segment_id, fields=fields, stored=stored)
    compiler = _Compiler(now=now or timezone.now(), fields=fields)
    if isinstance(definition_or_segment, Segment) and definition_or_segment.pk:
        compiler.stack = (definition_or_segment.pk,)
    q = compiler.group(definition)
    return Contact.objects.alias(**compiler.aliases).filter(q)


def segment_sql(definition: dict, *, now: datetime.datetime | None = None) -> tuple[str, list]:
    """SQL selecting one column `contact_id` (each matching contact once) and its parameters."""
    return _ids_sql(matching(definition, now=now))


def count(definition_or_segment, *, now: datetime.datetime | None = None) -> int:
    """How many contacts match: one COUNT query (plus the validation's look-ups of fields, lists and segments)."""
    return matching(definition_or_segment, now=now).count()


def members(segment) -> QuerySet:
    """The segment's contacts as a Contact queryset, for keyset pages (`order_by("-id")`) and exports."""
    return matching(segment)


def record_count(segment: Segment, value: int | None = None) -> int:
    """Count the segment and remember the figure for list pages (which never recount)."""
    value = count(segment) if value is None else value
    now = timezone.now()
    Segment.objects.filter(pk=segment.pk).update(last_count=value, counted_at=now)
    segment.last_count, segment.counted_at = value, now
    return value


def _id(value) -> int:
    return value.pk if hasattr(value, "pk") else int(value)


def audience_queryset(
    *,
    include_segments: Iterable = (),
    include_lists: Iterable = (),
    exclude_segments: Iterable = (),
    exclude_lists: Iterable = (),
    now: datetime.datetime | None = None,
) -> QuerySet:
    """Contacts in any included segment or list and in no excluded one, as one queryset."""
    now = now or timezone.now()
    aliases: dict[str, object] = {}

    def union(segments, lists) -> Q | None:
        parts = []
        for seg in segments:
            seg = seg if isinstance(seg, Segment) else Segment.objects.get(pk=_id(seg))
            compiler = _Compiler(now=now, fields=schema.all_fields(), stack=(seg.pk,))
            compiler.aliases = aliases  # one shared alias space for the whole audience
            compiler.stack = (seg.pk,)
            clean = schema.validate_definition(seg.definition or {}, fields=compiler.fields, stored=True)
            parts.append(compiler.group(clean))
        list_ids = sorted({_id(x) for x in lists})
        if list_ids:
            parts.append(
                Q(Exists(ListMembership.objects.filter(contact_list_id__in=list_ids, contact_id=OuterRef("pk"))))
            )
        if not parts:
            return None
        q = parts[0]
        for part in parts[1:]:
            q |= part
        return q

    include = union(include_segments, include_lists)
    exclude = union(exclude_segments, exclude_lists)
    q = include if include is not None else NEVER
    if exclude is not None:
        q &= ~exclude
    return Contact.objects.alias(**aliases).filter(q)


def audience_sql(
    *,
    include_segments: Iterable = (),
    include_lists: Iterable = (),
    exclude_segments: Iterable = (),
    exclude_lists: Iterable = (),
    now: datetime.datetime | None = None,
) -> tuple[str, list]:
    """SQL selecting `contact_id` (distinct) of a campaign audience, and its parameters.

    Arguments are Segment / ContactList instances or ids. Nothing included means nobody. Meant for
    `INSERT INTO ... SELECT` and `id IN (...)`; run it through Django's `connection.cursor()`.
    """
    return _ids_sql(
        audience_queryset(
            include_segments=include_segments,
            include_lists=include_lists,
            exclude_segments=exclude_segments,
            exclude_lists=exclude_lists,
            now=now,
        )
    )


def _ids_sql(qs: QuerySet) -> tuple[str, list]:
    from django.core.exceptions import EmptyResultSet

    try:
        sql, params = qs.values(contact_id=F("pk")).query.sql_with_params()
    except EmptyResultSet:
        # Django refuses to write SQL for a condition it knows is empty; callers still want valid SQL.
        table = connection.ops.quote_name(Contact._meta.db_table)
        return f"SELECT {table}.id AS contact_id FROM {table} WHERE 1 = 0", []
    return sql, list(params)


def list_member_count(contact_list: ContactList) -> int:
    return ListMembership.objects.filter(contact_list=contact_list).count()
