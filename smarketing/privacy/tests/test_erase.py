import json
from unittest import mock

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models
from django.test import TestCase, modify_settings
from django.urls import reverse

from smarketing.core.models import AuditEntry, Event
from smarketing.crm import kinds as Kind
from smarketing.crm.models import Contact, DealContact, LifecycleChange, Note, Task
from smarketing.forms import kinds as FormKind
from smarketing.privacy import services
from smarketing.privacy.models import ErasureRecord
from smarketing.privacy.tests.fixtures import EMAIL, LAST_NAME, NEEDLES, OLD_EMAIL, make_person
from smarketing.privacy.tests.hookapp import privacy as hookapp
from smarketing.testing import make_cast, make_contact
from smarketing.timeline.kinds import kind_labels
from smarketing.timeline.models import Touchpoint

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def with_hook_app():
    """Install the test-only app whose privacy.py declares hooks (and forget what they saw before)."""
    hookapp.SEEN.clear()
    return modify_settings(INSTALLED_APPS={"append": "smarketing.privacy.tests.hookapp"})


def find_in_database(needles: list[str]) -> list[str]:
    """Every "app.Model.field #pk" of every installed model whose text or JSON holds one of the needles."""
    lowered = [n.lower() for n in needles]
    tables = set(connection.introspection.table_names())
    hits = []
    for model in apps.get_models():
        # Every installed app, not only the ones erase_contact knows about; tables of apps still being written
        # (models without a migration yet) are skipped.
        if model._meta.proxy or not model._meta.managed or model._meta.db_table not in tables:
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if not fields:
            continue
        names = [f.attname for f in fields]
        for row in model._default_manager.values_list("pk", *names).iterator():
            for name, value in zip(names, row[1:], strict=True):
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
                if any(n in text.lower() for n in lowered):
                    hits.append(f"{model._meta.label}.{name} #{row[0]}")
    return hits


def history_counts(contact) -> dict:
    return {
        "touchpoints": Touchpoint.objects.filter(contact=contact).count(),
        "all_touchpoints": Touchpoint.objects.count(),
        "lifecycle": LifecycleChange.objects.filter(contact=contact).count(),
        "deals": DealContact.objects.filter(contact=contact).count(),
        "tasks": Task.objects.filter(contact=contact).count(),
        "contacts": Contact.objects.count(),
    }


class EraseTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice = cls.cast["alice"]
        cls.contact, cls.company, cls.deal = make_person(cls.alice)
        # An export before the erasure leaves the name in the audit log's object_repr.
        "".join(services.stream_json(services.export_contact(cls.contact, actor=cls.alice)))

    def erase(self, reason="GDPR request, ticket 4411"):
        return services.erase_contact(self.contact, actor=self.alice, reason=reason)

    def test_no_trace_of_the_person_is_left_in_any_table(self):
        before = find_in_database(NEEDLES)
        # The scan works: before, the person is everywhere the CRM writes.
        for table in (
            "crm.Contact",
            "crm.LifecycleChange",
            "crm.Note",
            "crm.Task",
            "timeline.Touchpoint",
            "core.AuditEntry",
            "core.Event",
        ):
            self.assertTrue(any(hit.startswith(table + ".") for hit in before), table)
        self.erase()
        self.assertEqual(find_in_database(NEEDLES), [])

    def test_counts_used_by_reports_do_not_change(self):
        before = history_counts(self.contact)
        self.erase()
        self.assertEqual(history_counts(self.contact), before)

    def test_contact_row_is_anonymized_but_keeps_funnel_and_attribution(self):
        version = self.contact.version
        record, done = self.erase()
        self.assertTrue(done)
        contact = Contact.objects.get(pk=self.contact.pk)
        self.assertEqual(contact.email, f"erased-{contact.pk}@erased.invalid")
        self.assertEqual(str(contact), "[erased]")
        self.assertEqual((contact.last_name, contact.title, contact.phone), ("", "", ""))
        self.assertIsNone(contact.external_id)
        self.assertEqual(contact.custom, {})
        self.assertEqual(contact.consent_status, "withdrawn")
        self.assertEqual(contact.consent_at, record.erased_at)
        self.assertEqual(contact.consent_source, "erasure")
        self.assertEqual(
            (contact.first_source, contact.first_utm_source, contact.first_utm_medium, contact.first_utm_campaign),
            ("organic", "newsletter", "email", "spring-launch"),
        )
        self.assertEqual(contact.last_utm_campaign, "")  # it held the address
        self.assertEqual((contact.company_id, contact.lifecycle_stage), (self.company.pk, "opportunity"))
        self.assertEqual(contact.version, version + 1)
        self.assertEqual(self.contact.email, contact.email)  # the caller's instance is refreshed

    def test_timeline_keeps_kinds_and_safe_details_only(self):
        self.erase()
        labels = kind_labels()
        touches = Touchpoint.objects.filter(contact=self.contact)
        for touch in touches:
            self.assertEqual(touch.summary, labels[touch.kind])
        form = touches.get(kind=FormKind.FORM_SUBMITTED)
        self.assertEqual(form.details, {"form_id": 7, "origin": "form"})
        self.assertEqual(form.source, "newsletter")
        page = touches.get(kind=FormKind.PAGE_VIEWED)
        self.assertEqual((page.details, page.source), ({"campaign_id": 3, "kind": "web"}, ""))
        stage = touches.get(kind=Kind.DEAL_STAGE_CHANGED)
        self.assertEqual(set(stage.details), {"from", "to", "amount"})
        self.assertEqual(touches.get(kind=Kind.CALL_LOGGED).details, {})
        self.assertEqual(touches.get(kind=Kind.MERGED).details, {"merged_id": self.contact.pk + 1})

    def test_notes_tasks_history_audit_and_events_are_scrubbed(self):
        last_event = Event.objects.latest("id").pk
        record, _ = self.erase()
        self.assertFalse(Note.objects.filter(contact=self.contact).exists())
        self.assertEqual(
            list(Task.objects.filter(contact=self.contact).values_list("title", "description")), [("[erased]", "")]
        )
        self.assertEqual(
            set(LifecycleChange.objects.filter(contact=self.contact).values_list("reason", flat=True)), {""}
        )
        # The company's note keeps its text, minus the address.
        self.assertEqual(Note.objects.get(company=self.company).body, "<p>Ask [erased] for the PO number</p>")
        entries = AuditEntry.objects.filter(object_type="crm.contact", object_id=str(self.contact.pk))
        self.assertEqual(set(entries.values_list("object_repr", flat=True)), {"[erased]"})
        lifecycle = entries.filter(action="lifecycle").order_by("id").first()
        self.assertEqual(lifecycle.changes, {"lifecycle_stage": ["lead", "mql"]})
        update = entries.get(action="update")
        self.assertEqual(update.changes, {"phone": ["[erased]", "[erased]"], "title": ["[erased]", "[erased]"]})
        ids = [str(self.contact.pk), str(self.contact.pk + 1)]  # the merged duplicate was created next
        events = Event.objects.filter(object_type="crm.contact", object_id__in=ids, id__lte=last_event)
        self.assertGreater(events.count(), 3)
        for event in events:
            self.assertEqual(event.payload, {"id": int(event.object_id), "erased": True})
        self.assertEqual(record.summary["scrub_events"], events.count())

    def test_subscribers_hear_of_the_erasure_with_anonymized_data_only(self):
        self.erase()
        event = Event.objects.filter(object_id=str(self.contact.pk)).latest("id")
        self.assertEqual(event.name, "contact.erased")
        self.assertTrue(event.payload["erased"])
        self.assertEqual(event.payload["email"], f"erased-{self.contact.pk}@erased.invalid")

    def test_erasure_is_audited_without_personal_data(self):
        record, _ = self.erase()
        entry = AuditEntry.objects.get(action="privacy_erase")
        self.assertEqual(
            (entry.actor, entry.object_id, entry.object_repr), (self.alice, str(self.contact.pk), "[erased]")
        )
        self.assertEqual(entry.changes, {"erasure_record": [None, record.pk]})
        self.assertEqual(
            (record.contact_id, record.actor, record.reason), (self.contact.pk, self.alice, "GDPR request, ticket 4411")
        )

    def test_erasing_twice_is_a_no_op(self):
        first, done = self.erase()
        snapshot = find_in_database(["[erased]"])
        second, again = self.erase(reason="another request")
        self.assertTrue(done)
        self.assertFalse(again)
        self.assertEqual(first.pk, second.pk)
        self.assertEqual(ErasureRecord.objects.count(), 1)
        self.assertEqual(AuditEntry.objects.filter(action="privacy_erase").count(), 1)
        self.assertEqual(find_in_database(["[erased]"]), snapshot)

    def test_export_after_erasure_shows_the_marker_and_nothing_personal(self):
        self.erase()
        text = "".join(services.stream_json(services.export_contact(self.contact, actor=self.alice)))
        data = json.loads(text)
        self.assertEqual(data["contact"]["first_name"], "[erased]")
        self.assertEqual(data["erased"]["reason"], "GDPR request, ticket 4411")
        self.assertEqual(data["erased"]["by"], "Alice Admin")
        for needle in NEEDLES:
            self.assertNotIn(needle.lower(), text.lower())

    def test_reason_must_not_name_the_person(self):
        for reason in (f"Asked by {EMAIL}", f"{LAST_NAME.lower()} wrote in", "", "x" * 501, "nul\x00"):
            with self.subTest(reason=reason[:20]), self.assertRaises(ValidationError):
                self.erase(reason=reason)
        self.assertFalse(ErasureRecord.objects.exists())
        self.assertEqual(Contact.objects.get(pk=self.contact.pk).email, EMAIL)
        # The first name alone is not refused: it is too often an ordinary word.
        services.erase_contact(self.contact, actor=self.alice, reason="Zelda asked by phone")

    def test_a_failing_erase_hook_rolls_everything_back(self):
        with with_hook_app(), mock.patch.dict(hookapp.FAIL, {"erase": True}):
            with self.assertRaises(RuntimeError):
                self.erase()
        self.assertFalse(ErasureRecord.objects.exists())
        self.assertNotEqual(find_in_database([EMAIL, OLD_EMAIL]), [])
        self.assertEqual(Contact.objects.get(pk=self.contact.pk).email, EMAIL)

    def test_an_apps_erase_hook_is_discovered_and_runs_last_with_the_original_values(self):
        with with_hook_app():
            record, _ = self.erase()
        self.assertEqual(hookapp.SEEN, [("erase", EMAIL, [str(self.contact.pk), str(self.contact.pk + 1)])])
        self.assertEqual(record.summary["scrub_webhooks"], 42)
        self.assertEqual(list(record.summary)[-1], "scrub_webhooks")
        # Without the app installed, its hook is not called.
        hookapp.SEEN.clear()
        services.erase_contact(make_contact(None), actor=self.alice, reason="GDPR request, ticket 4412")
        self.assertEqual(hookapp.SEEN, [])

    def test_every_app_holding_personal_data_has_its_erase_hook(self):
        record, _ = self.erase()
        self.assertEqual(
            list(record.summary),
            [
                "anonymize_contact",
                "scrub_lifecycle",
                "scrub_notes",
                "scrub_tasks",
                "scrub_mentions",
                "scrub_timeline",
                "scrub_related_touches",
                "scrub_notifications",
                "remove_list_memberships",
                "scrub_feedback",
                "delete_suppressions",
                "delete_captured_mail",
                "scrub_email_sends",
                "scrub_tracking_hits",
                "delete_email_preferences",
                "scrub_form_submissions",  # forms (formscapture)
                "delete_page_views",  # forms (web tracking)
                "delete_web_visitors",
                "scrub_handoffs",  # process (the handoff)
                "scrub_meetings",  # scheduling
                "delete_content_views",  # content (issue 12)
                "revoke_content_shares",
                "scrub_import_rows",
                "scrub_idempotency_responses",
                "scrub_webhook_deliveries",
                "scrub_audit",
                "scrub_events",
            ],
        )

    def test_only_admins_may_erase(self):
        for name in ("carol", "bob", "mia", "rory"):
            with self.subTest(name), self.assertRaises(PermissionDenied):
                services.erase_contact(self.contact, actor=self.cast[name], reason="GDPR")
        self.assertFalse(ErasureRecord.objects.exists())


class ErasedContactInTheAppTests(TestCase):
    """After an erasure the rest of the app shows the marker, never the old data."""

    @classmethod
    def setUpTestData(cls):
        cls.alice = make_cast()["alice"]
        cls.contact, _, _ = make_person(cls.alice)
        services.erase_contact(cls.contact, actor=cls.alice, reason="GDPR request")

    def test_record_page_timeline_and_list_show_the_marker(self):
        self.client.force_login(self.alice)
        pages = [
            reverse("contact_detail", args=[self.contact.pk]),
            reverse("timeline_partial", args=["contact", self.contact.pk]),
            reverse("contact_list"),
            reverse("contact_list") + "?q=erased",
        ]
        for url in pages:
            with self.subTest(url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                text = response.content.decode().lower()
                for needle in NEEDLES:
                    self.assertNotIn(needle.lower(), text)
        self.assertContains(self.client.get(pages[0]), "[erased]")


class ImportRowErasureTests(TestCase):
    def test_rejected_import_rows_naming_the_person_are_blanked(self):
        from smarketing.dataio.models import Import, RejectedRow
        from smarketing.privacy.services import erase_contact
        from smarketing.testing import make_cast, make_contact

        cast = make_cast()
        contact = make_contact(None, email="ada.lovelace@example.com", first_name="Ada", last_name="Lovelace")
        run = Import.objects.create(
            object_type="contact",
            created_by=cast["alice"],
            original_name="x.csv",
            encoding="utf-8",
            delimiter=",",
            sample=[["ada.lovelace@example.com", "Ada"], ["someone@else.com", "Ada"]],
        )
        mine = RejectedRow.objects.create(
            import_run=run, row_number=2, reason="bad", cells=["ada.lovelace@example.com", "x"]
        )
        other = RejectedRow.objects.create(
            import_run=run, row_number=3, reason="bad", cells=["Ada", "someone@else.com"]
        )
        erase_contact(contact, actor=cast["alice"], reason="Data subject request")
        mine.refresh_from_db()
        other.refresh_from_db()
        run.refresh_from_db()
        self.assertNotIn("ada.lovelace@example.com", str(mine.cells))
        self.assertEqual(other.cells, ["Ada", "someone@else.com"])  # a bare first name is not the person
        self.assertNotIn("ada.lovelace@example.com", str(run.sample))
        self.assertEqual(run.sample[1], ["someone@else.com", "Ada"])
