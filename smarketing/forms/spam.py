"""Spam defence for the public form endpoints: a honeypot, a minimum fill time, rate limits.

- The fill token: every rendering of a form (the hosted page, definition.json for the embed) carries a signed,
  timestamped token naming the form (`fill_token`). A submission without a valid one, or sent sooner than the
  form's `min_fill_seconds` after it was issued, is a bot: stored as spam, no contact made. A token older than
  FILL_TOKEN_MAX_AGE is not spam but stale (a tab left open for days): the visitor is asked to send again.
- One token, one submission: the token carries a random nonce, stored (unique) on the submission it made; a
  second submission with the same token is a replay, stored as spam. A token is spent only by a stored
  submission, so a visitor who fixes a field the server refused sends again with the same one.
- The honeypot: an input (HONEYPOT) hidden from people and screen readers; anything typed in it is a bot.
- Rate limits per client address and per form (FORMS_RATE_PER_IP, FORMS_RATE_PER_FORM, per minute): beyond
  them the endpoint answers 429 and stores nothing, so a flood cannot fill the submissions table.

A spam submission is answered like a good one (a bot learns nothing about which check caught it).
"""

import secrets
import time

from django.conf import settings
from django.core import signing

from smarketing.core.ratelimit import over_limit

HONEYPOT = "_website"  # field keys start with a letter, so no form field can take this name
TOKEN = "_token"
FILL_TOKEN_MAX_AGE = 2 * 24 * 3600
_SALT = "smarketing.forms.fill"

# Spam reasons (FormSubmission.spam_reason).
NO_TOKEN = "no_token"
BAD_TOKEN = "bad_token"
TOO_FAST = "too_fast"
HONEYPOT_FILLED = "honeypot"
REPLAYED = "replayed"
REASONS = {
    NO_TOKEN: "Sent without the form's token (not from the form)",
    BAD_TOKEN: "Token forged or for another form",
    TOO_FAST: "Sent faster than a person fills the form",
    HONEYPOT_FILLED: "Filled the hidden trap field",
    REPLAYED: "Sent again with a token another submission used",
}


class StaleToken(Exception):
    """The token is genuine but too old: the visitor should send the form again."""


def fill_token(form) -> str:
    """A fresh token for one rendering of `form` (signed: the form's public id, a nonce, the time of issue)."""
    return signing.TimestampSigner(salt=_SALT).sign(f"{form.public_id}.{secrets.token_urlsafe(12)}")


def token_nonce(token: str) -> str:
    """The nonce of a token `check` accepted ("" for a token issued before tokens had one)."""
    value = token.rsplit(signing.TimestampSigner(salt=_SALT).sep, 2)[0]
    return value.partition(".")[2]


def check(form, *, token: str, honeypot: str, now: float | None = None) -> str:
    """The spam reason for a submission of `form`, or "" when it passes; raises StaleToken for an old token."""
    if honeypot:
        return HONEYPOT_FILLED
    if not token:
        return NO_TOKEN
    signer = signing.TimestampSigner(salt=_SALT)
    try:
        public_id, issued = _unsign(signer, token)
    except signing.SignatureExpired:
        raise StaleToken from None
    except signing.BadSignature:
        return BAD_TOKEN
    if public_id.partition(".")[0] != form.public_id:
        return BAD_TOKEN
    if (now if now is not None else time.time()) - issued < form.min_fill_seconds:
        return TOO_FAST
    return ""


def _unsign(signer: signing.TimestampSigner, token: str) -> tuple[str, float]:
    value = signer.unsign(token, max_age=FILL_TOKEN_MAX_AGE)
    timestamp = token.rsplit(signer.sep, 2)[1]
    return value, signing.b62_decode(timestamp)


def rate_limited(form, ip: str) -> bool:
    """Count one submission attempt; True when the address or the form is over its limit this minute."""
    by_ip = over_limit(f"forms:ip:{ip}", limit=settings.FORMS_RATE_PER_IP)
    by_form = over_limit(f"forms:form:{form.pk}", limit=settings.FORMS_RATE_PER_FORM)
    return by_ip or by_form
