"""Bounce and complaint notices (recorded by mail.feedback) marked on the send they answer, by Message-ID."""

from django.test import TestCase

from smarketing.core.models import Event
from smarketing.crm.models import ConsentStatus, Contact
from smarketing.email import kinds
from smarketing.email.models import EmailSend
from smarketing.email.tests.tracking_fixtures import make_email_campaign, make_send
from smarketing.mail import feedback
from smarketing.timeline.models import Touchpoint


class FeedbackHandlerTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.ec = make_email_campaign("Spring launch", subject="Spring is here")
        cls.send = make_send(cls.ec, consent_status=ConsentStatus.GRANTED)
        cls.other = make_send(cls.ec)

    def notice(self, kind, message_id=None, notice_id=None):
        return feedback.record_notice(
            kind=kind,
            email=self.send.email,
            message_id=self.send.message_id if message_id is None else message_id,
            notice_id=notice_id,
            diagnostic="550 5.1.1 user unknown",
            channel="webhook",
        )

    def test_a_hard_bounce_marks_the_send_with_a_touch_and_an_event(self):
        notice = self.notice("hard_bounce")
        send = EmailSend.objects.get(pk=self.send.pk)
        self.assertEqual((send.bounce_kind, send.bounced_at), ("hard", notice.received_at))
        touch = Touchpoint.objects.get(kind=kinds.EMAIL_BOUNCED)
        self.assertEqual((touch.contact_id, touch.campaign_id), (self.send.contact_id, self.ec.campaign_id))
        self.assertIn("Spring is here", touch.summary)
        self.assertEqual(touch.details["bounce"], "hard")
        event = Event.objects.get(name="email.bounced")
        self.assertEqual(event.object_id, str(self.send.pk))
        self.assertEqual(EmailSend.objects.get(pk=self.other.pk).bounced_at, None)

    def test_the_bare_message_id_form_matches_too(self):
        self.notice("soft_bounce", message_id=self.send.message_id.strip("<>"))
        self.assertEqual(EmailSend.objects.get(pk=self.send.pk).bounce_kind, "soft")

    def test_a_hard_bounce_after_a_soft_one_replaces_it_and_repeats_write_nothing(self):
        self.notice("soft_bounce")
        self.notice("soft_bounce")
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.EMAIL_BOUNCED).count(), 1)
        self.notice("hard_bounce")
        self.notice("hard_bounce")
        self.assertEqual(EmailSend.objects.get(pk=self.send.pk).bounce_kind, "hard")
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.EMAIL_BOUNCED).count(), 2)
        self.assertEqual(Event.objects.filter(name="email.bounced").count(), 2)

    def test_a_complaint_marks_the_send_and_withdraws_consent(self):
        self.notice("complaint")
        self.notice("complaint")
        self.assertIsNotNone(EmailSend.objects.get(pk=self.send.pk).complained_at)
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.EMAIL_COMPLAINED).count(), 1)
        self.assertEqual(Event.objects.filter(name="email.complained").count(), 1)
        contact = Contact.objects.get(pk=self.send.contact_id)
        self.assertEqual(contact.consent_status, ConsentStatus.WITHDRAWN)
        self.assertIn("spam", contact.consent_source)

    def test_a_notice_for_an_unknown_message_changes_no_send(self):
        self.assertIsNotNone(self.notice("hard_bounce", message_id="<nobody@else>"))
        self.assertFalse(EmailSend.objects.exclude(bounced_at=None).exists())
        self.assertFalse(Touchpoint.objects.filter(kind=kinds.EMAIL_BOUNCED).exists())
