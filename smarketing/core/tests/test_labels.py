"""Words, not codes: core.labels and its filters, on the timeline, the audit log and the record pages."""

from django.test import SimpleTestCase, TestCase
from django.urls import reverse

from smarketing.accounts.access import system_actor
from smarketing.core.audit import record_audit
from smarketing.core.labels import field_label, label, words
from smarketing.core.models import Origin
from smarketing.crm import services
from smarketing.testing import make_cast, make_contact, make_deal


class LabelTests(SimpleTestCase):
    def test_declared_labels_then_words_and_text_left_alone(self):
        self.assertEqual(label("no_answer", "outcome"), "No answer")
        self.assertEqual(label("organic", "source"), "Organic search")
        self.assertEqual(label("import_done", "audit_action"), "Import finished")
        self.assertEqual(label("associate", "audit_action"), "Contact added")
        self.assertEqual(label("token_create", "audit_action"), "API token created")
        self.assertEqual(label("left_voicemail"), "Left voicemail")  # undeclared code: in words
        self.assertEqual(label("Paid Search", "source"), "Paid Search")  # raw text stays as imported
        self.assertEqual(label("", "source"), "")
        self.assertEqual(words("deal.won"), "Deal won")
        self.assertEqual(field_label("crm.deal", "close_date"), "Close date")
        self.assertEqual(field_label("crm.deal", "custom.budget_owner"), "Budget owner")
        self.assertEqual(field_label("nope.model", "first_seen"), "First seen")


class LabelsInPagesTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice, cls.bob = cls.cast["alice"], cls.cast["bob"]
        cls.contact = make_contact(None, email="sam@example.com", first_name="Sam", first_source="organic")
        cls.deal = make_deal(None, name="Umbrella", owner=cls.bob, source="paid")
        # The API and the seed store outcome codes; the UI stores labels. Both must read as words.
        services.log_activity(
            cls.contact, kind="call", summary="Tried Sam", outcome="no_answer", actor=system_actor(Origin.API)
        )
        services.update_record(cls.deal, actor=cls.alice, data={"close_date": "2027-01-31"})
        record_audit(actor=system_actor(Origin.IMPORT), action="import_done", obj=cls.contact)

    def test_the_timeline_shows_outcomes_in_words(self):
        self.client.force_login(self.bob)
        response = self.client.get(reverse("contact_detail", args=[self.contact.pk]))
        self.assertContains(response, "Outcome: No answer")
        self.assertNotContains(response, "no_answer")
        self.assertContains(response, "<dt>Source</dt><dd>Organic search</dd>", html=True)

    def test_the_audit_log_shows_actions_and_fields_in_words(self):
        self.client.force_login(self.alice)
        html = self.client.get(reverse("audit_log")).content.decode()
        for shown in ("Import finished", "Changed", "Close date", "Created"):
            self.assertIn(shown, html)
        for code in (">import_done<", ">update<", ">close_date<", ">create<"):
            self.assertNotIn(code, html)

    def test_a_deal_shows_its_source_label(self):
        self.client.force_login(self.bob)
        response = self.client.get(reverse("deal_detail", args=[self.deal.pk]))
        self.assertContains(response, "<dt>Source</dt><dd>Paid ads</dd>", html=True)
