"""`smarketing mailsink` as a real subprocess on the test database, fed over real SMTP."""

import select
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from django.test import SimpleTestCase, TransactionTestCase

from smarketing.jobs.testing import WorkerPool
from smarketing.mail.management.commands.mailsink import is_bounce_address
from smarketing.mail.models import CapturedMessage, FeedbackNotice, Suppression

SAMPLES = Path(__file__).parent / "samples"


def crlf(name: str) -> bytes:
    # On the wire every line ends in CRLF (the samples are stored with LF for readability).
    return (SAMPLES / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def start_sink(pool: WorkerPool, *args: str) -> tuple[subprocess.Popen, int]:
    proc = pool.command("mailsink", "--bind", "127.0.0.1:0", *args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    line = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if b"listening on" in line:
                return proc, int(line.split(b"127.0.0.1:")[1].split(b",")[0])
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"mailsink did not start: {line!r}")


def stop_sink(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return out.decode()


def newsletter() -> EmailMessage:
    m = EmailMessage()
    m["From"] = "Maya at Acme <maya@acme.example>"
    m["To"] = "Pat <pat@example.com>"
    m["Subject"] = "Décembre <script>alert(1)</script>"
    m["Message-ID"] = "<n1@acme.example>"
    m.set_content("Hello Pat")
    m.add_alternative("<p>Hello <b>Pat</b></p><script>alert(1)</script>", subtype="html")
    return m


class MailsinkTests(TransactionTestCase):
    def test_keeps_messages_and_records_reports(self):
        with WorkerPool(0, env={"MAIL_BOUNCE_ADDRESS": "bounces@acme.example"}) as pool:
            proc, port = start_sink(pool)
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                    smtp.send_message(newsletter(), from_addr="bounces@acme.example")
                    # A DSN to the VERP bounce address, delivered twice by a retrying MTA.
                    for _ in range(2):
                        smtp.sendmail("", ["bounces+c42@acme.example"], crlf("postfix_hard.eml"))
                    # An abuse report to another mailbox: recognised by its content type.
                    smtp.sendmail("feedback@arf.mail.yahoo.com", ["fbl@acme.example"], crlf("arf_redacted_headers.eml"))
                    # Mail to the bounce address that is no report (an out-of-office): kept to be read.
                    smtp.sendmail(
                        "pat@example.com", ["bounces@acme.example"], b"Subject: Out of office\r\n\r\nBack Monday\r\n"
                    )
                    # The demo's undeliverable address: bounced by a DSN of the sink's own; the other copy kept.
                    smtp.sendmail(
                        "bounces@acme.example",
                        ["ghost@nowhere.invalid", "kim@example.com"],
                        b"Subject: To two\r\nMessage-ID: <two@acme.example>\r\n\r\nHi\r\n",
                    )
            finally:
                out = stop_sink(proc)
        self.assertIn("6 received", out)
        kept = list(CapturedMessage.objects.order_by("id"))
        self.assertEqual([m.subject for m in kept], ["Décembre <script>alert(1)</script>", "Out of office", "To two"])
        self.assertEqual(kept[2].recipients, ["kim@example.com"])
        self.assertEqual(kept[0].recipients, ["pat@example.com"])
        self.assertEqual(kept[0].mail_from, "bounces@acme.example")
        self.assertEqual(kept[0].message_id, "<n1@acme.example>")
        self.assertIn(b"Hello <b>Pat</b>", bytes(kept[0].raw))
        notices = sorted(FeedbackNotice.objects.values_list("kind", "email", "channel"))
        self.assertEqual(
            notices,
            [
                ("complaint", "pat.doe@yahoo.example", "dsn"),
                ("hard_bounce", "ghost@nowhere.invalid", "dsn"),
                ("hard_bounce", "nobody@example.org", "dsn"),
            ],
        )
        self.assertEqual(FeedbackNotice.objects.get(email="ghost@nowhere.invalid").message_id, "<two@acme.example>")
        self.assertEqual(
            dict(Suppression.objects.values_list("email", "reason")),
            {
                "nobody@example.org": "hard_bounce",
                "pat.doe@yahoo.example": "complaint",
                "ghost@nowhere.invalid": "hard_bounce",
            },
        )

    def test_discard_only_counts(self):
        with WorkerPool(0) as pool:
            proc, port = start_sink(pool, "--discard")
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                    for _ in range(50):
                        smtp.send_message(newsletter())
            finally:
                out = stop_sink(proc)
        self.assertIn("50 received, 0 kept", out)
        self.assertFalse(CapturedMessage.objects.exists())


class BounceAddressTests(TransactionTestCase):
    def test_verp_forms(self):
        self.assertTrue(is_bounce_address("bounces@acme.example", "bounces@acme.example"))
        self.assertTrue(is_bounce_address("Bounces+x-42@ACME.example", "bounces@acme.example"))
        self.assertFalse(is_bounce_address("bouncesx@acme.example", "bounces@acme.example"))
        self.assertFalse(is_bounce_address("bounces@other.example", "bounces@acme.example"))
        self.assertFalse(is_bounce_address("bounces@acme.example", ""))


class DemoSinkPortTests(SimpleTestCase):
    def test_demo_with_the_sink_port_taken_stops_at_once_naming_mail_bind(self):
        from smarketing.core.tests.test_serve import command_env, free_port, listening_socket

        with listening_socket() as taken, tempfile.TemporaryDirectory() as data:
            port = taken.getsockname()[1]
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "smarketing",
                    "demo",
                    "--bind",
                    f"127.0.0.1:{free_port()}",
                    "--mail-bind",
                    f"127.0.0.1:{port}",
                ],
                capture_output=True,
                text=True,
                timeout=120,
                env=command_env(SMARKETING_DATA_DIR=data),
            )
            self.assertFalse((Path(data) / "smarketing.sqlite3").exists(), "fails before creating a database")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"Port {port} on 127.0.0.1 is already in use", result.stderr)
        self.assertIn(f"--mail-bind 127.0.0.1:{port + 1}", result.stderr)

    def test_mailsink_with_its_port_taken_says_so(self):
        from smarketing.core.tests.test_serve import command_env, listening_socket

        with listening_socket() as taken, tempfile.TemporaryDirectory() as data:
            port = taken.getsockname()[1]
            result = subprocess.run(
                [sys.executable, "-m", "smarketing", "mailsink", "--bind", f"127.0.0.1:{port}"],
                capture_output=True,
                text=True,
                timeout=120,
                env=command_env(SMARKETING_DATA_DIR=data),
            )
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"Cannot listen on 127.0.0.1:{port}", result.stderr)
