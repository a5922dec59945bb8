"""Raw message bytes → what capture needs, defensively: every mail here is hostile until proven otherwise.

A message over MAILIN_MAX_BYTES is refused whole. Headers are read with the strict modern policy; a header that
does not parse reads as empty rather than failing the message. The body is the text/plain part, else the
text/html part reduced to text (nh3 drops scripts, styles and every attribute first; html2text makes the
words), capped at BODY_CHARS. Addresses are lowercased, deduplicated and limited to MAX_ADDRESSES.
"""

import email
import email.policy
import email.utils
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import html2text
import nh3
from django.conf import settings

BODY_CHARS = 5000
MAX_ADDRESSES = 100


class Refused(ValueError):
    """The message cannot be captured; the text says why (for the SMTP answer and the sync's report)."""


@dataclass
class Parsed:
    message_id: str
    subject: str
    sender: str
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    sent_at: datetime | None = None
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def participants(self) -> list[str]:
        seen = []
        for address in [self.sender, *self.to, *self.cc]:
            if address and address not in seen:
                seen.append(address)
        return seen[:MAX_ADDRESSES]

    @property
    def thread(self) -> str:
        return (self.references[0] if self.references else self.message_id)[:255]


def _header(message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a header the parser cannot decode is as good as absent
        return ""
    return " ".join(str(value or "").split())


def _addresses(message, name: str) -> list[str]:
    try:
        values = message.get_all(name) or []
    except Exception:  # noqa: BLE001
        return []
    found = []
    for _, address in email.utils.getaddresses([str(v) for v in values]):
        address = address.strip().lower()
        if "@" in address and len(address) <= 254 and " " not in address and address not in found:
            found.append(address)
    return found[:MAX_ADDRESSES]


def _ids(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\t", " ").split() if part.startswith("<") and part.endswith(">")]


def _text(message) -> str:
    plain = html = None
    for part in message.walk() if message.is_multipart() else [message]:
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        try:
            content = part.get_content()
        except Exception:  # noqa: BLE001, S112 - an undecodable part (bad charset, broken base64) is skipped
            continue
        if not isinstance(content, str):
            continue
        if kind == "text/plain" and plain is None:
            plain = content
        elif kind == "text/html" and html is None:
            html = content
    if plain is None and html is not None:
        cleaned = nh3.clean(
            html[: BODY_CHARS * 20],
            tags={"p", "br", "div", "li", "ul", "ol", "a", "b", "i", "strong", "em"},
            attributes={},
        )
        converter = html2text.HTML2Text()
        converter.ignore_images = True
        converter.ignore_links = True
        converter.body_width = 0
        plain = converter.handle(cleaned)
    text = "\n".join(line.rstrip() for line in (plain or "").splitlines()).strip()
    return text[:BODY_CHARS]


def parse(raw: bytes) -> Parsed:
    """Parse one message; raises Refused for what cannot be captured."""
    if len(raw) > settings.MAILIN_MAX_BYTES:
        raise Refused(f"message too large ({len(raw):,} bytes; the limit is {settings.MAILIN_MAX_BYTES:,})")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # noqa: BLE001
        raise Refused(f"not a mail message ({type(exc).__name__})") from None
    senders = _addresses(message, "From")
    if not senders:
        raise Refused("no From address")
    message_id = _header(message, "Message-ID")[:255]
    if not message_id:
        # No Message-ID: a stable one from the content, so the same message captured twice is still one.
        message_id = "<sha256-" + hashlib.sha256(raw).hexdigest()[:40] + "@smarketing>"
    try:
        sent_at = email.utils.parsedate_to_datetime(_header(message, "Date"))
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        sent_at = None
    return Parsed(
        message_id=message_id,
        subject=_header(message, "Subject")[:300],
        sender=senders[0],
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        sent_at=sent_at,
        in_reply_to=(_ids(_header(message, "In-Reply-To")) or [""])[0][:255],
        references=_ids(_header(message, "References"))[:50],
        text=_text(message),
    )
