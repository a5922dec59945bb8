"""The segment definition schema: what a stored condition tree may contain, and the check that enforces it.

A definition is plain JSON:

    {"op": "and" | "or", "negate": false, "rules": [rule | group, ...]}

    rule   = {"field": "lifecycle_stage", "operator": "in", "value": ["mql", "sql"]}
           | {"field": "custom.plan", "operator": "equals", "value": "pro"}
           | {"field": "list", "operator": "in", "value": 12}            (static list membership)
           | {"field": "segment", "operator": "not_in", "value": 3}      (another segment; no cycles)
           | {"event": {"kinds": ["email_clicked"], "campaign": null, "url_contains": null,
                        "min_count": 2, "within_days": 30}}              (or "since": "last_sales_call")

Every field and operator comes from the allow-lists below; values are type-checked and normalized here, so
the compiler (`segments.queries`) only ever sees a clean tree. The errors are sentences a marketer reads in
the builder ("Fit score: 'abc' is not a number."), not stack traces.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from smarketing.crm.models import ConsentStatus, LeadStatus, LifecycleStage, ObjectType, PropertyDefinition

# Guards against definitions that are valid but absurd (a pasted API payload, a runaway script): the SQL stays
# small enough for the planner and the builder stays usable.
MAX_DEPTH = 5
MAX_RULES = 100
MAX_TEXT = 200
MAX_VALUES = 500
MAX_DAYS = 3650
MAX_COUNT = 10_000

TEXT, CHOICE, USER, NUMBER, DATETIME, DATE, BOOLEAN, LIST, SEGMENT = (
    "text",
    "choice",
    "user",
    "number",
    "datetime",
    "date",
    "boolean",
    "list",
    "segment",
)

OPERATORS: dict[str, dict[str, str]] = {
    TEXT: {
        "equals": "is",
        "not_equals": "is not",
        "contains": "contains",
        "not_contains": "does not contain",
        "starts_with": "starts with",
        "in": "is any of",
        "is_empty": "is empty",
        "is_not_empty": "is not empty",
    },
    CHOICE: {
        "equals": "is",
        "not_equals": "is not",
        "in": "is any of",
        "not_in": "is none of",
        "is_empty": "is empty",
        "is_not_empty": "is not empty",
    },
    USER: {
        "equals": "is",
        "not_equals": "is not",
        "in": "is any of",
        "not_in": "is none of",
        "is_empty": "is nobody",
        "is_not_empty": "is someone",
    },
    NUMBER: {
        "equals": "=",
        "not_equals": "≠",
        "gt": ">",
        "gte": "≥",
        "lt": "<",
        "lte": "≤",
        "between": "between",
        "is_empty": "is empty",
        "is_not_empty": "is not empty",
    },
    DATETIME: {
        "within_last_days": "in the last N days",
        "more_than_days_ago": "more than N days ago",
        "after": "after",
        "before": "before",
        "between": "between",
        "is_empty": "is empty",
        "is_not_empty": "is not empty",
    },
    BOOLEAN: {"is_true": "is yes", "is_false": "is no", "is_empty": "is empty", "is_not_empty": "is not empty"},
    LIST: {"in": "is on list", "not_in": "is not on list"},
    SEGMENT: {"in": "is in segment", "not_in": "is not in segment"},
}
OPERATORS[DATE] = OPERATORS[DATETIME]
# Operators that take no value.
NO_VALUE = {"is_empty", "is_not_empty", "is_true", "is_false"}


@dataclass(frozen=True)
class Field:
    """One field a rule may test: its key in the definition, its label, its type and, for choices, the options."""

    key: str
    label: str
    type: str
    group: str = "Contact"
    choices: tuple[tuple[str, str], ...] = ()
    # The ORM path the compiler reads (from the contact); custom properties use `custom_key` instead.
    path: str = ""
    custom_key: str = ""

    @property
    def operators(self) -> dict[str, str]:
        return OPERATORS[self.type]


BUILTIN_FIELDS: list[Field] = [
    Field("email", "Email", TEXT, path="email"),
    Field("first_name", "First name", TEXT, path="first_name"),
    Field("last_name", "Last name", TEXT, path="last_name"),
    Field("title", "Job title", TEXT, path="title"),
    Field("lifecycle_stage", "Lifecycle stage", CHOICE, choices=tuple(LifecycleStage.choices), path="lifecycle_stage"),
    Field("lead_status", "Lead status", CHOICE, choices=tuple(LeadStatus.choices), path="lead_status"),
    Field("owner", "Owner", USER, path="owner_id"),
    Field("first_source", "First source", TEXT, path="first_source"),
    Field("consent_status", "Consent", CHOICE, choices=tuple(ConsentStatus.choices), path="consent_status"),
    Field("fit_score", "Fit score", NUMBER, path="fit_score"),
    Field("engagement_score", "Engagement score", NUMBER, path="engagement_score"),
    Field("created_at", "Created", DATETIME, path="created_at"),
    Field("last_touch_at", "Last touch", DATETIME, path="last_touch_at"),
    Field("time_zone", "Time zone", TEXT, path="time_zone"),
    Field("company.industry", "Industry", TEXT, group="Company", path="company__industry"),
    Field("company.country", "Country", TEXT, group="Company", path="company__country"),
    Field("company.employees", "Employees", NUMBER, group="Company", path="company__employees"),
    Field("list", "Static list", LIST, group="Membership"),
    Field("segment", "Segment", SEGMENT, group="Membership"),
]
BUILTIN = {f.key: f for f in BUILTIN_FIELDS}

CUSTOM_TYPES = {
    PropertyDefinition.Type.TEXT: TEXT,
    PropertyDefinition.Type.NUMBER: NUMBER,
    PropertyDefinition.Type.DATE: DATE,
    PropertyDefinition.Type.CHOICE: CHOICE,
    PropertyDefinition.Type.BOOLEAN: BOOLEAN,
}

# "since their last sales call": touches after the contact's latest logged call or meeting.
SALES_CALL_KINDS = ("call_logged", "meeting_logged")
SINCE_CHOICES = {"last_sales_call": "since their last sales call"}


def custom_fields(definitions=None) -> list[Field]:
    """The contact's custom properties as fields (the JSON key comes from the definition row, never a request)."""
    if definitions is None:
        definitions = PropertyDefinition.objects.filter(object_type=ObjectType.CONTACT)
    return [
        Field(
            f"custom.{d.key}",
            d.label,
            CUSTOM_TYPES[d.type],
            group="Custom properties",
            choices=tuple((str(c), str(c)) for c in d.choices) if d.type == PropertyDefinition.Type.CHOICE else (),
            custom_key=d.key,
        )
        for d in definitions
        if d.type in CUSTOM_TYPES
    ]


def all_fields(definitions=None) -> dict[str, Field]:
    return {**BUILTIN, **{f.key: f for f in custom_fields(definitions)}}


def event_kinds() -> dict[str, str]:
    """Every touchpoint kind an event condition may name (the timeline's catalogue), key → label."""
    from smarketing.timeline.kinds import kind_labels

    return kind_labels()


def empty_definition() -> dict:
    return {"op": "and", "negate": False, "rules": []}


class _Checker:
    """One validation pass: collects the fields once, counts rules, and remembers segments it referenced."""

    def __init__(self, *, fields: dict[str, Field] | None, segment_id: int | None):
        self.fields = fields if fields is not None else all_fields()
        self.segment_id = segment_id
        self.rules = 0
        self.lists: set[int] = set()
        self.segments: set[int] = set()
        self.kinds: dict[str, str] | None = None

    def group(self, node, depth: int) -> dict:
        if not isinstance(node, dict):
            raise ValidationError("A group must be an object with op and rules.")
        if depth > MAX_DEPTH:
            raise ValidationError(f"Groups may nest at most {MAX_DEPTH} levels deep.")
        unknown = set(node) - {"op", "negate", "not", "rules"}
        if unknown:
            raise ValidationError(f"Unknown key in a group: {', '.join(sorted(unknown))}.")
        op = node.get("op", "and")
        if op not in ("and", "or"):
            raise ValidationError(f"A group combines its rules with 'and' or 'or', not {op!r}.")
        negate = node.get("negate", node.get("not", False))
        if not isinstance(negate, bool):
            raise ValidationError("'negate' is true or false.")
        rules = node.get("rules", [])
        if not isinstance(rules, list):
            raise ValidationError("A group's rules are a list.")
        clean = []
        for child in rules:
            if isinstance(child, dict) and "rules" in child:
                clean.append(self.group(child, depth + 1))
            else:
                clean.append(self.rule(child))
        return {"op": op, "negate": negate, "rules": clean}

    def rule(self, node) -> dict:
        self.rules += 1
        if self.rules > MAX_RULES:
            raise ValidationError(f"A segment has at most {MAX_RULES} conditions.")
        if not isinstance(node, dict):
            raise ValidationError("A condition must be an object.")
        if "event" in node:
            if set(node) != {"event"}:
                raise ValidationError("An activity condition has only the 'event' key.")
            return {"event": self.event(node["event"])}
        unknown = set(node) - {"field", "operator", "value"}
        if unknown:
            raise ValidationError(f"Unknown key in a condition: {', '.join(sorted(unknown))}.")
        key = node.get("field")
        field = self.fields.get(key) if isinstance(key, str) else None
        if field is None:
            raise ValidationError(f"Unknown field {key!r}.")
        operator = node.get("operator")
        if operator not in field.operators:
            allowed = ", ".join(field.operators)
            raise ValidationError(f"{field.label}: unknown operator {operator!r} (use one of {allowed}).")
        rule = {"field": key, "operator": operator}
        if operator not in NO_VALUE:
            rule["value"] = self.value(field, operator, node.get("value"))
        return rule

    def value(self, field: Field, operator: str, raw):
        label = field.label
        if field.type in (LIST, SEGMENT):
            ident = _integer(raw, f"{label}: choose a {'list' if field.type == LIST else 'segment'}.")
            (self.lists if field.type == LIST else self.segments).add(ident)
            return ident
        if operator in ("in", "not_in"):
            if not isinstance(raw, list) or not raw:
                raise ValidationError(f"{label}: choose at least one value.")
            if len(raw) > MAX_VALUES:
                raise ValidationError(f"{label}: at most {MAX_VALUES} values.")
            return sorted({self.scalar(field, item) for item in raw}, key=str)
        if operator == "between":
            if not isinstance(raw, list) or len(raw) != 2:
                raise ValidationError(f"{label}: 'between' needs two values, from and to.")
            low, high = (self.scalar(field, item, operator) for item in raw)
            if low > high:
                raise ValidationError(f"{label}: the first value of 'between' must not be above the second.")
            return [low, high]
        if operator in ("within_last_days", "more_than_days_ago"):
            days = _integer(raw, f"{label}: {raw!r} is not a number of days.")
            if not 0 < days <= MAX_DAYS:
                raise ValidationError(f"{label}: a number of days from 1 to {MAX_DAYS}.")
            return days
        return self.scalar(field, raw, operator)

    def scalar(self, field: Field, raw, operator: str = ""):
        label = field.label
        if field.type == TEXT:
            if not isinstance(raw, (str, int)) or isinstance(raw, bool):
                raise ValidationError(f"{label}: enter some text.")
            value = str(raw).strip()
            if not value:
                raise ValidationError(f"{label}: enter some text (or use 'is empty').")
            if len(value) > MAX_TEXT:
                raise ValidationError(f"{label}: at most {MAX_TEXT} characters.")
            return value
        if field.type == CHOICE:
            allowed = {str(value): text for value, text in field.choices}
            if not isinstance(raw, str) or raw not in allowed:
                raise ValidationError(f"{label}: {raw!r} is not one of {', '.join(allowed.values())}.")
            return raw
        if field.type == USER:
            return _integer(raw, f"{label}: choose a user.")
        if field.type == NUMBER:
            if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
                raise ValidationError(f"{label}: {raw!r} is not a number.")
            try:
                number = Decimal(str(raw).strip())
            except InvalidOperation:
                raise ValidationError(f"{label}: {raw!r} is not a number.") from None
            if not number.is_finite() or abs(number) >= Decimal("1e15"):
                raise ValidationError(f"{label}: {raw!r} is out of range.")
            return int(number) if number == number.to_integral_value() else float(number)
        if field.type in (DATETIME, DATE):
            if not isinstance(raw, str):
                raise ValidationError(f"{label}: {raw!r} is not a date (use YYYY-MM-DD).")
            try:
                return datetime.date.fromisoformat(raw.strip()[:10]).isoformat()
            except ValueError:
                raise ValidationError(f"{label}: {raw!r} is not a date (use YYYY-MM-DD).") from None
        raise ValidationError(f"{label}: this field takes no value.")

    def event(self, node) -> dict:
        if not isinstance(node, dict):
            raise ValidationError("An activity condition must be an object.")
        unknown = set(node) - {"kinds", "campaign", "url_contains", "min_count", "within_days", "since"}
        if unknown:
            raise ValidationError(f"Unknown key in an activity condition: {', '.join(sorted(unknown))}.")
        if self.kinds is None:
            self.kinds = event_kinds()
        kinds = node.get("kinds")
        if isinstance(kinds, str):
            kinds = [kinds]
        if not isinstance(kinds, list) or not kinds:
            raise ValidationError("Activity: choose at least one kind of activity.")
        for kind in kinds:
            if kind not in self.kinds:
                raise ValidationError(f"Activity: unknown kind of activity {kind!r}.")
        clean = {"kinds": sorted(set(kinds)), "campaign": None, "url_contains": None, "min_count": 1}
        campaign = node.get("campaign")
        if campaign not in (None, ""):
            clean["campaign"] = _integer(campaign, "Activity: choose a campaign.")
        url = node.get("url_contains")
        if url not in (None, ""):
            if not isinstance(url, str) or len(url.strip()) > MAX_TEXT:
                raise ValidationError(f"Activity: the address text has at most {MAX_TEXT} characters.")
            clean["url_contains"] = url.strip() or None
        count = node.get("min_count", 1)
        count = _integer(count, f"Activity: {count!r} is not a number of times.")
        if not 1 <= count <= MAX_COUNT:
            raise ValidationError(f"Activity: 'at least' is a number from 1 to {MAX_COUNT}.")
        clean["min_count"] = count
        days, since = node.get("within_days"), node.get("since")
        if days not in (None, "") and since not in (None, ""):
            raise ValidationError("Activity: choose either 'in the last N days' or 'since their last sales call'.")
        if days not in (None, ""):
            days = _integer(days, f"Activity: {days!r} is not a number of days.")
            if not 0 < days <= MAX_DAYS:
                raise ValidationError(f"Activity: a number of days from 1 to {MAX_DAYS}.")
            clean["within_days"] = days
        elif since not in (None, ""):
            if since not in SINCE_CHOICES:
                raise ValidationError(f"Activity: unknown time window {since!r}.")
            clean["since"] = since
        return clean


def _integer(raw, message: str) -> int:
    if isinstance(raw, bool):
        raise ValidationError(message)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw.strip())
    raise ValidationError(message)


def validate_definition(definition, *, segment_id: int | None = None, fields: dict[str, Field] | None = None) -> dict:
    """The normalized definition, or ValidationError with a sentence a marketer understands.

    `segment_id`: the segment being saved, so a rule "in segment X" cannot reach back to it (directly or through
    other segments). Referenced lists and segments must exist.
    """
    from smarketing.segments.models import ContactList

    if definition in (None, ""):
        definition = empty_definition()
    checker = _Checker(fields=fields, segment_id=segment_id)
    clean = checker.group(definition, 1)
    if checker.lists:
        found = set(ContactList.objects.filter(pk__in=checker.lists).values_list("pk", flat=True))
        missing = checker.lists - found
        if missing:
            raise ValidationError(f"Static list {min(missing)} does not exist.")
    if checker.segments:
        _check_segments(checker.segments, segment_id)
    return clean


def referenced_segments(definition: dict) -> set[int]:
    """The ids of the segments a (clean) definition names directly."""
    found: set[int] = set()
    for node in definition.get("rules", []):
        if "rules" in node:
            found |= referenced_segments(node)
        elif node.get("field") == "segment":
            found.add(node["value"])
    return found


def _check_segments(ids: set[int], segment_id: int | None) -> None:
    """Every named segment exists, and following "in segment" rules never leads back to `segment_id`."""
    from smarketing.segments.models import Segment

    if segment_id is not None and segment_id in ids:
        raise ValidationError("A segment cannot include itself.")
    seen: set[int] = set()
    frontier = set(ids)
    first = True
    # Breadth-first over the stored definitions: one query per level, and the depth is bounded by the number
    # of segments (each is visited once).
    while frontier:
        rows = dict(Segment.objects.filter(pk__in=frontier).values_list("pk", "definition"))
        if first and len(rows) < len(frontier):
            raise ValidationError(f"Segment {min(frontier - set(rows))} does not exist.")
        first = False
        seen |= frontier
        following: set[int] = set()
        for definition in rows.values():
            following |= referenced_segments(definition or {})
        if segment_id is not None and segment_id in following:
            raise ValidationError("These segments would include each other in a circle; remove one of the rules.")
        frontier = following - seen
