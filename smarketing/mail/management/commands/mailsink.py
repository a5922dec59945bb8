"""`smarketing mailsink`: a local SMTP server that keeps what it receives instead of delivering it.

- Every message becomes a `CapturedMessage` (the demo's mail viewer reads them).
- A message to the bounce address (MAIL_BOUNCE_ADDRESS, also its VERP form `bounces+tag@domain`), or any
  delivery status notification or abuse report, is parsed (`mail.dsn`) and recorded as feedback notices,
  which apply the suppression rules; a report nothing could be read from is kept as a captured message.
- A recipient on the reserved `.invalid` domain (`nobody@example.invalid`) is bounced: the sink records the
  DSN a real MTA would have sent back, so the demo can show a hard bounce end to end.
- `--discard` only counts (benches: the send bench pushes 500+ messages a second into it).

Messages are answered "250" as soon as they are queued, and written by one thread in batches (one INSERT per
batch, up to every 50 ms): a sender on one connection is never held up by a database commit. The price: a
message accepted in the last 50 ms before a SIGKILL is lost, which is fine for a sink. SIGTERM and Ctrl+C
flush the queue first.
"""

import asyncio
import logging
import queue
import signal
import sys
import threading
import time
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from smarketing.mail import dsn, feedback
from smarketing.mail.models import CapturedMessage

log = logging.getLogger("smarketing.mailsink")
BATCH = 500
FLUSH_SECONDS = 0.05


def parse_bind(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise CommandError(f"--bind wants HOST:PORT, not {bind!r}")
    return host.strip("[]"), int(port)


def is_bounce_address(address: str, bounce: str) -> bool:
    """bounces@acme.example, and its VERP forms bounces+anything@acme.example."""
    if not bounce or "@" not in address:
        return False
    local, _, domain = address.lower().rpartition("@")
    b_local, _, b_domain = bounce.lower().rpartition("@")
    return domain == b_domain and (local == b_local or local.startswith(b_local + "+"))


class Store:
    """The writer thread: takes (mail_from, rcpts, raw) from a queue, writes them in batches."""

    def __init__(self, *, bounce: str):
        self.bounce = bounce
        self.queue: queue.Queue = queue.Queue()
        self.stored = 0
        self.notices = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mailsink-writer", daemon=True)

    def start(self):
        self.thread.start()

    def put(self, mail_from: str, rcpts: list[str], raw: bytes) -> None:
        self.queue.put((mail_from, rcpts, raw))

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=30)

    def _run(self):
        try:
            while not (self._stop.is_set() and self.queue.empty()):
                batch = self._take()
                if batch:
                    try:
                        self._write(batch)
                    except Exception:  # a bad message or a database hiccup must not stop the sink
                        log.exception("mailsink: could not store %d messages", len(batch))
                        close_old_connections()
        finally:
            connection.close()

    def _take(self) -> list:
        try:
            batch = [self.queue.get(timeout=FLUSH_SECONDS)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + FLUSH_SECONDS
        while len(batch) < BATCH:
            try:
                batch.append(self.queue.get(timeout=max(0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list) -> None:
        rows = []
        parser = BytesHeaderParser(policy=default_policy)
        for mail_from, rcpts, raw in batch:
            try:
                headers = parser.parsebytes(raw)
                if self._is_feedback(rcpts, headers) and self._record_feedback(raw):
                    continue
                # The demo's undeliverable addresses: what a real MTA would do, a bounce report back.
                undeliverable = [r for r in rcpts if is_undeliverable(r)]
                for rcpt in undeliverable:
                    self._record_feedback(dsn.build_dsn(raw, rcpt))
                rcpts = [r for r in rcpts if r not in undeliverable]
                if not rcpts:
                    continue
            except Exception:  # one bad report (or a failing feedback handler) must not lose the whole batch
                log.exception("mailsink: could not read a report from %s; kept as a message", mail_from)
                headers = parser.parsebytes(raw)
            rows.append(
                CapturedMessage(
                    mail_from=mail_from[:320],
                    recipients=rcpts,
                    subject=_header(headers, "Subject")[:300],
                    message_id=_header(headers, "Message-ID")[:255],
                    raw=raw,
                )
            )
        if rows:
            CapturedMessage.objects.bulk_create(rows)
            self.stored += len(rows)

    def _is_feedback(self, rcpts, headers) -> bool:
        if any(is_bounce_address(r, self.bounce) for r in rcpts):
            return True
        return headers.get_content_type() == "multipart/report"

    def _record_feedback(self, raw: bytes) -> int:
        """Record the notices of a report; the number it held (a report delivered twice is handled, not shown)."""
        notices = dsn.parse(raw)
        for notice in notices:
            if feedback.record_notice(**notice.as_kwargs("dsn")) is not None:
                self.notices += 1
        return len(notices)


def is_undeliverable(address: str) -> bool:
    """Addresses on the reserved `.invalid` top-level domain (RFC 2606) cannot exist: the sink bounces them with a
    DSN, so the demo shows a hard bounce end to end (notice, suppression, the send marked, the timeline)."""
    return address.lower().rstrip(">").endswith(".invalid")


def _header(headers, name: str) -> str:
    try:
        return str(headers.get(name, "") or "")
    except (ValueError, TypeError, IndexError):  # an undecodable header: keep the message, lose the field
        return ""


class Handler:
    def __init__(self, store: Store | None):
        self.store = store
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        if self.store is not None:
            raw = envelope.original_content or envelope.content
            self.store.put(envelope.mail_from or "", list(envelope.rcpt_tos), bytes(raw))
        return "250 OK: queued"


class Command(BaseCommand):
    help = "Run a local SMTP sink that keeps received mail for the demo's mail viewer and reads bounce reports."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:1025", help="Address to listen on (host:port).")
        parser.add_argument("--discard", action="store_true", help="Only count messages (benches).")

    def handle(self, *args, bind, discard, **options):
        from aiosmtpd.smtp import SMTP

        host, port = parse_bind(bind)
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO
        store = None if discard else Store(bounce=settings.MAIL_BOUNCE_ADDRESS)
        handler = Handler(store)
        if store:
            store.start()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        def factory():
            # 30 MB like real servers; SMTPUTF8 for international addresses; no AUTH: loopback only.
            return SMTP(handler, hostname="mailsink.local", enable_SMTPUTF8=True, data_size_limit=30 * 1024 * 1024)

        try:
            server = loop.run_until_complete(loop.create_server(factory, host=host, port=port))
        except OSError as exc:
            raise CommandError(f"Cannot listen on {bind}: {exc.strerror or exc}") from None
        real_port = server.sockets[0].getsockname()[1]
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        mode = "counting only (--discard)" if discard else "keeping messages for the mail viewer"
        self.stdout.write(f"mailsink listening on {host}:{real_port}, {mode}")
        sys.stdout.flush()
        try:
            loop.run_until_complete(stop.wait())
        finally:
            server.close()
            loop.run_until_complete(server.wait_closed())
            loop.close()
            if store:
                store.stop()
            stored = store.stored if store else 0
            notices = store.notices if store else 0
            self.stdout.write(f"mailsink stopped: {handler.count} received, {stored} kept, {notices} feedback notices")
            sys.stdout.flush()
