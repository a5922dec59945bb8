"""The form builder through HTTP: create, edit fields (buttons with and without htmx), validation errors shown,
publish with its snippets, archive, duplicate, the access matrix, and the list's query count."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase
from django.urls import reverse

from smarketing.accounts.access import system_actor
from smarketing.core.models import AuditEntry, Origin
from smarketing.crm.models import PropertyDefinition
from smarketing.forms import editor, services
from smarketing.forms.models import Form, FormStatus
from smarketing.forms.tests.helpers import add_submission, editor_post
from smarketing.testing import make_cast

EMAIL = {"key": "email", "label": "Work email", "type": "email", "maps_to": "contact.email", "required": True}


class BuilderPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        PropertyDefinition.objects.create(object_type="contact", key="plan", label="Plan", type="text")
        cls.form = services.create_form(cls.cast["mia"], name="Contact us", starter="contact_us")

    def setUp(self):
        self.client.force_login(self.cast["mia"])

    def test_create_from_a_starter_opens_the_editor(self):
        response = self.client.post(reverse("forms:create"), {"name": "Demo request", "starter": "demo_request"})
        form = Form.objects.get(name="Demo request")
        self.assertRedirects(response, reverse("forms:edit", args=[form.pk]))
        self.assertEqual(form.status, FormStatus.DRAFT)
        self.assertEqual(form.owner, self.cast["mia"])
        self.assertIn("team_size", [f["key"] for f in form.fields])
        self.assertTrue(AuditEntry.objects.filter(object_type="forms.form", object_id=str(form.pk), action="create"))
        page = self.client.get(reverse("forms:edit", args=[form.pk]))
        self.assertContains(page, 'name="fields-0-key" value="first_name"')
        self.assertContains(page, "Preview")
        # Custom properties are offered as targets next to the built-in ones.
        self.assertContains(page, '<option value="contact.custom.plan">Contact: plan (custom)</option>', html=True)

    def test_create_without_a_name_says_so(self):
        response = self.client.post(reverse("forms:create"), {"name": " ", "starter": "blank"})
        self.assertContains(response, "Give the form a name.", status_code=400)

    def test_save_fields_and_settings(self):
        rows = [
            EMAIL,
            {
                "key": "plan",
                "label": "Plan",
                "type": "select",
                "maps_to": "contact.custom.plan",
                "choices": ["Free", "Pro"],
            },
            {"key": "utm_source", "type": "hidden", "source": "utm_source", "maps_to": ""},
        ]
        data = editor_post(
            self.form,
            rows,
            title="Talk to us",
            redirect_url="https://www.example.com/thanks",
            allowed_origins="https://www.example.com/\nHTTPS://Shop.Example.com",
            consent_enabled="1",
            consent_text="I agree to hear from Example.",
            default_owner=str(self.cast["bob"].pk),
            lifecycle_stage="lead",
            notify_users=[str(self.cast["carol"].pk)],
            save="1",
        )
        response = self.client.post(reverse("forms:edit", args=[self.form.pk]), data)
        self.assertRedirects(response, reverse("forms:edit", args=[self.form.pk]))
        form = Form.objects.get(pk=self.form.pk)
        self.assertEqual([f["key"] for f in form.fields], ["email", "plan", "utm_source"])
        self.assertEqual(form.fields[1]["choices"], ["Free", "Pro"])
        self.assertEqual(form.fields[2]["source"], "utm_source")
        self.assertEqual(form.title, "Talk to us")
        self.assertEqual(form.allowed_origins, "https://www.example.com\nhttps://shop.example.com")
        self.assertTrue(form.consent_enabled)
        self.assertEqual(form.default_owner, self.cast["bob"])
        self.assertEqual(list(form.notify_users.all()), [self.cast["carol"]])
        entry = AuditEntry.objects.filter(object_id=str(form.pk), action="update").latest("id")
        self.assertEqual(entry.changes["fields"][1], ["email", "plan", "utm_source"])

    def test_validation_errors_are_shown_and_nothing_is_lost(self):
        rows = [
            {"key": "name", "label": "Name", "type": "text", "maps_to": "contact.first_name"},
            {"key": "pick", "label": "Pick", "type": "select", "maps_to": ""},
        ]
        data = editor_post(
            self.form, rows, redirect_url="javascript:alert(1)", consent_enabled="1", consent_text="", save="1"
        )
        response = self.client.post(reverse("forms:edit", args=[self.form.pk]), data)
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "The form was not saved", status_code=400)
        self.assertContains(response, "a dropdown field needs at least one choice", status_code=400)
        self.assertContains(response, "starting with https://", status_code=400)
        self.assertContains(response, "Write the exact words", status_code=400)
        self.assertContains(response, 'name="fields-1-key" value="pick"', status_code=400)  # kept as typed
        # Without an email field the form could not find its contact.
        rows = [{"key": "name", "label": "Name", "type": "text", "maps_to": "contact.first_name"}]
        response = self.client.post(reverse("forms:edit", args=[self.form.pk]), editor_post(self.form, rows, save="1"))
        self.assertContains(response, "mapped to the contact&#x27;s email", status_code=400)
        self.assertEqual(Form.objects.get(pk=self.form.pk).fields, self.form.fields)

    def test_origins_refuse_paths_and_other_schemes(self):
        for bad in ("https://example.com/page", "ftp://example.com", "example.com"):
            with self.assertRaises(ValidationError, msg=bad):
                services.update_form(self.cast["mia"], self.form, allowed_origins=bad)

    def test_builder_buttons_with_htmx(self):
        url = reverse("forms:builder", args=[self.form.pk])
        rows = [EMAIL, {"key": "first_name", "label": "First name", "type": "text", "maps_to": "contact.first_name"}]
        data = editor_post(self.form, rows)
        response = self.client.post(url, {**data, "action": "add", "add_type": "select"}, HTTP_HX_REQUEST="true")
        self.assertContains(response, 'name="fields-2-type"')
        self.assertContains(response, 'name="fields-2-choices"')
        self.assertContains(response, 'id="form-preview" hx-swap-oob="true"')  # the preview follows
        response = self.client.post(url, {**data, "action": "up:1"})
        self.assertContains(response, 'name="fields-0-key" value="first_name"')
        self.assertContains(response, 'name="fields-1-key" value="email"')
        response = self.client.post(url, {**data, "action": "remove:0"})
        self.assertNotContains(response, 'name="fields-0-key" value="email"')
        self.assertContains(response, 'name="fields-0-key" value="first_name"')
        self.assertEqual(Form.objects.get(pk=self.form.pk).fields, self.form.fields)  # nothing saved

    def test_builder_buttons_without_javascript(self):
        rows = [EMAIL, {"key": "first_name", "label": "First name", "type": "text", "maps_to": "contact.first_name"}]
        data = editor_post(self.form, rows, action="down:0")
        response = self.client.post(reverse("forms:edit", args=[self.form.pk]), data)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'name="fields-1-key" value="email"')

    def test_live_preview_draws_the_posted_fields_escaped(self):
        rows = [EMAIL, {"key": "q", "label": "<b>Why?</b>", "type": "textarea", "maps_to": ""}]
        data = editor_post(self.form, rows, title="Hello there", submit_label="Send it")
        response = self.client.post(reverse("forms:preview", args=[self.form.pk]), data)
        self.assertContains(response, "Hello there")
        self.assertContains(response, "Send it")
        self.assertContains(response, "&lt;b&gt;Why?&lt;/b&gt;")
        self.assertNotContains(response, "<b>Why?</b>")

    def test_publish_shows_the_hosted_page_embed_and_endpoint(self):
        response = self.client.post(reverse("forms:publish", args=[self.form.pk]))
        self.assertRedirects(response, reverse("forms:overview", args=[self.form.pk]))
        form = Form.objects.get(pk=self.form.pk)
        self.assertEqual(form.status, FormStatus.LIVE)
        page = self.client.get(reverse("forms:overview", args=[form.pk]))
        pid = form.public_id
        self.assertContains(page, f"/f/{pid}/")
        self.assertContains(page, f"&lt;script src=&quot;http://127.0.0.1:8000/f/{pid}/embed.js&quot; async&gt;")
        self.assertContains(page, f"data-smarketing-form=&quot;{pid}&quot;")
        self.assertContains(page, f"/f/{pid}/submit")
        self.assertTrue(AuditEntry.objects.filter(object_id=str(form.pk), action="publish").exists())

    def test_publish_refuses_a_form_without_an_email_field(self):
        Form.objects.filter(pk=self.form.pk).update(fields=[{"key": "x", "label": "X", "type": "text"}])
        response = self.client.post(reverse("forms:publish", args=[self.form.pk]), follow=True)
        self.assertContains(response, "mapped to the contact&#x27;s email")
        self.assertEqual(Form.objects.get(pk=self.form.pk).status, FormStatus.DRAFT)

    def test_archive_and_duplicate(self):
        services.publish_form(self.cast["mia"], self.form)
        self.client.post(reverse("forms:archive", args=[self.form.pk]))
        self.assertEqual(Form.objects.get(pk=self.form.pk).status, FormStatus.ARCHIVED)
        response = self.client.post(reverse("forms:duplicate", args=[self.form.pk]))
        copy = Form.objects.get(name="Copy of Contact us")
        self.assertRedirects(response, reverse("forms:edit", args=[copy.pk]))
        self.assertEqual(copy.status, FormStatus.DRAFT)
        self.assertEqual(copy.fields, self.form.fields)
        self.assertNotEqual(copy.public_id, self.form.public_id)
        self.assertEqual(copy.submission_count, 0)

    def test_list_shows_counters_without_counting(self):
        for i in range(3):
            form = services.create_form(self.cast["mia"], name=f"Form {i}")
            add_submission(form, email=f"p{i}@x.test")
        archived = services.create_form(self.cast["mia"], name="Old form")
        services.archive_form(self.cast["mia"], archived)
        # session, user, the navigation's mail settings, the forms with their owners; no count(*) of
        # submissions, and the same with more forms.
        with self.assertNumQueries(4):
            response = self.client.get(reverse("forms:list"))
        for i in range(3):
            add_submission(services.create_form(self.cast["alice"], name=f"More {i}"), email="m@x.test")
        with self.assertNumQueries(4):
            self.client.get(reverse("forms:list"))
        self.assertContains(response, "Form 2")
        self.assertNotContains(response, "Old form")
        self.assertContains(response, "ago")
        response = self.client.get(reverse("forms:list"), {"status": "archived"})
        self.assertContains(response, "Old form")

    def test_overview_counts_the_last_thirty_days(self):
        add_submission(self.form, email="a@x.test")
        add_submission(self.form, email="b@x.test", days_ago=3)
        add_submission(self.form, email="c@x.test", status="spam")
        add_submission(self.form, email="d@x.test", days_ago=40)
        response = self.client.get(reverse("forms:overview", args=[self.form.pk]))
        overview = response.context["overview"]
        self.assertEqual(overview.window_total, 2)
        self.assertEqual(sum(n for _, n in overview.days), 2)
        self.assertEqual(len(overview.days), 30)
        self.assertEqual(overview.spam_share, 33)
        self.assertContains(response, 'data-chart="per_day"')
        self.assertContains(response, 'id="report-charts"')


class AccessTests(TestCase):
    """The matrix of forms/access.py over the cast."""

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.form = services.create_form(system_actor(Origin.SEED), name="Newsletter", starter="newsletter")

    def test_who_may_build(self):
        builders = {"alice": True, "carol": True, "mia": True, "bob": False, "rory": False}
        for name, allowed in builders.items():
            self.client.force_login(self.cast[name])
            with self.subTest(name):
                response = self.client.get(reverse("forms:edit", args=[self.form.pk]))
                self.assertEqual(response.status_code, 200 if allowed else 403)
                response = self.client.post(reverse("forms:create"), {"name": f"By {name}", "starter": "blank"})
                self.assertEqual(response.status_code, 302 if allowed else 403)
                response = self.client.post(reverse("forms:publish", args=[self.form.pk]))
                self.assertEqual(response.status_code, 302 if allowed else 403)

    def test_everyone_signed_in_may_view(self):
        for name in ("bob", "rory"):
            self.client.force_login(self.cast[name])
            for url in (reverse("forms:list"), reverse("forms:overview", args=[self.form.pk])):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                self.assertNotContains(response, reverse("forms:edit", args=[self.form.pk]))

    def test_anonymous_is_sent_to_log_in(self):
        response = self.client.get(reverse("forms:list"))
        self.assertEqual(response.status_code, 302)
        self.assertIn("login", response["Location"])

    def test_services_refuse_the_read_only_and_inactive(self):
        inactive = self.cast["mia"]
        inactive.is_active = False
        for actor in (self.cast["rory"], self.cast["bob"], inactive):
            with self.assertRaises(PermissionDenied):
                services.update_form(actor, self.form, name="Hacked")


class EditorParsingTests(TestCase):
    def test_moves_and_removals_stay_in_range(self):
        rows = [{"key": "a"}, {"key": "b"}]
        self.assertEqual(editor.apply_action(rows, "up:0"), rows)
        self.assertEqual(editor.apply_action(rows, "down:1"), rows)
        self.assertEqual(editor.apply_action(rows, "remove:9"), rows)
        self.assertEqual(editor.apply_action(rows, "bogus"), rows)
        self.assertEqual([r["key"] for r in editor.apply_action(rows, "down:0")], ["b", "a"])

    def test_new_fields_get_unique_keys_and_free_targets(self):
        rows = [EMAIL]
        added = editor.apply_action(rows, "add:email")[-1]
        self.assertEqual(added["key"], "email_2")
        self.assertEqual(added["maps_to"], "")  # contact.email is taken
