"""The API's privacy hook: stored Idempotency-Key responses are replayed verbatim, so they must not keep
the erased person's data (see privacy.hooks and api.idempotency)."""

import json
import re

from django.db.models import Q

from smarketing.api.models import IdempotencyKey
from smarketing.privacy.hooks import CHUNK, ERASED, Erasure, safe_value, strong_identifiers


def erase(erasure: Erasure) -> dict[str, int]:
    return {"scrub_idempotency_responses": scrub_idempotency_responses(erasure)}


def scrub_idempotency_responses(erasure: Erasure) -> int:
    """Stored responses that name the person are rewritten in place: the key stays claimed (a replay must
    not run the request again and re-create the person) and answers the same status, without their data.

    In each such body, an object that is about the person (their record, a batch result about them) keeps only
    values that name nobody (ids, codes, times); the person's strong identifiers are cut out of every other
    string (a note that quotes their address). Other people's records in the same batch are left alone.
    """
    strong = strong_identifiers(erasure.identifiers)
    if not strong:
        return 0
    # Bodies are JSON text with non-ASCII escaped, so an identifier is searched for in both spellings.
    spellings = {s for ident in strong for s in (ident, json.dumps(ident)[1:-1])}
    match = Q()
    for spelling in spellings:
        match |= Q(response_body__icontains=spelling)
    pattern = re.compile("|".join(re.escape(s) for s in sorted(strong, key=len, reverse=True)), re.IGNORECASE)
    rows = IdempotencyKey.objects.filter(match, status=IdempotencyKey.Status.DONE).only("pk", "response_body")
    changed = 0
    for row in rows.iterator(chunk_size=CHUNK):
        body = json.loads(row.response_body or "null")
        clean = _scrub(body, strong, erasure.identifiers, pattern)
        if clean != body:
            IdempotencyKey.objects.filter(pk=row.pk).update(response_body=json.dumps(clean))
            changed += 1
    return changed


def _is_about_person(value: dict, strong: list[str]) -> bool:
    """An object with a field that IS one of the person's identifiers (their email, phone, ...): their record.
    An object that only quotes one (a note's body) is not: its other values may be about other people."""
    return any(isinstance(item, str) and item.strip().lower() in strong for item in value.values())


def _scrub(value, strong: list[str], identifiers: list[str], pattern: re.Pattern, about_person: bool = False):
    if isinstance(value, dict):
        about_person = about_person or _is_about_person(value, strong)
        return {key: _scrub(item, strong, identifiers, pattern, about_person) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, strong, identifiers, pattern, about_person) for item in value]
    if isinstance(value, str):
        if about_person and not safe_value(value, identifiers):
            return ERASED
        return pattern.sub(ERASED, value)
    return value
