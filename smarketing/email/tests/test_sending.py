"""The claim loop against a real SMTP server (aiosmtpd): what leaves, what is skipped at send time, retries,
failures, recovery of dead workers' claims, a stolen claim never completed, and hostile contact data."""

from datetime import timedelta

from django.db import connection
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.core.models import Event, WorkerHeartbeat
from smarketing.crm.models import Contact
from smarketing.email import sending, services
from smarketing.email.models import (
    CampaignStatus,
    EmailCampaign,
    EmailPreference,
    EmailSend,
    Frequency,
    SendStatus,
    Topic,
)
from smarketing.email.tests.campaign_fixtures import make_audience, make_campaign, make_sender, make_template
from smarketing.mail import suppression
from smarketing.mail.models import SuppressionReason
from smarketing.mail.testing import SmtpTestServer
from smarketing.testing import make_cast
from smarketing.timeline.models import Touchpoint


class SendingTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.audience, cls.contacts = make_audience(8)
        cls.template = make_template()
        cls.sender = make_sender()

    def setUp(self):
        self.server = SmtpTestServer().start()
        self.addCleanup(self.server.stop)
        overrides = override_settings(**self.server.settings(), SMARKETING_BASE_URL="https://app.acme.example")
        overrides.enable()
        self.addCleanup(overrides.disable)

    def campaign(self, **fields):
        fields.setdefault("template", self.template)
        fields.setdefault("sender", self.sender)
        ec = make_campaign(self.cast["mia"], fields.pop("audience", self.audience), **fields)
        return services.start_sending(self.cast["mia"], ec)

    def received_by(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for m in self.server.messages:
            for rcpt in m.rcpt_tos:
                counts[rcpt] = counts.get(rcpt, 0) + 1
        return counts

    def test_a_campaign_goes_out_once_per_recipient_personalized_and_tracked(self):
        ec = self.campaign(subject='Hello {{ contact.first_name|default:"you" }}')
        outcome = sending.run(ec.pk)
        self.assertEqual(outcome.sent, 8)
        self.assertEqual(self.received_by(), {c.email: 1 for c in self.contacts})
        ec.refresh_from_db()
        self.assertEqual(ec.status, CampaignStatus.SENT)
        self.assertIsNotNone(ec.finished_at)
        self.assertEqual((ec.sent_count, ec.failed_count, ec.suppressed_count), (8, 0, 0))
        send = EmailSend.objects.get(campaign=ec, contact=self.contacts[3])
        message = next(m.message for m in self.server.messages if m.rcpt_tos == [send.email])
        self.assertEqual(message["Subject"], "Hello R3")
        self.assertEqual(message["Message-ID"], send.message_id)
        self.assertEqual(message["Reply-To"], "hello@acme.example")
        self.assertIn("Acme News", message["From"])
        self.assertEqual(message["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        self.assertTrue(message["List-Unsubscribe"].startswith("<https://app.acme.example/e/u/"))
        self.assertNotIn(send.email, message["List-Unsubscribe"])  # opaque: no address, no id
        html = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content()
        self.assertIn("Hi R3", html)
        self.assertIn("https://app.acme.example/e/o/", html)  # the open pixel
        self.assertIn("https://app.acme.example/e/c/", html)  # tracked links
        self.assertNotIn('href="https://acme.example/post', html)
        self.assertIn("https://app.acme.example/e/c/", text)
        self.assertEqual(send.status, SendStatus.SENT)
        self.assertIsNotNone(send.sent_at)
        # Touches and events, written per batch.
        touch = Touchpoint.objects.get(contact=self.contacts[3], kind="email_sent")
        self.assertEqual(touch.campaign_id, ec.campaign_id)
        self.assertEqual(Event.objects.filter(name="email.sent").count(), 8)
        self.assertEqual(Event.objects.filter(name="campaign.sent", object_id=str(ec.pk)).count(), 1)
        # A second run finds nothing to do and sends nothing again.
        self.assertEqual(sending.run(ec.pk).sent, 0)
        self.assertEqual(len(self.server.messages), 8)

    def test_suppression_is_applied_when_each_email_leaves(self):
        news = Topic.objects.create(name="Product news")
        ec = self.campaign(topic=news)
        c = self.contacts
        # All of this happens after the audience was frozen.
        Contact.objects.filter(pk=c[0].pk).update(consent_status="withdrawn")
        Contact.objects.filter(pk=c[1].pk).update(consent_status="unknown")
        suppression.suppress(c[2].email, SuppressionReason.HARD_BOUNCE, "test")
        suppression.suppress(c[3].email.upper(), SuppressionReason.COMPLAINT, "test")
        EmailPreference.objects.create(contact=c[4]).topics_left.add(news)
        weekly = EmailPreference.objects.create(contact=c[5], frequency=Frequency.WEEKLY)
        earlier = make_campaign(self.cast["mia"], self.audience, name="Earlier", template=self.template)
        EmailSend.objects.create(
            campaign=earlier, contact=c[5], email=c[5].email, token="x" * 32, status="sent", sent_at=timezone.now()
        )
        self.assertEqual(weekly.frequency, "weekly")
        c[6].delete()
        sending.run(ec.pk)
        reasons = dict(EmailSend.objects.filter(campaign=ec).values_list("email", "suppressed_reason"))
        self.assertEqual(reasons[c[0].email], "unsubscribed")
        self.assertEqual(reasons[c[1].email], "no_consent")
        self.assertEqual(reasons[c[2].email], "hard_bounce")
        self.assertEqual(reasons[c[3].email], "complaint")
        self.assertEqual(reasons[c[4].email], "topic_left")
        self.assertEqual(reasons[c[5].email], "frequency_cap")
        self.assertEqual(reasons[c[6].email], "contact_deleted")
        self.assertEqual(self.received_by(), {c[7].email: 1})
        ec.refresh_from_db()
        self.assertEqual((ec.status, ec.sent_count, ec.suppressed_count), (CampaignStatus.SENT, 1, 7))

    def test_legitimate_interest_still_skips_withdrawn_consent(self):
        Contact.objects.filter(pk=self.contacts[0].pk).update(consent_status="unknown")
        Contact.objects.filter(pk=self.contacts[1].pk).update(consent_status="withdrawn")
        ec = self.campaign(requires_consent=False)
        sending.run(ec.pk)
        got = self.received_by()
        self.assertIn(self.contacts[0].email, got)
        self.assertNotIn(self.contacts[1].email, got)

    def test_4xx_is_retried_later_and_5xx_fails_that_recipient_only(self):
        c = self.contacts
        self.server.answer_rcpt[c[0].email] = "452 4.2.2 Mailbox full"
        self.server.answer_rcpt[c[1].email] = "550 5.1.1 No such user"
        self.server.answer_data[c[2].email] = "554 5.7.1 Rejected as spam"
        ec = self.campaign()
        outcome = sending.run(ec.pk)
        self.assertEqual((outcome.sent, outcome.retried, outcome.failed), (5, 1, 2))
        full = EmailSend.objects.get(campaign=ec, contact=c[0])
        self.assertEqual((full.status, full.attempts), (SendStatus.QUEUED, 1))
        self.assertGreater(full.send_after, timezone.now() + timedelta(seconds=30))
        self.assertIn("452", full.error)
        unknown = EmailSend.objects.get(campaign=ec, contact=c[1])
        self.assertEqual((unknown.status, unknown.bounce_kind), (SendStatus.FAILED, "hard"))
        self.assertTrue(suppression.is_suppressed(c[1].email))  # a 5.1.1 is a hard bounce for the next send
        spam = EmailSend.objects.get(campaign=ec, contact=c[2])
        self.assertEqual(spam.status, SendStatus.FAILED)  # rejected after the dot: not sent after all
        self.assertIsNone(spam.sent_at)
        self.assertFalse(suppression.is_suppressed(c[2].email))
        self.assertEqual(EmailCampaign.objects.get(pk=ec.pk).status, CampaignStatus.SENDING)  # one still queued
        # The mailbox has room again; its retry is due.
        del self.server.answer_rcpt[c[0].email]
        EmailSend.objects.filter(pk=full.pk).update(send_after=timezone.now())
        sending.run(ec.pk)
        self.assertEqual(self.received_by().get(c[0].email), 1)
        self.assertEqual(EmailCampaign.objects.get(pk=ec.pk).status, CampaignStatus.SENT)

    def test_gives_up_after_max_attempts(self):
        self.server.answer_rcpt[self.contacts[0].email] = "421 4.7.0 Try later"
        ec = self.campaign()
        send = EmailSend.objects.get(campaign=ec, contact=self.contacts[0])
        EmailSend.objects.filter(pk=send.pk).update(attempts=sending.MAX_ATTEMPTS - 1)
        sending.run(ec.pk)
        send.refresh_from_db()
        self.assertEqual((send.status, send.attempts), (SendStatus.FAILED, sending.MAX_ATTEMPTS))
        self.assertEqual(EmailCampaign.objects.get(pk=ec.pk).status, CampaignStatus.SENT)

    def test_smtp_server_down_puts_sends_back(self):
        ec = self.campaign()
        self.server.stop()
        outcome = sending.run(ec.pk)
        self.assertEqual(outcome.sent, 0)
        self.assertEqual(EmailSend.objects.filter(campaign=ec, status=SendStatus.SENDING).count(), 0)
        self.assertEqual(EmailSend.objects.filter(campaign=ec, status=SendStatus.QUEUED).count(), 8)
        self.server.start()
        EmailSend.objects.filter(campaign=ec).update(send_after=timezone.now())
        sending.run(ec.pk)
        self.assertEqual(self.received_by(), {c.email: 1 for c in self.contacts})

    def test_paused_and_cancelled_campaigns_send_nothing(self):
        ec = self.campaign()
        services.pause(self.cast["mia"], ec)
        self.assertEqual(sending.run(ec.pk).sent, 0)
        services.resume(self.cast["mia"], ec)
        claimed = sending.claim(ec.pk, "w1", limit=3)
        services.cancel(self.cast["mia"], ec)
        self.assertEqual(sending.run(ec.pk).sent, 0)
        self.assertEqual(self.server.messages, [])
        sender = sending.Sender(EmailCampaign.objects.get(pk=ec.pk), "w1")
        sender.stop_batch(claimed)  # the claimer sees the cancel between messages
        self.assertEqual(EmailSend.objects.filter(campaign=ec, status=SendStatus.CANCELLED).count(), 8)

    def test_claims_of_dead_workers_are_recovered_live_ones_are_not(self):
        ec = self.campaign()
        WorkerHeartbeat.objects.create(worker_id="alive-1", hostname="h", pid=1, seen_at=timezone.now())
        dead = sending.claim(ec.pk, "dead-1", limit=3)
        live = sending.claim(ec.pk, "alive-1", limit=3)
        self.assertEqual(len({r[0] for r in dead} | {r[0] for r in live}), 6)  # never the same row twice
        long_ago = timezone.now() - timedelta(minutes=5)
        EmailSend.objects.filter(campaign=ec, status=SendStatus.SENDING).update(claimed_at=long_ago)
        self.assertEqual(sending.recover(ec.pk), 3)
        self.assertEqual(EmailSend.objects.filter(campaign=ec, claimed_by="alive-1").count(), 3)
        # Claimed so long ago that even a beating worker is presumed stuck.
        EmailSend.objects.filter(campaign=ec, claimed_by="alive-1").update(
            claimed_at=timezone.now() - sending.CLAIM_TIMEOUT - timedelta(minutes=1)
        )
        self.assertEqual(sending.recover(ec.pk), 3)

    def test_a_dead_workers_sent_but_unrecorded_batch_is_recorded_once_and_its_last_send_in_doubt(self):
        ec = self.campaign()
        rows = sending.claim(ec.pk, "dead-2", limit=5)
        sent_at = timezone.now() - timedelta(minutes=5)
        # It marked three sent (one at a time, so the first two got their 250) and died before recording them.
        for offset, row in enumerate(rows[:3]):
            sending.mark_sent(row[0], "dead-2", sent_at + timedelta(seconds=offset), f"<m{offset}@x>")
        EmailSend.objects.filter(campaign=ec, status=SendStatus.SENDING).update(claimed_at=sent_at)
        touches = Touchpoint.objects.filter(kind="email_sent", campaign_id=ec.campaign_id)
        self.assertEqual(touches.count(), 0)
        self.assertEqual(sending.recover(ec.pk), 2)  # the two it never got to are queued again
        self.assertEqual(touches.count(), 3)
        self.assertEqual(Event.objects.filter(name="email.sent", payload__email_campaign_id=ec.pk).count(), 3)
        self.assertEqual(EmailCampaign.objects.get(pk=ec.pk).sent_count, 3)
        doubt = EmailSend.objects.filter(campaign=ec, error=sending.IN_DOUBT)
        self.assertEqual(list(doubt.values_list("id", flat=True)), [rows[2][0]])  # the last one only
        self.assertEqual(EmailSend.objects.get(id=rows[2][0]).status, SendStatus.SENT)  # never sent again
        sending.recover(ec.pk)
        self.assertEqual(touches.count(), 3)  # recorded once

    def test_a_live_workers_batch_in_flight_is_left_to_it(self):
        ec = self.campaign()
        WorkerHeartbeat.objects.create(worker_id="alive-2", hostname="h", pid=1, seen_at=timezone.now())
        rows = sending.claim(ec.pk, "alive-2", limit=3)
        sending.mark_sent(rows[0][0], "alive-2", timezone.now(), "<m@x>")
        sending.recover(ec.pk)
        self.assertEqual(Touchpoint.objects.filter(kind="email_sent", campaign_id=ec.campaign_id).count(), 0)
        self.assertEqual(EmailSend.objects.get(id=rows[0][0]).claimed_by, "alive-2")
        # A whole run records its own batches and clears their claims (alive-2's one stays alive-2's to record).
        self.assertGreater(sending.run(ec.pk).sent, 0)
        unrecorded = EmailSend.objects.filter(campaign=ec, status=SendStatus.SENT).exclude(claimed_by="")
        self.assertEqual(list(unrecorded.values_list("id", flat=True)), [rows[0][0]])

    def test_a_stolen_claim_is_never_completed(self):
        ec = self.campaign()
        rows = sending.claim(ec.pk, "slow-worker", limit=8)
        # Presumed dead, its sends were recovered and claimed by another worker meanwhile.
        EmailSend.objects.filter(id=rows[0][0]).update(claimed_by="other-worker")
        sender = sending.Sender(EmailCampaign.objects.select_related("sender").get(pk=ec.pk), "slow-worker")
        from smarketing.mail.transport import SmtpSession

        with SmtpSession() as session:
            sender.send_batch(session, rows)
        self.assertEqual(sender.outcome.sent, 7)
        self.assertNotIn(rows[0][2], self.received_by())  # hung up before the final dot: nothing delivered
        self.assertEqual(EmailSend.objects.get(id=rows[0][0]).status, SendStatus.SENDING)

    def test_hostile_contact_data_is_escaped_and_cannot_inject_headers(self):
        evil = self.contacts[0]
        Contact.objects.filter(pk=evil.pk).update(first_name='<script>alert("x")</script>\r\nBcc: victim@evil.example')
        ec = self.campaign(subject="Hi {{ contact.first_name }}")
        sending.run(ec.pk)
        got = self.received_by()
        self.assertNotIn("victim@evil.example", got)
        message = next(m for m in self.server.messages if m.rcpt_tos == [evil.email])
        headers = message.data.split(b"\r\n\r\n", 1)[0]
        self.assertNotIn(b"\r\nBcc:", headers)
        parsed = message.message
        self.assertNotIn("\n", parsed["Subject"])
        self.assertIsNone(parsed["Bcc"])
        html = parsed.get_body(("html",)).get_content()
        self.assertNotIn("<script>", html)
        self.assertIn("&lt;script&gt;", html)
        self.assertEqual(len(got), 8)

    def test_one_click_unsubscribe_without_cookies_then_the_next_campaign_skips_them(self):
        first = self.campaign(name="First")
        sending.run(first.pk)
        leaving = self.contacts[2]
        message = next(m.message for m in self.server.messages if m.rcpt_tos == [leaving.email])
        url = message["List-Unsubscribe"].strip("<>")
        path = url.removeprefix("https://app.acme.example")
        self.client.cookies.clear()
        self.assertEqual(self.client.get(path).status_code, 200)  # a GET changes nothing
        self.assertEqual(Contact.objects.get(pk=leaving.pk).consent_status, "granted")
        response = self.client.post(path, {"List-Unsubscribe": "One-Click"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.client.cookies, {} if not self.client.cookies else self.client.cookies)
        self.assertEqual(Contact.objects.get(pk=leaving.pk).consent_status, "withdrawn")
        self.server.messages.clear()
        second = self.campaign(name="Second")
        sending.run(second.pk)
        got = self.received_by()
        self.assertNotIn(leaving.email, got)
        self.assertEqual(len(got), 7)
        skipped = EmailSend.objects.get(campaign=second, contact=leaving)
        self.assertEqual((skipped.status, skipped.suppressed_reason), (SendStatus.SUPPRESSED, "unsubscribed"))

    def test_send_test_goes_to_the_transactional_stream(self):
        import pytest

        pytest.importorskip("smarketing.mail.services")  # the sender part's transactional stream
        from smarketing.mail.models import TransactionalMessage

        ec = make_campaign(self.cast["mia"], self.audience, template=self.template, sender=self.sender)
        services.send_test(self.cast["mia"], ec, "mia@example.com")
        test = TransactionalMessage.objects.get(to_email="mia@example.com")
        self.assertTrue(test.subject.startswith("[Test] "))
        self.assertFalse(EmailSend.objects.filter(campaign=ec).exists())
        page = self.client
        page.force_login(self.cast["mia"])
        response = page.post(reverse("email:campaign_test", args=[ec.pk]), {"to": "bad\r\nBcc: x@evil.example"})
        self.assertEqual(response.status_code, 400)


class MultiSenderTests(TestCase):
    """Claims are exclusive: interleaved claimers never share a row (SKIP LOCKED on PostgreSQL)."""

    def test_interleaved_claims_partition_the_queue(self):
        cast = make_cast()
        audience, _ = make_audience(30)
        ec = services.start_sending(cast["mia"], make_campaign(cast["mia"], audience))
        seen = []
        for n in range(10):
            seen += [r[0] for r in sending.claim(ec.pk, f"w{n % 3}", limit=4)]
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(len(seen), 30)
        self.assertEqual(sending.claim(ec.pk, "late", limit=4), [])
        assert connection.vendor in ("sqlite", "postgresql")
        _ = system_actor, make_sender, make_template  # fixtures shared with the module above
