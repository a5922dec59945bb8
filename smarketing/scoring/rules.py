"""What a scoring rule's condition may say, checked and normalized, and compiled to SQL by the segment engine.

There is no second condition engine here: a fit condition IS a segment definition (one rule or a small tree),
validated by `segments.schema.validate_definition` and compiled by `segments.queries.matching`; an engagement
condition IS the touch filter of a segment's activity condition (kinds, campaign, address contains, in the last
N days), validated by the same schema and selected by `segments.queries.matching_touches`. What scoring adds
is the points, `max_times`, the decay and the caps (scoring/recompute.py).
"""

import datetime

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from smarketing.scoring.models import Dimension
from smarketing.segments import queries as segment_queries
from smarketing.segments import schema

# A rule is one condition, not a segment: keep it small enough to read in a list of rules.
MAX_FIT_RULES = 10
MAX_POINTS = 1000
MAX_TIMES = 1000
ENGAGEMENT_KEYS = {"kinds", "campaign", "url_contains", "within_days"}


def validate_condition(dimension: str, condition) -> dict:
    """The clean condition, or ValidationError with a sentence for the rule form."""
    if dimension == Dimension.FIT:
        return validate_fit(condition)
    if dimension == Dimension.ENGAGEMENT:
        return validate_engagement(condition)
    raise ValidationError("A rule is about fit or engagement.")


def validate_fit(condition) -> dict:
    """A segments rule ({"field", "operator", "value"}) or a small definition; stored as a definition."""
    if not isinstance(condition, dict) or not condition:
        raise ValidationError("Choose a condition on the contact.")
    definition = condition if "rules" in condition else {"op": "and", "rules": [condition]}
    clean = schema.validate_definition(definition)
    if not clean["rules"]:
        raise ValidationError("Choose a condition on the contact.")
    if _count_rules(clean) > MAX_FIT_RULES:
        raise ValidationError(f"A fit rule has at most {MAX_FIT_RULES} conditions; use a segment for more.")
    return clean


def validate_engagement(condition) -> dict:
    """A touch filter: {"kinds": [...], "url_contains": "/pricing", "campaign": id, "within_days": n}."""
    if not isinstance(condition, dict):
        raise ValidationError("Choose the kinds of activity that score.")
    unknown = set(condition) - ENGAGEMENT_KEYS
    if unknown:
        raise ValidationError(f"Unknown key in an engagement rule: {', '.join(sorted(unknown))}.")
    clean = schema.validate_definition({"op": "and", "rules": [{"event": condition}]})["rules"][0]["event"]
    clean.pop("min_count", None)  # max_times is the rule's own limit; "at least" means nothing per touch
    return clean


def _count_rules(node: dict) -> int:
    return sum(_count_rules(child) if "rules" in child else 1 for child in node["rules"])


def fit_contacts(condition: dict, *, now: datetime.datetime) -> QuerySet:
    """The contacts a (clean) fit condition matches, as the segment engine's queryset."""
    return segment_queries.matching(condition, now=now, validate=False)


def engagement_touches(condition: dict, *, now: datetime.datetime) -> QuerySet:
    """The touches a (clean) engagement condition matches."""
    return segment_queries.matching_touches(condition, now=now)


def describe(dimension: str, condition: dict) -> str:
    """The condition in words for the rule list: "Page viewed, address contains /pricing"."""
    if dimension == Dimension.ENGAGEMENT:
        labels = schema.event_kinds()
        words = " or ".join(labels.get(k, k) for k in condition.get("kinds", []))
        if condition.get("url_contains"):
            words += f", address contains {condition['url_contains']}"
        if condition.get("campaign"):
            words += f", campaign #{condition['campaign']}"
        if condition.get("within_days"):
            words += f", in the last {condition['within_days']} days"
        return words
    fields = schema.all_fields()
    return _describe_group(condition, fields)


def _describe_group(node: dict, fields) -> str:
    parts = []
    for child in node.get("rules", []):
        if "rules" in child:
            parts.append(f"({_describe_group(child, fields)})")
        elif "event" in child:
            parts.append("activity: " + describe(Dimension.ENGAGEMENT, child["event"]))
        else:
            f = fields.get(child.get("field"))
            label = f.label if f else child.get("field", "?")
            operator = f.operators.get(child.get("operator"), child.get("operator")) if f else child.get("operator")
            value = child.get("value")
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            parts.append(f"{label} {operator}" + ("" if value in (None, "") else f" {value}"))
    joined = f" {node.get('op', 'and')} ".join(parts)
    return f"not ({joined})" if node.get("negate") else joined
