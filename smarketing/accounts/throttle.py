"""Brute-force protection for the ways to prove who you are (the login form, API tokens) and for the one public
form that sends email (password reset).

Failures are counted in Django's default cache (shared across web processes when CACHE_REDIS_URL is set; per
process otherwise). A counter lives for LOGIN_LOCKOUT_MINUTES from its first failure; reaching its limit locks
that account (or that address) for LOGIN_LOCKOUT_MINUTES. While locked, the password is not even checked, so
a locked account gives no oracle for guessing. A successful login clears the account's counter.

Trade-off: anyone can lock an account for a while by failing on purpose. That is the usual price of a
per-account limit; the per-address limit is higher so that an office behind one NAT is not locked by one
forgetful colleague.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    """The caller's address. Behind a proxy (BEHIND_PROXY), the one the proxy appended to X-Forwarded-For:
    the entries before it are whatever the client chose to send."""
    if settings.BEHIND_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _account_key(email: str) -> str:
    # Hashed: cache keys (in Redis, say) should not list the addresses people tried.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"authfail:account:{digest}"


def _ip_key(scope: str, ip: str) -> str:
    return f"authfail:{scope}:{ip}"


def _window() -> int:
    return settings.LOGIN_LOCKOUT_MINUTES * 60


def _wait(key: str) -> int:
    """Seconds until `key` unlocks, 0 when it is not locked."""
    until = cache.get(f"{key}:locked")
    return max(0, math.ceil(until - time.time())) if until else 0


def _fail(key: str, limit: int) -> None:
    cache.add(key, 0, _window())  # the window starts at the first failure
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, _window())
        count = 1
    if count >= limit:
        cache.set(f"{key}:locked", time.time() + _window(), _window())
        cache.delete(key)


def try_again(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"try again in {minutes} minute{'' if minutes == 1 else 's'}"


def locked_message(seconds: int) -> str:
    return f"Too many failed attempts; {try_again(seconds)}."


# -- the login form ----------------------------------------------------------------------------------------


def login_wait(email: str, ip: str) -> int:
    """Seconds this login attempt must wait (the account or the address is locked), 0 if it may proceed."""
    return max(_wait(_account_key(email)) if email else 0, _wait(_ip_key("login", ip)))


def login_failed(email: str, ip: str) -> None:
    if email:
        _fail(_account_key(email), settings.LOGIN_MAX_FAILURES_PER_ACCOUNT)
    _fail(_ip_key("login", ip), settings.LOGIN_MAX_FAILURES_PER_IP)


def login_succeeded(email: str) -> None:
    cache.delete(_account_key(email))


# -- API tokens ----------------------------------------------------------------------------------------------


def bad_token_wait(ip: str) -> int:
    return _wait(_ip_key("token", ip))


def bad_token(ip: str) -> None:
    _fail(_ip_key("token", ip), settings.API_MAX_BAD_TOKENS_PER_IP)


# -- password-reset emails -----------------------------------------------------------------------------------


def reset_requested(email: str, ip: str) -> tuple[bool, int]:
    """Count one password-reset request. Returns (send, wait): `wait` > 0 when this address asked too often
    (the page answers 429); `send` is False when this account already had its share of emails in the window
    (the page answers as if it sent one, so nobody learns whether the account exists or floods its inbox)."""
    ip_key = _ip_key("reset", ip)
    wait = _wait(ip_key)
    if wait:
        return False, wait
    _fail(ip_key, settings.PASSWORD_RESET_MAX_PER_IP)
    account_key = _account_key(email).replace(":account:", ":reset:")
    if _wait(account_key):
        return False, 0
    _fail(account_key, settings.PASSWORD_RESET_MAX_PER_ACCOUNT)
    return True, 0
