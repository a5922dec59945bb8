"""Reading bounce and complaint reports that come back by mail.

- RFC 3464 delivery status notifications: `multipart/report; report-type=delivery-status`, with a
  `message/delivery-status` part (one block per message, one per recipient: Final-Recipient, Action, Status,
  Diagnostic-Code) and the original's headers (`text/rfc822-headers` or `message/rfc822`).
  Action "failed" with a 5.x.x status is a hard bounce; "failed" with 4.x.x or "delayed" is a soft bounce;
  "delivered", "relayed" and "expanded" are not problems and give nothing.
- RFC 5965 abuse reports (ARF): `multipart/report; report-type=feedback-report` with a
  `message/feedback-report` part; `Feedback-Type: abuse` (or fraud/virus) is a complaint. The complaining
  address is `Original-Rcpt-To`, else the original message's To.

`parse(raw)` only reads; the caller (`smarketing mailsink`, a mailbox reader) passes each result to
`mail.feedback.record_notice(**notice.as_kwargs())`. A report that is neither gives an empty list.
"""

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from smarketing.mail.models import FeedbackKind

COMPLAINT_TYPES = {"abuse", "fraud", "virus"}
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")


@dataclass(frozen=True)
class ParsedNotice:
    """One bounce or complaint read from a report, ready for `feedback.record_notice`."""

    kind: str
    email: str
    message_id: str
    notice_id: str
    diagnostic: str

    def as_kwargs(self, channel: str = "dsn") -> dict:
        return {
            "kind": self.kind,
            "email": self.email,
            "message_id": self.message_id,
            "notice_id": self.notice_id,
            "diagnostic": self.diagnostic,
            "channel": channel,
        }


def parse(raw: bytes | str | Message) -> list[ParsedNotice]:
    msg = raw if isinstance(raw, Message) else _message(raw)
    if msg.get_content_type() != "multipart/report":
        return []
    report_type = (msg.get_param("report-type") or "").lower()
    parts = list(msg.walk())
    if report_type == "delivery-status" or _find(parts, "message/delivery-status"):
        return _delivery_status(msg, parts)
    if report_type == "feedback-report" or _find(parts, "message/feedback-report"):
        return _feedback_report(msg, parts)
    return []


def is_report(msg: Message) -> bool:
    """Is this a DSN or an ARF report (whoever it was addressed to)?"""
    if msg.get_content_type() != "multipart/report":
        return False
    return (msg.get_param("report-type") or "").lower() in ("delivery-status", "feedback-report")


def _message(raw: bytes | str) -> Message:
    if isinstance(raw, str):
        return email.message_from_string(raw, policy=email.policy.compat32)
    # compat32: the lenient parser; reports from odd MTAs must not raise on a malformed header.
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _find(parts: list[Message], content_type: str) -> Message | None:
    return next((p for p in parts if p.get_content_type() == content_type), None)


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part, however it parsed:
    the stdlib gives message/delivery-status as a list of blocks, other message/* as one sub-message, and a
    part sent with a wrong transfer encoding as text."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = []
        for item in payload:
            if isinstance(item, Message):
                blocks.append(item)
        if blocks:
            return blocks
    text = part.get_payload(decode=True) if not isinstance(payload, list) else None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not text:
        return []
    text = text.replace("\r\n", "\n")
    return [HeaderParser().parsestr(chunk.strip() + "\n") for chunk in re.split(r"\n\s*\n", text) if chunk.strip()]


def _address(value: str | None) -> str:
    """ "rfc822; Ann <ann@example.com>" → "ann@example.com"."""
    if not value:
        return ""
    value = str(value)
    if ";" in value:
        value = value.split(";", 1)[1]
    addresses = [a for _, a in getaddresses([value.strip()]) if "@" in a]
    return addresses[0].strip().lower() if addresses else ""


def _original_headers(parts: list[Message]) -> Message | None:
    headers = _find(parts, "text/rfc822-headers")
    if headers is not None:
        body = headers.get_payload(decode=True) or b""
        return HeaderParser().parsestr(body.decode("utf-8", "replace").replace("\r\n", "\n"))
    original = _find(parts, "message/rfc822")
    if original is not None:
        payload = original.get_payload()
        if isinstance(payload, list) and payload:
            return payload[0]
    return None


def _clean(value) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()


def _delivery_status(msg: Message, parts: list[Message]) -> list[ParsedNotice]:
    status_part = _find(parts, "message/delivery-status")
    if status_part is None:
        return []
    blocks = _blocks(status_part)
    original = _original_headers(parts)
    message_id = _clean(original.get("Message-ID")) if original is not None else ""
    report_id = _clean(msg.get("Message-ID"))
    notices = []
    for block in blocks[1:] if len(blocks) > 1 else blocks:
        recipient = _address(block.get("Final-Recipient") or block.get("Original-Recipient"))
        action = _clean(block.get("Action")).lower()
        status = _clean(block.get("Status"))
        if not recipient or action not in ("failed", "delayed"):
            continue
        match = _STATUS.search(status)
        klass = match.group(1) if match else ("5" if action == "failed" else "4")
        kind = FeedbackKind.HARD_BOUNCE if action == "failed" and klass == "5" else FeedbackKind.SOFT_BOUNCE
        diagnostic = _clean(block.get("Diagnostic-Code"))
        if ";" in diagnostic:
            diagnostic = diagnostic.split(";", 1)[1].strip()
        diagnostic = diagnostic or f"{action} {status}".strip()
        notices.append(
            ParsedNotice(
                kind=kind,
                email=recipient,
                message_id=message_id,
                # A report delivered twice (a retrying MTA) is the same notice; one without a Message-ID is
                # recorded every time, which the soft-bounce rule tolerates.
                notice_id=f"dsn:{report_id}:{recipient}:{action}"[:255] if report_id else "",
                diagnostic=diagnostic[:2000],
            )
        )
    return notices


def _feedback_report(msg: Message, parts: list[Message]) -> list[ParsedNotice]:
    report = _find(parts, "message/feedback-report")
    if report is None:
        return []
    fields: dict[str, str] = {}
    for block in _blocks(report):
        for key, value in block.items():
            fields.setdefault(key.lower(), _clean(value))
    feedback_type = fields.get("feedback-type", "").lower()
    if feedback_type not in COMPLAINT_TYPES:
        return []
    original = _original_headers(parts)
    recipient = _address(fields.get("original-rcpt-to"))
    if not recipient and original is not None:
        recipient = _address(original.get("To"))
    if not recipient:
        return []  # a redacted report (some providers blank the address) cannot be tied to anyone
    message_id = _clean(original.get("Message-ID")) if original is not None else ""
    report_id = _clean(msg.get("Message-ID"))
    reporter = fields.get("reporting-mta") or fields.get("user-agent") or "unknown"
    return [
        ParsedNotice(
            kind=FeedbackKind.COMPLAINT,
            email=recipient,
            message_id=message_id,
            notice_id=f"arf:{report_id}:{recipient}"[:255] if report_id else "",
            diagnostic=f"{feedback_type} report from {reporter}"[:2000],
        )
    ]


def build_dsn(
    original: bytes,
    recipient: str,
    *,
    status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 The email account that you tried to reach does not exist",
    reporting_mta: str = "mailsink.local",
    action: str = "failed",
) -> bytes:
    """A delivery status notification (RFC 3464) for `original`, as an MTA would send it back to the envelope
    sender: the sink uses it to bounce mail to undeliverable demo addresses, and tests use it to exercise the
    whole path (parse → notice → suppression → the send marked)."""
    import secrets
    from email.utils import formatdate, make_msgid

    headers = original.replace(b"\r\n", b"\n").partition(b"\n\n")[0].decode("utf-8", "replace")
    boundary = f"dsn-{secrets.token_hex(8)}"
    subject = "Undelivered Mail Returned to Sender" if action == "failed" else "Delivery delayed"
    # Written out by hand: the stdlib generator cannot flatten a message/delivery-status part it did not parse.
    text = (
        f"From: Mail Delivery System <MAILER-DAEMON@{reporting_mta}>\n"
        f"Subject: {subject}\n"
        f"Date: {formatdate(localtime=False)}\n"
        f"Message-ID: {make_msgid(domain=reporting_mta)}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n"
        f"Your message could not be delivered to {recipient}.\n\n{diagnostic}\n\n"
        f"--{boundary}\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; {reporting_mta}\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n\n"
        f"--{boundary}\nContent-Type: text/rfc822-headers\n\n{headers}\n\n"
        f"--{boundary}--\n"
    )
    return text.replace("\n", "\r\n").encode("utf-8")
