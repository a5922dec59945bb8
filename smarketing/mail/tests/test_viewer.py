"""The demo's mail viewer: list, message page, the HTML served sandboxed with a strict CSP."""

from email.message import EmailMessage

from django.test import TestCase, override_settings

from smarketing.mail.models import CapturedMessage
from smarketing.testing import make_cast

XSS = '<script>alert("x")</script>'


def capture(n: int = 0, **kw) -> CapturedMessage:
    m = EmailMessage()
    m["From"] = "Maya <maya@acme.example>"
    m["To"] = "pat@example.com"
    m["Subject"] = kw.get("subject", f"News {n}")
    m["X-Evil"] = XSS
    m.set_content(kw.get("text", f"Hello {n} {XSS}"))
    if kw.get("html", True):
        m.add_alternative(f"<p>Hello {n}</p>{XSS}<a href='https://acme.example/x'>x</a>", subtype="html")
    return CapturedMessage.objects.create(
        mail_from="bounces@acme.example",
        recipients=["pat@example.com"],
        subject=str(m["Subject"]),
        message_id=f"<m{n}@acme.example>",
        raw=m.as_bytes(),
    )


@override_settings(MAIL_VIEWER=True)
class ViewerTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        for n in range(55):
            capture(n)
        cls.evil = capture(99, subject=f"Hi {XSS}")

    def setUp(self):
        self.client.force_login(self.cast["rory"])  # any signed-in user may read the demo's mail

    def test_list_newest_first_paged_constant_queries(self):
        with self.assertNumQueries(4):  # session, user, a page of messages (raw deferred), the team (sidebar)
            r = self.client.get("/mail/viewer/")
        rows = r.context["page"].rows
        self.assertEqual(len(rows), 50)
        self.assertEqual(rows[0].pk, self.evil.pk)
        body = r.content.decode()
        self.assertNotIn(XSS, body)
        self.assertIn("Hi &lt;script&gt;", body)
        with self.assertNumQueries(4):
            r = self.client.get("/mail/viewer/", {"cursor": r.context["page"].next_cursor})
        self.assertEqual(len(r.context["page"].rows), 6)
        self.assertContains(self.client.get("/"), 'href="/mail/viewer/"')

    def test_message_page_escapes_and_frames_the_html(self):
        r = self.client.get(f"/mail/viewer/{self.evil.pk}/")
        body = r.content.decode()
        self.assertNotIn(XSS, body)
        self.assertIn("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;", body)  # the text part and X-Evil header
        self.assertIn('sandbox="allow-popups allow-popups-to-escape-sandbox"', body)
        self.assertIn(f'src="/mail/viewer/{self.evil.pk}/html/"', body)
        self.assertIn("frame-ancestors 'none'", r["Content-Security-Policy"])

    def test_html_part_is_served_under_a_csp_without_scripts(self):
        r = self.client.get(f"/mail/viewer/{self.evil.pk}/html/")
        self.assertEqual(r.status_code, 200)
        csp = r["Content-Security-Policy"]
        self.assertIn("default-src 'none'", csp)
        self.assertNotIn("script-src", csp)
        self.assertIn("sandbox", csp)
        self.assertIn("frame-ancestors 'self'", csp)
        self.assertEqual(r["X-Frame-Options"], "SAMEORIGIN")
        self.assertEqual(r["X-Content-Type-Options"], "nosniff")
        self.assertTrue(r.content.startswith(b'<base target="_blank">'))

    def test_message_without_html(self):
        m = capture(7, html=False)
        r = self.client.get(f"/mail/viewer/{m.pk}/")
        self.assertNotContains(r, "<iframe")
        self.assertContains(r, "Hello 7")

    def test_a_malformed_message_still_shows(self):
        raw = (
            b"Subject: =?x-unknown?q?caf=E9?=\r\nFrom: <<<broken\r\nContent-Type: text/plain; charset=x-nonsense\r\n"
            b"\r\n\xff\xfe body\r\n"
        )
        m = CapturedMessage.objects.create(mail_from="", recipients=["a@example.com"], subject="broken", raw=raw)
        r = self.client.get(f"/mail/viewer/{m.pk}/")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(self.client.get(f"/mail/viewer/{m.pk}/html/").status_code, 200)

    def test_signed_in_only(self):
        self.client.logout()
        for url in ("/mail/viewer/", f"/mail/viewer/{self.evil.pk}/", f"/mail/viewer/{self.evil.pk}/html/"):
            self.assertEqual(self.client.get(url).status_code, 302, url)

    @override_settings(MAIL_VIEWER=False)
    def test_off_outside_the_demo(self):
        for url in ("/mail/viewer/", f"/mail/viewer/{self.evil.pk}/", f"/mail/viewer/{self.evil.pk}/html/"):
            self.assertEqual(self.client.get(url).status_code, 404, url)
        self.assertNotContains(self.client.get("/"), 'href="/mail/viewer/"')
