"""The IMAP sync: one chosen folder (or Gmail label) per user, read-only, new messages only.

- Only the folder the user named is selected, with EXAMINE (read-only: nothing is marked read or moved).
- New messages are those above the last UID seen; a changed UIDVALIDITY (the folder was recreated) starts over,
  and the unique Message-ID per user keeps a re-read from logging anything twice.
- Each message's size is asked first (RFC822.SIZE): one over MAILIN_MAX_BYTES is skipped unread.
- The host a user typed is where our server connects, so it obeys the webhooks' SSRF rules: every address the
  host resolves to must be public (or allowed by WEBHOOK_ALLOWED_ADDRESSES), and the connection goes to the
  vetted address, with the certificate checked against the host name (a DNS answer that changes cannot
  redirect it).
"""

import imaplib
import logging
import re
import socket
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from smarketing.process.capture import parse, secret, services
from smarketing.process.models import CapturedEmail, MailCapture

log = logging.getLogger("smarketing.imap")
TIMEOUT = 30
BATCH = 200  # messages per sync run and account; the rest wait for the next run
UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
SIZE = re.compile(rb"UID (\d+) RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+) UID (\d+)")


class SyncError(Exception):
    """Why an account could not be synced, for the user (stored as last_error)."""


@dataclass
class SyncResult:
    seen: int = 0
    captured: int = 0
    skipped: int = 0


class _Plain(imaplib.IMAP4):
    def __init__(self, host: str, address: str, port: int):
        self._address = address
        super().__init__(host, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return socket.create_connection((self._address, self.port), timeout)


class _Tls(imaplib.IMAP4_SSL):
    def __init__(self, host: str, address: str, port: int):
        self._address = address
        super().__init__(host, port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self._address, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def vetted_address(host: str, port: int) -> str:
    from smarketing.webhooks.targets import UnsafeTarget, address_problem, resolve_host

    try:
        addresses = resolve_host(host, port)
    except UnsafeTarget as exc:
        raise SyncError(str(exc)) from None
    for ip in addresses:
        problem = address_problem(ip)
        if problem:
            raise SyncError(f"{host} resolves to {ip}, {problem}: the server will not connect there.")
    return str(addresses[0])


def connect(mc: MailCapture) -> imaplib.IMAP4:
    password = secret.decrypt(mc.imap_password)
    if password is None:
        raise SyncError("The stored password cannot be read any more: enter it again.")
    host = mc.imap_host.strip().lower()
    if not host:
        raise SyncError("No IMAP server set.")
    address = vetted_address(host, mc.imap_port)
    try:
        client = _Tls(host, address, mc.imap_port) if mc.imap_ssl else _Plain(host, address, mc.imap_port)
        client.login(mc.imap_username, password)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise SyncError(f"Could not sign in to {host}:{mc.imap_port}: {exc}") from None
    return client


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sizes(client, start_uid: int) -> list[tuple[int, int]]:
    status, data = client.uid("FETCH", f"{start_uid}:*", "(RFC822.SIZE)")
    if status != "OK":
        raise SyncError("The server did not list the folder's messages.")
    found = []
    for line in data or []:
        if isinstance(line, tuple):
            line = line[0]
        match = SIZE.search(line or b"")
        if match:
            uid = int(match.group(1) or match.group(4))
            size = int(match.group(2) or match.group(3))
            if uid >= start_uid:  # "n:*" returns the last message even when n is beyond it
                found.append((uid, size))
    return sorted(found)[:BATCH]


def sync(mc: MailCapture) -> SyncResult:
    """Read the folder's new messages and capture them; records the outcome on the account."""
    result = SyncResult()
    try:
        client = connect(mc)
        try:
            status, _ = client.select(_quote(mc.imap_folder), readonly=True)
            if status != "OK":
                raise SyncError(f"There is no folder {mc.imap_folder!r} in this mailbox.")
            validity = client.response("UIDVALIDITY")[1]
            validity = int(validity[0]) if validity and validity[0] else None
            last = mc.imap_last_uid if validity == mc.imap_uidvalidity else 0
            for uid, size in _sizes(client, last + 1):
                result.seen += 1
                last = max(last, uid)
                if size > settings.MAILIN_MAX_BYTES:
                    result.skipped += 1
                    continue
                status, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
                raw = next((part[1] for part in data or [] if isinstance(part, tuple)), None)
                if status != "OK" or not raw:
                    result.skipped += 1
                    continue
                try:
                    parsed = parse.parse(raw)
                except parse.Refused:
                    result.skipped += 1
                    continue
                outcome = services.capture(parsed, user=mc.user, via=CapturedEmail.Via.IMAP)
                result.captured += outcome.captured is not None
        finally:
            try:
                client.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
        mc.imap_uidvalidity, mc.imap_last_uid, mc.last_sync_at, mc.last_error = validity, last, timezone.now(), ""
        MailCapture.objects.filter(pk=mc.pk).update(
            imap_uidvalidity=validity, imap_last_uid=last, last_sync_at=mc.last_sync_at, last_error=""
        )
    except SyncError as exc:
        MailCapture.objects.filter(pk=mc.pk).update(last_sync_at=timezone.now(), last_error=str(exc)[:500])
        log.info("imap sync of %s: %s", mc.user, exc)
    return result


def sync_all() -> dict:
    totals = {"accounts": 0, "captured": 0}
    for mc in MailCapture.objects.filter(imap_enabled=True, user__is_active=True).select_related("user"):
        totals["accounts"] += 1
        totals["captured"] += sync(mc).captured
    return totals
