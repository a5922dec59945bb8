"""The IMAP password at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from SECRET_KEY.

Rotating SECRET_KEY makes stored passwords unreadable: the sync then reports "re-enter the password" instead of
failing silently.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"smarketing.process.capture:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode() if password else ""


def decrypt(stored: str) -> str | None:
    """The password, or None when it cannot be read (a rotated SECRET_KEY, a damaged value)."""
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return None
