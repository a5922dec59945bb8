"""A real SMTP server for tests (aiosmtpd in a thread), told how to answer.

    with SmtpTestServer() as server:
        server.answer_rcpt["full@example.com"] = "452 4.2.2 Mailbox full"
        server.answer_data["bad@example.com"] = "554 5.7.1 Rejected"
        with override_settings(EMAIL_HOST=server.host, EMAIL_PORT=server.port): ...
        server.messages  # [Received(mail_from, rcpt_tos, data)], only what the server accepted

aiosmtpd hands a message to the handler only when DATA ended with the final "."; a client that hangs up
before it delivers nothing, which is what the transport's `before_final_dot` relies on (tested).
"""

import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One message the test server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self):
        return message_from_bytes(self.data, policy=policy.default)


class _Handler:
    def __init__(self, server: "SmtpTestServer"):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self.server.answer_rcpt.get(address.lower())
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for address in envelope.rcpt_tos:
            answer = self.server.answer_data.get(address.lower())
            if answer:
                return answer
        with self.server.lock:
            self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpTestServer:
    """aiosmtpd on 127.0.0.1 in a background thread; a context manager. `restart()` drops every connection."""

    def __init__(self, port: int | None = None, *, users: dict[str, str] | None = None, tls: bool = False):
        self.host = "127.0.0.1"
        self.tls = tls  # STARTTLS offered and required, with a self-signed certificate for 127.0.0.1
        self.certificate_file: str | None = None
        self.users = users  # username → password: AUTH offered and checked (over plain TCP: tests only)
        self.port = port or free_port()
        self.messages: list[Received] = []
        self.answer_rcpt: dict[str, str] = {}  # address (lowercase) → reply to RCPT TO
        self.answer_data: dict[str, str] = {}  # address (lowercase) → reply at the end of DATA
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    def start(self) -> "SmtpTestServer":
        auth = {}
        if self.users is not None:
            # AUTH offered over plain TCP (no certificate to trust in tests); not required, which aiosmtpd would
            # warn about on every connection.
            auth = {"authenticator": self._authenticate, "auth_require_tls": False}
        if self.tls:
            auth.update(tls_context=self._tls_context(), require_starttls=True)
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10, **auth)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def _tls_context(self):
        import datetime
        import ipaddress
        import ssl
        import tempfile

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(self.host))]), False)
            .sign(key, hashes.SHA256())
        )
        directory = tempfile.mkdtemp(prefix="smtp-tls-")
        self.certificate_file = f"{directory}/cert.pem"
        key_file = f"{directory}/key.pem"
        with open(self.certificate_file, "wb") as fh:
            fh.write(certificate.public_bytes(serialization.Encoding.PEM))
        with open(key_file, "wb") as fh:
            fh.write(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate_file, key_file)
        return context

    def client_tls_context(self):
        """An SSLContext trusting this server's certificate (for SmtpSession(ssl_context=...))."""
        import ssl

        return ssl.create_default_context(cafile=self.certificate_file)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(user) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def restart(self) -> None:
        """Stop and start again on the same port: open client connections are dropped, as after a restart."""
        self.stop()
        self.start()

    def __enter__(self) -> "SmtpTestServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def settings(self) -> dict:
        """Keyword arguments for override_settings pointing Django's EMAIL_* at this server."""
        return {
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": False,
        }
