"""The public form endpoints over HTTP: the hosted page, the submit endpoint (form-encoded and JSON), the embed's
definition and script, CORS, and the hostile cases (spam, rate and size limits, open redirects, XSS)."""

import json

from django.test import Client, TestCase, override_settings
from django.urls import reverse
from django.utils.html import escapejs

from smarketing.crm.models import Contact
from smarketing.forms import spam
from smarketing.forms.models import Form, FormStatus, FormSubmission, SubmissionStatus, Visitor
from smarketing.forms.tests.capture_fixtures import make_form
from smarketing.testing import make_contact

SITE = "https://www.acme.example"


class PublicFormTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.form = make_form(
            name="Contact us",
            title="Talk to sales",
            consent_enabled=True,
            consent_text="Send me product news.",
            allowed_origins=f"{SITE}\nhttps://docs.acme.example/",
        )
        cls.open_form = make_form(name="Open form")  # no allowed origins: any site may embed it

    def url(self, name, form=None):
        return reverse(f"forms_public:{name}", args=[(form or self.form).public_id])

    def token(self, form=None):
        return spam.fill_token(form or self.form)

    def post_json(self, data, *, form=None, **headers):
        body = {"_token": self.token(form), **data}
        return self.client.post(
            self.url("submit", form), json.dumps(body), content_type="application/json", headers=headers
        )

    # -- the hosted page -----------------------------------------------------------------------------------------

    def test_the_hosted_page_renders_the_fields_a_token_and_strict_headers(self):
        response = self.client.get(self.url("page") + "?utm_source=linkedin&utm_campaign=q3")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, '<h1 id="smk-heading">Talk to sales</h1>', html=False)
        self.assertContains(response, 'name="email"')
        self.assertContains(response, 'name="_token" value="')
        self.assertContains(response, f'name="{spam.HONEYPOT}"')
        self.assertContains(response, 'name="utm_source" value="linkedin"')
        self.assertContains(response, "Send me product news.")
        self.assertNotContains(response, "<script")
        csp = response["Content-Security-Policy"]
        self.assertIn("default-src 'none'", csp)
        self.assertIn("form-action 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(response["Cache-Control"], "no-store, private, max-age=0")
        self.assertIn("noindex", response["X-Robots-Tag"])

    def test_the_hosted_page_costs_a_fixed_number_of_queries(self):
        contact = make_contact(email="known@client.example", title="CFO")
        self.client.cookies["smk_vid"] = Visitor.objects.create(contact=contact).public_id
        with self.assertNumQueries(3):  # the form, the visitor, its contact with the company
            self.assertEqual(self.client.get(self.url("page")).status_code, 200)

    def test_a_draft_or_unknown_form_is_the_same_plain_404(self):
        draft = make_form(name="Draft", status=FormStatus.DRAFT)
        for public_id in (draft.public_id, "no-such-form-42"):
            with self.subTest(public_id):
                response = self.client.get(f"/f/{public_id}/")
                self.assertContains(response, "This form does not exist", status_code=404)
                self.assertNotContains(response, public_id, status_code=404)
        self.assertEqual(self.client.post(self.url("submit", draft), {"email": "a@b.example"}).status_code, 404)

    def test_a_plain_html_post_creates_the_contact_and_shows_the_thanks(self):
        # The real journey: read the page, send back what it holds.
        page = self.client.get(self.url("page"))
        token = page.context["token"]
        response = self.client.post(
            self.url("submit"),
            {"_token": token, "email": "dana@client.example", "first_name": "Dana", "_consent": "1",
             "_page": f"{SITE}/contact?utm_source=google&utm_medium=cpc", "unknown": "dropped"},
        )  # fmt: skip
        self.assertContains(response, "Thank you!")
        contact = Contact.objects.get(email="dana@client.example")
        self.assertEqual(contact.first_name, "Dana")
        self.assertEqual(contact.consent_status, "granted")
        submission = FormSubmission.objects.get(contact=contact)
        self.assertEqual(submission.utm, {"utm_source": "google", "utm_medium": "cpc"})
        self.assertEqual(submission.page_url, f"{SITE}/contact?utm_source=google&utm_medium=cpc")
        self.assertNotIn("unknown", submission.data)

    def test_csrf_is_not_needed_here_but_stays_on_elsewhere(self):
        client = Client(enforce_csrf_checks=True)
        response = client.post(self.url("submit"), {"_token": self.token(), "email": "csrf@client.example"})
        self.assertEqual(response.status_code, 200)
        self.assertTrue(Contact.objects.filter(email="csrf@client.example").exists())
        self.assertEqual(client.post(reverse("login"), {"username": "x", "password": "y"}).status_code, 403)

    def test_errors_rerender_the_page_escaped_without_reflecting_anything_else(self):
        xss = '"><script>alert(1)</script>'
        response = self.client.post(
            self.url("submit"),
            {"_token": self.token(), "email": "not-an-email", "first_name": xss, "_page": xss, "evil": xss},
        )
        self.assertEqual(response.status_code, 400)
        body = response.content.decode()
        self.assertNotIn("<script>alert(1)</script>", body)
        self.assertIn("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;", body)  # refilled, escaped
        self.assertIn("Enter a valid email address.", body)
        self.assertIn('aria-invalid="true"', body)
        self.assertFalse(FormSubmission.objects.exists())

    def test_a_label_with_markup_is_escaped(self):
        fields = [{"key": "email", "label": "<img src=x onerror=alert(1)>", "type": "email",
                   "maps_to": "contact.email", "required": True}]  # fmt: skip
        form = make_form(fields, name="Markup", title="<b>Bold</b>")
        response = self.client.get(self.url("page", form))
        self.assertNotContains(response, "<img src=x")
        self.assertContains(response, "&lt;img src=x onerror=alert(1)&gt;")
        self.assertContains(response, "&lt;b&gt;Bold&lt;/b&gt;")

    def test_the_redirect_goes_only_to_the_configured_url(self):
        form = make_form(name="Redirecting", redirect_url="https://www.acme.example/thanks")
        response = self.client.post(
            self.url("submit", form) + "?next=https://evil.example/",
            {"_token": self.token(form), "email": "r@client.example", "redirect_url": "https://evil.example/",
             "next": "https://evil.example/"},
        )  # fmt: skip
        self.assertEqual(response.status_code, 303)
        self.assertEqual(response["Location"], "https://www.acme.example/thanks")
        page = self.client.get(self.url("page", form))
        self.assertIn("form-action 'self' https://www.acme.example", page["Content-Security-Policy"])
        # Without a configured URL, no request value sends anyone anywhere.
        response = self.client.post(
            self.url("submit") + "?next=https://evil.example/",
            {"_token": self.token(), "email": "s@client.example", "next": "https://evil.example/"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertFalse(response.has_header("Location"))

    def test_progressive_fields_are_skipped_for_the_visitor_cookie_of_a_known_contact(self):
        contact = make_contact(email="vic@client.example", title="CFO")
        visitor = Visitor.objects.create(contact=contact)
        self.assertContains(self.client.get(self.url("page")), 'name="title"')
        self.client.cookies["smk_vid"] = visitor.public_id
        response = self.client.get(self.url("page"))
        self.assertNotContains(response, 'name="title"')
        self.assertContains(response, 'name="company"')
        self.assertNotContains(response, "CFO", msg_prefix="known values are never prefilled")

    # -- JSON --------------------------------------------------------------------------------------------------------

    def test_json_submission_answers_json(self):
        response = self.post_json({"email": "json@client.example", "first_name": "Jay"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(),
            {"ok": True, "status": "accepted", "message": "Thank you! We'll be in touch.", "redirect": None},
        )
        self.assertTrue(Contact.objects.filter(email="json@client.example", first_name="Jay").exists())

    def test_json_errors_are_per_field_and_fixed_sentences(self):
        response = self.post_json({"email": "<b>nope</b>", "phone": "call me <maybe>"})
        self.assertEqual(response.status_code, 400)
        answer = response.json()
        self.assertEqual(set(answer["errors"]), {"email", "phone"})
        self.assertNotIn("nope", response.content.decode())
        self.assertNotIn("maybe", response.content.decode())

    def test_a_body_that_is_not_an_object_is_refused(self):
        for body in ("[1, 2]", "{not json", '"text"'):
            with self.subTest(body):
                response = self.client.post(self.url("submit"), body, content_type="application/json")
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response.json()["error"], "bad_body")

    def test_definition_lists_the_fields_and_a_fresh_token(self):
        with self.assertNumQueries(1):
            response = self.client.get(self.url("definition"), headers={"Origin": SITE})
        self.assertEqual(response.status_code, 200)
        answer = response.json()
        self.assertEqual(answer["id"], self.form.public_id)
        self.assertEqual([f["key"] for f in answer["fields"]][:3], ["email", "first_name", "last_name"])
        self.assertEqual(answer["consent"], {"text": "Send me product news.", "required": False})
        self.assertEqual(spam.check(self.form, token=answer["token"], honeypot="", now=9e12), "")
        self.assertEqual(answer["submit_url"], self.url("submit"))
        self.assertEqual(response["Access-Control-Allow-Origin"], SITE)
        self.assertEqual(response["Cache-Control"], "no-store, private, max-age=0")

    def test_embed_js_is_a_cached_script_for_this_form(self):
        response = self.client.get(self.url("embed"))
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response["Content-Type"].startswith("text/javascript"))
        self.assertIn("max-age=3600", response["Cache-Control"])
        # The id as a JavaScript string literal (escapejs writes "-" as \u002D: the same string to the script).
        self.assertIn(f'var FORM_ID = "{escapejs(self.form.public_id)}"', response.content.decode())
        self.assertEqual(response["Cross-Origin-Resource-Policy"], "cross-origin")
        self.assertEqual(self.client.get("/f/unknown-form/embed.js").status_code, 404)

    # -- CORS ----------------------------------------------------------------------------------------------------------

    def test_preflight_from_an_allowed_origin(self):
        response = self.client.options(
            self.url("submit"),
            headers={"Origin": "https://docs.acme.example", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"},
        )  # fmt: skip
        self.assertEqual(response.status_code, 204)
        self.assertEqual(response["Access-Control-Allow-Origin"], "https://docs.acme.example")
        self.assertIn("POST", response["Access-Control-Allow-Methods"])
        self.assertIn("Content-Type", response["Access-Control-Allow-Headers"])
        self.assertFalse(response.has_header("Access-Control-Allow-Credentials"))
        self.assertIn("Origin", response["Vary"])

    def test_a_refused_origin_gets_no_cors_header_and_nothing_is_stored(self):
        evil = {"Origin": "https://evil.example"}
        preflight = self.client.options(self.url("submit"), headers={**evil, "Access-Control-Request-Method": "POST"})
        self.assertEqual(preflight.status_code, 403)
        self.assertFalse(preflight.has_header("Access-Control-Allow-Origin"))
        # A form-encoded POST needs no preflight: it is refused before anything is read.
        response = self.client.post(
            self.url("submit"), {"_token": self.token(), "email": "x@evil.example"}, headers=evil
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(response.has_header("Access-Control-Allow-Origin"))
        self.assertFalse(FormSubmission.objects.exists())
        self.assertEqual(self.client.get(self.url("definition"), headers=evil).status_code, 403)

    def test_an_allowed_origin_posts_and_reads_the_answer(self):
        response = self.post_json({"email": "cors@client.example"}, Origin=SITE)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Access-Control-Allow-Origin"], SITE)
        self.assertTrue(Contact.objects.filter(email="cors@client.example").exists())

    def test_the_hosted_page_posts_from_its_own_origin_whatever_the_list(self):
        response = self.client.post(
            self.url("submit"),
            {"_token": self.token(), "email": "own@client.example"},
            headers={"Origin": "http://testserver"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertFalse(response.has_header("Access-Control-Allow-Origin"))
        self.assertTrue(Contact.objects.filter(email="own@client.example").exists())

    def test_a_form_without_allowed_origins_takes_any_origin_without_credentials(self):
        response = self.post_json({"email": "any@client.example"}, form=self.open_form, Origin="https://blog.example")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Access-Control-Allow-Origin"], "*")
        self.assertFalse(response.has_header("Access-Control-Allow-Credentials"))

    def test_the_rest_of_the_app_sends_no_cors_headers(self):
        response = self.client.get(reverse("login"), headers={"Origin": SITE})
        self.assertFalse(response.has_header("Access-Control-Allow-Origin"))

    # -- spam and limits -----------------------------------------------------------------------------------------------

    def test_the_honeypot_looks_like_success_but_stores_spam(self):
        response = self.post_json({"email": "bot@bots.example", spam.HONEYPOT: "http://buy.example"})
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.json()["ok"])
        submission = FormSubmission.objects.get()
        self.assertEqual((submission.status, submission.spam_reason), (SubmissionStatus.SPAM, spam.HONEYPOT_FILLED))
        self.assertIsNone(submission.contact)
        self.assertFalse(Contact.objects.filter(email="bot@bots.example").exists())
        self.assertEqual(Form.objects.get(pk=self.form.pk).submission_count, 0)

    def test_too_fast_and_tokenless_posts_are_spam(self):
        slow = make_form(name="Slow", min_fill_seconds=30)
        self.post_json({"email": "fast@bots.example"}, form=slow)
        self.client.post(self.url("submit"), {"email": "notoken@bots.example"})
        reasons = dict(FormSubmission.objects.values_list("data__email", "spam_reason"))
        self.assertEqual(reasons, {"fast@bots.example": spam.TOO_FAST, "notoken@bots.example": spam.NO_TOKEN})
        self.assertFalse(Contact.objects.filter(email__endswith="@bots.example").exists())

    @override_settings(FORMS_RATE_PER_IP=2)
    def test_the_rate_limit_per_address_answers_429_and_stores_nothing(self):
        for i in range(2):
            self.assertEqual(self.post_json({"email": f"r{i}@client.example"}).status_code, 200)
        response = self.post_json({"email": "r9@client.example"})
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response["Retry-After"], "60")
        self.assertEqual(FormSubmission.objects.count(), 2)
        # Another address still gets through.
        other = self.client.post(
            self.url("submit"),
            json.dumps({"_token": self.token(), "email": "r10@client.example"}),
            content_type="application/json",
            REMOTE_ADDR="198.51.100.7",
        )
        self.assertEqual(other.status_code, 200)

    @override_settings(FORMS_RATE_PER_FORM=1, FORMS_RATE_PER_IP=100)
    def test_the_rate_limit_per_form(self):
        self.assertEqual(self.post_json({"email": "f1@client.example"}).status_code, 200)
        self.assertEqual(self.post_json({"email": "f2@client.example"}).status_code, 429)
        self.assertEqual(self.post_json({"email": "f3@client.example"}, form=self.open_form).status_code, 200)

    @override_settings(FORMS_MAX_BODY_BYTES=1024)
    def test_a_large_body_is_refused_unread(self):
        response = self.post_json({"email": "big@client.example", "message": "x" * 2000})
        self.assertEqual(response.status_code, 413)
        self.assertFalse(FormSubmission.objects.exists())
