"""Django's email API (`send_mail`, `EmailMessage.send()`) through the one sender, on the transactional stream.

Notifications, password resets and invitations use Django's API; with this backend (the default EMAIL_BACKEND)
they leave through SmtpSession with the same DKIM signature and Message-ID domain as campaigns, marked
`X-Smarketing-Stream: transactional`. Synchronous, like Django's SMTP backend: callers that want retries run it
in a retrying job (notifications do). Django builds the MIME message (attachments, cc, bcc; it refuses newlines
in headers with BadHeaderError); this backend adds our headers, signs and sends.
"""

import smtplib

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address

from smarketing.mail import dkim
from smarketing.mail.message import STREAM_HEADER, make_message_id
from smarketing.mail.models import Stream
from smarketing.mail.transport import SmtpSession, TransportError


class PermanentFailure(smtplib.SMTPResponseException):
    """The server refused the message for good (5xx)."""


class TemporaryRefusal(smtplib.SMTPResponseException):
    """The server answered 4xx: try again later."""


class EmailBackend(BaseEmailBackend):
    """One SmtpSession per open()/close() (Django opens one per send_mail, or one for send_messages)."""

    def __init__(self, fail_silently: bool = False, **kwargs):
        super().__init__(fail_silently=fail_silently)
        self.session: SmtpSession | None = None
        self.options = {
            key: kwargs[key] for key in ("host", "port", "username", "password", "timeout") if key in kwargs
        }
        if "use_tls" in kwargs:
            self.options["use_tls"] = kwargs["use_tls"]

    def open(self) -> bool:
        if self.session is not None:
            return False
        session = SmtpSession(**self.options)
        try:
            session.open()
        except TransportError:
            if self.fail_silently:
                return False
            raise
        self.session = session
        return True

    def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        opened = self.open()
        if self.session is None:  # could not connect, failing silently
            return 0
        sent = 0
        try:
            for message in email_messages:
                if self._send(message):
                    sent += 1
        finally:
            if opened:
                self.close()
        return sent

    def _send(self, email_message) -> bool:
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        sender = sanitize_address(email_message.from_email, encoding)
        recipients = [sanitize_address(address, encoding) for address in email_message.recipients()]
        headers = {name.lower() for name in email_message.extra_headers}
        if "message-id" not in headers:
            email_message.extra_headers["Message-ID"] = make_message_id()
        email_message.extra_headers[STREAM_HEADER] = Stream.TRANSACTIONAL
        try:
            raw = dkim.sign(email_message.message().as_bytes(linesep="\r\n"))
            result = self.session.send(sender, recipients, raw)
        except Exception:
            if self.fail_silently:
                return False
            raise
        if result.ok:
            return True
        if self.fail_silently:
            return False
        error = PermanentFailure if result.permanent else TemporaryRefusal
        raise error(result.code, result.text)
