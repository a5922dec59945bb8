"""Cursor pagination for every API list, on top of core.queries.keyset_page.

DRF's CursorPagination positions on the first ordering field only and falls back to offsets for ties (capped
at 1000), which breaks on orderings with many equal values (lifecycle_stage, amount). keyset_page compares the
whole (field, id) tuple instead, so any allow-listed ordering pages correctly and from an index. Lists never
count the table: the response says whether there is a next page, not how many rows exist.
"""

import base64
import binascii
import json

from django.utils.http import urlencode
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from smarketing.api.problems import Problem
from smarketing.core.queries import SortOption, keyset_page

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def sort_options(view) -> dict[str, SortOption]:
    """The allow-listed values of ?ordering= for `view`: each field ascending and descending, then by id.

    Every field named in view.ordering_fields must be NOT NULL (keyset comparisons need total order).
    """
    options = {"id": SortOption("id", ("id",)), "-id": SortOption("-id", ("-id",))}
    for name, field in view.ordering_fields.items():
        options[name] = SortOption(name, (field, "id"))
        options[f"-{name}"] = SortOption(f"-{name}", (f"-{field}", "-id"))
    return options


def ordering_of(request, view) -> str:
    value = request.query_params.get("ordering")
    value = view.default_ordering if value is None else value  # "?ordering=" is refused, like any unknown value
    if value not in sort_options(view):
        allowed = ", ".join(sort_options(view))
        raise Problem(
            400,
            "validation-error",
            f"Unknown ordering {value[:50]!r}.",
            {"ordering": [f"Choose one of: {allowed}."]},
        )
    return value


def _encode(ordering: str, inner: str) -> str:
    raw = json.dumps([ordering, inner], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, ordering: str) -> str:
    """The keyset cursor inside `cursor`; a cursor made for another ordering is refused, not misapplied."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, inner = json.loads(raw)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        made_for, inner = None, None
    if made_for != ordering or not isinstance(inner, str):
        raise Problem(
            400,
            "validation-error",
            "This cursor is invalid or was made for another ordering.",
            {"cursor": ["Use the `next` link of the previous page with the same ordering."]},
        )
    return inner


class KeysetCursorPagination(BasePagination):
    """?cursor=<opaque>&limit=<1..500>&ordering=<allow-listed>; the response carries the `next` link."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        ordering = ordering_of(request, view)
        limit = self._limit(request)
        cursor = request.query_params.get("cursor")
        inner = _decode(cursor, ordering) if cursor else None
        page = keyset_page(queryset, sort_options(view)[ordering], inner, limit)
        self.next_link = None
        if page.next_cursor:
            params = request.query_params.copy()
            params["cursor"] = _encode(ordering, page.next_cursor)
            params["ordering"] = ordering
            self.next_link = request.build_absolute_uri(request.path) + "?" + urlencode(params, doseq=True)
        return page.rows

    def _limit(self, request) -> int:
        raw = request.query_params.get("limit")
        if raw is None:
            return DEFAULT_LIMIT
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= MAX_LIMIT:
            raise Problem(
                400, "validation-error", "Invalid limit.", {"limit": [f"A whole number from 1 to {MAX_LIMIT}."]}
            )
        return value

    def get_paginated_response(self, data):
        return Response({"next": self.next_link, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page, or null on the last page.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Opaque position from the previous page's `next` link.",
                "schema": {"type": "string"},
            },
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            },
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "description": "Sort order; a leading '-' sorts descending. Ties are broken by id.",
                "schema": {"type": "string", "enum": list(sort_options(view)), "default": view.default_ordering},
            },
        ]
