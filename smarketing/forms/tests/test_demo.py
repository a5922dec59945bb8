"""The seeded forms agree with the timeline: one submission per form_submitted touch of a demo form, at the
touch's time, with the form's counters in step (runs on SQLite and PostgreSQL)."""

import json
from datetime import UTC, datetime

from django.db.models import Max
from django.test import TestCase

from smarketing.demo.seed import seed
from smarketing.forms.demo import FORMS
from smarketing.forms.models import Form, FormStatus, FormSubmission
from smarketing.timeline.models import Touchpoint

END = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())


class SeededFormsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        seed(contacts=600, seed=5, end=END, demo_users=True, out=lambda line: None)

    def test_four_live_forms_with_valid_fields(self):
        forms = Form.objects.filter(name__in=[spec[0] for spec in FORMS.values()])
        self.assertEqual(forms.count(), 4)
        self.assertEqual(set(forms.values_list("status", flat=True)), {FormStatus.LIVE})
        newsletter = forms.get(name="Newsletter")
        self.assertTrue(newsletter.consent_enabled and newsletter.consent_text)

    def test_each_form_submitted_touch_of_a_demo_form_is_one_submission(self):
        expected = set()
        for contact, at, details in Touchpoint.objects.filter(kind="form_submitted").values_list(
            "contact_id", "occurred_at", "details"
        ):
            source = (details or {}).get("form") if isinstance(details, dict) else json.loads(details).get("form")
            if source in FORMS:
                expected.add((FORMS[source][0], contact, at))
        got = {
            (name, contact, at)
            for name, contact, at in FormSubmission.objects.values_list("form__name", "contact_id", "created_at")
        }
        self.assertGreater(len(expected), 20)
        self.assertEqual(got, expected)

    def test_counters_in_step_and_values_from_the_contact(self):
        for form in Form.objects.filter(submission_count__gt=0):
            rows = FormSubmission.objects.filter(form=form)
            self.assertEqual(form.submission_count, rows.count())
            self.assertEqual(form.last_submission_at, rows.aggregate(at=Max("created_at"))["at"])
        submission = FormSubmission.objects.select_related("contact").first()
        self.assertEqual(submission.data["email"], submission.contact.email)
