"""Read helpers shared by every app: prefix search and keyset pagination."""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection
from django.db.models import Q, QuerySet


def prefix_q(field: str, prefix: str) -> Q:
    """Rows whose `field` starts with `prefix`, in a form each database answers from a plain index.

    PostgreSQL: LIKE 'x%' uses the varchar_pattern_ops index Django adds for indexed CharFields.
    SQLite: LIKE cannot use an index here (Django adds ESCAPE), but a BINARY range can.
    """
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__startswith": prefix})
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\U0010ffff"})


@dataclass(frozen=True)
class SortOption:
    """One allow-listed sort: a label and the model fields it orders by (the last must be unique)."""

    label: str
    fields: tuple[str, ...]  # e.g. ("last_key", "id") or ("-id",)


def _encode(values: list) -> str:
    def conv(v):
        if isinstance(v, datetime):
            return {"dt": v.isoformat()}
        if isinstance(v, date):
            return {"d": v.isoformat()}
        if isinstance(v, Decimal):
            return {"dec": str(v)}
        if isinstance(v, uuid.UUID):
            return str(v)
        return v

    raw = json.dumps([conv(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> list | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(values, list):
        return None
    out = []
    for v in values:
        if isinstance(v, dict) and "dt" in v:
            try:
                v = datetime.fromisoformat(v["dt"])
            except (TypeError, ValueError):
                return None
        elif isinstance(v, dict) and "d" in v:
            try:
                v = date.fromisoformat(v["d"])
            except (TypeError, ValueError):
                return None
        elif isinstance(v, dict) and "dec" in v:
            try:
                v = Decimal(v["dec"])
            except ArithmeticError:
                return None
        elif not (v is None or isinstance(v, str | int | float)):
            return None
        out.append(v)
    return out


def _typed(model, fields: tuple[str, ...], values: list | None) -> list | None:
    """The cursor's values converted to the sort fields' types; None (first page) for a tampered cursor."""
    if values is None or len(values) != len(fields):
        return None
    try:
        return [model._meta.get_field(name.lstrip("-")).to_python(v) for name, v in zip(fields, values, strict=True)]
    except (ValidationError, FieldDoesNotExist):
        return None


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    has_previous: bool


def keyset_page(qs: QuerySet, sort: SortOption, cursor: str | None, size: int) -> Page:
    """One page after `cursor`, ordered by `sort`. Never counts the table.

    The last sort field must be unique (the primary key). A nullable first field (a contact's last touch, a
    deal's close date) sorts its NULLs last in both directions: the rows with a value are read first, then,
    once they run out, the rows without one by the remaining fields. Each part is an index range, and the
    databases disagree on where NULLs sort, so neither part leaves it to them.
    """
    fields = sort.fields
    after = _typed(qs.model, fields, _decode(cursor)) if cursor else None
    first = fields[0].lstrip("-")
    if qs.model._meta.get_field(first).null:
        rows = _nulls_last_rows(qs, fields, after, size + 1)
    else:
        rows = list(_after(qs.order_by(*fields), fields, after)[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = _encode([getattr(last, name.lstrip("-")) for name in fields])
    return Page(rows=rows, next_cursor=next_cursor, has_previous=bool(after))


def _after(qs: QuerySet, fields: tuple[str, ...], after: list | None) -> QuerySet:
    """`qs` narrowed to the rows after the cursor values `after` in the order of `fields` (None: all)."""
    if after is None:
        return qs
    # (a, b) > (x, y)  ==  a > x OR (a = x AND b > y), with > flipped for descending fields.
    condition = Q()
    equal = Q()
    for name, value in zip(fields, after, strict=True):
        column = name.lstrip("-")
        op = "lt" if name.startswith("-") else "gt"
        condition |= equal & Q(**{f"{column}__{op}": value})
        equal &= Q(**{column: value})
    # The redundant bound on the first field lets the database start its index scan at the cursor
    # instead of filtering every row before it.
    first = fields[0]
    bound = "lte" if first.startswith("-") else "gte"
    return qs.filter(Q(**{f"{first.lstrip('-')}__{bound}": after[0]}), condition)


def _nulls_last_rows(qs: QuerySet, fields: tuple[str, ...], after: list | None, limit: int) -> list:
    first = fields[0].lstrip("-")
    without = qs.filter(**{f"{first}__isnull": True}).order_by(*fields[1:])
    if after is not None and after[0] is None:  # the cursor is already among the rows without a value
        return list(_after(without, fields[1:], after[1:])[:limit])
    valued = qs.filter(**{f"{first}__isnull": False}).order_by(*fields)
    rows = list(_after(valued, fields, after)[:limit])
    if len(rows) < limit:
        rows += list(without[: limit - len(rows)])
    return rows


def union_keyset_ids(model, conditions: list[Q], sort: SortOption, cursor: str | None, limit: int) -> list:
    """The primary keys of the first `limit` rows after `cursor`, in `sort` order, among the rows matching any of
    `conditions` (nothing else: no access rule, no filter).

    Each condition is read on its own and the reads are combined with UNION, so each can be an index-only range
    of an index carrying the sort's columns; an OR would make the database read every matching row from the
    table. NULLs of a nullable first field come last, as in `keyset_page`.
    """
    fields = sort.fields
    after = _typed(model, fields, _decode(cursor)) if cursor else None
    columns = list(dict.fromkeys([model._meta.pk.name, *(name.lstrip("-") for name in fields)]))
    first = fields[0].lstrip("-")

    def first_ids(narrow: Q, order: tuple[str, ...], after_values: list | None, n: int) -> list:
        reads = [
            _after(model.objects.filter(condition, narrow), order, after_values).order_by().values_list(*columns)
            for condition in conditions
        ]
        combined = reads[0].union(*reads[1:]) if len(reads) > 1 else reads[0].order_by(*order)
        return [row[0] for row in combined.order_by(*order)[:n]]

    if not model._meta.get_field(first).null:
        return first_ids(Q(), fields, after, limit)
    if after is not None and after[0] is None:
        return first_ids(Q(**{f"{first}__isnull": True}), fields[1:], after[1:], limit)
    ids = first_ids(Q(**{f"{first}__isnull": False}), fields, after, limit)
    if len(ids) < limit:
        ids += first_ids(Q(**{f"{first}__isnull": True}), fields[1:], None, limit - len(ids))
    return ids


def capped_count(qs: QuerySet, cap: int) -> int:
    """How many rows `qs` has, counting at most cap + 1 of them: an exact figure when it is small, and a
    bounded cost when it is not (COUNT over a LIMIT subquery reads cap + 1 index entries, not the table)."""
    return qs.order_by().values("pk")[: cap + 1].count()


def parse_ids(values: list[str], limit: int) -> list[int]:
    """Record ids ticked on a page (POSTed as strings): the valid ones, deduplicated and sorted; at most
    `limit` are read, which only bounds hostile posts. Anything that is not a plain positive number is dropped."""
    ids = {int(raw) for raw in values[:limit] if raw.isascii() and raw.isdigit() and len(raw) < 19}
    return sorted(ids)
