"""Personal API tokens: creation (the secret is returned once), lookup by hash, revocation."""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from smarketing.api.models import ApiToken, TokenScope
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin

PREFIX = "smk_"
PREFIX_SHOWN = 12  # "smk_" + 8 characters of the secret: enough to tell tokens apart, useless to an attacker
MAX_ACTIVE_TOKENS = 50
# last_used_at is informative: writing it once a minute at most keeps a busy client from causing a write per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def create_token(user, *, name: str, scope: str, origin: str = Origin.UI) -> tuple[ApiToken, str]:
    """A new token for `user` and its secret. The secret is not stored anywhere: show it once."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "Give the token a name, such as the tool that will use it."
    elif len(name) > 100:
        errors["name"] = "At most 100 characters."
    if scope not in TokenScope.values:
        errors["scope"] = "Choose read or read_write."
    if errors:
        raise ValidationError(errors)
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError(f"You already have {MAX_ACTIVE_TOKENS} active tokens; revoke one first.")
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, scope=scope, prefix=raw[:PREFIX_SHOWN], key_hash=hash_key(raw)
    )
    record_audit(actor=user, action="token_create", obj=token, changes={"scope": (None, scope)}, origin=origin)
    return token, raw


@transaction.atomic
def revoke_token(token: ApiToken, *, actor) -> bool:
    """Revoke `token`; True when this call revoked it (a second click changes nothing)."""
    done = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if done:
        record_audit(actor=actor, action="token_revoke", obj=token, origin=Origin.UI)
    token.refresh_from_db()
    return bool(done)


def find_token(raw: str) -> ApiToken | None:
    """The active token whose secret is `raw`, with its user, or None."""
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("user", "user__team").filter(key_hash=hash_key(raw)).first()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    return token


def mark_used(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    # Conditional update: many processes seeing a stale value still write once per minute between them.
    # The same boundary as above (a use exactly a minute old is old enough), so both checks agree.
    cutoff = now - LAST_USED_RESOLUTION
    ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff), pk=token.pk).update(
        last_used_at=now
    )
    token.last_used_at = now
