"""Building one outgoing message: headers that cannot be injected, a proper Message-ID, text and HTML parts.

Every value that becomes a header (subject, names, addresses, extra headers) comes from marketers, contacts or
imports, so a CR or LF in it would let its author add headers (Bcc, a second body) to mail that leaves under
our name. `build_message` refuses such values instead of cleaning them: a subject that needs cleaning is a bug
or an attack, and either should be seen.
"""

import re
import secrets
import time
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

STREAM_HEADER = "X-Smarketing-Stream"

# CR, LF and NUL end or corrupt a header line; the other C0 controls and DEL have no business in one either.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029\x85]")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 field name: printable ASCII except ":"
# Headers the caller may not set through `headers=`: build_message owns them.
_RESERVED = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "sender",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    STREAM_HEADER.lower(),
    "dkim-signature",
}

# Python's email package re-creates its policy objects on each header unless given one; SMTP = CRLF endings,
# which is what DKIM signs and the SMTP session writes (no line-ending conversion between the two); 7bit: bodies
# are quoted-printable or base64, never raw 8-bit, so no receiver needs 8BITMIME.
POLICY = SMTP.clone(cte_type="7bit")


class HeaderInjection(ValueError):
    """A header value or address carries CR, LF, NUL or another control character."""


class InvalidAddress(ValueError):
    """An email address that is not a single, valid address."""


def message_id_domain() -> str:
    """The right-hand side of our Message-IDs: MAIL_MESSAGE_ID_DOMAIN, else the public base URL's host."""
    domain = getattr(settings, "MAIL_MESSAGE_ID_DOMAIN", "")
    if domain:
        return domain
    base = getattr(settings, "SMARKETING_BASE_URL", "") or settings.SITE_URL
    return urlsplit(base).hostname or "localhost"


def make_message_id(domain: str | None = None) -> str:
    """A new, globally unique Message-ID, angle brackets included: <time.random@domain>.

    128 random bits: the id is how a bounce or complaint is tied to its send, so it must never repeat and must
    not be guessable (nothing about the recipient is in it).
    """
    return f"<{int(time.time())}.{secrets.token_hex(16)}@{domain or message_id_domain()}>"


def check_header(value: str, what: str = "header") -> str:
    """`value` unchanged, or HeaderInjection when it could break out of its header line."""
    if not isinstance(value, str):
        raise HeaderInjection(f"{what} must be text")
    if _FORBIDDEN.search(value):
        raise HeaderInjection(f"{what} contains a line break or control character")
    return value


def check_address(email: str, what: str = "address") -> str:
    """The address stripped of surrounding spaces, or InvalidAddress / HeaderInjection."""
    check_header(email, what)
    email = email.strip()
    if not email or len(email) > 254:
        raise InvalidAddress(f"{what} is not a valid email address")
    try:
        # Django's validator refuses display names, several addresses and comments.
        validate_email(email)
    except ValidationError:
        raise InvalidAddress(f"{what} is not a valid email address") from None
    if '"' in email or "\\" in email:
        # Quoted local parts are valid RFC 5321 and almost never real; they are how address parsers get fooled.
        raise InvalidAddress(f"{what} has a quoted local part")
    return email


def _address(display_name: str, email: str, what: str) -> Address:
    check_header(display_name, f"{what} name")
    email = check_address(email, what)
    local, _, domain = email.rpartition("@")
    if not local.isascii():
        # Would need SMTPUTF8 end to end; most receivers lack it, so refuse rather than garble.
        raise InvalidAddress(f"{what} has a non-ASCII local part")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidAddress(f"{what} has an invalid domain") from None
    return Address(display_name=display_name.strip(), username=local, domain=domain)


def build_message(
    *,
    from_name: str,
    from_email: str,
    to_email: str,
    to_name: str = "",
    subject: str,
    html: str,
    text: str,
    reply_to: str = "",
    headers: dict[str, str] | None = None,
    stream: str,
    message_id: str | None = None,
) -> EmailMessage:
    """One message ready for `as_bytes()` (CRLF line endings), multipart/alternative when there is HTML.

    Raises HeaderInjection for CR/LF/NUL in any header value, name or address, InvalidAddress for an address
    that is not exactly one valid address (both are ValueError).
    """
    check_header(subject, "subject")
    check_header(stream, "stream")
    message = EmailMessage(policy=POLICY)
    message["From"] = _address(from_name, from_email, "from")
    message["To"] = _address(to_name, to_email, "to")
    if reply_to:
        message["Reply-To"] = _address("", reply_to, "reply-to")
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    if message_id is None:
        message_id = make_message_id()
    else:
        check_header(message_id, "message id")
        if not re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", message_id):
            raise HeaderInjection("message id must look like <id@domain>")
    message["Message-ID"] = message_id
    message["MIME-Version"] = "1.0"
    message[STREAM_HEADER] = stream
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise HeaderInjection("header name is not a valid field name")
        if name.lower() in _RESERVED:
            raise HeaderInjection(f"header {name} is set by build_message")
        message[name] = check_header(value, name)
    message.set_content(text or "", charset="utf-8")
    if html:
        message.add_alternative(html, subtype="html", charset="utf-8")
    return message
