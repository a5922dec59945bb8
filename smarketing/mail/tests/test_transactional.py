"""The transactional stream: queued, sent once by the real worker through SMTP + DKIM, retried on 4xx, failed
on 5xx, never suppressed; and Django's send_mail through the same sender (mail/backend.py)."""

from datetime import timedelta

import dkim as dkimpy
from django.core import mail
from django.core.management import call_command
from django.test import TestCase, TransactionTestCase, override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from smarketing.jobs.testing import WorkerPool
from smarketing.mail import dkim, services
from smarketing.mail.backend import PermanentFailure, TemporaryRefusal
from smarketing.mail.models import Suppression, TransactionalMessage
from smarketing.mail.services import TemporaryFailure, deliver, send_transactional
from smarketing.mail.testing import SmtpTestServer, free_port
from smarketing.mail.tests.test_dkim import DKIM_SETTINGS
from smarketing.mail.transport import SmtpSession

Status = TransactionalMessage.Status
BACKEND = "smarketing.mail.backend.EmailBackend"


def run_jobs():
    call_command("worker", batch=True, verbosity=0)


class ServerMixin:
    """A real SMTP server, DKIM on, a From for transactional mail."""

    def setUp(self):
        self.server = SmtpTestServer().start()
        self.addCleanup(self.server.stop)
        overrides = override_settings(
            **self.server.settings(), **DKIM_SETTINGS, DEFAULT_FROM_EMAIL="Acme <hello@acme.example>"
        )
        overrides.enable()
        self.addCleanup(overrides.disable)

    def queue(self, to="dana@client.example", **fields):
        fields = {"kind": "booking_confirmation", "subject": "Your booking", "text": "See you at 10:00", **fields}
        return send_transactional(to_email=to, **fields)


class TransactionalJobTests(ServerMixin, TransactionTestCase):
    """Through the in-process worker: transactional, because jobs are enqueued on commit and the worker closes its
    connection when done, which a TestCase's wrapping transaction would not survive."""

    def test_sent_once_by_the_worker_signed_and_marked_transactional(self):
        queued = self.queue(html="<p>See you at <b>10:00</b></p>")
        self.assertEqual(queued.status, Status.QUEUED)
        self.assertEqual(DBTaskResult.objects.count(), 1)
        run_jobs()
        queued.refresh_from_db()
        self.assertEqual((queued.status, queued.attempts), (Status.SENT, 1))
        self.assertIsNotNone(queued.sent_at)
        [received] = self.server.messages
        self.assertEqual(received.mail_from, "hello@acme.example")
        self.assertEqual(received.rcpt_tos, ["dana@client.example"])
        parsed = received.message
        self.assertEqual(parsed["X-Smarketing-Stream"], "transactional")
        self.assertEqual(parsed["From"], "Acme <hello@acme.example>")
        self.assertEqual(parsed["Message-ID"], queued.message_id)
        self.assertTrue(dkimpy.verify(received.data, dnsfunc=dkim.dnsfunc_for(dkim.public_dns_record())))
        # Another job for the same message (a duplicate enqueue, a retry) finds nothing to send.
        self.assertEqual(deliver(queued.pk), "skipped")
        self.assertEqual(len(self.server.messages), 1)

    def test_4xx_is_retried_then_sent(self):
        self.server.answer_rcpt["dana@client.example"] = "451 4.7.1 Greylisted, try later"
        queued = self.queue()
        run_jobs()
        queued.refresh_from_db()
        self.assertEqual((queued.status, queued.attempts), (Status.QUEUED, 1))
        self.assertIn("451", queued.error)
        retry = DBTaskResult.objects.filter(status="READY").get()
        self.assertGreater(retry.run_after, timezone.now() + timedelta(seconds=40), "backoff")
        self.assertEqual(retry.args_kwargs["kwargs"]["_attempt"], 2)
        del self.server.answer_rcpt["dana@client.example"]
        DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
        run_jobs()
        queued.refresh_from_db()
        self.assertEqual((queued.status, queued.attempts, queued.error), (Status.SENT, 2, ""))
        self.assertEqual(len(self.server.messages), 1)

    def test_5xx_fails_that_message_only(self):
        self.server.answer_rcpt["nobody@client.example"] = "550 5.1.1 User unknown"
        bad, good = self.queue("nobody@client.example"), self.queue("dana@client.example")
        run_jobs()
        bad.refresh_from_db()
        good.refresh_from_db()
        self.assertEqual((bad.status, bad.attempts), (Status.FAILED, 1))
        self.assertIn("550 5.1.1 User unknown", bad.error)
        self.assertEqual(good.status, Status.SENT)
        self.assertFalse(DBTaskResult.objects.filter(status="READY").exists(), "a 5xx is not retried")

    def test_a_dead_attempt_is_claimed_again_and_a_slow_one_cannot_finish(self):
        queued = self.queue()
        first = services.claim(queued.pk)
        self.assertIsNotNone(first)
        self.assertIsNone(services.claim(queued.pk), "a fresh claim is not taken over")
        self.assertEqual(deliver(queued.pk), "skipped")
        # Long after, the first attempt looks dead: the sweeper enqueues a job, which claims and sends.
        TransactionalMessage.objects.filter(pk=queued.pk).update(claimed_at=timezone.now() - timedelta(minutes=6))
        self.assertEqual(services.requeue_stale(), 1)
        run_jobs()
        queued.refresh_from_db()
        self.assertEqual((queued.status, queued.attempts), (Status.SENT, 2))
        self.assertEqual(len(self.server.messages), 1)


class TransactionalTests(ServerMixin, TestCase):
    """deliver() called directly: retries, failures, claims."""

    def test_never_suppressed(self):
        Suppression.objects.create(email="dana@client.example", reason="unsubscribed")
        queued = self.queue()
        self.assertEqual(deliver(queued.pk), "sent")
        self.assertEqual(len(self.server.messages), 1)

    def test_4xx_at_the_end_of_data_undoes_sent(self):
        self.server.answer_data["dana@client.example"] = "452 4.3.1 Insufficient storage"
        queued = self.queue()
        with self.assertRaises(TemporaryFailure):
            deliver(queued.pk)
        queued.refresh_from_db()
        self.assertEqual((queued.status, queued.sent_at), (Status.QUEUED, None))

    def test_server_down_is_retried(self):
        queued = self.queue()
        with override_settings(EMAIL_PORT=free_port()), self.assertRaises(TemporaryFailure):
            deliver(queued.pk)
        queued.refresh_from_db()
        self.assertEqual(queued.status, Status.QUEUED)
        self.assertIn("cannot connect", queued.error)

    def test_last_attempt_gives_up(self):
        self.server.answer_rcpt["dana@client.example"] = "421 4.3.2 Shutting down"
        queued = self.queue()
        TransactionalMessage.objects.filter(pk=queued.pk).update(attempts=services.MAX_ATTEMPTS - 1)
        self.assertEqual(deliver(queued.pk), "failed")
        queued.refresh_from_db()
        self.assertEqual(queued.status, Status.FAILED)
        self.assertIn("Gave up after 8 attempts", queued.error)

    def test_superseded_attempt_hangs_up_before_the_dot(self):
        queued = self.queue()
        session = SmtpSession()
        self.addCleanup(session.close)
        real_send = session.send

        def send_while_taken_over(*args, before_final_dot, **kwargs):
            # Another attempt claims the message while this one is mid-DATA (this one was only slow).
            TransactionalMessage.objects.filter(pk=queued.pk).update(attempts=99)
            return real_send(*args, before_final_dot=before_final_dot, **kwargs)

        session.send = send_while_taken_over
        self.assertEqual(deliver(queued.pk, session=session), "skipped")
        self.assertEqual(self.server.messages, [], "no final dot, no message")

    def test_header_injection_refused_when_queued(self):
        for fields in (
            {"to": "dana@client.example\r\nBcc: all@evil.example"},
            {"subject": "Hi\r\nBcc: x@evil.example"},
        ):
            with self.subTest(fields=fields), self.assertRaises(ValueError):
                self.queue(**fields)
        self.assertFalse(TransactionalMessage.objects.exists())


class BackendTests(TestCase):
    """Django's send_mail through smarketing.mail.backend (tests otherwise use locmem)."""

    def setUp(self):
        self.server = SmtpTestServer().start()
        self.addCleanup(self.server.stop)

    def test_send_mail_goes_through_the_signing_sender(self):
        with override_settings(EMAIL_BACKEND=BACKEND, **self.server.settings(), **DKIM_SETTINGS):
            sent = mail.send_mail(
                "Reset your password", "Click the link", "Acme <hello@acme.example>", ["bob@acme.example"]
            )
            record = dkim.public_dns_record()
        self.assertEqual(sent, 1)
        [received] = self.server.messages
        self.assertEqual((received.mail_from, received.rcpt_tos), ("hello@acme.example", ["bob@acme.example"]))
        parsed = received.message
        self.assertEqual(parsed["X-Smarketing-Stream"], "transactional")
        self.assertEqual(parsed["Subject"], "Reset your password")
        self.assertRegex(parsed["Message-ID"], r"^<\d+\.[0-9a-f]{32}@")
        self.assertTrue(dkimpy.verify(received.data, dnsfunc=dkim.dnsfunc_for(record, "sm1._domainkey.acme.example")))

    def test_many_messages_one_connection_cc_and_bcc(self):
        with override_settings(EMAIL_BACKEND=BACKEND, **self.server.settings()):
            connection = mail.get_connection()
            messages = [
                mail.EmailMessage(
                    f"Note {i}", "Body", "hello@acme.example", [f"u{i}@acme.example"], bcc=["audit@acme.example"]
                )
                for i in range(5)
            ]
            self.assertEqual(connection.send_messages(messages), 5)
        self.assertEqual(len(self.server.messages), 5)
        self.assertEqual(self.server.messages[0].rcpt_tos, ["u0@acme.example", "audit@acme.example"])
        self.assertNotIn(b"audit@acme.example", self.server.messages[0].data, "Bcc is not a header")

    def test_refusals_raise_unless_silent(self):
        self.server.answer_rcpt["gone@acme.example"] = "550 5.1.1 User unknown"
        self.server.answer_rcpt["busy@acme.example"] = "450 4.2.1 Busy"
        with override_settings(EMAIL_BACKEND=BACKEND, **self.server.settings()):
            with self.assertRaises(PermanentFailure):
                mail.send_mail("x", "y", "hello@acme.example", ["gone@acme.example"])
            with self.assertRaises(TemporaryRefusal):
                mail.send_mail("x", "y", "hello@acme.example", ["busy@acme.example"])
            self.assertEqual(
                mail.send_mail("x", "y", "hello@acme.example", ["gone@acme.example"], fail_silently=True), 0
            )
            with override_settings(EMAIL_PORT=free_port()), self.assertRaises(OSError):
                mail.send_mail("x", "y", "hello@acme.example", ["a@acme.example"])

    def test_it_is_the_default_backend_outside_tests(self):
        from smarketing import settings as project_settings

        self.assertEqual(project_settings.EMAIL_BACKEND, BACKEND)


class TransactionalWorkerTests(TransactionTestCase):
    """A real worker process sends the queued message to a real SMTP server."""

    def test_worker_process_sends_it(self):
        with SmtpTestServer() as server:
            with override_settings(DEFAULT_FROM_EMAIL="Acme <hello@acme.example>"):
                queued = send_transactional(
                    kind="double_opt_in", to_email="new@client.example", subject="Confirm", text="Click"
                )
            env = {
                "EMAIL_HOST": server.host,
                "EMAIL_PORT": str(server.port),
                "DEFAULT_FROM_EMAIL": "Acme <hello@acme.example>",
            }
            with WorkerPool(1, env=env) as pool:
                pool.wait()
            queued.refresh_from_db()
            self.assertEqual(queued.status, Status.SENT, pool.logs())
            self.assertEqual([m.rcpt_tos for m in server.messages], [["new@client.example"]])
