import json

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import TestCase, modify_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from smarketing.core.models import AuditEntry, Event
from smarketing.crm import kinds as Kind
from smarketing.crm import services as crm
from smarketing.crm.models import LifecycleChange
from smarketing.forms import kinds as FormKind
from smarketing.privacy import services
from smarketing.privacy.tests.fixtures import EMAIL, LAST_NAME, NEW_PHONE, OLD_EMAIL, make_person
from smarketing.privacy.tests.hookapp import privacy as hookapp
from smarketing.testing import make_cast, make_contact
from smarketing.timeline.models import Team, Touchpoint
from smarketing.timeline.services import record_touch


def export_json(contact, actor) -> dict:
    return json.loads("".join(services.stream_json(services.export_contact(contact, actor=actor))))


def add_touches(contact, n: int) -> None:
    for i in range(n):
        record_touch(
            kind=FormKind.PAGE_VIEWED,
            team=Team.MARKETING,
            contact=contact,
            summary=f"Viewed page {i}",
            details={"url": f"https://acme.example/{i}"},
        )


class ExportContentTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice = cls.cast["alice"]
        cls.contact, cls.company, cls.deal = make_person(cls.alice)

    def test_every_section_is_present_and_complete(self):
        data = export_json(self.contact, self.alice)
        self.assertEqual(
            list(data),
            [
                "format",
                "exported_at",
                "erased",
                "contact",
                "custom_properties",
                "company",
                "consent",
                "lifecycle_history",
                "deals",
                "tasks",
                "notes",
                "timeline",
                "notifications",
                "static_lists",
                "email_suppression",
                "email_feedback",
                "email_sends",
                "email_preferences",
                "form_submissions",  # forms (formscapture)
                "web_visitors",  # forms (web tracking)
                "page_views",
                "handoffs",  # process (the handoff)
                "meetings",  # scheduling
                "content_shares",  # content (issue 12)
                "content_views",
                "audit",
                "events",
            ],
        )
        self.assertIsNone(data["erased"])
        self.assertEqual(data["contact"]["email"], EMAIL)
        self.assertEqual(data["contact"]["phone"], NEW_PHONE)
        self.assertEqual(
            data["custom_properties"], [{"key": "nickname", "label": "Nickname", "value": f"Zee {LAST_NAME}"}]
        )
        self.assertEqual(
            data["company"], {"id": self.company.pk, "name": "Acme Widgets", "domain": "acme-widgets.example"}
        )
        self.assertEqual(data["consent"]["status"], "granted")
        self.assertEqual(data["consent"]["legal_basis"], "consent")
        self.assertEqual(len(data["lifecycle_history"]), LifecycleChange.objects.filter(contact=self.contact).count())
        self.assertIn(f"{LAST_NAME} downloaded the pricing guide", [c["reason"] for c in data["lifecycle_history"]])
        [deal] = data["deals"]
        self.assertEqual((deal["id"], deal["role"], deal["stage"]), (self.deal.pk, "champion", "Qualified to buy"))
        [task] = data["tasks"]
        self.assertEqual(task["title"], f"Send {LAST_NAME} the contract")
        self.assertIsNotNone(task["completed_at"])
        [note] = data["notes"]
        self.assertIn(EMAIL, note["body_text"])

    def test_timeline_holds_every_touch_with_details(self):
        data = export_json(self.contact, self.alice)
        touches = data["timeline"]
        self.assertEqual(len(touches), Touchpoint.objects.filter(contact=self.contact).count())
        self.assertEqual([t["id"] for t in touches], sorted(t["id"] for t in touches))
        form = next(t for t in touches if t["kind"] == FormKind.FORM_SUBMITTED)
        self.assertEqual(form["details"]["fields"], {"email": EMAIL, "last_name": LAST_NAME})
        self.assertEqual(form["kind_label"], "Form submitted")
        self.assertEqual(form["by"], None)
        call = next(t for t in touches if t["kind"] == Kind.CALL_LOGGED)
        self.assertEqual(call["by"], "Alice Admin")
        self.assertIn(EMAIL, call["details"]["body"])

    def test_audit_and_events_include_merged_duplicate(self):
        data = export_json(self.contact, self.alice)
        actions = [(a["action"], a["object_repr"]) for a in data["audit"]]
        self.assertIn("update", [a for a, _ in actions])
        phone_change = next(a for a in data["audit"] if a["action"] == "update")
        self.assertEqual(phone_change["changes"]["phone"][1], NEW_PHONE)
        self.assertIn("merge", [a for a, _ in actions])
        # The duplicate that was merged in: its creation is about the same person.
        self.assertEqual(sum(1 for a, _ in actions if a == "create"), 2)
        payload_emails = {e["payload"].get("email") for e in data["events"]}
        self.assertTrue({EMAIL, OLD_EMAIL} <= payload_emails)
        self.assertIn("contact.lifecycle_changed", [e["name"] for e in data["events"]])

    def test_an_apps_export_hook_is_discovered_and_adds_its_section(self):
        hookapp.SEEN.clear()
        with modify_settings(INSTALLED_APPS={"append": "smarketing.privacy.tests.hookapp"}):
            data = export_json(self.contact, self.alice)
        self.assertEqual(list(data)[-1], "hookapp")
        self.assertEqual(data["hookapp"], {"contact_id": self.contact.pk})
        self.assertEqual(hookapp.SEEN, [("export", self.contact.pk, [str(self.contact.pk), str(self.contact.pk + 1)])])
        self.assertNotIn("hookapp", export_json(self.contact, self.alice))

    def test_export_is_recorded_in_the_audit_log(self):
        export_json(self.contact, self.alice)
        entry = AuditEntry.objects.get(action="privacy_export")
        self.assertEqual(
            (entry.actor, entry.object_type, entry.object_id), (self.alice, "crm.contact", str(self.contact.pk))
        )

    def test_hostile_text_round_trips_as_valid_json(self):
        nasty = 'O\'Brien "quoted" \\ back\nslash </script> \u2028 ünïcødé 😀'
        contact = make_contact(None, first_name=nasty, last_name="Ω")
        data = export_json(contact, self.alice)
        self.assertEqual(data["contact"]["first_name"], nasty)

    def test_only_admins_may_export(self):
        for name in ("carol", "bob", "mia", "rory"):
            with self.subTest(name), self.assertRaises(PermissionDenied):
                services.export_contact(self.contact, actor=self.cast[name])
        self.assertFalse(AuditEntry.objects.filter(action="privacy_export").exists())


class ExportScaleTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice = make_cast()["alice"]

    def _queries(self, contact) -> int:
        with CaptureQueriesContext(connection) as ctx:
            data = export_json(contact, self.alice)
        self.assertEqual(len(data["timeline"]), Touchpoint.objects.filter(contact=contact).count())
        return len(ctx.captured_queries)

    def test_query_count_does_not_grow_with_the_history(self):
        small, large = make_contact(None), make_contact(None)
        add_touches(small, 5)
        add_touches(large, 50)
        for contact in (small, large):
            crm.log_activity(contact, kind="call", summary="Call", actor=self.alice)
        self.assertEqual(self._queries(small), self._queries(large))
        # audit insert, contact, erasure record, merged ids, then one query per section
        with self.assertNumQueries(24):  # 17 + forms' submissions (formscapture) + web tracking: visitors, page views
            # + the handoffs + the meetings + content shares and views
            export_json(large, self.alice)

    def test_view_streams_in_pieces(self):
        contact = make_contact(None)
        add_touches(contact, 1500)
        self.client.force_login(self.alice)
        response = self.client.post(reverse("privacy:export", args=[contact.pk]))
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        self.assertEqual(response["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(response["Content-Disposition"], f'attachment; filename="contact-{contact.pk}-export.json"')
        self.assertEqual(response["Cache-Control"], "no-store")
        chunks = list(response.streaming_content)
        self.assertGreater(len(chunks), 1)
        data = json.loads(b"".join(chunks))
        self.assertEqual(len(data["timeline"]), 1501)

    def test_export_needs_post(self):
        contact = make_contact(None)
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(reverse("privacy:export", args=[contact.pk])).status_code, 405)
        self.assertFalse(Event.objects.filter(name="contact.updated").exists())
        self.assertFalse(AuditEntry.objects.filter(action="privacy_export").exists())
