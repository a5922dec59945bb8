from django.test import TestCase, override_settings
from django.urls import reverse

from smarketing.core.models import AuditEntry
from smarketing.crm.models import Contact
from smarketing.privacy import services
from smarketing.privacy.models import ErasureRecord
from smarketing.testing import make_cast, make_contact

XSS_FIRST = "<script>alert(1)</script>"
XSS_LAST = '<img src=x onerror="alert(2)">'


class PermissionTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.contact = make_contact(None)

    def urls(self):
        pk = self.contact.pk
        return [
            ("get", reverse("privacy:log")),
            ("get", reverse("privacy:contact", args=[pk])),
            ("post", reverse("privacy:export", args=[pk])),
            ("get", reverse("privacy:erase", args=[pk])),
            ("post", reverse("privacy:erase", args=[pk])),
        ]

    def test_everyone_but_admins_gets_403(self):
        for name in ("carol", "bob", "mia", "rory"):
            self.client.force_login(self.cast[name])
            for method, url in self.urls():
                with self.subTest(name=name, url=url, method=method):
                    data = {"confirm_email": self.contact.email, "reason": "GDPR"} if method == "post" else None
                    response = getattr(self.client, method)(url, data)
                    self.assertEqual(response.status_code, 403)
        self.assertFalse(ErasureRecord.objects.exists())
        self.assertFalse(AuditEntry.objects.filter(action__startswith="privacy_").exists())

    def test_anonymous_users_are_sent_to_login(self):
        for method, url in self.urls():
            with self.subTest(url=url, method=method):
                response = getattr(self.client, method)(url)
                self.assertEqual(response.status_code, 302)
                self.assertIn(reverse("login"), response["Location"])

    def test_admin_reaches_every_page(self):
        self.client.force_login(self.cast["alice"])
        for url in (reverse("privacy:log"), reverse("privacy:contact", args=[self.contact.pk])):
            self.assertEqual(self.client.get(url).status_code, 200)
        self.assertEqual(self.client.get(reverse("privacy:contact", args=[999999])).status_code, 404)


class ContactPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice = cls.cast["alice"]
        cls.contact = make_contact(None, first_name=XSS_FIRST, last_name=XSS_LAST, email="xss@example.com")

    def setUp(self):
        self.client.force_login(self.alice)

    def test_shows_what_is_held_and_both_actions(self):
        url = reverse("privacy:contact", args=[self.contact.pk])
        # session, user, the user's team (base.html), contact, erasure record, then one count per kind of data
        with self.assertNumQueries(12):
            response = self.client.get(url)
        self.assertContains(response, "Timeline touchpoints")
        self.assertContains(response, reverse("privacy:export", args=[self.contact.pk]))
        self.assertContains(response, "Download JSON export")
        self.assertContains(response, reverse("privacy:erase", args=[self.contact.pk]))
        self.assertContains(response, reverse("contact_detail", args=[self.contact.pk]))

    def test_names_are_escaped_on_every_page(self):
        "".join(services.stream_json(services.export_contact(self.contact, actor=self.alice)))
        pages = [
            reverse("privacy:contact", args=[self.contact.pk]),
            reverse("privacy:erase", args=[self.contact.pk]),
            reverse("privacy:log") + "?tab=exports",
        ]
        for url in pages:
            with self.subTest(url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                self.assertNotContains(response, XSS_FIRST)
                self.assertNotContains(response, "<img src=x")
                self.assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")

    def test_erase_flow(self):
        url = reverse("privacy:erase", args=[self.contact.pk])
        response = self.client.get(url)
        self.assertContains(response, "This cannot be undone")
        self.assertContains(response, 'data-expected="xss@example.com"')

        # Wrong email: nothing happens.
        response = self.client.post(url, {"confirm_email": "someone@example.com", "reason": "GDPR"})
        self.assertContains(response, "This is not the contact", status_code=400)
        # A reason naming the person is refused with a clear message.
        response = self.client.post(url, {"confirm_email": "XSS@example.com ", "reason": "Asked by xss@example.com"})
        self.assertContains(response, "out of the reason", status_code=400)
        response = self.client.post(url, {"confirm_email": "xss@example.com", "reason": ""})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.client.post(url, {}).status_code, 400)
        self.assertFalse(ErasureRecord.objects.exists())

        response = self.client.post(url, {"confirm_email": "XSS@example.com", "reason": "GDPR request #77"})
        self.assertRedirects(
            response, reverse("privacy:contact", args=[self.contact.pk]), fetch_redirect_response=False
        )
        self.assertEqual(Contact.objects.get(pk=self.contact.pk).email, f"erased-{self.contact.pk}@erased.invalid")
        page = self.client.get(response["Location"])
        self.assertContains(page, f"Contact #{self.contact.pk} was erased.")
        self.assertContains(page, "GDPR request #77")
        self.assertNotContains(page, "Erase this person")

        # Twice: a no-op with a clear message, whether by GET or POST.
        for method in ("get", "post"):
            response = getattr(self.client, method)(url, {"confirm_email": "x", "reason": "again"}, follow=True)
            self.assertContains(response, "already erased")
        self.assertEqual(ErasureRecord.objects.count(), 1)
        self.assertEqual(AuditEntry.objects.filter(action="privacy_erase").count(), 1)


class RequestLogTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice = cls.cast["alice"]
        cls.contacts = [make_contact(None) for _ in range(7)]
        cls.erased_email = cls.contacts[0].email
        for i, contact in enumerate(cls.contacts):
            services.erase_contact(contact, actor=cls.alice, reason=f"Ticket {i}")
        cls.kept = make_contact(None, email="kept@example.com")
        for _ in range(3):
            services.export_contact(cls.kept, actor=cls.alice)

    def setUp(self):
        self.client.force_login(self.alice)

    @override_settings(PAGE_SIZE=5)
    def test_erasures_are_listed_newest_first_in_keyset_pages(self):
        url = reverse("privacy:log")
        with self.assertNumQueries(4):  # session, user, team (base.html), one page of records with their actors
            first = self.client.get(url)
        self.assertEqual([r.reason for r in first.context["page"].rows], [f"Ticket {i}" for i in (6, 5, 4, 3, 2)])
        cursor = first.context["page"].next_cursor
        self.assertContains(first, "Older")
        second = self.client.get(url, {"cursor": cursor})
        self.assertEqual([r.reason for r in second.context["page"].rows], ["Ticket 1", "Ticket 0"])
        self.assertIsNone(second.context["page"].next_cursor)
        self.assertEqual(self.client.get(url, {"cursor": "garbage!"}).status_code, 200)

    def test_exports_tab_lists_exports_from_the_audit_log(self):
        with self.assertNumQueries(4):
            response = self.client.get(reverse("privacy:log"), {"tab": "exports"})
        rows = response.context["page"].rows
        self.assertEqual(len(rows), 3)
        self.assertEqual({r.object_id for r in rows}, {str(self.kept.pk)})
        self.assertContains(response, reverse("privacy:contact", args=[self.kept.pk]))

    def test_find_a_person_by_email(self):
        url = reverse("privacy:log")
        response = self.client.get(url, {"email": "  KEPT@example.com "})
        self.assertRedirects(response, reverse("privacy:contact", args=[self.kept.pk]))
        response = self.client.get(url, {"email": "nobody@example.com"})
        self.assertContains(response, "No contact has this email address")
        response = self.client.get(url, {"email": "not an email"})
        self.assertContains(response, "is not a valid email address")
        # An erased person cannot be found by their old address.
        response = self.client.get(url, {"email": self.erased_email})
        self.assertContains(response, "If they were erased, nothing about them is left.")
