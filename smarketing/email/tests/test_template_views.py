"""The template editor through HTTP: access, inline block edits, errors next to the block, preview, test send."""

from django.core import mail
from django.test import TestCase
from django.urls import reverse

from smarketing.core.models import AuditEntry
from smarketing.email import template_services as services
from smarketing.email.models import Brand, EditorMode, EmailTemplate
from smarketing.testing import make_cast, make_contact

XSS = '<script>alert("x")</script>'
HTMX = {"HTTP_HX_REQUEST": "true"}
BRAND_OK = {"primary_color": "#000000", "text_color": "#111111", "background_color": "#ffffff"}


class TemplateViewTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.template = services.create_template(
            cls.cast["mia"], name="Spring", subject='Hi {{ contact.first_name|default:"there" }}'
        )
        cls.contact = make_contact(first_name=f"Zed{XSS}", last_name="Quinn", email="zed.quinn@example.com")

    def setUp(self):
        self.client.force_login(self.cast["mia"])

    def url(self, name, *args):
        return reverse(f"email:{name}", args=args)

    def block(self, kind):
        self.template.refresh_from_db()
        return next(b for b in self.template.blocks if b["type"] == kind)

    def test_list_in_constant_queries_and_escaped(self):
        for i in range(5):
            services.create_template(self.cast["alice"], name=f"{XSS} {i}")
        self.client.get(self.url("template_list"))  # warm the session and content types
        with self.assertNumQueries(4):  # session, user (+team), templates with owners
            response = self.client.get(self.url("template_list"))
        self.assertContains(response, "&lt;script&gt;alert", count=5)
        self.assertNotContains(response, XSS)
        self.assertContains(response, "New template")

    def test_empty_state(self):
        EmailTemplate.objects.all().delete()
        self.assertContains(self.client.get(self.url("template_list")), "No templates yet")

    def test_create_from_the_list(self):
        response = self.client.post(self.url("template_list"), {"name": "Launch"})
        template = EmailTemplate.objects.get(name="Launch")
        self.assertRedirects(response, self.url("template_edit", template.pk))
        self.assertEqual([b["type"] for b in template.blocks], ["header", "heading", "text", "button", "footer"])
        self.assertTrue(
            AuditEntry.objects.filter(
                object_type="email.emailtemplate", object_id=str(template.pk), action="create"
            ).exists()
        )

    def test_access(self):
        for name, can in (("alice", True), ("carol", True), ("mia", True), ("bob", False), ("rory", False)):
            with self.subTest(user=name):
                self.client.force_login(self.cast[name])
                page = self.client.get(self.url("template_edit", self.template.pk))
                self.assertEqual(page.status_code, 200)
                self.assertEqual("Send a test to me" in page.content.decode(), can)
                response = self.client.post(
                    self.url("template_block_add", self.template.pk), {"type": "divider"}, **HTMX
                )
                self.assertEqual(response.status_code, 200 if can else 403)
                response = self.client.post(self.url("template_list"), {"name": "x"})
                self.assertEqual(response.status_code, 302 if can else 403)
                self.assertEqual(
                    self.client.post(self.url("brand_settings"), BRAND_OK).status_code,
                    302 if can else 403,
                )
        self.client.logout()
        self.assertEqual(self.client.get(self.url("template_list")).status_code, 302)

    def test_edit_a_block_inline(self):
        heading = self.block("heading")
        response = self.client.post(
            self.url("template_block_update", self.template.pk, heading["id"]),
            {"text": "Welcome {{ contact.first_name }}", "level": "2", "align": "center"},
            **HTMX,
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'id="blocks"')
        self.assertIn("sm:toast", response["HX-Trigger"])
        self.assertEqual(self.block("heading")["text"], "Welcome {{ contact.first_name }}")
        self.assertEqual(self.block("heading")["level"], "2")
        entry = AuditEntry.objects.filter(object_id=str(self.template.pk), action="update").latest("id")
        self.assertEqual(entry.changes["change"], [None, "edited heading"])

    def test_validation_error_shown_next_to_the_block_and_nothing_saved(self):
        button = self.block("button")
        response = self.client.post(
            self.url("template_block_update", self.template.pk, button["id"]),
            {"label": "Go", "href": "javascript:alert(1)", "color": "", "align": "center"},
            **HTMX,
        )
        self.assertEqual(response.status_code, 200)
        body = response.content.decode()
        error_at = body.index(f'id="block-{button["id"]}-error"')
        self.assertGreater(error_at, body.index(f'id="block-{button["id"]}"'))
        self.assertIn(
            "must start with https://",
            body.replace("use a full address starting with https://", "must start with https://"),
        )
        self.assertIn('value="javascript:alert(1)"', body)  # what was typed stays in the field
        self.assertEqual(self.block("button")["href"], button["href"])

    def test_sandbox_error_shown(self):
        text = self.block("text")
        response = self.client.post(
            self.url("template_block_update", self.template.pk, text["id"]), {"html": "{% load static %}"}, **HTMX
        )
        self.assertContains(response, "{% load %} is not allowed")

    def test_move_and_delete(self):
        text = self.block("text")
        self.client.post(self.url("template_block_move", self.template.pk, text["id"]), {"direction": "up"}, **HTMX)
        self.template.refresh_from_db()
        self.assertEqual([b["type"] for b in self.template.blocks][:3], ["header", "text", "heading"])
        self.client.post(self.url("template_block_delete", self.template.pk, text["id"]), **HTMX)
        self.template.refresh_from_db()
        self.assertNotIn("text", [b["type"] for b in self.template.blocks])
        # Without JavaScript: a plain post redirects back to the editor.
        response = self.client.post(self.url("template_block_add", self.template.pk), {"type": "spacer"})
        self.assertRedirects(response, self.url("template_edit", self.template.pk))

    def test_new_blocks_go_above_the_footer(self):
        self.client.post(self.url("template_block_add", self.template.pk), {"type": "image"}, **HTMX)
        self.template.refresh_from_db()
        self.assertEqual([b["type"] for b in self.template.blocks][-2:], ["image", "footer"])
        self.assertEqual(
            self.client.post(self.url("template_block_add", self.template.pk), {"type": "evil"}, **HTMX).status_code,
            400,
        )

    def test_settings_with_errors(self):
        response = self.client.post(
            self.url("template_settings", self.template.pk),
            {"name": "Spring", "subject": "{{ settings.SECRET_KEY }}", "preheader": ""},
            **HTMX,
        )
        self.assertContains(response, "not a merge field")
        self.template.refresh_from_db()
        self.assertNotIn("settings", self.template.subject)
        self.client.post(
            self.url("template_settings", self.template.pk),
            {"name": "Spring 2", "subject": "S", "preheader": "P"},
            **HTMX,
        )
        self.template.refresh_from_db()
        self.assertEqual((self.template.name, self.template.subject, self.template.preheader), ("Spring 2", "S", "P"))

    def test_preview_as_a_contact(self):
        response = self.client.get(self.url("template_preview", self.template.pk) + f"?contact={self.contact.pk}")
        self.assertEqual(response.status_code, 200)
        self.assertIn("sandbox", response["Content-Security-Policy"])
        self.assertIn("default-src 'none'", response["Content-Security-Policy"])
        self.assertEqual(response["X-Frame-Options"], "SAMEORIGIN")
        body = response.content.decode()
        self.assertIn("Hello Zed&lt;script&gt;", body)
        self.assertNotIn(XSS, body)
        self.assertIn('href="#unsubscribe"', body)
        panel = self.client.get(self.url("template_preview_panel", self.template.pk) + f"?contact={self.contact.pk}")
        self.assertContains(panel, "Hi Zed&lt;script&gt;")  # the personalized subject, escaped in the UI
        self.assertContains(panel, "zed.quinn@example.com")
        sample = self.client.get(self.url("template_preview", self.template.pk))
        self.assertContains(sample, "Hello Ada")

    def test_preview_of_a_broken_template_explains(self):
        self.template.blocks = [b for b in self.template.blocks if b["type"] != "footer"]
        self.template.save()
        response = self.client.get(self.url("template_preview", self.template.pk))
        self.assertContains(response, "unsubscribe link")
        panel = self.client.get(self.url("template_preview_panel", self.template.pk))
        self.assertContains(panel, "data-preview-error")

    def test_contact_picker(self):
        self.client.get(self.url("template_contacts") + f"?q=zed&template={self.template.pk}")
        with self.assertNumQueries(3):
            response = self.client.get(self.url("template_contacts") + f"?q=zed&template={self.template.pk}")
        self.assertContains(response, "zed.quinn@example.com")
        self.assertContains(response, f"?contact={self.contact.pk}")
        self.assertContains(response, "Zed&lt;script&gt;")
        nobody = self.client.get(self.url("template_contacts") + f"?q=nobody&template={self.template.pk}")
        self.assertContains(nobody, "No contact starts with")

    def test_send_a_test_to_me(self):
        response = self.client.post(self.url("template_test", self.template.pk), {"contact": self.contact.pk}, **HTMX)
        self.assertEqual(response.status_code, 204)
        self.assertIn("Sent a test to mia@example.com", response["HX-Trigger"])
        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertEqual(message.to, ["mia@example.com"])
        self.assertEqual(message.subject, f"[Test] Hi Zed{XSS}")
        self.assertIn(f"Hello Zed{XSS}", message.body)  # plain text: not escaped
        html = message.alternatives[0][0]
        self.assertIn("Hello Zed&lt;script&gt;", html)
        self.assertIn('href="#unsubscribe"', html)  # a test never unsubscribes anyone

    def test_send_a_test_is_limited_and_refused_for_readers(self):
        for _ in range(20):
            self.client.post(self.url("template_test", self.template.pk))
        response = self.client.post(self.url("template_test", self.template.pk), **HTMX)
        self.assertIn("try again later", response["HX-Trigger"])
        self.assertEqual(len(mail.outbox), 20)
        self.client.force_login(self.cast["bob"])
        self.assertEqual(self.client.post(self.url("template_test", self.template.pk)).status_code, 403)

    def test_raw_html_mode(self):
        response = self.client.post(self.url("template_mode", self.template.pk), {"mode": "html"})
        self.assertRedirects(response, self.url("template_edit", self.template.pk))
        self.template.refresh_from_db()
        self.assertEqual(self.template.mode, EditorMode.HTML)
        self.assertIn("{{ unsubscribe_url }}", self.template.html)  # the blocks' HTML is the starting point
        page = self.client.get(self.url("template_edit", self.template.pk))
        self.assertContains(page, "HTML source")
        bad = self.client.post(self.url("template_html", self.template.pk), {"html": "<p>No way out</p>"}, **HTMX)
        self.assertContains(bad, "needs an unsubscribe link")
        self.assertContains(bad, "No way out")
        good = (
            '<p onclick="x()">Hi {{ contact.first_name }}</p><script>alert(1)</script>'
            '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
        )
        self.client.post(self.url("template_html", self.template.pk), {"html": good}, **HTMX)
        preview = self.client.get(self.url("template_preview", self.template.pk)).content.decode()
        self.assertIn("Hi Ada", preview)
        self.assertNotIn("<script", preview)
        self.assertNotIn("onclick", preview)

    def test_brand_settings(self):
        response = self.client.post(
            self.url("brand_settings"),
            {
                "company_name": "Acme",
                "logo_url": "http://insecure.example/l.png",
                "postal_address": "1 Main St",
                "primary_color": "red",
                "text_color": "#111111",
                "background_color": "#ffffff",
            },
        )
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "#rrggbb", status_code=400)
        self.assertContains(response, "https://", status_code=400)
        self.client.post(
            self.url("brand_settings"),
            {
                "company_name": f"Acme {XSS}",
                "logo_url": "",
                "website_url": "",
                "postal_address": "1 Main St\nSpringfield",
                "primary_color": "#ff0000",
                "text_color": "#111111",
                "background_color": "#ffffff",
            },
        )
        brand = Brand.current()
        self.assertEqual(brand.primary_color, "#ff0000")
        preview = self.client.get(self.url("template_preview", self.template.pk)).content.decode()
        self.assertIn("Acme &lt;script&gt;", preview)
        self.assertIn("1 Main St<br>Springfield", preview)

    def test_archive_and_duplicate(self):
        self.client.post(self.url("template_duplicate", self.template.pk))
        copy = EmailTemplate.objects.get(name="Spring (copy)")
        self.assertEqual([b["type"] for b in copy.blocks], [b["type"] for b in self.template.blocks])
        self.assertNotEqual(copy.blocks[0]["id"], self.template.blocks[0]["id"])
        self.client.post(self.url("template_archive", self.template.pk), {"archived": "1"})
        self.assertNotContains(self.client.get(self.url("template_list")), ">Spring<")
        self.assertContains(self.client.get(self.url("template_list") + "?archived=1"), ">Spring<")
