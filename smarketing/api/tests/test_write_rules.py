"""API writes follow the same rules as UI writes: consent evidence, assignable owners, choices only."""

from django.core.exceptions import ValidationError

from smarketing.accounts.access import system_actor
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.core.models import Origin
from smarketing.crm import services
from smarketing.crm.models import Contact, Deal
from smarketing.testing import make_contact, make_deal, make_user


class ConsentEvidenceTests(ApiTestCase):
    def test_create_with_consent_records_when_and_where(self):
        response = self.post(
            "/api/v1/contacts/",
            {"email": "jane@example.com", "consent_status": "granted", "consent_basis": "consent"},
            token=self.tokens["bob"],
        )
        self.assertEqual(response.status_code, 201, response.content)
        contact = Contact.objects.get(email="jane@example.com")
        self.assertIsNotNone(contact.consent_at)
        self.assertEqual(contact.consent_source, "Set through the API by bob@example.com")

    def test_patch_that_changes_consent_records_evidence_a_stated_source_wins(self):
        contact = make_contact(self.bob)
        response = self.patch(
            f"/api/v1/contacts/{contact.pk}/",
            {"consent_status": "withdrawn", "consent_source": "Unsubscribe link"},
            token=self.tokens["bob"],
        )
        self.assertEqual(response.status_code, 200, response.content)
        contact.refresh_from_db()
        self.assertIsNotNone(contact.consent_at)
        self.assertEqual(contact.consent_source, "Unsubscribe link")

    def test_unknown_or_unchanged_consent_adds_no_evidence(self):
        contact = make_contact(self.bob)
        self.patch(f"/api/v1/contacts/{contact.pk}/", {"consent_status": "unknown"}, token=self.tokens["bob"])
        contact.refresh_from_db()
        self.assertIsNone(contact.consent_at)
        self.assertEqual(contact.consent_source, "")

    def test_other_writers_get_the_rule_from_the_service(self):
        contact = services.create_contact(
            actor=system_actor(Origin.IMPORT),
            data={"email": "imp@example.com", "consent_status": "granted"},
            origin=Origin.IMPORT,
        )
        self.assertIsNotNone(contact.consent_at)
        self.assertEqual(contact.consent_source, "Set by import")


class OwnerAndChoiceTests(ApiTestCase):
    def test_a_read_only_user_cannot_be_made_owner(self):
        response = self.post(
            "/api/v1/contacts/", {"email": "x@example.com", "owner": self.rory.pk}, token=self.tokens["alice"]
        )
        self.assertProblem(response, 400, "owner")
        self.assertFalse(Contact.objects.filter(email="x@example.com").exists())
        deal = make_deal(self.bob, owner=self.bob)
        response = self.patch(f"/api/v1/deals/{deal.pk}/", {"owner": self.rory.pk}, token=self.tokens["alice"])
        self.assertProblem(response, 400, "owner")
        self.assertEqual(Deal.objects.get(pk=deal.pk).owner_id, self.bob.pk)

    def test_a_deactivated_current_owner_does_not_block_other_edits(self):
        gone = make_user("gone@example.com")
        contact = make_contact(self.alice, owner=gone)
        gone.is_active = False
        gone.save(update_fields=["is_active"])
        updated = services.update_record(
            contact, actor=self.alice, data={"owner": gone.pk, "title": "CTO"}, origin=Origin.API
        )
        self.assertEqual((updated.owner_id, updated.title), (gone.pk, "CTO"))

    def test_an_assignable_owner_is_accepted(self):
        response = self.post(
            "/api/v1/contacts/", {"email": "y@example.com", "owner": self.mia.pk}, token=self.tokens["alice"]
        )
        self.assertEqual(response.status_code, 201, response.content)

    def test_choice_fields_take_only_their_choices(self):
        contact = make_contact(self.bob)
        for field, value in [("consent_status", ""), ("lead_status", "nonsense"), ("consent_basis", "whim")]:
            with self.subTest(field=field):
                response = self.patch(f"/api/v1/contacts/{contact.pk}/", {field: value}, token=self.tokens["bob"])
                self.assertProblem(response, 400, field)
        # "No lead status" is null in the API (an empty string is no enum value, docs/api.md).
        response = self.patch(f"/api/v1/contacts/{contact.pk}/", {"lead_status": ""}, token=self.tokens["bob"])
        self.assertProblem(response, 400, "lead_status")
        response = self.patch(f"/api/v1/contacts/{contact.pk}/", {"lead_status": None}, token=self.tokens["bob"])
        self.assertEqual(response.status_code, 200, response.content)
        self.assertIsNone(response.json()["lead_status"])

    def test_the_service_refuses_what_a_serializer_might_let_through(self):
        contact = make_contact(self.bob)
        with self.assertRaises(ValidationError) as caught:
            services.update_record(contact, actor=self.bob, data={"consent_status": ""}, origin=Origin.API)
        self.assertIn("consent_status", caught.exception.message_dict)
