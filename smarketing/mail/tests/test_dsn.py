"""DSN and ARF parsing against realistic reports (samples/: Postfix, Gmail, RFC 3464 and RFC 5965 examples)."""

from pathlib import Path

from django.test import SimpleTestCase, TestCase

from smarketing.mail import dsn, feedback
from smarketing.mail.models import FeedbackNotice, Suppression

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


class ParseTests(SimpleTestCase):
    def test_postfix_hard_bounce(self):
        [n] = dsn.parse(sample("postfix_hard.eml"))
        self.assertEqual(n.kind, "hard_bounce")
        self.assertEqual(n.email, "nobody@example.org")
        self.assertEqual(n.message_id, "<176458.abc123@acme.example>")
        self.assertIn("550 5.1.1", n.diagnostic)
        self.assertIn("User unknown", n.diagnostic)
        self.assertNotIn("\n", n.diagnostic)
        self.assertTrue(n.notice_id.startswith("dsn:<20261201100211.3F1A21C0450@mail.acme.example>"))

    def test_gmail_delay_is_soft_with_the_original_from_message_rfc822(self):
        [n] = dsn.parse(sample("gmail_delayed.eml"))
        self.assertEqual((n.kind, n.email), ("soft_bounce", "full@example.net"))
        self.assertEqual(n.message_id, "<176458.def456@acme.example>")
        self.assertIn("over quota", n.diagnostic)

    def test_rfc3464_example_with_several_recipients(self):
        notices = dsn.parse(sample("rfc3464_multi.eml"))
        got = [(n.kind, n.email) for n in notices]
        # failed + 4.0.0 is a temporary failure (soft); delivered gives nothing; failed + 5.7.1 is hard.
        self.assertEqual(
            got, [("soft_bounce", "louisl@larry.slip.umd.edu"), ("hard_bounce", "gone@larry.slip.umd.edu")]
        )
        self.assertEqual(notices[0].message_id, "")  # the original was not included
        self.assertEqual(notices[0].diagnostic, "426 connection timed out")
        self.assertNotEqual(notices[0].notice_id, notices[1].notice_id)

    def test_rfc5965_abuse_report(self):
        [n] = dsn.parse(sample("arf_abuse.eml"))
        self.assertEqual((n.kind, n.email), ("complaint", "user@example.com"))
        self.assertEqual(n.message_id, "8787KJKJ3K4J3K4J3K4J3.mail@example.net")
        self.assertIn("abuse", n.diagnostic)

    def test_yahoo_style_report_takes_the_recipient_from_the_original_headers(self):
        [n] = dsn.parse(sample("arf_redacted_headers.eml"))
        self.assertEqual(
            (n.kind, n.email, n.message_id), ("complaint", "pat.doe@yahoo.example", "<176458.ghi789@acme.example>")
        )

    def test_not_a_report(self):
        self.assertEqual(dsn.parse(b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"), [])
        self.assertEqual(dsn.parse(b""), [])
        self.assertEqual(dsn.parse(b"Content-Type: multipart/report; report-type=disposition-notification\r\n\r\n"), [])

    def test_garbage_does_not_raise(self):
        broken = sample("postfix_hard.eml").replace(
            b"Final-Recipient: rfc822; Nobody@Example.org", b"Final-Recipient: ;;;"
        )
        self.assertEqual(dsn.parse(broken), [])
        self.assertEqual(dsn.parse(b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\n\x00\xff"), [])

    def test_non_abuse_feedback_is_ignored(self):
        raw = sample("arf_abuse.eml").replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
        self.assertEqual(dsn.parse(raw), [])


class BuildTests(SimpleTestCase):
    ORIGINAL = b"From: a@acme.example\r\nTo: x@nowhere.invalid\r\nMessage-ID: <abc@acme.example>\r\n\r\nbody\r\n"

    def test_a_built_dsn_parses_back(self):
        [hard] = dsn.parse(dsn.build_dsn(self.ORIGINAL, "x@nowhere.invalid"))
        self.assertEqual(
            (hard.kind, hard.email, hard.message_id), ("hard_bounce", "x@nowhere.invalid", "<abc@acme.example>")
        )
        self.assertIn("550 5.1.1", hard.diagnostic)
        raw = dsn.build_dsn(self.ORIGINAL, "x@nowhere.invalid", status="4.2.2", action="delayed", diagnostic="452 full")
        [soft] = dsn.parse(raw)
        self.assertEqual((soft.kind, soft.diagnostic), ("soft_bounce", "452 full"))
        self.assertTrue(raw.count(b"\r\n") > 10 and b"\n" not in raw.replace(b"\r\n", b""))


class RecordTests(TestCase):
    def test_a_report_received_twice_is_recorded_once(self):
        for _ in range(2):
            for n in dsn.parse(sample("postfix_hard.eml")):
                feedback.record_notice(**n.as_kwargs())
        notice = FeedbackNotice.objects.get()
        self.assertEqual(
            (notice.kind, notice.channel, notice.message_id), ("hard_bounce", "dsn", "<176458.abc123@acme.example>")
        )
        self.assertEqual(Suppression.objects.get().email, "nobody@example.org")
