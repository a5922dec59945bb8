"""POST /mail/feedback/: the signed JSON endpoint for bounce and complaint notices."""

import json
import time

from django.core.cache import cache
from django.test import TestCase, override_settings

from smarketing.mail.models import FeedbackNotice, Suppression
from smarketing.mail.views import sign_body

SECRET = "s3cret-for-tests-0123456789abcdef"
URL = "/mail/feedback/"


@override_settings(MAIL_FEEDBACK_SECRET=SECRET)
class EndpointTests(TestCase):
    def setUp(self):
        cache.clear()

    def post(self, payload, *, secret=SECRET, timestamp=None, raw=None, signature=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        sig = signature if signature is not None else sign_body(body, secret, timestamp)
        return self.client.post(URL, body, content_type="application/json", HTTP_X_SMARKETING_SIGNATURE=sig)

    def test_one_hard_bounce(self):
        r = self.post(
            {
                "type": "bounce",
                "bounce_type": "hard",
                "email": "Gone@Example.com",
                "message_id": "<m1@acme.example>",
                "id": "evt-1",
                "diagnostic": "550 5.1.1 user unknown",
                "timestamp": "2026-12-01T10:00:00Z",
            }
        )
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(r.json(), {"received": 1, "recorded": 1, "duplicates": 0})
        n = FeedbackNotice.objects.get()
        self.assertEqual(
            (n.kind, n.email, n.message_id, n.notice_id, n.channel),
            ("hard_bounce", "gone@example.com", "<m1@acme.example>", "evt-1", "webhook"),
        )
        self.assertEqual(n.received_at.isoformat(), "2026-12-01T10:00:00+00:00")
        self.assertEqual(Suppression.objects.get().reason, "hard_bounce")

    def test_a_batch_posted_twice_records_each_once(self):
        batch = [
            {"type": "complaint", "email": "a@example.com", "id": "c-1", "timestamp": int(time.time())},
            {"type": "bounce", "bounce_type": "soft", "email": "b@example.com", "id": "s-1"},
        ]
        self.assertEqual(self.post(batch).json(), {"received": 2, "recorded": 2, "duplicates": 0})
        self.assertEqual(self.post(batch).json(), {"received": 2, "recorded": 0, "duplicates": 2})
        self.assertEqual(FeedbackNotice.objects.count(), 2)
        self.assertEqual(list(Suppression.objects.values_list("email", flat=True)), ["a@example.com"])

    def test_invalid_notices_record_nothing_and_say_why(self):
        r = self.post(
            [
                {"type": "complaint", "email": "ok@example.com"},
                {"type": "bounce", "email": "not-an-address", "bounce_type": "medium", "message_id": "a\r\nBcc: x"},
                "nope",
            ]
        )
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r["Content-Type"], "application/problem+json")
        errors = r.json()["errors"]
        self.assertEqual(set(errors), {"1.email", "1.bounce_type", "1.message_id", "2"})
        self.assertFalse(FeedbackNotice.objects.exists())
        for body in (
            b"{not json",
            b"[]",
            json.dumps([{"type": "complaint", "email": "a@example.com"}] * 1001).encode(),
        ):
            self.assertEqual(self.post(None, raw=body).status_code, 400)

    def test_bad_signatures_are_401(self):
        body = json.dumps({"type": "complaint", "email": "a@example.com"}).encode()
        # Well outside the 300 s tolerance: a "future" of +301 s became valid when a loaded machine took over a
        # second to reach its request (CI, 2026-12-03).
        stale = sign_body(body, SECRET, int(time.time()) - 400)
        future = sign_body(body, SECRET, int(time.time()) + 400)
        wrong_key = sign_body(body, "another-secret", None)
        # The timestamp is under the MAC: refreshing t on an old signature does not help.
        refreshed = f"t={int(time.time())},v1={stale.split('v1=')[1]}"
        tampered_body = body.replace(b"a@example.com", b"b@example.com")
        for sig in ("", "garbage", "t=abc,v1=00", stale, future, wrong_key, refreshed):
            r = self.post(None, raw=body, signature=sig)
            self.assertEqual(r.status_code, 401, sig)
            self.assertEqual(r["Content-Type"], "application/problem+json")
        r = self.post(None, raw=tampered_body, signature=sign_body(body, SECRET))
        self.assertEqual(r.status_code, 401)
        self.assertFalse(FeedbackNotice.objects.exists())

    def test_rotation_accepts_any_listed_v1(self):
        body = json.dumps({"type": "complaint", "email": "a@example.com"}).encode()
        good = sign_body(body, SECRET)
        r = self.post(None, raw=body, signature=f"{good},v1={'0' * 64}")
        self.assertEqual(r.status_code, 200)

    def test_no_session_no_csrf_and_only_post(self):
        # The test client enforces CSRF checks when asked; the endpoint is exempt (its signature is the proof).
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        body = json.dumps({"type": "complaint", "email": "a@example.com"}).encode()
        r = client.post(URL, body, content_type="application/json", HTTP_X_SMARKETING_SIGNATURE=sign_body(body, SECRET))
        self.assertEqual(r.status_code, 200)
        self.assertNotIn("sessionid", r.cookies)
        self.assertEqual(self.client.get(URL).status_code, 405)

    @override_settings(MAIL_FEEDBACK_MAX_BYTES=1000)
    def test_size_limit(self):
        big = [{"type": "complaint", "email": f"user{i}@example.com"} for i in range(40)]
        r = self.post(big)
        self.assertEqual(r.status_code, 413)
        self.assertFalse(FeedbackNotice.objects.exists())

    @override_settings(MAIL_FEEDBACK_RATE_PER_MINUTE=3)
    def test_rate_limit(self):
        codes = [self.post({"type": "complaint", "email": "a@example.com"}).status_code for _ in range(5)]
        self.assertEqual(codes[:3], [200, 200, 200])
        self.assertEqual(codes[3:], [429, 429])
        r = self.post({"type": "complaint", "email": "a@example.com"})
        self.assertTrue(1 <= int(r["Retry-After"]) <= 60)

    @override_settings(MAIL_FEEDBACK_SECRET="")
    def test_off_without_a_secret(self):
        self.assertEqual(self.post({"type": "complaint", "email": "a@example.com"}, secret="x").status_code, 404)
