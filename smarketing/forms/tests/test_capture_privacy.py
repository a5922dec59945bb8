"""Lead capture's privacy hook: the export lists a person's submissions; erasure keeps their facts but removes
what the person typed, the URLs, the IP address and the user agent."""

from django.test import TestCase

from smarketing.forms import spam
from smarketing.forms.capture import SubmitMeta, submit
from smarketing.forms.models import FormSubmission
from smarketing.forms.tests.capture_fixtures import make_form
from smarketing.privacy.services import erase_contact, export_contact
from smarketing.testing import make_cast


class FormsPrivacyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.form = make_form(name="Webinar signup", consent_enabled=True, consent_text="Email me about webinars.")

        def send(email, first_name):
            meta = SubmitMeta(
                token=spam.fill_token(cls.form),
                ip="203.0.113.9",
                user_agent="Mozilla/5.0 Pat",
                page_url=f"https://www.acme.example/webinar?email={email}&utm_source=ads",
                consent=True,
            )
            return submit(cls.form, {"email": email, "first_name": first_name, "message": "Call me"}, meta=meta)

        cls.mine = send("pat@example.com", "Pat")
        cls.other = send("sam@example.com", "Sam")

    def test_the_export_lists_the_submissions(self):
        data = export_contact(self.mine.contact, actor=self.cast["alice"])
        [row] = list(data["form_submissions"])
        self.assertEqual(row["form"], "Webinar signup")
        self.assertEqual(row["data"]["first_name"], "Pat")
        self.assertEqual(row["consent_text"], "Email me about webinars.")
        self.assertEqual(row["ip"], "203.0.113.9")

    def test_erasure_scrubs_the_submission_and_keeps_its_facts(self):
        record, _ = erase_contact(self.mine.contact, actor=self.cast["alice"], reason="Asked to be forgotten")
        scrubbed = FormSubmission.objects.get(pk=self.mine.submission.pk)
        self.assertEqual(scrubbed.data, {})
        self.assertEqual((scrubbed.page_url, scrubbed.referrer, scrubbed.user_agent), ("", "", ""))
        self.assertIsNone(scrubbed.ip)
        self.assertEqual(scrubbed.form_id, self.form.pk)
        self.assertEqual(scrubbed.utm, {"utm_source": "ads"})
        self.assertTrue(scrubbed.consent_given)
        self.assertEqual(record.summary["scrub_form_submissions"], 1)
        untouched = FormSubmission.objects.get(pk=self.other.submission.pk)
        self.assertEqual(untouched.data["first_name"], "Sam")
        self.assertEqual(str(untouched.ip), "203.0.113.9")
        # Nothing of it comes back through the export either.
        data = export_contact(self.mine.contact, actor=self.cast["alice"])
        self.assertNotIn("Pat", str(list(data["form_submissions"])))
