"""The kind catalogue: an app declares a kind in its own kinds.py and the timeline, the UI and the API take it up."""

import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, TestCase, modify_settings
from django.urls import reverse

import smarketing
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.crm import kinds as crm_kinds
from smarketing.forms import kinds as forms_kinds
from smarketing.testing import make_company, make_contact
from smarketing.timeline import kinds
from smarketing.timeline.kinds import TouchKind, UnknownKind, build_catalogue
from smarketing.timeline.models import Team, Touchpoint
from smarketing.timeline.services import record_touch
from smarketing.timeline.tests.kindapp import kinds as kindapp

KINDAPP = "smarketing.timeline.tests.kindapp"
WITH_KINDAPP = {"INSTALLED_APPS": {"append": KINDAPP}}
SOURCE = Path(smarketing.__file__).parent


class CatalogueTests(SimpleTestCase):
    def test_a_duplicate_declaration_is_an_error_naming_both_apps(self):
        call = TouchKind("call_logged", "Call", Team.SALES)
        with self.assertRaisesMessage(ImproperlyConfigured, "'call_logged' declared by 'dialer' is already declared"):
            build_catalogue([("crm", [call]), ("dialer", [TouchKind("call_logged", "Phone call", Team.SALES)])])
        with self.assertRaisesMessage(ImproperlyConfigured, "by 'crm'"):
            build_catalogue([("crm", [call, call])])

    def test_malformed_declarations_are_errors(self):
        for bad, message in [
            (TouchKind("x" * 31, "Too long", Team.SALES), "1 to 30 characters"),
            (TouchKind("", "No key", Team.SALES), "1 to 30 characters"),
            (TouchKind("webinar_left", "Left", "finance"), "unknown team 'finance'"),
            (TouchKind("deal_forged", "Forged", Team.SYSTEM, api_creatable=True), "system facts"),
        ]:
            with self.subTest(bad.key), self.assertRaisesMessage(ImproperlyConfigured, message):
                build_catalogue([("someapp", [bad])])

    def test_the_catalogue_holds_each_apps_kinds_with_their_app(self):
        catalogue = build_catalogue([("crm", crm_kinds.KINDS), ("kindapp", kindapp.KINDS)])
        self.assertEqual(catalogue[crm_kinds.NOTE_ADDED].app_label, "crm")
        self.assertEqual(catalogue[kindapp.DEMO_BOOKED].app_label, "kindapp")
        self.assertEqual(list(catalogue)[-2:], [kindapp.DEMO_BOOKED, kindapp.SURVEY_ANSWERED])

    def test_installed_kinds_load_and_the_test_app_is_not_installed_by_default(self):
        kinds.load()
        self.assertEqual(kinds.get_kind(crm_kinds.CALL_LOGGED).label, "Call")
        self.assertFalse(kinds.is_declared(kindapp.DEMO_BOOKED))
        self.assertIn(forms_kinds.PAGE_VIEWED, {k.key for k in kinds.api_creatable_kinds()})
        self.assertNotIn(crm_kinds.DEAL_WON, {k.key for k in kinds.api_creatable_kinds()})

    def test_a_stored_kind_nobody_declares_still_has_a_label(self):
        self.assertEqual(kinds.label("legacy_fax_sent"), "Legacy fax sent")
        self.assertIsNone(kinds.find_kind("legacy_fax_sent"))

    def test_every_kind_the_seed_writes_is_declared(self):
        # The seed writes touchpoints with COPY, past record_touch's check, so hold its literals to the catalogue.
        # The generator modules (words.py is vocabulary: its ("outbound", "sales") pairs are sources, not touches).
        generators = sorted(p for p in (SOURCE / "crm" / "demo").glob("*.py") if p.name != "words.py")
        source = "".join(path.read_text() for path in generators)
        written = set(re.findall(r'"([a-z_]+)",\s*"(?:marketing|sales|system)"', source))
        self.assertGreater(len(written), 15, written)
        self.assertEqual(written - {k.key for k in kinds.all_kinds()}, set())

    def test_adding_the_test_apps_kinds_needed_no_change_outside_it(self):
        keys = [k.key for k in kindapp.KINDS]
        for path in SOURCE.rglob("*"):
            if path.suffix not in (".py", ".html", ".js", ".md") or KINDAPP.replace(".", "/") in path.as_posix():
                continue
            text = path.read_text(errors="replace")
            for key in keys:
                self.assertNotIn(key, text, f"{path} names the test app's kind {key}")


class RecordTouchTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.contact = make_contact(None, company=make_company(None))

    def test_an_undeclared_kind_is_refused_with_a_clear_error(self):
        with self.assertRaisesMessage(UnknownKind, "unknown touchpoint kind 'fax_sent': declare it in the KINDS"):
            record_touch(kind="fax_sent", team=Team.SALES, contact=self.contact, summary="Faxed")
        self.assertFalse(Touchpoint.objects.filter(kind="fax_sent").exists())

    def test_a_kind_is_declared_while_its_app_is_installed_only(self):
        with self.assertRaises(UnknownKind):
            record_touch(kind=kindapp.SURVEY_ANSWERED, contact=self.contact, summary="Answered")
        with self.modify_settings(**WITH_KINDAPP):
            touch = record_touch(kind=kindapp.SURVEY_ANSWERED, contact=self.contact, summary="Answered")
        self.assertEqual(
            (touch.kind, touch.team, touch.company), (kindapp.SURVEY_ANSWERED, Team.SALES, self.contact.company)
        )
        with self.assertRaises(UnknownKind):
            record_touch(kind=kindapp.SURVEY_ANSWERED, contact=self.contact, summary="Answered again")

    def test_the_team_defaults_to_the_kinds_and_may_be_given(self):
        touch = record_touch(kind=forms_kinds.PAGE_VIEWED, contact=self.contact, summary="Viewed pricing")
        self.assertEqual(touch.team, Team.MARKETING)
        touch = record_touch(kind=forms_kinds.PAGE_VIEWED, team=Team.SALES, contact=self.contact, summary="Shared")
        self.assertEqual(touch.team, Team.SALES)
        with self.assertRaisesMessage(ValueError, "unknown team 'finance'"):
            record_touch(kind=forms_kinds.PAGE_VIEWED, team="finance", contact=self.contact, summary="x")


@modify_settings(**WITH_KINDAPP)
class KindFromATestAppTests(ApiTestCase):
    """Every surface that shows or takes touch kinds picks up a kind declared in the test app alone."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.contact = make_contact(None, company=make_company(None), owner=cls.bob)
        cls.demos = [
            record_touch(
                kind=kindapp.DEMO_BOOKED, contact=cls.contact, summary=f"Demo {i}", details={"slot": f"9:{i}0"}
            )
            for i in range(3)
        ]
        cls.survey = record_touch(kind=kindapp.SURVEY_ANSWERED, contact=cls.contact, summary="Answered the NPS survey")

    def setUp(self):
        super().setUp()
        self.client.force_login(self.bob)
        kindapp.decorated.clear()

    def page(self, **params):
        response = self.client.get(reverse("contact_detail", args=[self.contact.pk]), params)
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def item(self, html: str, touch) -> str:
        match = re.search(rf'<li class="timeline-item" id="touch-{touch.pk}">.*?</li>', html, re.S)
        self.assertIsNotNone(match, f"touch {touch.pk} is not on the page")
        return match.group(0)

    def test_the_contact_timeline_renders_the_kind_with_its_template_icon_and_label(self):
        html = self.page()
        demo = self.item(html, self.demos[2])
        self.assertIn(
            '<span class="kind"><span class="kind-icon" aria-hidden="true">✦</span> Demo booked (test app)', demo
        )
        self.assertIn('<div class="kindapp-slot">Slot booked: 9:20</div>', demo)
        self.assertIn('<span class="badge marketing">Marketing</span>', demo)
        survey = self.item(html, self.survey)
        self.assertIn('<span class="kind">Survey answered (test app)</span>', survey)
        self.assertIn("Answered the NPS survey", survey)
        self.assertNotIn("kindapp-slot", survey)  # the generic item
        # The kind's hook ran once for the page, with all three of its touches.
        self.assertEqual([sorted(ids) for ids in kindapp.decorated], [sorted(t.pk for t in self.demos)])

    def test_the_timeline_filter_offers_the_kind_and_filters_by_it(self):
        self.assertIn(f'<option value="{kindapp.SURVEY_ANSWERED}">Survey answered (test app)</option>', self.page())
        html = self.page(kind=kindapp.SURVEY_ANSWERED)
        self.assertIn(f'<option value="{kindapp.SURVEY_ANSWERED}" selected>', html)
        self.assertEqual(re.findall(r'id="touch-(\d+)"', html), [str(self.survey.pk)])

    def test_the_api_records_a_kind_declared_creatable_and_refuses_the_other(self):
        body = {"contact": self.contact.pk, "summary": "Booked a demo", "details": {"slot": "10:00"}}
        response = self.post("/api/v1/touchpoints", {**body, "kind": kindapp.DEMO_BOOKED}, token=self.tokens["bob"])
        self.assertEqual(response.status_code, 201, response.content)
        touch = Touchpoint.objects.get(pk=response.json()["id"])
        self.assertEqual((touch.kind, touch.team, touch.actor), (kindapp.DEMO_BOOKED, Team.MARKETING, self.bob))
        response = self.post("/api/v1/touchpoints", {**body, "kind": kindapp.SURVEY_ANSWERED}, token=self.tokens["bob"])
        self.assertProblem(response, 400, "kind")
        self.assertFalse(Touchpoint.objects.filter(summary="Booked a demo", kind=kindapp.SURVEY_ANSWERED).exists())

    def test_the_api_lists_and_filters_the_kind(self):
        response = self.get(f"/api/v1/touchpoints?kind={kindapp.SURVEY_ANSWERED}", token=self.tokens["rory"])
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(
            [(t["id"], t["kind"]) for t in response.json()["results"]], [(self.survey.pk, self.survey.kind)]
        )

    def test_the_schema_names_the_kind_and_where_it_may_be_created(self):
        enums = self.client.get("/api/schema/").json()["components"]["schemas"]
        self.assertIn(kindapp.SURVEY_ANSWERED, enums["TouchpointKind"]["enum"])
        self.assertIn(kindapp.DEMO_BOOKED, enums["RecordableTouchpointKind"]["enum"])
        self.assertNotIn(kindapp.SURVEY_ANSWERED, enums["RecordableTouchpointKind"]["enum"])


class KindAppNotInstalledTests(ApiTestCase):
    def test_without_the_app_the_api_refuses_its_kind(self):
        contact = make_contact(None)
        response = self.post(
            "/api/v1/touchpoints",
            {"kind": kindapp.DEMO_BOOKED, "contact": contact.pk, "summary": "Booked a demo"},
            token=self.tokens["bob"],
        )
        self.assertProblem(response, 400, "kind")
