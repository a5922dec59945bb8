"""Sales email capture against real servers: the BCC receiver (aiosmtpd, spoken to with smtplib) and a real
IMAP server (Dovecot); hostile mails (huge, malformed MIME, HTML with script, forged From); colleagues-only
mail, unknown addresses, duplicates; a sent email stops the SLA clock; a reply is linked to its campaign."""

import asyncio
import smtplib
import threading
import unittest
from email.message import EmailMessage

from django.test import TestCase, TransactionTestCase, override_settings

from smarketing.accounts.access import system_actor
from smarketing.crm.models import Contact
from smarketing.crm.services.lifecycle import change_lifecycle_stage
from smarketing.mail.testing import free_port
from smarketing.process import handoff
from smarketing.process.capture import imap, parse, secret, services
from smarketing.process.capture.smtp import Handler, smtp_factory
from smarketing.process.models import CapturedEmail, Handoff
from smarketing.process.testing import DovecotServer
from smarketing.testing import ensure_defaults, make_cast, make_contact
from smarketing.timeline.models import Touchpoint


def mail(
    *,
    sender,
    to,
    subject="Pricing for Initech",
    body="Hi Peter, here is the pricing.",
    cc=(),
    html=None,
    message_id=None,
    in_reply_to=None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{abs(hash((sender, subject, tuple(to))))}@example.com>"
    message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return bytes(message)


class ParseTests(TestCase):
    def test_html_only_mail_becomes_text_without_its_script(self):
        raw = mail(
            sender="a@x.example",
            to=["b@y.example"],
            body="",
            html="<p>Hello <b>Peter</b></p><script>alert('x')</script><style>p{}</style><img src=x onerror=alert(1)>",
        )
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.example", "b@y.example", "Hi"
        message.set_content("<p>Hello <b>Peter</b></p><script>alert('x')</script>", subtype="html")
        parsed = parse.parse(bytes(message))
        self.assertIn("Hello", parsed.text)
        self.assertNotIn("alert", parsed.text)
        self.assertNotIn("<", parsed.text)
        self.assertTrue(parse.parse(raw).text.strip() == "" or "alert" not in parse.parse(raw).text)

    @override_settings(MAILIN_MAX_BYTES=2048)
    def test_a_huge_mail_is_refused(self):
        with self.assertRaisesMessage(parse.Refused, "too large"):
            parse.parse(mail(sender="a@x.example", to=["b@y.example"], body="x" * 5000))

    def test_malformed_mime_does_not_crash(self):
        raw = (
            b"From: =?utf-8?b?broken@@\r\nFrom: rep@acme.example\r\nTo: <<<>>>, peter@initech.example\r\n"
            b'Subject: =?x-unknown?q?=ZZ?=\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
            b"--b\r\nContent-Type: text/plain; charset=klingon\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            b"!!!notbase64\r\n--b--\r\n"
        )
        parsed = parse.parse(raw)
        self.assertIn("peter@initech.example", parsed.participants)
        with self.assertRaises(parse.Refused):
            parse.parse(b"\x00\xff garbage without headers")

    def test_addresses_are_lowercased_and_deduplicated(self):
        parsed = parse.parse(
            mail(sender="Rep <REP@Acme.example>", to=["Peter <peter@INITECH.example>"], cc=["peter@initech.example"])
        )
        self.assertEqual(parsed.participants, ["rep@acme.example", "peter@initech.example"])


class CaptureRulesTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()  # users @example.com: that domain is internal
        cls.peter = make_contact(email="peter@initech.example", first_name="Peter")

    def test_a_sent_mail_lands_on_the_contacts_timeline_once(self):
        bob = self.cast["bob"]
        raw = mail(sender=bob.email, to=["peter@initech.example", "carol@example.com"])
        first = services.capture(parse.parse(raw), user=bob, via="bcc")
        again = services.capture(parse.parse(raw), user=bob, via="imap")
        self.assertEqual((first.reason, again.reason), ("captured", "captured already"))
        touch = Touchpoint.objects.get(contact=self.peter, kind="sales_email_sent")
        self.assertEqual((touch.actor, touch.team), (bob, "sales"))
        self.assertEqual(touch.details["body"], "Hi Peter, here is the pricing.")

    def test_colleagues_only_and_unknown_addresses_log_nothing(self):
        bob = self.cast["bob"]
        internal = services.capture(parse.parse(mail(sender=bob.email, to=["carol@example.com"])), user=bob, via="bcc")
        self.assertEqual(internal.reason, "colleagues only")
        stranger = services.capture(
            parse.parse(mail(sender=bob.email, to=["new@prospect.example"])), user=bob, via="bcc"
        )
        self.assertEqual(stranger.reason, "no contact has these addresses")
        self.assertFalse(Contact.objects.filter(email="new@prospect.example").exists())
        self.assertFalse(CapturedEmail.objects.exists())

    def test_unknown_addresses_become_contacts_when_the_user_asks(self):
        bob = self.cast["bob"]
        options = services.settings_for(bob)
        options.create_contacts = True
        options.save()
        services.capture(parse.parse(mail(sender=bob.email, to=["new@prospect.example"])), user=bob, via="bcc")
        self.assertTrue(
            Touchpoint.objects.filter(contact__email="new@prospect.example", kind="sales_email_sent").exists()
        )

    def test_a_contacts_reply_to_a_campaign_is_linked_to_it(self):
        from smarketing.email.models import EmailSend
        from smarketing.email.tests.campaign_fixtures import make_audience, make_campaign

        audience, _ = make_audience(1)
        campaign = make_campaign(self.cast["mia"], audience)
        EmailSend.objects.create(
            campaign=campaign,
            contact=self.peter,
            email=self.peter.email,
            token="t" * 32,
            status="sent",
            message_id="<send-1@acme.example>",
        )
        reply = mail(
            sender="peter@initech.example",
            to=[self.cast["bob"].email],
            subject="Re: Our webinar",
            in_reply_to="<send-1@acme.example>",
        )
        services.capture(parse.parse(reply), user=self.cast["bob"], via="imap")
        touch = Touchpoint.objects.get(contact=self.peter, kind="sales_email_received")
        self.assertEqual(touch.campaign_id, campaign.campaign_id)

    def test_a_sent_mail_is_the_first_touch_of_an_open_handoff(self):
        person = make_contact(email="lead@initech.example")
        change_lifecycle_stage(person, "mql", actor=system_actor(), origin="system")
        from smarketing.jobs import outbox

        outbox.run_consumer(handoff.CONSUMER, wait=True)
        h = Handoff.objects.get(contact=person)
        raw = mail(sender=h.owner.email, to=["lead@initech.example"], subject="Following up")
        # the Date header is in the past: the touch keeps its own time, before the clock started
        parsed = parse.parse(raw)
        parsed.sent_at = None
        services.capture(parsed, user=h.owner, via="bcc")
        h.refresh_from_db()
        self.assertEqual(h.first_touch_kind, "sales_email_sent")

    def test_the_imap_password_is_encrypted_at_rest(self):
        stored = secret.encrypt("hunter2")
        self.assertNotIn("hunter2", stored)
        self.assertEqual(secret.decrypt(stored), "hunter2")
        with override_settings(SECRET_KEY="another-key-" + "x" * 40):
            self.assertIsNone(secret.decrypt(stored))


class SmtpReceiverTests(TransactionTestCase):
    """The real receiver on a real port: smtplib talks to aiosmtpd, the ORM writes from its worker thread."""

    def setUp(self):
        ensure_defaults()
        self.cast = make_cast()
        self.peter = make_contact(email="peter@initech.example")
        self.address = services.bcc_address(services.settings_for(self.cast["bob"]))
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                self.loop.create_server(smtp_factory(Handler()), host="127.0.0.1", port=self.port)
            )
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        ready.wait(10)

    def tearDown(self):
        def close():
            self.server.close()
            self.loop.stop()

        self.loop.call_soon_threadsafe(close)
        self.thread.join(10)

    def send(self, raw: bytes, rcpt: str):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            return client.sendmail("rep@x", [rcpt], raw)

    def test_bcc_logging_end_to_end_and_the_refusals(self):
        bob = self.cast["bob"]
        self.send(mail(sender=bob.email, to=["peter@initech.example"]), self.address)
        self.assertTrue(Touchpoint.objects.filter(contact=self.peter, kind="sales_email_sent").exists())
        with self.assertRaises(smtplib.SMTPRecipientsRefused):  # not a logging address: no relay
            self.send(mail(sender=bob.email, to=["peter@initech.example"]), "someone@elsewhere.example")
        with self.assertRaises(smtplib.SMTPRecipientsRefused):  # a made-up token
            self.send(mail(sender=bob.email, to=["peter@initech.example"]), "log+zzzz@log.localhost")
        forged = mail(sender="ceo@initech.example", to=["peter@initech.example"], subject="Forged")
        with self.assertRaises(smtplib.SMTPDataError) as caught:
            self.send(forged, self.address)
        self.assertEqual(caught.exception.smtp_code, 550)
        self.assertFalse(Touchpoint.objects.filter(summary__contains="Forged").exists())
        too_big = (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)  # 552 at MAIL FROM (SIZE=) or at DATA
        with override_settings(MAILIN_MAX_BYTES=4096), self.assertRaises(too_big):
            self.send(
                mail(sender=bob.email, to=["peter@initech.example"], body="y" * 10000, subject="Huge"), self.address
            )
        self.assertEqual(CapturedEmail.objects.count(), 1)


@unittest.skipUnless(DovecotServer.available(), "Dovecot (dovecot-imapd) is not installed")
@override_settings(WEBHOOK_ALLOWED_ADDRESSES=["127.0.0.1/32"])
class ImapSyncTests(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dovecot = DovecotServer(user="bob@example.com", password="app-password-1").start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.stop()
        super().tearDownClass()

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.peter = make_contact(email="peter@initech.example")

    def account(self, **extra):
        mc = services.settings_for(self.cast["bob"])
        for key, value in {
            "imap_enabled": True,
            "imap_host": "127.0.0.1",
            "imap_port": self.dovecot.port,
            "imap_ssl": False,
            "imap_username": "bob@example.com",
            "imap_password": secret.encrypt("app-password-1"),
            "imap_folder": "CRM",
            **extra,
        }.items():
            setattr(mc, key, value)
        mc.save()
        return mc

    def test_only_the_chosen_folder_new_messages_once(self):
        bob = self.cast["bob"]
        self.dovecot.append(
            "CRM",
            mail(
                sender=bob.email,
                to=["peter@initech.example"],
                subject="In the folder",
                message_id="<imap-1@example.com>",
            ),
        )
        self.dovecot.append(
            "INBOX",
            mail(
                sender=bob.email,
                to=["peter@initech.example"],
                subject="Private inbox",
                message_id="<imap-2@example.com>",
            ),
        )
        self.dovecot.append("CRM", b"Subject: no sender, so nothing to log\r\n\r\nbody\r\n")
        mc = self.account()
        result = imap.sync(mc)
        self.assertEqual((result.captured, result.skipped), (1, 1), mc.last_error)
        self.assertTrue(Touchpoint.objects.filter(contact=self.peter, summary="Email: In the folder").exists())
        self.assertFalse(Touchpoint.objects.filter(summary__contains="Private inbox").exists())
        mc.refresh_from_db()
        self.assertEqual((mc.last_error, mc.imap_last_uid), ("", 2))
        self.dovecot.append(
            "CRM",
            mail(
                sender="peter@initech.example",
                to=[bob.email],
                subject="Re: In the folder",
                message_id="<imap-3@example.com>",
            ),
        )
        self.assertEqual(imap.sync(mc).captured, 1)  # only the new one
        self.assertEqual(imap.sync(mc).seen, 0)
        self.assertTrue(Touchpoint.objects.filter(contact=self.peter, kind="sales_email_received").exists())

    def test_a_wrong_password_and_an_unsafe_host_are_reported_not_raised(self):
        mc = self.account(imap_password=secret.encrypt("wrong"))
        imap.sync(mc)
        mc.refresh_from_db()
        self.assertIn("Could not sign in", mc.last_error)
        with override_settings(WEBHOOK_ALLOWED_ADDRESSES=[]):
            mc = self.account()
            imap.sync(mc)
            mc.refresh_from_db()
            self.assertIn("loopback", mc.last_error)

    @override_settings(MAILIN_MAX_BYTES=3000)
    def test_a_huge_message_is_skipped_unread(self):
        bob = self.cast["bob"]
        self.dovecot.append(
            "Big",
            mail(sender=bob.email, to=["peter@initech.example"], body="z" * 20000, message_id="<imap-big@example.com>"),
        )
        result = imap.sync(self.account(imap_folder="Big"))
        self.assertEqual((result.seen, result.skipped, result.captured), (1, 1, 0))
