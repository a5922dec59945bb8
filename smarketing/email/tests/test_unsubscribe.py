"""RFC 8058 one-click unsubscribe and the confirmation page, through HTTP with a client that has no cookies."""

from django.core.cache import cache
from django.test import Client, TestCase

from smarketing.core.models import AuditEntry, Event
from smarketing.crm.models import ConsentStatus, Contact
from smarketing.email import kinds, links, tokens
from smarketing.email.models import EmailSend
from smarketing.email.tests.tracking_fixtures import make_email_campaign, make_send
from smarketing.mail import suppression
from smarketing.timeline.models import Touchpoint


def unsubscribe_path(send):
    return links.UNSUBSCRIBE_PATH.format(tokens.sign(send.token))


class OneClickTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.ec = make_email_campaign("Spring launch")
        cls.send = make_send(cls.ec, email="Ann@Example.com", consent_status=ConsentStatus.GRANTED)

    def setUp(self):
        cache.clear()
        # Like a mail provider's server: no cookies, no CSRF token, enforce_csrf_checks as a browser would.
        self.client = Client(enforce_csrf_checks=True)

    def one_click(self, send=None):
        return self.client.post(
            unsubscribe_path(send or self.send),
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )

    def test_a_post_without_cookies_unsubscribes_and_answers_200(self):
        response = self.one_click()
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "You are unsubscribed")

        contact = Contact.objects.get(pk=self.send.contact_id)
        self.assertEqual(contact.consent_status, ConsentStatus.WITHDRAWN)
        self.assertEqual(contact.consent_source, "Unsubscribed from campaign Spring launch")
        self.assertIsNotNone(contact.consent_at)
        self.assertEqual(suppression.suppressed(["ann@example.com"]), {"ann@example.com": "unsubscribed"})
        self.assertIsNotNone(EmailSend.objects.get(pk=self.send.pk).unsubscribed_at)
        touch = Touchpoint.objects.get(kind=kinds.UNSUBSCRIBED)
        self.assertEqual((touch.contact_id, touch.campaign_id), (contact.pk, self.ec.campaign_id))
        self.assertEqual(touch.details["via"], "one-click (mail client)")
        self.assertTrue(Event.objects.filter(name="email.unsubscribed", object_id=str(self.send.pk)).exists())
        # The consent change itself went through the CRM service: audited, with the email origin.
        self.assertTrue(AuditEntry.objects.filter(object_id=str(contact.pk), origin="email").exists())

    def test_it_is_idempotent(self):
        self.one_click()
        response = self.one_click()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.UNSUBSCRIBED).count(), 1)
        self.assertEqual(Event.objects.filter(name="email.unsubscribed").count(), 1)

    def test_get_shows_a_confirmation_and_changes_nothing(self):
        response = self.client.get(unsubscribe_path(self.send))
        self.assertContains(response, "Unsubscribe?")
        self.assertContains(response, self.send.email)  # the page names the address it unsubscribes
        self.assertContains(response, 'method="post"')
        self.assertEqual(Contact.objects.get(pk=self.send.contact_id).consent_status, ConsentStatus.GRANTED)
        self.assertEqual(suppression.suppressed(["ann@example.com"]), {})
        self.assertIsNone(EmailSend.objects.get(pk=self.send.pk).unsubscribed_at)
        self.assertFalse(Touchpoint.objects.filter(kind=kinds.UNSUBSCRIBED).exists())

    def test_a_post_without_the_one_click_body_changes_nothing(self):
        response = self.client.post(unsubscribe_path(self.send), {"something": "else"})
        self.assertContains(response, "Unsubscribe?")
        self.assertEqual(suppression.suppressed([self.send.email]), {})
        self.assertFalse(Touchpoint.objects.filter(kind=kinds.UNSUBSCRIBED).exists())

    def test_the_confirmation_button_unsubscribes(self):
        response = self.client.post(unsubscribe_path(self.send), {"List-Unsubscribe": "One-Click", "confirm": "1"})
        self.assertContains(response, "You are unsubscribed")
        self.assertEqual(Touchpoint.objects.get(kind=kinds.UNSUBSCRIBED).details["via"], "unsubscribe page")

    def test_tampered_or_unknown_tokens_reveal_nothing(self):
        signed = tokens.sign(self.send.token)
        unknown = links.UNSUBSCRIBE_PATH.format(tokens.sign(tokens.new_send_token()))
        tampered = f"/e/u/{signed[:-1]}{'B' if signed[-1] != 'B' else 'C'}"
        for path in [tampered, unknown, "/e/u/nothing"]:
            with self.subTest(path=path):
                for response in [
                    self.client.get(path),
                    self.client.post(
                        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
                    ),
                ]:
                    self.assertContains(response, "This link does not work", status_code=404)
                    self.assertNotContains(response, "example.com", status_code=404)
        self.assertEqual(suppression.suppressed(["ann@example.com"]), {})

    def test_an_xss_address_or_campaign_name_is_escaped(self):
        ec = make_email_campaign("<script>alert(1)</script>")
        send = make_send(ec, email="x@example.com")
        EmailSend.objects.filter(pk=send.pk).update(email='"><script>alert(2)</script>@example.com')
        response = self.client.get(unsubscribe_path(send))
        self.assertNotContains(response, "<script>alert(2)")
        self.assertContains(response, "&lt;script&gt;alert(2)")

    def test_suppression_holds_for_the_very_next_send(self):
        # The sender's set-based check (suppressed_sql) sees the address at once.
        self.one_click()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM ({suppression.suppressed_sql()}) s WHERE s.email = LOWER(%s)",
                [self.send.email],
            )
            self.assertEqual(cursor.fetchone()[0], 1)
