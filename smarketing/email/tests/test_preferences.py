"""The preference center: topics, frequency, unsubscribe from all, subscribing again; no login, CSRF on."""

from django.core.cache import cache
from django.test import Client, TestCase

from smarketing.crm.models import ConsentStatus, Contact
from smarketing.email import kinds, links, tokens
from smarketing.email.models import EmailPreference, Topic
from smarketing.email.tests.tracking_fixtures import make_email_campaign, make_send
from smarketing.mail import suppression
from smarketing.timeline.models import Touchpoint


def preferences_path(send):
    return links.PREFERENCES_PATH.format(tokens.sign(send.token))


class PreferenceCenterTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.news = Topic.objects.create(name="Product news", position=1)
        cls.events = Topic.objects.create(name="Events", description="Webinars and meetups", position=2)
        cls.ec = make_email_campaign("Spring launch")
        cls.send = make_send(cls.ec, consent_status=ConsentStatus.GRANTED)

    def setUp(self):
        cache.clear()
        self.client = Client(enforce_csrf_checks=True)

    def page(self):
        response = self.client.get(preferences_path(self.send))
        self.assertEqual(response.status_code, 200)
        return response

    def post(self, data):
        self.page()  # the CSRF cookie
        data = {"csrfmiddlewaretoken": self.client.cookies["csrftoken"].value, **data}
        return self.client.post(preferences_path(self.send), data)

    def test_the_page_lists_topics_and_frequency_without_login(self):
        response = self.page()
        self.assertContains(response, "Product news")
        self.assertContains(response, "Webinars and meetups")
        self.assertContains(response, 'value="weekly"')
        self.assertContains(response, f'name="topics" value="{self.news.pk}" checked')

    def test_a_post_without_the_csrf_token_is_refused(self):
        response = self.client.post(preferences_path(self.send), {"frequency": "weekly"})
        self.assertEqual(response.status_code, 403)

    def test_saving_topics_and_frequency(self):
        response = self.post({"topics": [str(self.news.pk)], "frequency": "monthly"})
        self.assertContains(response, "Saved your topics")
        pref = EmailPreference.objects.get(contact_id=self.send.contact_id)
        self.assertEqual(pref.frequency, "monthly")
        self.assertEqual(list(pref.topics_left.all()), [self.events])
        touch = Touchpoint.objects.get(kind=kinds.PREFERENCES_CHANGED)
        self.assertEqual(touch.details["topics_left"], ["Events"])
        self.assertEqual(touch.campaign_id, self.ec.campaign_id)
        self.assertContains(response, f'name="topics" value="{self.events.pk}">')
        # The same form again changes nothing and writes nothing.
        response = self.post({"topics": [str(self.news.pk)], "frequency": "monthly"})
        self.assertContains(response, "Nothing to change")
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.PREFERENCES_CHANGED).count(), 1)

    def test_unknown_frequency_or_topic_ids_are_refused_or_ignored(self):
        response = self.post({"frequency": "hourly"})
        self.assertEqual(response.status_code, 400)
        self.post({"topics": ["999999", "abc", str(self.news.pk)], "frequency": "all"})
        pref = EmailPreference.objects.get(contact_id=self.send.contact_id)
        self.assertEqual(list(pref.topics_left.all()), [self.events])

    def test_unsubscribe_from_all_then_subscribe_again(self):
        response = self.post({"frequency": "all", "unsubscribe_all": "1"})
        self.assertContains(response, "Unsubscribed from all marketing email")
        self.assertEqual(Contact.objects.get(pk=self.send.contact_id).consent_status, ConsentStatus.WITHDRAWN)
        self.assertIn(suppression.normalize(self.send.email), suppression.suppressed([self.send.email]))
        self.assertContains(response, "Subscribe again and save")

        response = self.post({"frequency": "all", "topics": [str(self.news.pk), str(self.events.pk)]})
        self.assertContains(response, "Subscribed again")
        contact = Contact.objects.get(pk=self.send.contact_id)
        self.assertEqual(contact.consent_status, ConsentStatus.GRANTED)
        self.assertEqual(contact.consent_basis, "consent")
        self.assertIn("preference center", contact.consent_source)
        self.assertEqual(suppression.suppressed([self.send.email]), {})
        self.assertTrue(Touchpoint.objects.filter(kind=kinds.CONSENT_CHANGED).exists())

    def test_subscribing_again_never_lifts_a_bounce_or_complaint(self):
        suppression.suppress(self.send.email, "hard_bounce", "test")
        Contact.objects.filter(pk=self.send.contact_id).update(consent_status=ConsentStatus.WITHDRAWN)
        self.post({"frequency": "all"})
        self.assertEqual(
            suppression.suppressed([self.send.email]), {suppression.normalize(self.send.email): "hard_bounce"}
        )

    def test_a_tampered_token_is_the_friendly_page(self):
        signed = tokens.sign(self.send.token)
        response = self.client.get("/e/p/" + signed[:-1] + ("Z" if signed[-1] != "Z" else "Y"))
        self.assertContains(response, "This link does not work", status_code=404)
