"""One SMTP connection, reused for a batch of messages, with a hook just before the end of DATA.

    with SmtpSession() as smtp:
        for send in batch:
            result = smtp.send(sender, [send.email], raw, before_final_dot=lambda: mark_sent(send))

`before_final_dot` runs after the whole body is on the socket and before the terminating "." that makes the
server accept it. The campaign sender commits "sent" there: a worker killed before the callback has delivered
nothing (a server discards a DATA it never saw the end of), a worker killed after it may have delivered, and
the row already says so, so nothing sends it again. At most once per recipient, and with the claim loop
resending what was never committed, exactly once.

Replies: 2xx ok; 4xx temporary (retry later); 5xx permanent for that recipient only, the connection stays
usable. A connection lost before the callback ran raises TransportError (nothing was delivered; retry); a
connection lost after it returns a temporary SendResult with code 0: the outcome is unknown and the caller
must not send that message again.
"""

import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings

CRLF = b"\r\n"
_BARE_LF = re.compile(rb"(?<!\r)\n")
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)
_DROPPED = (smtplib.SMTPServerDisconnected, OSError)


class TransportError(ConnectionError):
    """The SMTP server could not be reached or dropped the connection before the message was complete.

    Temporary: nothing was delivered, the message may be sent again later.
    """


@dataclass(frozen=True)
class SendResult:
    """The server's answer to one message: `code` and `text` are its last reply (0 when there was none)."""

    ok: bool
    permanent: bool
    code: int
    text: str
    # Recipients the server refused while accepting others (several recipients in one envelope only).
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def temporary(self) -> bool:
        return not self.ok and not self.permanent


def classify(code: int, text: str | bytes) -> SendResult:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if 200 <= code < 300:
        return SendResult(ok=True, permanent=False, code=code, text=text)
    # 5xx is permanent for this recipient; anything else (4xx, an unexpected code) may work later.
    return SendResult(ok=False, permanent=500 <= code < 600, code=code, text=text)


def prepare_body(message_bytes: bytes) -> bytes:
    """CRLF line endings, dot-stuffed (RFC 5321 4.5.2), ending with CRLF: ready for the final "."."""
    body = _BARE_LF.sub(CRLF, message_bytes)
    body = _LEADING_DOT.sub(b"..", body)
    if not body.endswith(CRLF):
        body += CRLF
    return body


class SmtpSession:
    """A reusable SMTP connection configured from Django's EMAIL_* settings (each overridable)."""

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool | None = None,
        timeout: float | None = None,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ):
        self.host = host if host is not None else settings.EMAIL_HOST
        self.port = int(port if port is not None else settings.EMAIL_PORT)
        self.username = username if username is not None else settings.EMAIL_HOST_USER
        self.password = password if password is not None else settings.EMAIL_HOST_PASSWORD
        self.use_tls = use_tls if use_tls is not None else settings.EMAIL_USE_TLS
        self.timeout = timeout if timeout is not None else getattr(settings, "EMAIL_TIMEOUT", 30)
        self.local_hostname = local_hostname
        self.ssl_context = ssl_context  # None: the system's trusted CAs, host name checked
        self.connection: smtplib.SMTP | None = None
        self.messages_sent = 0  # accepted by the server on this session (all connections)
        self.connects = 0

    def __enter__(self) -> "SmtpSession":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        """Connect, EHLO, STARTTLS when EMAIL_USE_TLS, log in when a user is set. TransportError on failure."""
        if self.connection is not None:
            return
        try:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        try:
            # The body and the final "." are two writes (the callback runs between them); with Nagle's algorithm
            # the small second write would wait for the ACK of the first, which the server delays (~40 ms).
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.ehlo()
            if self.use_tls:
                connection.starttls(context=self.ssl_context or ssl.create_default_context())
                connection.ehlo()
            if self.username:
                connection.login(self.username, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(connection)
            raise TransportError(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            _quietly_close(connection)
            raise TransportError(f"SMTP session setup failed: {exc}") from exc
        self.connection = connection
        self.connects += 1

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            _quietly_close(connection)

    def send(
        self,
        from_addr: str,
        to_addrs: str | Iterable[str],
        message_bytes: bytes,
        *,
        before_final_dot: Callable[[], None] | None = None,
    ) -> SendResult:
        """Send one message in one SMTP transaction on the open connection (opening it when needed).

        A connection that turns out dead before the body (the server timed out an idle connection, or
        restarted) is reopened once and the transaction tried again.
        """
        recipients = [to_addrs] if isinstance(to_addrs, str) else list(to_addrs)
        if not recipients:
            raise ValueError("no recipients")
        body = prepare_body(message_bytes)
        reused = self.connection is not None
        for attempt in (1, 2):
            self.open()
            state = _Progress()
            try:
                result = self._transaction(from_addr, recipients, body, before_final_dot, state)
            except _DROPPED as exc:
                self._drop()
                if state.called_back:
                    # The body was complete and "sent" may be committed: the message may have been
                    # delivered. Never retried here; the caller records the unknown outcome.
                    return SendResult(ok=False, permanent=False, code=0, text=f"connection lost at end of data: {exc}")
                if attempt == 1 and reused:
                    continue
                raise TransportError(f"connection to {self.host}:{self.port} lost: {exc}") from exc
            if result.ok:
                self.messages_sent += 1
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _transaction(self, from_addr, recipients, body, before_final_dot, state) -> SendResult:
        smtp = self.connection
        code, text = smtp.mail(from_addr)
        if code != 250:
            self._reset()
            return classify(code, text)
        refused = {}
        for recipient in recipients:
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, text.decode("utf-8", "replace"))
        if len(refused) == len(recipients):
            self._reset()
            # One recipient (the campaign case): its own answer. Several: permanent only if all were.
            codes = [c for c, _ in refused.values()]
            first_code, first_text = next(iter(refused.values()))
            result = classify(first_code, first_text)
            if len(recipients) > 1:
                permanent = all(500 <= c < 600 for c in codes)
                return SendResult(ok=False, permanent=permanent, code=first_code, text=first_text, refused=refused)
            return result
        smtp.putcmd("data")
        code, text = smtp.getreply()
        if code != 354:
            self._reset()
            return classify(code, text)
        smtp.send(body)
        if before_final_dot is not None:
            state.called_back = True
            try:
                before_final_dot()
            except BaseException:
                # The caller could not record the send (its commit failed): hang up without the final dot,
                # so the server discards the message, and let the caller see why.
                self._drop()
                raise
        smtp.send(b"." + CRLF)
        code, text = smtp.getreply()
        result = classify(code, text)
        if refused:
            return SendResult(result.ok, result.permanent, result.code, result.text, refused=refused)
        return result

    def _reset(self) -> None:
        try:
            self.connection.rset()
        except _DROPPED:
            self._drop()

    def _drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            _quietly_close(connection)


class _Progress:
    """How far one transaction got (whether before_final_dot ran) when the connection broke."""

    called_back = False


def _quietly_close(connection: smtplib.SMTP) -> None:
    try:
        connection.close()
    except OSError:
        pass
