"""One HTTP POST to a vetted webhook target, with the standard library only.

The connection goes to an address checked by targets.check_url (never to a fresh DNS answer), while the Host
header and TLS SNI/certificate check use the name from the URL. Redirects are never followed (http.client does
not follow them; a 3xx is reported as is). The whole exchange is bounded: TIMEOUT for connecting and for each
read, and DEADLINE for reading the response, so a receiver that trickles bytes cannot hold a worker (or outlive
the delivery's lease).
"""

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from smarketing.webhooks.targets import Target

TIMEOUT = 10.0  # seconds, connect and each read
DEADLINE = 20.0  # seconds for the whole exchange after connecting
MAX_RESPONSE_BYTES = 64 * 1024  # read at most this much of the response
EXCERPT_CHARS = 2000  # of which this much is kept in the delivery log
USER_AGENT = "Smarketing-Webhooks/1"
MAX_ADDRESSES = 3


@dataclass
class Outcome:
    status: int | None  # HTTP status, None when no response arrived
    body: str  # response body excerpt
    error: str  # why no response arrived, or why a response counts as a failure
    duration_ms: int
    location: str = ""  # the Location header of a 3xx, shown but never followed


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # server_hostname: SNI and certificate verification against the name in the URL, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _connection(target: Target, address: str, timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return _PinnedHTTPSConnection(target.host, target.port, address, timeout, ssl.create_default_context())
    return _PinnedHTTPConnection(target.host, target.port, address, timeout)


def _read_body(response: http.client.HTTPResponse, deadline: float) -> bytes:
    chunks, size = [], 0
    while size < MAX_RESPONSE_BYTES:
        if time.monotonic() > deadline:
            break
        chunk = response.read1(min(8192, MAX_RESPONSE_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float | None = None) -> Outcome:
    """POST `body` to `target`, trying its vetted addresses in turn until one accepts the connection."""
    timeout = TIMEOUT if timeout is None else timeout
    started = time.monotonic()
    errors = []

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    # At most MAX_ADDRESSES connection attempts, so a host with many dead addresses cannot outlive the lease.
    for address in target.addresses[:MAX_ADDRESSES]:
        conn = _connection(target, address, timeout)
        try:
            try:
                conn.connect()
            except (OSError, ssl.SSLError) as exc:
                errors.append(f"{address}: {_describe(exc)}")
                continue
            try:
                conn.request(
                    "POST",
                    target.path,
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "User-Agent": USER_AGENT,
                        "Connection": "close",
                        **headers,
                    },
                )
                response = conn.getresponse()
                raw = _read_body(response, time.monotonic() + DEADLINE)
            except (OSError, http.client.HTTPException) as exc:
                return Outcome(status=None, body="", error=_describe(exc), duration_ms=elapsed_ms())
            text = raw.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
            return Outcome(
                status=response.status,
                body=text,
                error="",
                duration_ms=elapsed_ms(),
                location=(response.getheader("Location") or "")[:500],
            )
        finally:
            conn.close()
    return Outcome(
        status=None, body="", error="; ".join(errors) or "no address to connect to", duration_ms=elapsed_ms()
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate rejected: {exc.verify_message or exc}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


MAX_GET_BYTES = 2 * 1024 * 1024  # a fetched document (an external calendar) larger than this is refused
GET_USER_AGENT = "Smarketing-Fetch/1"


@dataclass
class Fetched:
    """The result of get(): the whole body when it arrived complete and within the size limit."""

    status: int | None  # HTTP status, None when no (complete) response arrived
    body: bytes
    error: str  # why there is no usable body: no response, too big, too slow
    duration_ms: int
    location: str = ""  # the Location header of a 3xx, never followed


def _read_all(response: http.client.HTTPResponse, deadline: float, max_bytes: int) -> tuple[bytes, str]:
    """The complete body, or an error when it is larger than max_bytes or does not arrive by the deadline."""
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        return b"", f"the response is larger than {max_bytes // 1024} KB"
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            return b"", "the response took too long"
        # One byte past the limit is enough to know the body is too big, without reading the rest.
        chunk = response.read1(min(65536, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks), ""
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"", f"the response is larger than {max_bytes // 1024} KB"


def get(
    target: Target, headers: dict[str, str], timeout: float | None = None, max_bytes: int = MAX_GET_BYTES
) -> Fetched:
    """GET `target` over the same pinned connection as post(): vetted addresses only, no redirects followed,
    TIMEOUT per read and DEADLINE overall, and a body over `max_bytes` refused rather than cut."""
    timeout = TIMEOUT if timeout is None else timeout
    started = time.monotonic()
    errors = []

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    for address in target.addresses[:MAX_ADDRESSES]:
        conn = _connection(target, address, timeout)
        try:
            try:
                conn.connect()
            except (OSError, ssl.SSLError) as exc:
                errors.append(f"{address}: {_describe(exc)}")
                continue
            try:
                conn.request(
                    "GET", target.path, headers={"User-Agent": GET_USER_AGENT, "Connection": "close", **headers}
                )
                response = conn.getresponse()
                body, error = _read_all(response, time.monotonic() + DEADLINE, max_bytes)
            except (OSError, http.client.HTTPException) as exc:
                return Fetched(status=None, body=b"", error=_describe(exc), duration_ms=elapsed_ms())
            return Fetched(
                status=response.status,
                body=body,
                error=error,
                duration_ms=elapsed_ms(),
                location=(response.getheader("Location") or "")[:500],
            )
        finally:
            conn.close()
    return Fetched(
        status=None, body=b"", error="; ".join(errors) or "no address to connect to", duration_ms=elapsed_ms()
    )
