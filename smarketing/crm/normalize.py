"""Normalization of identifiers used for deduplication (emails, domains). Importers and the API use these too."""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_email(raw: str) -> str:
    """Stripped, lowercased, validated email; raises ValidationError with a clear message."""
    email = (raw or "").strip().lower()
    if not email:
        raise ValidationError("Email is required.")
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(f"{raw!r} is not a valid email address.")
    return email


def normalize_domain(raw: str | None) -> str | None:
    """'https://www.Acme.com/about' -> 'acme.com'; empty -> None; raises ValidationError when unusable."""
    value = (raw or "").strip().lower()
    if not value:
        return None
    if "@" in value and "/" not in value:
        value = value.rsplit("@", 1)[1]
    if "://" not in value:
        value = "http://" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        host = ""
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"{raw!r} is not a valid domain.")
    if not _DOMAIN_RE.match(host):
        raise ValidationError(f"{raw!r} is not a valid domain.")
    return host


def email_domain(email: str) -> str | None:
    """The company domain of an email address, or None for free-mail providers."""
    domain = email.rsplit("@", 1)[-1]
    return None if domain in FREE_MAIL else domain


FREE_MAIL = frozenset(
    "gmail.com googlemail.com yahoo.com hotmail.com outlook.com live.com msn.com aol.com icloud.com "
    "me.com mac.com proton.me protonmail.com gmx.com gmx.de web.de yandex.ru mail.ru zoho.com".split()
)


def contact_search_keys(first_name: str, last_name: str, email: str) -> tuple[str, str]:
    """Contact.name_key ("first last") and last_key, lowercased: prefix search and name sort use plain indexes.

    The services, the importer and the seed all store these, so the one definition lives here.
    """
    name_key = f"{first_name} {last_name}".strip().lower()[:201]
    last_key = (last_name or first_name or email).strip().lower()[:100]
    return name_key, last_key


def company_search_key(name: str) -> str:
    """Company.name_key: the lowercased name."""
    return name.strip().lower()[:200]
