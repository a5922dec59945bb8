"""Email's privacy hook: the export lists a person's sends and preferences; erasure keeps the sends' facts (the
campaign reports count them) but removes the address, the tracking hits' IP and user agent, and the preferences."""

from django.test import TestCase

from smarketing.crm.models import Contact
from smarketing.email.models import EmailPreference, EmailSend, Frequency, HitKind, Topic, TrackingHit
from smarketing.email.tests.tracking_fixtures import make_email_campaign, make_send
from smarketing.privacy.services import erase_contact, export_contact
from smarketing.testing import make_cast


class EmailPrivacyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.ec = make_email_campaign("Spring launch")
        cls.send = make_send(cls.ec, email="pat@example.com", first_name="Pat")
        cls.contact = cls.send.contact
        cls.other = make_send(cls.ec, email="sam@example.com")
        for send in (cls.send, cls.other):
            TrackingHit.objects.create(send=send, kind=HitKind.OPEN, ip="203.0.113.9", user_agent="Mozilla/5.0 Pat")
        cls.send.opens = 1
        cls.send.save(update_fields=["opens"])
        preference = EmailPreference.objects.create(contact=cls.contact, frequency=Frequency.WEEKLY)
        preference.topics_left.add(Topic.objects.create(name="Events"))

    def test_the_export_lists_the_sends_and_the_preferences(self):
        data = export_contact(self.contact, actor=self.cast["alice"])
        sends = list(data["email_sends"])
        self.assertEqual(len(sends), 1)
        self.assertEqual(sends[0]["campaign"], "Spring launch")
        self.assertEqual(sends[0]["email"], "pat@example.com")
        self.assertEqual(sends[0]["opens"], 1)
        self.assertEqual(data["email_preferences"]["frequency"], Frequency.WEEKLY)
        self.assertEqual(data["email_preferences"]["topics_left"], ["Events"])

    def test_erasure_scrubs_the_address_and_the_hits_and_keeps_the_facts(self):
        record, _ = erase_contact(self.contact, actor=self.cast["alice"], reason="Asked to be forgotten")
        send = EmailSend.objects.get(pk=self.send.pk)
        self.assertNotIn("pat", send.email)
        self.assertEqual(send.opens, 1)  # the campaign's figures do not change
        hit = TrackingHit.objects.get(send=self.send)
        self.assertIsNone(hit.ip)
        self.assertEqual(hit.user_agent, "")
        self.assertFalse(EmailPreference.objects.filter(contact=self.contact).exists())
        self.assertEqual(record.summary["scrub_email_sends"], 1)
        self.assertEqual(record.summary["scrub_tracking_hits"], 1)
        # Somebody else's send and hit are untouched.
        self.assertEqual(EmailSend.objects.get(pk=self.other.pk).email, "sam@example.com")
        self.assertEqual(TrackingHit.objects.get(send=self.other).ip, "203.0.113.9")
        self.assertTrue(Contact.objects.filter(pk=self.contact.pk).exists())
