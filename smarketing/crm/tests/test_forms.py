"""Create/edit forms, version conflicts, merge, delete and the admin pages, through HTTP."""

import re
from html import unescape

from django.test import TestCase
from django.urls import reverse

from smarketing.core.models import AuditEntry
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Company, Contact, Deal, DealContact, LifecycleChange, PropertyDefinition
from smarketing.testing import make_cast, make_company, make_contact, make_deal
from smarketing.timeline.models import Touchpoint


def hidden(response, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', response.content.decode())
    assert match, f"no hidden {name}"
    return unescape(match.group(1))


def define_properties():
    PropertyDefinition.objects.create(
        object_type="contact", key="persona", label="Persona", type="choice", choices=["Buyer", "Champion"]
    )
    PropertyDefinition.objects.create(object_type="contact", key="nps", label="NPS", type="number")
    PropertyDefinition.objects.create(object_type="contact", key="newsletter", label="Newsletter", type="boolean")
    PropertyDefinition.objects.create(object_type="contact", key="renewal", label="Renewal", type="date")


class ContactFormTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        define_properties()
        cls.acme = make_company(None, name="Acme Corp", domain="acme.com")

    def setUp(self):
        self.client.force_login(self.cast["bob"])

    def test_create_form_renders_typed_custom_fields(self):
        response = self.client.get(reverse("contact_create"))
        self.assertContains(response, '<select name="cp_persona"')
        self.assertContains(response, 'type="number" name="cp_nps"')
        self.assertContains(response, 'type="checkbox" name="cp_newsletter"')
        self.assertContains(response, 'type="date" name="cp_renewal"')
        self.assertContains(response, 'list="company-options"')
        self.assertContains(response, '<datalist id="company-options"></datalist>')
        self.assertContains(response, f'<option value="{self.cast["bob"].pk}" selected>')  # owner defaults to me
        self.assertNotContains(response, 'name="version"')

    def test_create_saves_through_the_service_and_redirects_to_the_record(self):
        data = {
            "email": " Jane.Doe@Example.com ",
            "first_name": "Jane",
            "last_name": "Doe",
            "company": "Acme Corp (acme.com)",
            "owner": self.cast["bob"].pk,
            "lifecycle_stage": "mql",
            "consent_status": "granted",
            "consent_basis": "consent",
            "cp_persona": "Buyer",
            "cp_nps": "9",
            "cp_newsletter": "on",
            "cp_renewal": "2025-03-01",
        }
        response = self.client.post(reverse("contact_create"), data)
        contact = Contact.objects.get(email="jane.doe@example.com")
        self.assertRedirects(response, reverse("contact_detail", args=[contact.pk]), fetch_redirect_response=False)
        self.assertEqual(
            (contact.company, contact.owner, contact.lifecycle_stage), (self.acme, self.cast["bob"], "mql")
        )
        self.assertEqual(contact.custom, {"persona": "Buyer", "nps": 9, "newsletter": True, "renewal": "2025-03-01"})
        self.assertIsNotNone(contact.consent_at)
        self.assertIn("bob@example.com", contact.consent_source)
        self.assertTrue(LifecycleChange.objects.filter(contact=contact, to_stage="mql").exists())
        self.assertTrue(AuditEntry.objects.filter(action="create", object_id=str(contact.pk)).exists())

    def test_failed_submit_keeps_every_value_and_shows_errors_by_field(self):
        make_contact(None, email="taken@example.com")
        data = {
            "email": "TAKEN@example.com",
            "first_name": "Émile <b>",
            "last_name": "Zola",
            "title": "Writer",
            "company": "Nope Industries",
            "lifecycle_stage": "lead",
            "consent_status": "unknown",
            "cp_persona": "Champion",
            "cp_nps": "12abc",
            "cp_renewal": "2025-02-30",
        }
        response = self.client.post(reverse("contact_create"), data)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "nothing you typed was lost")
        self.assertContains(response, "No company called &#x27;Nope Industries&#x27;.")
        # Every error of the submit at once, each beside its field.
        self.assertContains(response, "A contact with this email already exists.")
        self.assertContains(response, "NPS: &#x27;12abc&#x27; is not a number.")
        self.assertContains(response, "is not a date")
        for value in ("TAKEN@example.com", "Émile &lt;b&gt;", "Zola", "Writer", "Nope Industries", "12abc"):
            self.assertContains(response, f'value="{value}"')
        self.assertContains(response, '<option value="Champion" selected>')
        self.assertEqual(Contact.objects.filter(last_name="Zola").count(), 0)
        data.update(company="acme.com", email="emile@example.com", cp_nps="12", cp_renewal="2025-02-28")
        response = self.client.post(reverse("contact_create"), data)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Contact.objects.get(email="emile@example.com").company, self.acme)

    def test_read_only_user_cannot_open_the_form(self):
        self.client.force_login(self.cast["rory"])
        self.assertEqual(self.client.get(reverse("contact_create")).status_code, 403)
        self.assertEqual(self.client.post(reverse("contact_create"), {"email": "x@y.com"}).status_code, 403)


class EditAndConflictTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        define_properties()

    def setUp(self):
        self.contact = make_contact(
            None, email="ed@example.com", first_name="Ed", title="CEO", lifecycle_stage="sql", custom={"nps": 7}
        )
        self.client.force_login(self.cast["carol"])
        self.url = reverse("contact_edit", args=[self.contact.pk])

    def form_data(self, response) -> dict:
        """Every field as the browser would submit it."""
        body = response.content.decode()
        data = {}
        for name, value in re.findall(
            r'<input type="(?:text|email|hidden|number|date|tel)" name="(\w+)" value="([^"]*)"', body
        ):
            data[name] = unescape(value)
        for name, inner in re.findall(r'<select name="(\w+)"[^>]*>(.*?)</select>', body, re.S):
            chosen = re.search(r'<option value="([^"]*)" selected>', inner)
            data[name] = unescape(chosen.group(1)) if chosen else ""
        return data

    def test_edit_changes_only_what_the_user_changed(self):
        response = self.client.get(self.url)
        self.assertEqual(hidden(response, "version"), "1")
        data = self.form_data(response)
        self.assertEqual((data["title"], data["cp_nps"], data["lifecycle_stage"]), ("CEO", "7", "sql"))
        data["phone"] = "+1 555 0100"
        response = self.client.post(self.url, data)
        self.assertRedirects(response, reverse("contact_detail", args=[self.contact.pk]), fetch_redirect_response=False)
        entry = AuditEntry.objects.filter(action="update", object_id=str(self.contact.pk)).latest("id")
        self.assertEqual(entry.changes, {"phone": ["", "+1 555 0100"]})  # no unchanged field rewritten
        self.contact.refresh_from_db()
        self.assertEqual((self.contact.version, self.contact.custom), (2, {"nps": 7}))

    def test_stale_version_shows_conflict_keeps_input_and_current_values(self):
        response = self.client.get(self.url)
        data = self.form_data(response)
        # Meanwhile Alice changes the title and the NPS.
        services.update_record(self.contact, actor=self.cast["alice"], data={"title": "CTO", "custom": {"nps": 8}})
        data["phone"] = "+44 20 7946 0000"
        data["cp_nps"] = "10"
        response = self.client.post(self.url, data)
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "Someone else changed this contact since you opened it.", status_code=409)
        self.assertContains(response, 'value="+44 20 7946 0000"', status_code=409)  # my input kept
        self.assertContains(response, 'name="title" value="CTO"', status_code=409)  # their change shown
        self.assertContains(response, "Their changes to Job title now show in the form", status_code=409)
        self.assertContains(response, "<td>NPS</td><td>10</td><td>8</td>", html=True, status_code=409)
        self.contact.refresh_from_db()
        self.assertEqual((self.contact.phone, self.contact.title), ("", "CTO"))
        # Saving the re-rendered form keeps both edits.
        response = self.client.post(self.url, self.form_data(response))
        self.assertEqual(response.status_code, 302)
        self.contact.refresh_from_db()
        self.assertEqual(
            (self.contact.phone, self.contact.title, self.contact.custom["nps"]), ("+44 20 7946 0000", "CTO", 10)
        )

    def test_tampered_original_still_refuses_and_keeps_input(self):
        data = self.form_data(self.client.get(self.url))
        services.update_record(self.contact, actor=self.cast["alice"], data={"title": "CTO"})
        data["original"] = "garbage"
        response = self.client.post(self.url, data)
        self.assertEqual(response.status_code, 409)
        self.assertContains(response, "<td>Job title</td><td>CEO</td><td>CTO</td>", html=True, status_code=409)

    def test_missing_version_is_an_error_not_a_blind_overwrite(self):
        data = self.form_data(self.client.get(self.url))
        del data["version"]
        data["title"] = "Boss"
        response = self.client.post(self.url, data)
        self.assertEqual(response.status_code, 200)
        self.contact.refresh_from_db()
        self.assertEqual(self.contact.title, "CEO")

    def test_lifecycle_backward_needs_a_reason(self):
        data = self.form_data(self.client.get(self.url))
        data["lifecycle_stage"] = "lead"
        data["title"] = "Founder"
        response = self.client.post(self.url, data)
        self.assertContains(response, "needs a reason")
        self.contact.refresh_from_db()
        self.assertEqual((self.contact.lifecycle_stage, self.contact.title), ("sql", "CEO"))  # nothing half-saved
        data["lifecycle_reason"] = "Budget frozen"
        response = self.client.post(self.url, data)
        self.assertEqual(response.status_code, 302)
        self.contact.refresh_from_db()
        self.assertEqual((self.contact.lifecycle_stage, self.contact.title), ("lead", "Founder"))
        change = LifecycleChange.objects.filter(contact=self.contact).latest("id")
        self.assertEqual(change.reason, "Budget frozen")

    def test_clearing_a_custom_value_removes_it(self):
        data = self.form_data(self.client.get(self.url))
        data["cp_nps"] = ""
        self.assertEqual(self.client.post(self.url, data).status_code, 302)
        self.contact.refresh_from_db()
        self.assertNotIn("nps", self.contact.custom)

    def test_member_cannot_edit_someone_elses_contact(self):
        owned = make_contact(None, owner=self.cast["carol"])
        self.client.force_login(self.cast["bob"])
        url = reverse("contact_edit", args=[owned.pk])
        self.assertEqual(self.client.get(url).status_code, 403)
        self.assertEqual(self.client.post(url, {"email": "x@y.com", "version": 1}).status_code, 403)


class CompanyAndDealFormTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        PropertyDefinition.objects.create(object_type="deal", key="rival", label="Rival", type="text")
        cls.acme = make_company(None, name="Acme Corp", domain="acme.com")
        cls.jane = make_contact(None, email="jane@acme.com", lifecycle_stage="sql", company=cls.acme)

    def setUp(self):
        self.client.force_login(self.cast["bob"])

    def test_company_create_and_domain_errors(self):
        data = {"name": "Globex", "domain": "not a domain", "employees": "-5", "annual_revenue": "lots"}
        response = self.client.post(reverse("company_create"), data)
        self.assertContains(response, "Ensure this value is greater than or equal to 0.")
        self.assertContains(response, "is not a valid domain")
        self.assertContains(response, "&#x27;lots&#x27; is not a number.")
        self.assertContains(response, 'value="lots"')
        data.update(employees="250", domain="https://www.ACME.com/about", annual_revenue="1,500,000")
        response = self.client.post(reverse("company_create"), data)
        self.assertContains(response, "A company with this domain already exists.")
        data["domain"] = "globex.io"
        response = self.client.post(reverse("company_create"), data)
        company = Company.objects.get(domain="globex.io")
        self.assertRedirects(response, reverse("company_detail", args=[company.pk]), fetch_redirect_response=False)
        self.assertEqual((company.employees, str(company.annual_revenue)), (250, "1500000.00"))

    def test_deal_create_with_stage_company_and_primary_contact(self):
        stage = default_pipeline().stages.order_by("position")[1]
        response = self.client.get(reverse("deal_create") + f"?contact={self.jane.pk}")  # as record pages link
        self.assertContains(response, 'value="jane@acme.com"')
        self.assertContains(response, 'value="Acme Corp (acme.com)"')  # the contact's company, prefilled
        data = {
            "name": "Acme expansion",
            "stage": stage.pk,
            "company": "acme.com",
            "primary_contact": "nobody@acme.com",
            "amount": "12,500.50",
            "currency": "eur",
            "close_date": "2025-09-30",
            "owner": self.cast["bob"].pk,
            "cp_rival": "Hubspot",
        }
        response = self.client.post(reverse("deal_create"), data)
        self.assertContains(response, "No contact with the email")
        data["primary_contact"] = "JANE@acme.com"
        response = self.client.post(reverse("deal_create"), data)
        deal = Deal.objects.get(name="Acme expansion")
        self.assertRedirects(response, reverse("deal_detail", args=[deal.pk]), fetch_redirect_response=False)
        self.assertEqual(
            (deal.stage, deal.company, str(deal.amount), deal.currency), (stage, self.acme, "12500.50", "EUR")
        )
        self.assertEqual(deal.custom, {"rival": "Hubspot"})
        self.assertTrue(DealContact.objects.filter(deal=deal, contact=self.jane).exists())

    def test_deal_create_bad_values_kept(self):
        data = {"name": "", "stage": "999999", "amount": "1e99", "currency": "dollars"}
        response = self.client.post(reverse("deal_create"), data)
        self.assertContains(response, "Select a valid choice")
        self.assertContains(response, "This field is required.")
        self.assertContains(response, 'value="1e99"')
        self.assertContains(response, "Ensure this value has at most 3 characters")
        response = self.client.post(reverse("deal_create"), {**data, "amount": "abc"})
        self.assertContains(response, "&#x27;abc&#x27; is not a number.")  # with the other errors, at once
        data.update(name="Big", stage=default_pipeline().stages.first().pk, currency="usd")
        response = self.client.post(reverse("deal_create"), data)
        self.assertContains(response, "Must be a positive amount")
        self.assertFalse(Deal.objects.filter(name="Big").exists())

    def test_deal_edit_has_no_stage_field_and_saves(self):
        deal = make_deal(None, name="Old name", owner=self.cast["bob"])
        url = reverse("deal_edit", args=[deal.pk])
        response = self.client.get(url)
        self.assertNotContains(response, 'name="stage"')
        self.assertContains(response, "where exit criteria are checked")
        data = {"name": "New name", "amount": "1000.00", "currency": "USD", "owner": self.cast["bob"].pk, "version": 1}
        data["original"] = hidden(response, "original")
        self.assertEqual(self.client.post(url, data).status_code, 302)
        deal.refresh_from_db()
        self.assertEqual(deal.name, "New name")


class DeleteAndMergeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_delete_is_post_only_and_for_managers(self):
        contact = make_contact(None, owner=self.cast["bob"])
        url = reverse("contact_delete", args=[contact.pk])
        self.client.force_login(self.cast["bob"])
        self.assertEqual(self.client.get(url).status_code, 403)
        self.assertEqual(self.client.post(url).status_code, 403)
        self.client.force_login(self.cast["carol"])
        response = self.client.get(url)  # a plain link asks first; nothing is deleted by a GET
        self.assertContains(response, f'<form method="post" action="{url}"')
        self.assertTrue(Contact.objects.filter(pk=contact.pk).exists())
        response = self.client.post(url, follow=True)
        self.assertRedirects(response, reverse("contact_list"))
        self.assertContains(response, "Deleted contact")
        self.assertFalse(Contact.objects.filter(pk=contact.pk).exists())
        company, deal = make_company(None), make_deal(None)
        self.assertEqual(self.client.post(reverse("company_delete", args=[company.pk])).status_code, 302)
        self.assertEqual(self.client.post(reverse("deal_delete", args=[deal.pk])).status_code, 302)
        self.assertEqual(self.client.post(reverse("deal_delete", args=[deal.pk])).status_code, 404)

    def test_contact_merge_compare_then_confirm(self):
        kept = make_contact(None, email="sam@acme.com", first_name="Sam", last_name="Lee", lifecycle_stage="lead")
        dup = make_contact(
            None, email="sam.lee@gmail.com", first_name="Sam", last_name="Lee", title="CTO", lifecycle_stage="sql"
        )
        url = reverse("contact_merge", args=[kept.pk])
        self.client.force_login(self.cast["carol"])
        response = self.client.get(url)
        self.assertContains(response, "Possible duplicates")
        self.assertContains(response, f"?duplicate=%23{dup.pk}")
        response = self.client.get(url + "?duplicate=SAM.LEE@gmail.com")
        self.assertContains(response, "Compare and confirm")
        self.assertContains(
            response, '<td class="muted">Job title</td><td>—</td><td>CTO</td><td><strong>CTO</strong></td>', html=True
        )
        self.assertContains(response, "Sales-qualified lead</strong>")  # the furthest stage wins
        response = self.client.get(url + f"?duplicate=%23{kept.pk}")
        self.assertContains(response, "That is this record")
        response = self.client.get(url + "?duplicate=ghost@nowhere.com")
        self.assertContains(response, "No contact with the email")
        response = self.client.post(url, {"duplicate_id": dup.pk})
        self.assertRedirects(response, reverse("contact_detail", args=[kept.pk]), fetch_redirect_response=False)
        self.assertFalse(Contact.objects.filter(pk=dup.pk).exists())
        kept.refresh_from_db()
        self.assertEqual((kept.title, kept.lifecycle_stage), ("CTO", "sql"))
        self.assertTrue(Touchpoint.objects.filter(contact=kept, kind="merged").exists())

    def test_company_merge_and_permissions(self):
        kept = make_company(None, name="Acme", domain="acme.com")
        dup = make_company(None, name="Acme", domain="acme.co.uk", industry="Software")
        make_contact(None, company=dup)
        url = reverse("company_merge", args=[kept.pk])
        self.client.force_login(self.cast["bob"])
        self.assertEqual(self.client.get(url).status_code, 403)
        self.assertEqual(self.client.post(url, {"duplicate_id": dup.pk}).status_code, 403)
        self.client.force_login(self.cast["alice"])
        response = self.client.get(url + "?duplicate=acme.co.uk")
        self.assertContains(response, "Merged in, then deleted")
        self.assertEqual(self.client.post(url, {"duplicate_id": "abc"}).status_code, 404)
        self.client.post(url, {"duplicate_id": dup.pk})
        self.assertEqual(kept.contacts.count(), 1)
        kept.refresh_from_db()
        self.assertEqual(kept.industry, "Software")


class PropertyAdminTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def post(self, **data):
        base = {"object_type": "contact", "label": "Persona", "key": "persona", "type": "text", "position": 0}
        return self.client.post(reverse("property_list"), {**base, **data})

    def test_validation(self):
        cases = [
            ({"key": "Persona!"}, "Use lowercase letters"),
            ({"key": "a__b"}, "Use lowercase letters"),
            ({"key": "email"}, "is a built-in field of contacts"),
            ({"type": "choice", "choices_text": "  \n "}, "needs at least one choice"),
            ({"type": "choice", "choices_text": "x" * 101}, "at most 100 characters"),
            ({"label": ""}, "This field is required."),
            ({"type": "color"}, "Select a valid choice"),
        ]
        for data, message in cases:
            with self.subTest(data=data):
                response = self.post(**data)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, message)
        self.assertFalse(PropertyDefinition.objects.exists())

    def test_create_list_unique_per_type_and_delete(self):
        self.post(type="choice", choices_text="Buyer\nChampion\nBuyer\n<b>Boss</b>")
        response = self.client.get(reverse("property_list"))
        definition = PropertyDefinition.objects.get(key="persona")
        self.assertEqual(definition.choices, ["Buyer", "Champion", "<b>Boss</b>"])
        self.assertContains(response, "Buyer, Champion, &lt;b&gt;Boss&lt;/b&gt;")
        self.assertContains(self.post(), "Contacts already have a &#x27;persona&#x27;.")
        self.assertEqual(self.post(object_type="deal").status_code, 302)  # same key on another type is fine
        self.assertEqual(PropertyDefinition.objects.count(), 2)
        self.post(type="text", key="motto", choices_text="ignored")
        self.assertEqual(PropertyDefinition.objects.get(key="motto").choices, [])
        url = reverse("property_delete", args=[definition.pk])
        self.assertEqual(self.client.get(url).status_code, 405)
        self.assertEqual(self.client.post(url).status_code, 302)
        self.assertFalse(PropertyDefinition.objects.filter(pk=definition.pk).exists())
        actions = set(AuditEntry.objects.filter(object_type="crm.propertydefinition").values_list("action", flat=True))
        self.assertEqual(actions, {"create", "delete"})

    def test_new_property_appears_in_forms_and_list_filters(self):
        self.post(type="boolean", key="vip", label="VIP")
        self.assertContains(self.client.get(reverse("contact_create")), 'name="cp_vip"')
        self.assertContains(self.client.get(reverse("contact_list")), 'name="cp_vip"')


class AuditLogTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        alice, bob = cls.cast["alice"], cls.cast["bob"]
        cls.contact = make_contact(None, email="audit@example.com")
        services.update_record(cls.contact, actor=bob, data={"title": "<script>alert(1)</script>"})
        cls.company = make_company(None, name="Audited")
        services.update_record(cls.company, actor=alice, data={"industry": "Retail"})
        for i in range(55):
            services.update_record(cls.company, actor=alice, data={"country": f"Land {i}"})

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def test_newest_first_escaped_and_paginated(self):
        response = self.client.get(reverse("audit_log"))
        body = response.content.decode()
        self.assertIn("Land 54", body)
        self.assertNotIn("Land 3<", body)  # older entries are on the next page
        shown = [int(n) for n in re.findall(r'<span class="new">Land (\d+)</span>', body)]
        self.assertEqual(shown, sorted(shown, reverse=True))
        self.assertEqual(shown[0], 54)
        self.assertIn('<span class="old">Land 53</span> → <span class="new">Land 54</span>', body)
        link = unescape(re.search(r'rel="next" href="([^"]+)"', body).group(1))
        older = self.client.get(reverse("audit_log") + link).content.decode()
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", older)
        self.assertNotIn("<script>alert", older)
        self.assertNotIn("Land 54", older)

    def test_filters_by_type_actor_and_record(self):
        response = self.client.get(reverse("audit_log") + f"?type=crm.contact&actor={self.cast['bob'].pk}")
        self.assertContains(response, "title")
        self.assertNotContains(response, "Land ")
        response = self.client.get(reverse("audit_log") + f"?type=crm.contact&object={self.contact.pk}&actor=system")
        self.assertContains(response, '<span class="badge">Created</span>')  # the action in words, not "create"
        self.assertNotContains(response, "alert(1)")
        response = self.client.get(reverse("audit_log") + "?type=x;drop&actor=abc&object=1")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Unknown record type ignored.")
        self.assertContains(response, "Unknown user ignored.")

    def test_admins_only(self):
        for name in ("carol", "bob", "rory"):
            self.client.force_login(self.cast[name])
            self.assertEqual(self.client.get(reverse("audit_log")).status_code, 403)
