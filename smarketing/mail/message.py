"""Building one outgoing message: headers that cannot be injected, a proper Message-ID, text and HTML parts.

Every value that becomes a header (subject, names, addresses, extra headers) comes from marketers, contacts or
imports, so a CR or LF in it would let its author add headers (Bcc, a second body) to mail that leaves under
our name. `render_message` (bytes, for bulk sending) and `build_message` (the same bytes parsed into an
EmailMessage) refuse such values instead of cleaning them: a subject that needs cleaning is a bug or an attack,
and either should be seen.
"""

import binascii
import re
import secrets
import time
from email import message_from_bytes
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

STREAM_HEADER = "X-Smarketing-Stream"

# CR, LF and NUL end or corrupt a header line; the other C0 controls and DEL have no business in one either.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029\x85]")
_NEWLINES = re.compile(r"\r\n?")
_MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
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
# iTIP methods (RFC 5546) a calendar part may carry; the value becomes a Content-Type parameter, so allow-listed.
CALENDAR_METHODS = ("REQUEST", "CANCEL", "PUBLISH")


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


def _address(display_name: str, email: str, what: str) -> str:
    """The header form of one address: `"Name" <local@xn--domain>`, the name RFC 2047-encoded when not ASCII."""
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
    # formataddr quotes specials (commas, quotes, angle brackets) and encodes non-ASCII names: a display name
    # can never turn into a second address.
    return formataddr((display_name.strip(), f"{local}@{domain}"), charset="utf-8")


def _header(name: str, value: str) -> bytes:
    """One header line (folded, RFC 2047-encoded when not ASCII), CRLF-terminated."""
    if value.isascii() and (len(name) + len(value) < 76 or (" " not in value and len(name) + len(value) < 990)):
        # Short, or a single token (a URL): as it is. Lines may be 998 long; folding a token would change it.
        return f"{name}: {value}\r\n".encode("ascii")
    charset = "us-ascii" if value.isascii() else "utf-8"
    folded = Header(value, charset, header_name=name).encode(linesep="\r\n")
    return f"{name}: {folded}\r\n".encode("ascii")


def _part(subtype: str, content: str) -> bytes:
    # Quoted-printable by the C codec: 7-bit safe for any receiver, readable, and fast.
    body = binascii.b2a_qp(_NEWLINES.sub("\n", content).encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
    # The CRLF before a boundary belongs to the boundary (RFC 2046), so one more keeps a final newline.
    body += b"\r\n"
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    ).encode("ascii") + body


def check_calendar_method(method: str) -> str:
    """`method` unchanged when it is an iTIP method we send (it becomes a Content-Type parameter), else ValueError."""
    if method not in CALENDAR_METHODS:
        raise ValueError(f"calendar method must be one of {', '.join(CALENDAR_METHODS)}")
    return method


def _calendar_part(calendar: str, method: str) -> bytes:
    # base64: an .ics has long folded lines and CRLFs that must arrive byte for byte (RFC 6047 allows it).
    body = binascii.b2a_base64(calendar.encode("utf-8"), newline=False)
    lines = b"\r\n".join(body[i : i + 76] for i in range(0, len(body), 76))
    return (
        (
            f'Content-Type: text/calendar; method={method}; charset="utf-8"; name="invite.ics"\r\n'
            'Content-Disposition: attachment; filename="invite.ics"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode("ascii")
        + lines
        + b"\r\n"
    )


def render_message(
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
    calendar: str = "",
    calendar_method: str = "",
) -> bytes:
    """The message as bytes ready to sign and send (CRLF line endings, 7-bit): build_message's fast path.

    Written directly rather than through the email package's object model, which costs several milliseconds a
    message (a campaign sends hundreds a second). Same checks as build_message; same structure: text/plain, or
    multipart/alternative with the text and HTML parts; with a `calendar`, multipart/mixed holding that body and
    the text/calendar part (an invitation, RFC 6047).
    """
    if calendar:
        check_calendar_method(calendar_method)
    check_header(subject, "subject")
    check_header(stream, "stream")
    lines = [
        _header("From", _address(from_name, from_email, "from")),
        _header("To", _address(to_name, to_email, "to")),
    ]
    if reply_to:
        lines.append(_header("Reply-To", _address("", reply_to, "reply-to")))
    lines.append(_header("Subject", subject))
    lines.append(_header("Date", formatdate(localtime=False, usegmt=True)))
    if message_id is None:
        message_id = make_message_id()
    else:
        check_header(message_id, "message id")
        if not _MESSAGE_ID.fullmatch(message_id):
            raise HeaderInjection("message id must look like <id@domain>")
    lines.append(_header("Message-ID", message_id))
    lines.append(b"MIME-Version: 1.0\r\n")
    lines.append(_header(STREAM_HEADER, stream))
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise HeaderInjection("header name is not a valid field name")
        if name.lower() in _RESERVED:
            raise HeaderInjection(f"header {name} is set by build_message")
        lines.append(_header(name, check_header(value, name)))
    if not html:
        body = _part("plain", text or "")
    else:
        # QP output never contains "==", so this boundary cannot occur inside a part.
        boundary = f"==smk_{secrets.token_hex(12)}"
        marker = f"--{boundary}\r\n".encode("ascii")
        body = b"".join(
            [
                f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode("ascii"),
                marker,
                _part("plain", text or ""),
                marker,
                _part("html", html),
                f"--{boundary}--\r\n".encode("ascii"),
            ]
        )
    if not calendar:
        return b"".join(lines) + body
    # Neither QP nor base64 output contains "==_", so this boundary cannot occur inside a part either.
    mixed = f"==_smkmix_{secrets.token_hex(12)}"
    marker = f"--{mixed}\r\n".encode("ascii")
    lines.append(f'Content-Type: multipart/mixed; boundary="{mixed}"\r\n\r\n'.encode("ascii"))
    lines += [marker, body, marker, _calendar_part(calendar, calendar_method), f"--{mixed}--\r\n".encode("ascii")]
    return b"".join(lines)


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
    """render_message's bytes as an EmailMessage (headers readable, `as_bytes()` CRLF and 7-bit).

    Raises HeaderInjection for CR/LF/NUL in any header value, name or
    address, InvalidAddress for an address that is not exactly one valid address (both are ValueError). Bulk
    senders use render_message directly (no parse).
    """
    raw = render_message(
        from_name=from_name,
        from_email=from_email,
        to_email=to_email,
        to_name=to_name,
        subject=subject,
        html=html,
        text=text,
        reply_to=reply_to,
        headers=headers,
        stream=stream,
        message_id=message_id,
    )
    return message_from_bytes(raw, policy=POLICY)
