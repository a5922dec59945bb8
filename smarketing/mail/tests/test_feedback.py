from datetime import timedelta

from django.db import transaction
from django.test import TestCase, override_settings
from django.utils import timezone

from smarketing.mail import feedback, suppression
from smarketing.mail.models import FeedbackNotice, Suppression


class FeedbackRuleTests(TestCase):
    def setUp(self):
        self.seen = []
        feedback.register_handler(self.seen.append)
        self.addCleanup(feedback.unregister_handler, self.seen.append)

    def test_hard_bounce_suppresses_at_once(self):
        notice = feedback.record_notice(
            kind="hard_bounce",
            email="Gone@Example.com",
            message_id="abc@mail.example",
            notice_id="n1",
            diagnostic="550 5.1.1 user unknown",
            channel="webhook",
        )
        self.assertEqual(notice.email, "gone@example.com")
        self.assertEqual(notice.message_id, "<abc@mail.example>")
        self.assertTrue(notice.suppressed)
        row = Suppression.objects.get()
        self.assertEqual((row.email, row.reason), ("gone@example.com", "hard_bounce"))
        self.assertIn(str(notice.pk), row.source)
        self.assertEqual(self.seen, [notice])

    def test_complaint_suppresses(self):
        feedback.record_notice(kind="complaint", email="angry@example.com", channel="dsn")
        self.assertEqual(suppression.suppressed(["angry@example.com"]), {"angry@example.com": "complaint"})

    def test_same_notice_id_is_recorded_once_and_handlers_run_once(self):
        first = feedback.record_notice(kind="complaint", email="a@example.com", notice_id="x-1", channel="webhook")
        again = feedback.record_notice(kind="complaint", email="a@example.com", notice_id="x-1", channel="webhook")
        self.assertIsNotNone(first)
        self.assertIsNone(again)
        self.assertEqual(FeedbackNotice.objects.count(), 1)
        self.assertEqual(len(self.seen), 1)

    def test_notices_without_id_are_all_kept(self):
        for _ in range(2):
            feedback.record_notice(kind="soft_bounce", email="a@example.com", channel="dsn")
        self.assertEqual(FeedbackNotice.objects.count(), 2)

    @override_settings(MAIL_SOFT_BOUNCE_LIMIT=3)
    def test_soft_bounces_suppress_after_the_limit_within_30_days(self):
        now = timezone.now()
        # One soft bounce 40 days ago is outside the window and does not count.
        feedback.record_notice(
            kind="soft_bounce", email="full@example.com", channel="dsn", received_at=now - timedelta(days=40)
        )
        for days in (20, 10):
            n = feedback.record_notice(
                kind="soft_bounce", email="full@example.com", channel="dsn", received_at=now - timedelta(days=days)
            )
            self.assertFalse(n.suppressed)
        self.assertFalse(suppression.is_suppressed("full@example.com"))
        # Another address's bounces do not count either.
        feedback.record_notice(kind="soft_bounce", email="other@example.com", channel="dsn")
        n = feedback.record_notice(kind="soft_bounce", email="full@example.com", channel="dsn", received_at=now)
        self.assertTrue(n.suppressed)
        self.assertEqual(suppression.suppressed(["full@example.com"]), {"full@example.com": "soft_bounces"})
        self.assertFalse(suppression.is_suppressed("other@example.com"))

    def test_a_failing_handler_rolls_the_notice_back(self):
        def boom(notice):
            raise RuntimeError("handler failed")

        feedback.register_handler(boom)
        self.addCleanup(feedback.unregister_handler, boom)
        with self.assertRaises(RuntimeError), transaction.atomic():
            feedback.record_notice(kind="hard_bounce", email="a@example.com", notice_id="z", channel="webhook")
        self.assertFalse(FeedbackNotice.objects.exists())
        self.assertFalse(Suppression.objects.exists())

    def test_bad_input_is_refused(self):
        with self.assertRaises(ValueError):
            feedback.record_notice(kind="bounce", email="a@example.com", channel="webhook")
        with self.assertRaises(ValueError):
            feedback.record_notice(kind="complaint", email=" ", channel="webhook")

    def test_register_handler_keeps_one_copy(self):
        feedback.register_handler(self.seen.append)
        feedback.record_notice(kind="complaint", email="a@example.com", channel="webhook")
        self.assertEqual(len(self.seen), 1)
