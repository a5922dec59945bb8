"""The per-recipient tokens in marketing mail links (open pixel, click redirect, unsubscribe, preferences).

Every `EmailSend` has a random 32-character `token` (no id, no email, nothing guessable). The URL carries it
signed: `sign(token)` appends a 22-character HMAC-SHA256 tag (128 bits, URL-safe base64) under a salt used for
nothing else, so:
- a guessed or tampered value is refused by `unsign()` before any database read (the public views answer a
  friendly page or the 1x1 GIF, never a hint);
- rotating SECRET_KEY (with the old key in SECRET_KEY_FALLBACKS while mail in inboxes still matters) keeps links
  working, and removing a key kills them all.

No expiry, on purpose: an unsubscribe link must work for as long as the email sits in someone's inbox (CAN-SPAM
asks for at least 30 days, people unsubscribe from year-old mail, and a dead link pushes them to the spam
button, which hurts every later send); an open or click months later is still a fact worth recording. The token
grants nothing but acting on that one send: record a hit, unsubscribe that address, edit its preferences.
"""

import base64
import re
import secrets

from django.conf import settings
from django.db import connection as default_connection
from django.utils.crypto import constant_time_compare, salted_hmac

TOKEN_LENGTH = 32
_TAG_LENGTH = 22  # 16 bytes of HMAC-SHA256, URL-safe base64 without padding
SIGNED_LENGTH = TOKEN_LENGTH + _TAG_LENGTH
_SALT = "smarketing.email.tokens.send"
# Tokens made by new_send_token() are URL-safe base64; those made in SQL by token_sql() are hex; both fit here.
_SIGNED = re.compile(rf"[A-Za-z0-9_-]{{{SIGNED_LENGTH}}}")


def new_send_token() -> str:
    """A fresh token for one EmailSend: 24 random bytes, 32 URL-safe characters."""
    return secrets.token_urlsafe(24)


def token_sql(connection=None) -> str:
    """An SQL expression yielding a fresh random 32-character token per row, for the set-based audience freeze
    (`INSERT INTO email_emailsend (..., token) SELECT ..., <this> FROM ...`).

    Both are cryptographically random: PostgreSQL's gen_random_uuid() (built in since 13) reads
    pg_strong_random; SQLite's randomblob() is its ChaCha20 generator seeded from the OS. 128 (122 for the
    UUID) random bits, in hex: 32 characters that the signed form accepts.
    """
    vendor = (connection or default_connection).vendor
    if vendor == "postgresql":
        return "replace(gen_random_uuid()::text, '-', '')"
    if vendor == "sqlite":
        return "lower(hex(randomblob(16)))"
    raise NotImplementedError(f"token_sql() does not know the {vendor} database")


def _tag(token: str, secret: str) -> str:
    digest = salted_hmac(_SALT, token, secret=secret, algorithm="sha256").digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(send_token: str) -> str:
    """The form of `send_token` that goes into URLs (54 URL-safe characters)."""
    if len(send_token) != TOKEN_LENGTH:
        raise ValueError("a send token has 32 characters")
    return send_token + _tag(send_token, settings.SECRET_KEY)


def unsign(value: str) -> str | None:
    """The send token inside a signed value, or None when the value is malformed or its tag does not match
    (compared in constant time, against the current key and any fallback key)."""
    if not isinstance(value, str) or not _SIGNED.fullmatch(value):
        return None
    token, tag = value[:TOKEN_LENGTH], value[TOKEN_LENGTH:]
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        if constant_time_compare(tag, _tag(token, secret)):
            return token
    return None
