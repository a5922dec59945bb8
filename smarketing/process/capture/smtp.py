"""The inbound SMTP receiver of the BCC logging addresses (aiosmtpd), run by `smarketing mailin`.

A rep adds their address (log+<token>@MAILIN_DOMAIN) as BCC. RCPT refuses any other address (550), so the
receiver is no open relay and reveals no tokens; DATA refuses a message over MAILIN_MAX_BYTES (552, also
enforced by the SMTP session's size limit), one that does not parse (554), and one whose From is not the
token's owner (550: someone else cannot put words on a rep's timeline by learning the address). An accepted
message is captured (process/capture/services.py) before the 250, so "accepted" means "on the timeline or
deliberately skipped" (colleagues only, no matching contact).
"""

import asyncio
import logging

from django.conf import settings
from django.db import close_old_connections

from smarketing.process.capture import parse, services
from smarketing.process.models import CapturedEmail

log = logging.getLogger("smarketing.mailin")


def receive(rcpt_tos: list[str], raw: bytes) -> str:
    """Capture one message for each logging address it was sent to; the SMTP answer."""
    try:
        try:
            parsed = parse.parse(raw)
        except parse.Refused as exc:
            return f"554 5.6.0 Not logged: {exc}"
        answers = []
        for address in rcpt_tos:
            owner = services.owner_of_address(address)
            if owner is None:
                continue
            if parsed.sender != owner.user.email.lower():
                log.warning("mailin: refused a message from %s to the logging address of %s", parsed.sender, owner.user)
                return "550 5.7.1 Only mail sent from your own address can be logged"
            outcome = services.capture(parsed, user=owner.user, via=CapturedEmail.Via.BCC)
            answers.append(outcome.reason)
        return "250 2.0.0 Logged" if "captured" in answers else f"250 2.0.0 Accepted, not logged: {', '.join(answers)}"
    finally:
        close_old_connections()


class Handler:
    """aiosmtpd's handler: the ORM runs in a worker thread (it may not run on the event loop)."""

    def __init__(self):
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        found = await asyncio.to_thread(_known_address, address)
        if not found:
            return "550 5.1.1 Not a logging address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > settings.MAILIN_MAX_BYTES:
            return "552 5.3.4 Message too big to log"
        return await asyncio.to_thread(receive, list(envelope.rcpt_tos), raw)


def _known_address(address: str) -> bool:
    try:
        return services.owner_of_address(address) is not None
    finally:
        close_old_connections()


def smtp_factory(handler: Handler):
    from aiosmtpd.smtp import SMTP

    def factory():
        return SMTP(
            handler,
            hostname=settings.MAILIN_DOMAIN,
            enable_SMTPUTF8=True,
            data_size_limit=settings.MAILIN_MAX_BYTES,
        )

    return factory
