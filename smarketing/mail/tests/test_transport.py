"""SmtpSession against a real SMTP server (aiosmtpd): replies classified, one connection reused, reconnects,
and the promise behind exactly-once sending: a message cut off before the final dot is never delivered."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from django.test import SimpleTestCase

from smarketing.mail.message import build_message
from smarketing.mail.testing import SmtpTestServer, free_port
from smarketing.mail.transport import SendResult, SmtpSession, TransportError, prepare_body


def raw(to: str = "dana@client.example", text: str = "Hello") -> bytes:
    return build_message(
        from_name="Maya",
        from_email="maya@acme.example",
        to_email=to,
        subject=f"Hello {to}",
        html=f"<p>{text}</p>",
        text=text,
        stream="marketing",
    ).as_bytes()


class TransportTests(SimpleTestCase):
    def setUp(self):
        self.server = SmtpTestServer().start()
        self.addCleanup(self.server.stop)

    def session(self, **kwargs) -> SmtpSession:
        return SmtpSession(self.server.host, self.server.port, username="", password="", use_tls=False, **kwargs)

    def test_many_messages_over_one_connection(self):
        with self.session() as smtp:
            results = [
                smtp.send("bounces@acme.example", f"r{i}@client.example", raw(f"r{i}@client.example"))
                for i in range(20)
            ]
        self.assertTrue(all(r.ok and r.code == 250 for r in results))
        self.assertEqual(smtp.connects, 1)
        self.assertEqual(smtp.messages_sent, 20)
        self.assertEqual([m.rcpt_tos for m in self.server.messages], [[f"r{i}@client.example"] for i in range(20)])
        self.assertEqual(self.server.messages[3].mail_from, "bounces@acme.example")
        self.assertEqual(self.server.messages[3].message["Subject"], "Hello r3@client.example")

    def test_replies_are_classified_and_only_that_recipient_fails(self):
        self.server.answer_rcpt["full@client.example"] = "452 4.2.2 Mailbox full"
        self.server.answer_rcpt["nobody@client.example"] = "550 5.1.1 User unknown"
        self.server.answer_data["spam@client.example"] = "554 5.7.1 Message rejected"
        self.server.answer_data["later@client.example"] = "451 4.3.0 Try again later"
        with self.session() as smtp:
            results = {
                to: smtp.send("b@acme.example", to, raw(to))
                for to in [
                    "full@client.example",
                    "nobody@client.example",
                    "spam@client.example",
                    "later@client.example",
                    "fine@client.example",
                ]
            }
        self.assertEqual(results["full@client.example"], SendResult(False, False, 452, "4.2.2 Mailbox full"))
        self.assertTrue(results["full@client.example"].temporary)
        self.assertEqual(results["nobody@client.example"], SendResult(False, True, 550, "5.1.1 User unknown"))
        self.assertEqual((results["spam@client.example"].permanent, results["spam@client.example"].code), (True, 554))
        self.assertEqual((results["later@client.example"].temporary, results["later@client.example"].code), (True, 451))
        self.assertTrue(results["fine@client.example"].ok)
        self.assertEqual(smtp.connects, 1, "a refusal does not cost the connection")
        self.assertEqual([m.rcpt_tos for m in self.server.messages], [["fine@client.example"]])

    def test_several_recipients_some_refused(self):
        self.server.answer_rcpt["nobody@client.example"] = "550 5.1.1 User unknown"
        with self.session() as smtp:
            result = smtp.send("b@acme.example", ["a@client.example", "nobody@client.example"], raw())
            none = smtp.send("b@acme.example", ["nobody@client.example"], raw())
        self.assertTrue(result.ok)
        self.assertEqual(result.refused, {"nobody@client.example": (550, "5.1.1 User unknown")})
        self.assertTrue(none.permanent)
        self.assertEqual(self.server.messages[0].rcpt_tos, ["a@client.example"])

    def test_dots_and_bare_newlines_survive(self):
        body = b"Subject: dots\r\nFrom: a@acme.example\r\n\r\n.leading dot\n..two\r\n.\r\nend"
        with self.session() as smtp:
            self.assertTrue(smtp.send("a@acme.example", "d@client.example", body).ok)
        data = self.server.messages[0].data
        self.assertIn(b".leading dot\r\n..two\r\n.\r\nend", data.replace(b"\n", b"\r\n").replace(b"\r\r", b"\r"))
        self.assertEqual(prepare_body(b"a\n.b"), b"a\r\n..b\r\n")

    def test_callback_runs_after_the_body_and_before_the_dot(self):
        seen = []
        with self.session() as smtp:
            result = smtp.send(
                "b@acme.example",
                "d@client.example",
                raw(),
                before_final_dot=lambda: seen.append(len(self.server.messages)),
            )
        self.assertTrue(result.ok)
        self.assertEqual(seen, [0], "called once, before the server had the message")
        self.assertEqual(len(self.server.messages), 1)

    def test_a_failing_callback_means_no_delivery(self):
        def commit_fails():
            raise RuntimeError("database is gone")

        with self.session() as smtp:
            with self.assertRaisesMessage(RuntimeError, "database is gone"):
                smtp.send("b@acme.example", "d@client.example", raw(), before_final_dot=commit_fails)
            self.assertIsNone(smtp.connection, "hung up without the final dot")
            self.assertTrue(smtp.send("b@acme.example", "e@client.example", raw("e@client.example")).ok)
        self.assertEqual([m.rcpt_tos for m in self.server.messages], [["e@client.example"]])

    def test_sigkill_before_the_final_dot_delivers_nothing(self):
        """A real process killed inside before_final_dot: the server saw the whole body and no dot, and
        aiosmtpd (like any SMTP server) discards the incomplete DATA."""
        marker = Path(tempfile.mkdtemp()) / "committed"
        script = textwrap.dedent(f"""
            import os, signal, django
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
            django.setup()
            from smarketing.mail.transport import SmtpSession
            body = b"Subject: killed\\r\\nFrom: a@acme.example\\r\\n\\r\\n" + b"x" * 200000 + b"\\r\\n"
            def commit():
                open({str(marker)!r}, "w").write("sent")
                os.kill(os.getpid(), signal.SIGKILL)
            with SmtpSession({self.server.host!r}, {self.server.port}, username="", use_tls=False) as smtp:
                assert smtp.send("a@acme.example", "first@client.example", b"Subject: first\\r\\n\\r\\nhi\\r\\n").ok
                smtp.send("a@acme.example", "killed@client.example", body, before_final_dot=commit)
        """)
        child = subprocess.run([sys.executable, "-c", script], env={**os.environ}, capture_output=True, timeout=60)
        self.assertEqual(child.returncode, -signal.SIGKILL, child.stderr.decode()[-2000:])
        self.assertEqual(marker.read_text(), "sent", "the callback ran: the whole body had been written")
        # The server notices the hang-up; give its thread a moment, then nothing but the first message is there.
        with self.session() as smtp:
            self.assertTrue(smtp.send("a@acme.example", "after@client.example", raw("after@client.example")).ok)
        self.assertEqual(
            [m.rcpt_tos for m in self.server.messages], [["first@client.example"], ["after@client.example"]]
        )

    def test_reconnects_once_when_the_server_dropped_the_connection(self):
        with self.session() as smtp:
            self.assertTrue(smtp.send("b@acme.example", "a@client.example", raw("a@client.example")).ok)
            self.server.restart()  # every open connection is dropped, as after an idle timeout
            self.assertTrue(smtp.send("b@acme.example", "b@client.example", raw("b@client.example")).ok)
        self.assertEqual(smtp.connects, 2)
        self.assertEqual(len(self.server.messages), 2)

    def test_server_down_is_a_temporary_transport_error(self):
        with self.assertRaises(TransportError) as caught:
            SmtpSession("127.0.0.1", free_port(), username="", use_tls=False, timeout=2).open()
        self.assertIsInstance(caught.exception, ConnectionError)
        with self.session() as smtp:
            self.assertTrue(smtp.send("b@acme.example", "a@client.example", raw()).ok)
            self.server.stop()
            with self.assertRaises(TransportError):
                smtp.send("b@acme.example", "b@client.example", raw())


class LoginTests(SimpleTestCase):
    def test_login_with_the_configured_user(self):
        with SmtpTestServer(users={"mailer": "s3cret"}) as server:
            with SmtpSession(server.host, server.port, username="mailer", password="s3cret", use_tls=False) as smtp:
                self.assertTrue(smtp.send("b@acme.example", "a@client.example", raw()).ok)
            with self.assertRaisesMessage(TransportError, "login refused"):
                SmtpSession(server.host, server.port, username="mailer", password="wrong", use_tls=False).open()
            self.assertEqual(len(server.messages), 1)

    def test_starttls_then_login(self):
        import ssl

        with SmtpTestServer(users={"mailer": "s3cret"}, tls=True) as server:
            trusted = server.client_tls_context()
            with SmtpSession(
                server.host, server.port, username="mailer", password="s3cret", use_tls=True, ssl_context=trusted
            ) as smtp:
                self.assertIsInstance(smtp.connection.sock, ssl.SSLSocket)
                self.assertTrue(smtp.send("b@acme.example", "a@client.example", raw()).ok)
            # The system's CAs do not know this certificate: refused, not sent in clear.
            with self.assertRaisesMessage(TransportError, "setup failed"):
                SmtpSession(server.host, server.port, username="mailer", password="s3cret", use_tls=True).open()
            # Without STARTTLS the server refuses the transaction.
            with SmtpSession(server.host, server.port, username="", use_tls=False) as clear:
                self.assertFalse(clear.send("b@acme.example", "a@client.example", raw()).ok)
            self.assertEqual(len(server.messages), 1)
