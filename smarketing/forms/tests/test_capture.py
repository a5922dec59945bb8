"""The submission service (forms/capture.py): contacts created and updated without blank overwrites, companies,
consent with its wording, double opt-in through the real SMTP sink and worker, the touch, the event, the
counters, notifications, spam and progressive profiling."""

import re
import time
from unittest import mock

from django.core.management import call_command
from django.test import TestCase, TransactionTestCase, override_settings

from smarketing.campaigns.models import Campaign
from smarketing.core.models import Event
from smarketing.crm.models import Company, ConsentStatus, Contact, LifecycleChange, PropertyDefinition
from smarketing.forms import capture, kinds, spam
from smarketing.forms.capture import SubmitMeta, submit, visible_fields
from smarketing.forms.models import Form, FormSubmission, SubmissionStatus, Visitor
from smarketing.forms.tests.capture_fixtures import FIELDS, make_form
from smarketing.mail.testing import SmtpTestServer
from smarketing.notifications.models import Notification
from smarketing.testing import make_cast, make_company, make_contact
from smarketing.timeline.models import Touchpoint


def meta(form, **kwargs) -> SubmitMeta:
    kwargs.setdefault("token", spam.fill_token(form))
    kwargs.setdefault("ip", "203.0.113.9")
    return SubmitMeta(**kwargs)


class SubmitTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        PropertyDefinition.objects.create(
            object_type="contact", key="plan", label="Plan", type="choice", choices=["Free", "Pro"]
        )
        cls.campaign = Campaign.objects.create(name="Spring webinar", channel="webinar", utm_campaign="spring-24")
        fields = [*FIELDS, {"key": "plan", "label": "Plan", "type": "select", "choices": ["Free", "Pro"],
                            "maps_to": "contact.custom.plan"}]  # fmt: skip
        cls.form = make_form(
            fields,
            name="Demo request",
            default_owner=cls.cast["bob"],
            lifecycle_stage="mql",
            consent_enabled=True,
            consent_text="Yes, send me product news. I can unsubscribe at any time.",
            notify_users=[cls.cast["mia"]],
        )

    def test_a_new_contact_gets_the_values_owner_stage_company_and_first_touch(self):
        result = submit(
            self.form,
            {
                "email": " Dana@Client.Example ",
                "first_name": "Dana",
                "title": "CTO",
                "company": "Client Inc",
                "website": "https://www.client.example/about",
                "plan": "Pro",
                "utm_source": "newsletter",
                "utm_campaign": "spring-24",
                "not_a_field": "dropped",
            },
            meta=meta(self.form, page_url="https://www.acme.example/demo?utm_medium=email"),
        )
        self.assertTrue(result.ok, result.errors)
        contact = Contact.objects.select_related("company").get(email="dana@client.example")
        self.assertEqual((contact.first_name, contact.title), ("Dana", "CTO"))
        self.assertEqual(contact.owner, self.cast["bob"])
        self.assertEqual(contact.lifecycle_stage, "mql")
        self.assertEqual(contact.custom, {"plan": "Pro"})
        self.assertEqual((contact.company.name, contact.company.domain), ("Client Inc", "client.example"))
        # The UTM campaign names a campaign: its channel is the source, first and last.
        self.assertEqual((contact.first_source, contact.first_utm_source, contact.first_utm_campaign),
                         ("webinar", "newsletter", "spring-24"))  # fmt: skip
        self.assertEqual(contact.first_utm_medium, "email")
        self.assertEqual((contact.last_source, contact.last_utm_campaign), ("webinar", "spring-24"))
        self.assertIsNotNone(contact.last_touch_at)
        self.assertEqual(LifecycleChange.objects.get(contact=contact).origin, "form")
        submission = result.submission
        self.assertEqual(submission.contact, contact)
        self.assertEqual(submission.status, SubmissionStatus.ACCEPTED)
        self.assertNotIn("not_a_field", submission.data)
        self.assertEqual(submission.data["email"], "dana@client.example")
        self.assertEqual(submission.utm["utm_campaign"], "spring-24")
        self.assertEqual(str(submission.ip), "203.0.113.9")

    def test_the_touch_the_event_the_counters_and_the_watchers(self):
        before = Event.objects.filter(name="form.submitted").count()
        result = submit(self.form, {"email": "lee@client.example", "first_name": "Lee"}, meta=meta(self.form))
        self.assertTrue(result.ok, result.errors)
        touch = Touchpoint.objects.get(contact=result.contact, kind=kinds.FORM_SUBMITTED)
        self.assertEqual(touch.summary, "Submitted “Demo request”")
        self.assertEqual(touch.details["submission_id"], result.submission.pk)
        self.assertEqual((touch.team, touch.source), ("marketing", "form"))
        event = Event.objects.filter(name="form.submitted").latest("id")
        self.assertEqual(Event.objects.filter(name="form.submitted").count(), before + 1)
        self.assertEqual(event.payload["contact_id"], result.contact.pk)
        self.assertEqual(event.payload["form"]["id"], self.form.pk)
        self.assertEqual(event.payload["data"]["first_name"], "Lee")
        self.assertEqual((event.object_type, event.object_id), ("forms.formsubmission", str(result.submission.pk)))
        form = Form.objects.get(pk=self.form.pk)
        self.assertEqual(form.submission_count, 1)
        self.assertIsNotNone(form.last_submission_at)
        note = Notification.objects.get(user=self.cast["mia"], kind=kinds.NOTIFY_FORM_SUBMITTED)
        self.assertIn("Demo request", note.title)
        self.assertEqual(note.url, f"/contacts/{result.contact.pk}/")

    def test_a_known_contact_is_updated_and_never_blanked(self):
        contact = make_contact(email="kim@client.example", first_name="Kim", title="Head of Ops", phone="+1 555 0100")
        owner_before, stage_before = contact.owner_id, contact.lifecycle_stage
        result = submit(
            self.form,
            {"email": "KIM@client.example", "first_name": "", "title": "", "phone": "+1 555 0199", "last_name": "Lo"},
            meta=meta(self.form),
        )
        self.assertTrue(result.ok, result.errors)
        contact.refresh_from_db()
        self.assertEqual(contact.first_name, "Kim", "an empty answer never overwrites a known value")
        self.assertEqual(contact.title, "Head of Ops")
        self.assertEqual(contact.phone, "+1 555 0199", "a new value replaces the old one")
        self.assertEqual(contact.last_name, "Lo")
        self.assertEqual((contact.owner_id, contact.lifecycle_stage), (owner_before, stage_before))
        self.assertEqual(Contact.objects.filter(email="kim@client.example").count(), 1)
        self.assertEqual(result.submission.contact, contact)

    def test_an_existing_company_is_linked_by_domain_and_only_its_blanks_filled(self):
        company = make_company(name="Acme Corporation", domain="acme.example")
        result = submit(
            self.form,
            {"email": "jo@acme.example", "company": "ACME typo inc", "website": "acme.example"},
            meta=meta(self.form),
        )
        self.assertTrue(result.ok, result.errors)
        self.assertEqual(result.contact.company_id, company.pk)
        company.refresh_from_db()
        self.assertEqual(company.name, "Acme Corporation", "one visitor's spelling does not rename the company")
        self.assertEqual(Company.objects.count(), 1)

    def test_consent_is_recorded_with_its_exact_wording(self):
        result = submit(self.form, {"email": "ana@client.example"}, meta=meta(self.form, consent=True))
        self.assertTrue(result.ok, result.errors)
        submission = result.submission
        self.assertTrue(submission.consent_given)
        self.assertEqual(submission.consent_text, "Yes, send me product news. I can unsubscribe at any time.")
        contact = result.contact
        self.assertEqual(contact.consent_status, ConsentStatus.GRANTED)
        self.assertEqual(contact.consent_basis, "consent")
        self.assertIn(f"submission #{submission.pk}", contact.consent_source)
        self.assertIsNotNone(contact.consent_at)
        # Not ticked: nothing about consent changes, and the wording is not stored as agreed.
        other = submit(self.form, {"email": "ben@client.example"}, meta=meta(self.form))
        self.assertEqual(other.contact.consent_status, ConsentStatus.UNKNOWN)
        self.assertEqual((other.submission.consent_given, other.submission.consent_text), (False, ""))

    def test_required_consent_and_bad_values_are_refused_without_echo_and_store_nothing(self):
        self.form.consent_required = True
        self.form.save()
        result = submit(self.form, {"email": "<script>alert(1)</script>", "plan": "Gold<b>"}, meta=meta(self.form))
        self.assertFalse(result.ok)
        self.assertEqual(set(result.errors), {"email", "plan", capture.CONSENT})
        self.assertNotIn("script", str(result.errors))
        self.assertNotIn("Gold", str(result.errors))
        self.assertFalse(FormSubmission.objects.exists())
        self.assertFalse(Contact.objects.filter(email__contains="script").exists())

    def test_spam_is_stored_with_its_reason_and_does_nothing_else(self):
        cases = {
            spam.HONEYPOT_FILLED: meta(self.form, honeypot="http://spam.example"),
            spam.NO_TOKEN: meta(self.form, token=""),
            spam.BAD_TOKEN: meta(self.form, token=spam.fill_token(make_form(name="Other"))),
        }
        for reason, submit_meta in cases.items():
            with self.subTest(reason):
                result = submit(self.form, {"email": f"{reason}@bots.example"}, meta=submit_meta)
                self.assertTrue(result.ok, "a bot learns nothing")
                self.assertTrue(result.spam)
                self.assertEqual(result.submission.spam_reason, reason)
                self.assertIsNone(result.submission.contact)
        self.assertFalse(Contact.objects.filter(email__endswith="@bots.example").exists())
        self.assertFalse(Touchpoint.objects.filter(kind=kinds.FORM_SUBMITTED).exists())
        self.assertFalse(Event.objects.filter(name="form.submitted").exists())
        self.assertEqual(Form.objects.get(pk=self.form.pk).submission_count, 0)

    def test_too_fast_is_spam_and_a_stale_token_asks_to_send_again(self):
        self.form.min_fill_seconds = 5
        self.form.save()
        result = submit(self.form, {"email": "quick@bots.example"}, meta=meta(self.form))
        self.assertEqual(result.submission.spam_reason, spam.TOO_FAST)
        token = spam.fill_token(self.form)
        self.assertEqual(spam.check(self.form, token=token, honeypot="", now=time.time() + 10), "")
        with self.assertRaises(spam.StaleToken):
            spam.check(self.form, token=_aged(self.form, spam.FILL_TOKEN_MAX_AGE + 60), honeypot="")
        stale = submit(
            self.form, {"email": "late@client.example"}, meta=meta(self.form, token=_aged(self.form, 3 * 86400))
        )
        self.assertTrue(stale.stale)
        self.assertEqual(stale.errors, {capture.ALL: [capture.STALE]})
        self.assertFalse(FormSubmission.objects.filter(data__email="late@client.example").exists())

    def test_the_api_path_skips_the_fill_checks(self):
        result = submit(self.form, {"email": "api@client.example"}, meta=SubmitMeta(trusted=True))
        self.assertTrue(result.ok and not result.spam)
        self.assertEqual(result.contact.email, "api@client.example")

    def test_progressive_fields_are_skipped_for_a_recognised_visitor(self):
        contact = make_contact(email="vic@client.example", title="CFO")
        visitor = Visitor.objects.create(contact=contact)
        shown = [f.key for f in visible_fields(self.form, capture.visitor_contact(visitor.public_id))]
        self.assertNotIn("title", shown, "known, progressive")
        self.assertIn("company", shown, "progressive but not known yet")
        self.assertIn("first_name", shown, "not progressive")
        self.assertIn("title", [f.key for f in visible_fields(self.form, None)])
        # A required progressive field the contact already answered is not required of them.
        fields = [dict(f, required=True) if f["key"] == "title" else f for f in self.form.fields]
        form = make_form(fields, name="Required title")
        ok = submit(form, {"email": "vic@client.example"}, meta=meta(form, visitor_id=visitor.public_id))
        self.assertTrue(ok.ok, ok.errors)
        missing = submit(form, {"email": "new@client.example"}, meta=meta(form))
        self.assertEqual(missing.errors, {"title": [capture.REQUIRED]})

    def test_a_time_zone_answer_must_name_a_zone(self):
        fields = [*FIELDS, {"key": "tz", "label": "Time zone", "type": "text", "maps_to": "contact.time_zone"}]
        form = make_form(fields, name="With zone")
        good = submit(form, {"email": "tz@client.example", "tz": "Europe/Berlin"}, meta=meta(form))
        self.assertEqual(good.contact.time_zone, "Europe/Berlin")
        bad = submit(form, {"email": "tz2@client.example", "tz": "Mars/Olympus_Mons"}, meta=meta(form))
        self.assertEqual(bad.errors, {"tz": [capture.NOT_ACCEPTED]})
        self.assertFalse(Contact.objects.filter(email="tz2@client.example").exists())
        self.assertEqual(FormSubmission.objects.filter(form=form).count(), 1, "the refused one rolled back")

    def test_the_visitor_is_linked_to_the_submission(self):
        visitor = Visitor.objects.create()
        result = submit(
            self.form, {"email": "cookie@client.example"}, meta=meta(self.form, visitor_id=visitor.public_id)
        )
        self.assertTrue(result.ok, result.errors)
        self.assertEqual(FormSubmission.objects.get(pk=result.submission.pk).visitor, visitor)


class ReplayTests(TestCase):
    def test_a_token_makes_one_submission_and_a_refused_one_does_not_spend_it(self):
        form = make_form()
        token = spam.fill_token(form)
        self.assertNotEqual(token, spam.fill_token(form), "each rendering has its own token")
        refused = submit(form, {"email": "not an address"}, meta=meta(form, token=token))
        self.assertFalse(refused.ok)  # the visitor fixes the field and sends again, with the same token
        first = submit(form, {"email": "real@client.example"}, meta=meta(form, token=token))
        self.assertTrue(first.ok, first.errors)
        self.assertFalse(first.spam)
        again = submit(form, {"email": "bot@bots.example"}, meta=meta(form, token=token))
        self.assertTrue(again.ok, "a bot learns nothing")
        self.assertEqual(again.submission.spam_reason, spam.REPLAYED)
        self.assertFalse(Contact.objects.filter(email="bot@bots.example").exists())
        self.assertEqual(Form.objects.get(pk=form.pk).submission_count, 1)
        # A fresh token is a fresh submission.
        self.assertFalse(submit(form, {"email": "two@client.example"}, meta=meta(form)).spam)

    def test_the_unique_nonce_holds_when_two_requests_race(self):
        form = make_form()
        token = spam.fill_token(form)
        # The other request stored its submission between this one's check and its insert.
        real_exists = FormSubmission.objects.filter(fill_nonce=spam.token_nonce(token)).exists
        with mock.patch.object(capture, "FormSubmission", wraps=FormSubmission) as wrapped:
            calls = []

            def exists_after_first(**kwargs):
                query = FormSubmission.objects.filter(**kwargs)
                if "fill_nonce" in kwargs and not calls:
                    calls.append(1)
                    FormSubmission.objects.create(form=form, fill_nonce=kwargs["fill_nonce"])
                    return query.none()
                return query

            wrapped.objects.filter.side_effect = exists_after_first
            result = submit(form, {"email": "late@client.example"}, meta=meta(form, token=token))
        self.assertTrue(real_exists())
        self.assertEqual(result.submission.spam_reason, spam.REPLAYED)
        self.assertFalse(Contact.objects.filter(email="late@client.example").exists())


def _aged(form, seconds: int) -> str:
    """A fill token for `form` as if issued `seconds` ago."""
    with mock.patch("time.time", return_value=time.time() - seconds):
        return spam.fill_token(form)


class DoubleOptInTests(TransactionTestCase):
    """With the real worker and a real SMTP server: transactional, because the mail job is enqueued on commit."""

    def setUp(self):
        self.server = SmtpTestServer().start()
        self.addCleanup(self.server.stop)
        overrides = override_settings(
            **self.server.settings(),
            DEFAULT_FROM_EMAIL="Acme <hello@acme.example>",
            SMARKETING_BASE_URL="https://crm.acme.example",
        )
        overrides.enable()
        self.addCleanup(overrides.disable)
        self.form = make_form(
            name="Newsletter",
            title="The Acme newsletter",
            consent_enabled=True,
            consent_required=True,
            consent_text="Send me the monthly newsletter.",
            double_opt_in=True,
        )

    def test_consent_counts_only_after_the_emailed_link_is_followed(self):
        result = submit(
            self.form, {"email": "dana@client.example", "first_name": "Dana"}, meta=meta(self.form, consent=True)
        )
        self.assertTrue(result.ok, result.errors)
        submission = FormSubmission.objects.get(pk=result.submission.pk)
        self.assertEqual(submission.status, SubmissionStatus.PENDING)
        contact = Contact.objects.get(email="dana@client.example")
        self.assertEqual(contact.consent_status, ConsentStatus.UNKNOWN, "not before the link is followed")

        call_command("worker", batch=True, verbosity=0)
        [received] = self.server.messages
        self.assertEqual(received.rcpt_tos, ["dana@client.example"])
        message = received.message
        self.assertEqual(message["X-Smarketing-Stream"], "transactional")
        self.assertIn("The Acme newsletter", message["Subject"])
        text = message.get_body(preferencelist=("plain",)).get_content()
        link = re.search(r"https://crm\.acme\.example(/f/confirm/\S+)", text).group(1)

        # Following the link shows a button; a scanner's GET confirms nothing.
        page = self.client.get(link)
        self.assertContains(page, "Please confirm")
        self.assertEqual(FormSubmission.objects.get(pk=submission.pk).status, SubmissionStatus.PENDING)
        done = self.client.post(link)
        self.assertContains(done, "confirmed")
        submission.refresh_from_db()
        self.assertEqual(submission.status, SubmissionStatus.CONFIRMED)
        self.assertIsNotNone(submission.confirmed_at)
        contact.refresh_from_db()
        self.assertEqual(contact.consent_status, ConsentStatus.GRANTED)
        self.assertIn("confirmed by email", contact.consent_source)
        # A second click changes nothing; a tampered link is refused.
        self.assertContains(self.client.post(link), "already confirmed")
        self.assertEqual(self.client.get(link[:-3] + "xyz").status_code, 404)
