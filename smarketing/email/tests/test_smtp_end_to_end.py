"""A full campaign through real worker processes and a real SMTP server (aiosmtpd): the headers a bulk sender
must carry, the DKIM signature verified with dkimpy against the TXT record we publish (List-Unsubscribe and
List-Unsubscribe-Post among the signed headers), and the one-click unsubscribe URL working without cookies."""

import tempfile
from pathlib import Path

import dkim as dkimpy
from django.test import TransactionTestCase, override_settings

from smarketing.email import services
from smarketing.email.models import CampaignStatus, EmailCampaign, EmailSend, SendStatus
from smarketing.email.tests.campaign_fixtures import make_audience, make_campaign
from smarketing.jobs.testing import WorkerPool
from smarketing.mail import dkim
from smarketing.mail.testing import SmtpTestServer
from smarketing.testing import make_cast

KEY_DIR = Path(tempfile.mkdtemp(prefix="campaign-dkim-"))
KEY_FILE = KEY_DIR / "dkim.pem"
KEY_FILE.write_bytes(dkim.generate_private_key())
DKIM = {"DKIM_DOMAIN": "acme.example", "DKIM_SELECTOR": "news1", "DKIM_PRIVATE_KEY_FILE": str(KEY_FILE)}


def signed_headers(raw: bytes) -> list[bytes]:
    header = raw.split(b"\r\n\r\n", 1)[0]
    value = header.split(b"DKIM-Signature:", 1)[1]
    value = value.split(b"\r\n", 1)[0] + b"".join(
        line for line in value.split(b"\r\n")[1:] if line[:1] in (b" ", b"\t")
    )
    tags = dict(part.strip().split(b"=", 1) for part in b"".join(value.split()).split(b";") if part.strip())
    return [h.strip().lower() for h in tags[b"h"].split(b":")]


@override_settings(**DKIM, SMARKETING_BASE_URL="https://app.acme.example")
class EndToEndTests(TransactionTestCase):
    def test_full_campaign_signed_tracked_and_unsubscribable(self):
        with SmtpTestServer() as server:
            cast = make_cast()
            audience, contacts = make_audience(12)
            ec = services.send(
                cast["mia"], make_campaign(cast["mia"], audience, subject="Hello {{ contact.first_name }}")
            )
            self.assertEqual(ec.status, CampaignStatus.SENDING)
            env = {
                "EMAIL_HOST": server.host,
                "EMAIL_PORT": str(server.port),
                "SMARKETING_BASE_URL": "https://app.acme.example",
                **DKIM,
            }
            with WorkerPool(2, env=env) as pool:  # --batch: run what is due, then exit
                pool.wait(timeout=120)
            self.assertEqual(EmailCampaign.objects.get(pk=ec.pk).status, CampaignStatus.SENT)
            self.assertEqual(sorted(r for m in server.messages for r in m.rcpt_tos), sorted(c.email for c in contacts))

            record = dkim.public_dns_record()
            dns = dkim.dnsfunc_for(record, "news1._domainkey.acme.example")
            for received in server.messages:
                raw = received.data
                self.assertTrue(dkimpy.verify(raw, dnsfunc=dns), "DKIM signature does not verify")
                signed = signed_headers(raw)
                for header in (b"from", b"to", b"subject", b"date", b"message-id"):
                    self.assertIn(header, signed)
                self.assertIn(b"list-unsubscribe", signed)
                self.assertIn(b"list-unsubscribe-post", signed)
                message = received.message
                send = EmailSend.objects.get(campaign=ec, email=received.rcpt_tos[0])
                self.assertEqual(send.status, SendStatus.SENT)
                self.assertEqual(message["Message-ID"], send.message_id)
                self.assertTrue(message["Message-ID"].endswith("@app.acme.example>"))
                self.assertIsNotNone(message["Date"])
                self.assertEqual(message["Reply-To"], "hello@acme.example")
                self.assertEqual(message["X-Smarketing-Stream"], "marketing")
                self.assertEqual(message["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
                self.assertRegex(message["List-Unsubscribe"], r"^<https://app\.acme\.example/e/u/[A-Za-z0-9_-]+>$")
                self.assertEqual(message["Subject"], f"Hello {send.contact.first_name}")
                # A changed byte breaks the signature (what a receiving server would see as tampering).
                self.assertFalse(dkimpy.verify(raw.replace(b"Subject: Hello", b"Subject: Hallo", 1), dnsfunc=dns))

            # One-click unsubscribe, as a mailbox provider does it: a POST without cookies to the header's URL.
            leaving = server.messages[0]
            path = leaving.message["List-Unsubscribe"].strip("<>").removeprefix("https://app.acme.example")
            response = self.client_class().post(path, {"List-Unsubscribe": "One-Click"})
            self.assertEqual(response.status_code, 200)
            contact = EmailSend.objects.get(campaign=ec, email=leaving.rcpt_tos[0]).contact
            contact.refresh_from_db()
            self.assertEqual(contact.consent_status, "withdrawn")
