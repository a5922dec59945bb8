from django.test import TestCase

from smarketing.mail import feedback, suppression
from smarketing.mail.models import CapturedMessage, FeedbackNotice, Suppression, SuppressionReason
from smarketing.privacy import services
from smarketing.testing import make_cast, make_contact


class MailPrivacyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice = make_cast()["alice"]
        cls.contact = make_contact(email="Ann.Lee@Example.com", first_name="Ann", last_name="Lee")
        feedback.record_notice(
            kind="hard_bounce",
            email="ann.lee@example.com",
            diagnostic="550 ann.lee@example.com unknown",
            channel="webhook",
            message_id="<m1@acme.example>",
        )
        suppression.suppress("other@example.com", SuppressionReason.MANUAL)
        CapturedMessage.objects.create(mail_from="x@acme.example", recipients=["Ann.Lee@example.com"], raw=b"x")
        CapturedMessage.objects.create(mail_from="x@acme.example", recipients=["other@example.com"], raw=b"y")

    def test_export_lists_suppression_and_notices(self):
        body = "".join(services.stream_json(services.export_contact(self.contact, actor=self.alice)))
        self.assertIn('"email_suppression"', body)
        self.assertIn("hard_bounce", body)
        self.assertIn("550 ann.lee@example.com unknown", body)

    def test_erasure_leaves_no_address_behind(self):
        services.erase_contact(self.contact, actor=self.alice, reason="GDPR")
        notice = FeedbackNotice.objects.get()
        self.assertEqual((notice.kind, notice.diagnostic), ("hard_bounce", ""))
        self.assertNotIn("ann", notice.email)
        self.assertEqual(list(Suppression.objects.values_list("email", flat=True)), ["other@example.com"])
        self.assertEqual([m.recipients for m in CapturedMessage.objects.all()], [["other@example.com"]])
