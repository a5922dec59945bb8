"""A form's submissions through HTTP: the keyset list with the form's fields as columns, the status filter,
the detail, and the CSV export through dataio."""

import csv
import io

from django.test import TestCase
from django.urls import reverse

from smarketing.accounts.access import system_actor
from smarketing.core.models import Origin
from smarketing.dataio.models import Export
from smarketing.forms import services, views
from smarketing.forms.tests.helpers import add_submission
from smarketing.testing import make_cast, make_contact


class SubmissionTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.form = services.create_form(system_actor(Origin.SEED), name="Demo request", starter="demo_request")
        cls.other = services.create_form(system_actor(Origin.SEED), name="Other")
        cls.ann = make_contact(email="ann@x.test", first_name="Ann", last_name="Lee")
        cls.first = add_submission(
            cls.form,
            contact=cls.ann,
            days_ago=2,
            email="ann@x.test",
            first_name="Ann",
            company='=HYPERLINK("http://evil")',
            team_size="11-50",
        )
        cls.spam = add_submission(cls.form, status="spam", email="bot@x.test", first_name="<script>x</script>")
        cls.latest = add_submission(cls.form, email="zed@x.test", first_name="Zed", status="pending")
        add_submission(cls.other, email="elsewhere@x.test")

    def setUp(self):
        self.client.force_login(self.cast["carol"])

    def url(self, **params):
        return reverse("forms:submissions", args=[self.form.pk]), params

    def test_list_newest_first_with_the_forms_fields_as_columns(self):
        response = self.client.get(reverse("forms:submissions", args=[self.form.pk]))
        self.assertContains(response, '<th scope="col">First name</th>', html=True)
        self.assertContains(response, '<th scope="col">Work email</th>', html=True)
        body = response.content.decode()
        self.assertLess(body.index("zed@x.test"), body.index("ann@x.test"))
        self.assertNotIn("bot@x.test", body)  # spam waits on its own tab
        self.assertNotIn("elsewhere@x.test", body)
        self.assertContains(response, reverse("contact_detail", args=[self.ann.pk]))
        self.assertContains(response, "Waiting for email confirmation")

    def test_status_filter_and_spam_tab_escape_what_bots_typed(self):
        response = self.client.get(reverse("forms:submissions", args=[self.form.pk]), {"status": "spam"})
        self.assertContains(response, "bot@x.test")
        self.assertContains(response, "&lt;script&gt;x&lt;/script&gt;")
        self.assertNotContains(response, "<script>x</script>")
        self.assertNotContains(response, "ann@x.test")
        response = self.client.get(reverse("forms:submissions", args=[self.form.pk]), {"status": "bogus"})
        self.assertContains(response, "ann@x.test")  # an unknown filter shows the default tab

    def test_keyset_pages_and_query_count(self):
        for i in range(6):
            add_submission(self.form, email=f"p{i}@x.test", first_name=f"P{i}")
        url = reverse("forms:submissions", args=[self.form.pk])
        views.PAGE_SIZE, old = 3, views.PAGE_SIZE
        try:
            # session, user, navigation, the form, one page of submissions with their contacts.
            with self.assertNumQueries(5):
                first = self.client.get(url)
            cursor = first.context["page"].next_cursor
            self.assertIsNotNone(cursor)
            with self.assertNumQueries(5):
                second = self.client.get(url, {"after": cursor})
        finally:
            views.PAGE_SIZE = old
        ids_first = [s.pk for s, _ in first.context["rows"]]
        ids_second = [s.pk for s, _ in second.context["rows"]]
        self.assertEqual(len(ids_first), 3)
        self.assertTrue(max(ids_second) < min(ids_first))

    def test_detail_shows_answers_consent_and_removed_fields(self):
        self.first.consent_given = True
        self.first.consent_text = "I agree to hear from Example."
        self.first.data["old_question"] = "kept"
        self.first.save()
        response = self.client.get(reverse("forms:submission", args=[self.form.pk, self.first.pk]))
        self.assertContains(response, "Team size")
        self.assertContains(response, "11-50")
        self.assertContains(response, "“I agree to hear from Example.”")
        self.assertContains(response, "(field since removed)")
        # A submission is only found under its own form.
        response = self.client.get(reverse("forms:submission", args=[self.other.pk, self.first.pk]))
        self.assertEqual(response.status_code, 404)

    def test_export_csv_has_the_fields_and_defuses_formulas(self):
        response = self.client.post(
            reverse("dataio:export", kwargs={"kind": "form_submissions", "fmt": "csv"}), {"form": self.form.pk}
        )
        export = Export.objects.get(kind="form_submissions")
        self.assertEqual(export.filters, {"form": self.form.pk})
        self.assertRedirects(response, reverse("dataio:export_download", args=[export.pk]))
        download = self.client.get(response["Location"])
        text = b"".join(download.streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        header = rows[0]
        self.assertEqual(header[:4], ["Submission ID", "Received", "First name", "Last name"])
        self.assertIn("Team size", header)
        self.assertIn("Consent wording", header)
        by_email = {row[header.index("Work email")]: row for row in rows[1:]}
        self.assertEqual(set(by_email), {"ann@x.test", "zed@x.test"})  # no spam, no other form
        ann = by_email["ann@x.test"]
        self.assertEqual(ann[header.index("Team size")], "11-50")
        self.assertEqual(ann[header.index("Contact Email")], "ann@x.test")
        self.assertTrue(ann[header.index("Company")].startswith("'="))  # a formula is never run

    def test_export_of_spam_only_and_refusals(self):
        url = reverse("dataio:export", kwargs={"kind": "form_submissions", "fmt": "csv"})
        response = self.client.post(url, {"form": self.form.pk, "status": "spam"})
        text = b"".join(self.client.get(response["Location"]).streaming_content).decode("utf-8-sig")
        self.assertIn("bot@x.test", text)
        self.assertNotIn("ann@x.test", text)
        self.assertEqual(self.client.post(url, {}).status_code, 400)
        self.assertEqual(self.client.post(url, {"form": "999999"}).status_code, 400)
        self.assertEqual(self.client.post(url, {"form": self.form.pk, "status": "x"}).status_code, 400)
        # Members (Mia builds forms) do not export personal data in bulk: the platform's export rule.
        self.client.force_login(self.cast["mia"])
        self.assertEqual(self.client.post(url, {"form": self.form.pk}).status_code, 403)
        response = self.client.get(reverse("forms:submissions", args=[self.form.pk]))
        self.assertNotContains(response, "Export CSV")
