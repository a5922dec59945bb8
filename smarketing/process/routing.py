"""Who gets a lead: the one routing implementation, used by the handoff and by workflows' "Assign an owner".

- round robin in a team: the member assigned least recently (never assigned first, then by id);
- weighted: the member furthest below their share (assigned count ÷ weight, smallest first); weight 0 opts out;
- rules ("if Country is DE → Jonas"), first match wins, then the team's rotation;
- the account owner first, when the contact's company already has one who can own records.

Members who are away today (RepRouting.away_from … away_until) are skipped. The choice locks the chosen
candidates' RepRouting rows (select_for_update on PostgreSQL; SQLite serializes writers), so concurrent
routings take turns instead of handing two leads to the same person.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

# What a rule may look at, each label read as "<label> <value>" ("Country is DE").
RULE_FIELDS = {
    "company.country": "Country is",
    "company.industry": "Industry is",
    "company.employees_at_least": "Company size is at least",
    "title": "Job title is",
}
MAX_RULES = 50


@dataclass(frozen=True)
class Route:
    """The chosen user (or None) and how, in words for the timeline and the handoff."""

    user: object | None
    how: str


def assignable_users():
    from smarketing.crm.services.common import assignable_users as users

    return users()


def team_members(team_id: int) -> list:
    return list(assignable_users().filter(team_id=team_id).order_by("id"))


def _routing_rows(members: list, *, lock: bool) -> dict:
    from smarketing.process.models import RepRouting

    ids = [m.pk for m in members]
    existing = set(RepRouting.objects.filter(user_id__in=ids).values_list("user_id", flat=True))
    missing = [RepRouting(user_id=pk) for pk in ids if pk not in existing]
    if missing:
        RepRouting.objects.bulk_create(missing, ignore_conflicts=True)
    rows = RepRouting.objects.filter(user_id__in=ids).order_by("user_id")
    if lock:
        rows = rows.select_for_update()
    return {row.user_id: row for row in rows}


def pick(candidates: list[int], *, last_at: dict, counts: dict, weights: dict, weighted: bool) -> int | None:
    """The one round-robin choice among user ids (the handoff's routing and scheduling's team types use it).

    Plain: the least recently chosen (never chosen first, then the lowest id). Weighted: the one furthest below
    their share, chosen count ÷ weight (weight 0 opts out; ties by id). None when nobody is eligible.
    """
    if weighted:
        eligible = [c for c in candidates if weights.get(c, 1) > 0]
        if not eligible:
            return None
        return min(eligible, key=lambda c: (counts.get(c, 0) / weights.get(c, 1), c))
    if not candidates:
        return None
    never = datetime.min.replace(tzinfo=UTC)
    return min(candidates, key=lambda c: (last_at.get(c) or never, c))


def _pick(members: list, rows: dict, *, weighted: bool, today):
    available = {m.pk: m for m in members if not rows[m.pk].is_away(today)}
    chosen = pick(
        list(available),
        last_at={pk: rows[pk].last_assigned_at for pk in available},
        counts={pk: rows[pk].assigned_count for pk in available},
        weights={pk: rows[pk].weight for pk in available},
        weighted=weighted,
    )
    return available.get(chosen)


def next_in_team(team_id: int | None, *, weighted: bool = False, dry: bool = False):
    """The team's next member (see the module's rules), recorded as assigned now unless `dry`."""
    from smarketing.process.models import RepRouting

    if not team_id:
        return None
    members = team_members(team_id)
    if not members:
        return None
    today = timezone.localdate()
    if dry:
        return _pick(members, _routing_rows(members, lock=False), weighted=weighted, today=today)
    with transaction.atomic():
        rows = _routing_rows(members, lock=True)
        chosen = _pick(members, rows, weighted=weighted, today=today)
        if chosen is not None:
            RepRouting.objects.filter(user_id=chosen.pk).update(
                assigned_count=F("assigned_count") + 1, last_assigned_at=timezone.now()
            )
    return chosen


def clean_rules(rules) -> list[dict]:
    """Validate rules from a form, the API or a workflow step; raises ValidationError with the rule's number."""
    from django.core.exceptions import ValidationError

    if not isinstance(rules, list) or not rules:
        raise ValidationError({"rules": "Add at least one rule."})
    if len(rules) > MAX_RULES:
        raise ValidationError({"rules": f"At most {MAX_RULES} rules."})
    owners = set(assignable_users().values_list("pk", flat=True))
    cleaned = []
    for n, rule in enumerate(rules, 1):
        if not isinstance(rule, dict):
            raise ValidationError({"rules": f"Rule {n} is not valid."})
        field = rule.get("field")
        if field not in RULE_FIELDS:
            raise ValidationError({"rules": f"Rule {n}: choose what to look at."})
        value = str(rule.get("value") or "").strip()
        if not value or len(value) > 200:
            raise ValidationError({"rules": f"Rule {n}: give a value of at most 200 characters."})
        if field == "company.employees_at_least" and not value.isdigit():
            raise ValidationError({"rules": f"Rule {n}: company size is a whole number."})
        owner = rule.get("owner")
        try:
            owner = int(owner)
        except (TypeError, ValueError):
            owner = None
        if owner not in owners:
            raise ValidationError({"rules": f"Rule {n}: choose an active user who can own records."})
        cleaned.append({"field": field, "value": value, "owner": owner})
    return cleaned


def rule_matches(rule: dict, contact) -> bool:
    """Does the contact meet the rule? Text compares case-insensitively; size is employees ≥ value."""
    company = contact.company if contact.company_id else None
    field, value = rule["field"], str(rule["value"]).strip()
    if field == "company.employees_at_least":
        return company is not None and company.employees is not None and company.employees >= int(value)
    if field.startswith("company."):
        actual = getattr(company, field.split(".", 1)[1], "") if company is not None else ""
    else:
        actual = getattr(contact, field, "")
    return str(actual or "").strip().casefold() == value.casefold()


def _usable(user_id, today):
    user = assignable_users().filter(pk=user_id).first()
    return None if user is None or is_away(user.pk, today) else user


def route(
    contact,
    *,
    team_id: int | None,
    mode: str = "round_robin",
    rules: list | None = None,
    prefer_account_owner: bool = False,
    dry: bool = False,
) -> Route:
    """Choose the owner for `contact` by the settings given (the handoff's or a workflow step's)."""
    today = timezone.localdate()
    if prefer_account_owner and contact.company_id and contact.company.owner_id:
        owner = _usable(contact.company.owner_id, today)
        if owner is not None:
            return Route(owner, f"the account owner of {contact.company}")
    if mode == "rules":
        for n, rule in enumerate(rules or [], 1):
            if rule_matches(rule, contact):
                user = _usable(rule["owner"], today)
                if user is not None:
                    return Route(user, f"rule {n}: {RULE_FIELDS[rule['field']]} {rule['value']}")
        if not team_id:
            return Route(None, "no rule matched")
    weighted = mode == "weighted"
    user = next_in_team(team_id, weighted=weighted, dry=dry)
    if user is None:
        return Route(None, "nobody in the team is available")
    return Route(user, "weighted round robin" if weighted else "round robin")


def is_away(user_id: int, day) -> bool:
    from smarketing.process.models import RepRouting

    row = RepRouting.objects.filter(user_id=user_id).first()
    return row is not None and row.is_away(day)
