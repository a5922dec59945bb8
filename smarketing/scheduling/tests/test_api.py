"""/api/v1/meeting-types and /api/v1/meetings, and the public JSON endpoints (slots.json, book.json)."""

from datetime import timedelta

from django.core.cache import cache
from django.test import TestCase, override_settings
from django.utils import timezone

from smarketing.accounts.models import Team
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.scheduling import availability, services
from smarketing.scheduling.models import Assignment, Meeting, MeetingType
from smarketing.scheduling.tests.test_services import booker, next_slot, open_hours, personal_type
from smarketing.testing import ensure_defaults, make_cast


class MeetingTypeApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        super().setUpTestData()
        open_hours(cls.bob, cls.carol)
        cls.mine = personal_type(cls.bob)

    def test_list_is_what_each_may_see_in_a_fixed_number_of_queries(self):
        self.post("/api/v1/meeting-types", {"name": "A", "slug": "a-type", "durations": [30]}, self.tokens["bob"])
        self.get("/api/v1/meeting-types", self.tokens["bob"])  # the token's last_used_at is written once a minute
        with self.assertNumQueries(3) as first:  # the token, the page (no count), the hosts prefetch
            response = self.get("/api/v1/meeting-types", self.tokens["bob"])
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual({r["slug"] for r in response.json()["results"]}, {"intro", "a-type"})
        for n in range(3):
            personal_type(self.bob, slug=f"more-{n}")
        with self.assertNumQueries(len(first.captured_queries)):
            response = self.get("/api/v1/meeting-types", self.tokens["bob"])
        self.assertEqual(len(response.json()["results"]), 5)
        self.assertEqual(self.get("/api/v1/meeting-types", self.tokens["mia"]).json()["results"], [])

    def test_create_and_change_are_the_owners_and_team_types_the_managers(self):
        response = self.post(
            "/api/v1/meeting-types", {"name": "Deep dive", "slug": "deep", "durations": [45, 60]}, self.tokens["bob"]
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["owner"], self.bob.pk)
        pk = response.json()["id"]
        self.assertEqual(
            self.patch(f"/api/v1/meeting-types/{pk}", {"name": "Dive"}, self.tokens["mia"]).status_code, 404
        )
        self.assertProblem(self.patch(f"/api/v1/meeting-types/{pk}", {"name": "x"}, self.tokens["carol"]), 403)
        self.assertEqual(
            self.patch(f"/api/v1/meeting-types/{pk}", {"name": "Dive"}, self.tokens["bob"]).json()["name"], "Dive"
        )
        sales = Team.objects.get(kind="sales")
        team_body = {
            "name": "Sales demo",
            "slug": "sales-demo",
            "durations": [30],
            "team": sales.pk,
            "assignment": Assignment.WEIGHTED,
            "hosts": [{"user": self.bob.pk, "weight": 2}, {"user": self.carol.pk}],
        }
        self.assertProblem(self.post("/api/v1/meeting-types", team_body, self.tokens["bob"]), 403)
        response = self.post("/api/v1/meeting-types", team_body, self.tokens["carol"])
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(
            sorted((h["user"], h["weight"]) for h in response.json()["hosts"]), [(self.bob.pk, 2), (self.carol.pk, 1)]
        )
        self.assertProblem(
            self.post("/api/v1/meeting-types", {**team_body, "slug": "feed"}, self.tokens["alice"]), 400, "slug"
        )
        self.assertProblem(
            self.post("/api/v1/meeting-types", {**team_body, "slug": "intro"}, self.tokens["alice"]), 400
        )
        self.assertProblem(self.post("/api/v1/meeting-types", {**team_body, "bogus": 1}, self.tokens["alice"]), 400)


class MeetingApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        super().setUpTestData()
        open_hours(cls.bob)
        cls.mt = personal_type(cls.bob)

    def test_list_filters_and_a_fixed_number_of_queries(self):
        first = services.book(self.mt, starts_at=next_slot(self.mt), booker=booker())
        self.get("/api/v1/meetings", self.tokens["bob"])  # the token's last_used_at is written once a minute
        with self.assertNumQueries(2) as one:  # the token, the page with host and contact joined
            response = self.get("/api/v1/meetings?status=booked", self.tokens["bob"])
        self.assertEqual([r["id"] for r in response.json()["results"]], [first.pk])
        for n in range(3):
            services.book(self.mt, starts_at=next_slot(self.mt, 3 + n), booker=booker(f"v{n}@visitor.example"))
        with self.assertNumQueries(len(one.captured_queries)):
            response = self.get("/api/v1/meetings", self.tokens["bob"])
        self.assertEqual(len(response.json()["results"]), 4)
        after = (first.starts_at + timedelta(minutes=1)).isoformat()
        response = self.get(f"/api/v1/meetings?starts_at_after={after.replace('+', '%2B')}", self.tokens["bob"])
        self.assertEqual(len(response.json()["results"]), 3)
        self.assertEqual(
            len(self.get(f"/api/v1/meetings?contact={first.contact_id}", self.tokens["bob"]).json()["results"]), 1
        )
        self.assertEqual(self.get("/api/v1/meetings", self.tokens["mia"]).json()["results"], [])
        self.assertEqual(len(self.get("/api/v1/meetings", self.tokens["carol"]).json()["results"]), 4)  # bob's manager

    def test_cancel_and_outcome_actions(self):
        m = services.book(self.mt, starts_at=next_slot(self.mt), booker=booker())
        self.assertProblem(self.post(f"/api/v1/meetings/{m.pk}/outcome", {"outcome": "held"}, self.tokens["bob"]), 400)
        Meeting.objects.filter(pk=m.pk).update(starts_at=timezone.now() - timedelta(minutes=1))
        self.assertProblem(self.post(f"/api/v1/meetings/{m.pk}/outcome", {"outcome": "held"}, self.tokens["rory"]), 404)
        response = self.post(f"/api/v1/meetings/{m.pk}/outcome", {"outcome": "held"}, self.tokens["bob"])
        self.assertEqual(response.json()["status"], "held")
        other = services.book(self.mt, starts_at=next_slot(self.mt, 3), booker=booker("o@visitor.example"))
        response = self.post(f"/api/v1/meetings/{other.pk}/cancel", {"reason": "Conflict"}, self.tokens["carol"])
        self.assertEqual((response.json()["status"], response.json()["cancel_reason"]), ("canceled", "Conflict"))
        self.assertEqual(self.post(f"/api/v1/meetings/{other.pk}/cancel", {}, self.tokens["carol"]).status_code, 200)


@override_settings(SCHEDULING_BOOK_RATE_PER_IP=5)
class PublicJsonTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        open_hours(cls.cast["bob"])
        cls.mt = personal_type(
            cls.cast["bob"], questions=[{"key": "company", "label": "Company", "maps_to": "", "required": True}]
        )
        MeetingType.objects.create(name="Off", slug="off", owner=cls.cast["bob"], durations=[30], is_active=False)

    def setUp(self):
        cache.clear()

    def test_slots_in_the_visitors_zone_and_bad_parameters(self):
        day = (timezone.now() + timedelta(days=2)).date()
        response = self.client.get(f"/meet/intro/slots.json?start={day}&days=1&tz=Pacific/Kiritimati&duration=60")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(body["time_zone"], "Pacific/Kiritimati")
        self.assertTrue(body["slots"][0]["start"].endswith("Z"))
        self.assertTrue(body["slots"][0]["local"].endswith("+14:00"))
        self.assertTrue(all(s["local"].startswith(str(day)) for s in body["slots"]))
        self.assertEqual(self.client.get("/meet/intro/slots.json?tz=Nowhere/Land").status_code, 400)
        self.assertEqual(self.client.get("/meet/intro/slots.json?days=90").status_code, 400)
        self.assertEqual(self.client.get("/meet/intro/slots.json?start=yesterday").status_code, 400)
        self.assertEqual(self.client.get("/meet/intro/slots.json?duration=7").status_code, 400)
        self.assertEqual(self.client.get("/meet/off/slots.json").status_code, 404)
        self.assertEqual(self.client.get("/meet/nope/slots.json").status_code, 404)

    def _book(self, **body):
        fields = {"name": "Vera", "email": "vera@visitor.example", "answers": {"company": "Acme"}, "tz": "Asia/Tokyo"}
        return self.client.post("/meet/intro/book.json", {**fields, **body}, content_type="application/json")

    def test_book_json_answers_201_then_409_and_field_errors(self):
        start = next_slot(self.mt)
        response = self._book(start=start.isoformat().replace("+00:00", "Z"))
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertIn("/meet/m/", body["manage_url"])
        self.assertEqual(body["meeting"]["time_zone"], "Asia/Tokyo")
        self.assertNotIn("id", body["meeting"])
        taken = self._book(start=start.isoformat(), email="late@visitor.example")
        self.assertEqual((taken.status_code, taken.json()), (409, {"error": services.TAKEN}))
        bad = self._book(start=next_slot(self.mt, 3).isoformat(), email="not-an-email", answers={})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(set(bad.json()["errors"]), {"email", "company"})
        self.assertNotIn("not-an-email", bad.content.decode())
        self.assertEqual(self._book(start="tomorrow").status_code, 400)
        self.assertEqual(
            self.client.post("/meet/intro/book.json", "[1]", content_type="application/json").status_code, 400
        )

    def test_the_consent_recorded_is_our_wording_not_the_clients(self):
        from smarketing.timeline.models import Touchpoint

        response = self._book(
            start=next_slot(self.mt).isoformat(), consent=True, consent_text="I agree to be called at 3 am."
        )
        self.assertEqual(response.status_code, 201, response.content)
        touch = Touchpoint.objects.get(kind="meeting_booked")
        self.assertEqual(touch.details["consent_text"], services.CONSENT_TEXT)
        self.assertEqual(touch.contact.consent_status, "granted")

    def test_form_encoded_bookings_work_without_csrf(self):
        from django.test import Client

        csrf_client = Client(enforce_csrf_checks=True)
        response = csrf_client.post(
            "/meet/intro/book.json",
            {
                "name": "Vera",
                "email": "vera@visitor.example",
                "q_company": "Acme",
                "start": next_slot(self.mt).isoformat(),
            },
        )
        self.assertEqual(response.status_code, 201, response.content)

    def test_the_honeypot_and_the_rate_limit(self):
        response = self._book(start=next_slot(self.mt).isoformat(), website="http://spam.example")
        self.assertEqual(response.status_code, 201)
        self.assertFalse(Meeting.objects.exists())
        codes = [self._book(start="bad").status_code for _ in range(6)]
        self.assertEqual(codes[-1], 429)

    def test_nothing_about_other_meetings_leaks(self):
        start = next_slot(self.mt)
        services.book(
            self.mt, starts_at=start, booker=booker("secret@visitor.example", answers={"company": "Secret Co"})
        )
        day = start.date()
        body = self.client.get(f"/meet/intro/slots.json?start={day}&days=1").content.decode()
        self.assertNotIn("secret", body)
        self.assertNotIn(start.isoformat().replace("+00:00", "Z"), body)
        self.assertIn(availability.free_slots(self.mt, start=day, end=day)[0].starts_at.isoformat()[:16], body)
