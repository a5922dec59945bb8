from datetime import timedelta

from django.utils import timezone

from smarketing.api.tests.helpers import ApiTestCase
from smarketing.campaigns.models import Campaign
from smarketing.core.models import Origin
from smarketing.crm import kinds as Kind
from smarketing.crm.models import Note, Task
from smarketing.testing import make_company, make_contact, make_deal
from smarketing.timeline.models import Team, Touchpoint


class TouchpointApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.company = make_company(None)
        cls.contact = make_contact(None, company=cls.company)

    def test_marketing_touch_is_recorded_on_the_timeline(self):
        campaign = Campaign.objects.create(name="Spring webinar", channel="webinar")
        when = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
        response = self.post(
            "/api/v1/touchpoints",
            {
                "kind": "webinar_attended",
                "contact": self.contact.pk,
                "summary": "Attended the spring webinar",
                "source": "zoom",
                "campaign": campaign.pk,
                "occurred_at": when.isoformat(),
                "details": {"minutes": 42},
            },
            token=self.tokens["mia"],
        )
        self.assertEqual(response.status_code, 201, response.content)
        touch = Touchpoint.objects.get(pk=response.json()["id"])
        self.assertEqual((touch.team, touch.campaign, touch.occurred_at), (Team.MARKETING, campaign, when))
        self.assertEqual(touch.company, self.company)  # the company timeline sees the contact's touch
        self.assertEqual(touch.details, {"minutes": 42, "origin": Origin.API})
        listed = self.get(
            f"/api/v1/touchpoints?contact={self.contact.pk}&kind=webinar_attended", token=self.tokens["rory"]
        )
        self.assertEqual([t["id"] for t in listed.json()["results"]], [touch.pk])

    def test_calls_go_through_log_activity(self):
        response = self.post(
            "/api/v1/touchpoints",
            {
                "kind": "call_logged",
                "contact": self.contact.pk,
                "summary": "Discovery call",
                "details": {"outcome": "Booked demo"},
            },
            token=self.tokens["bob"],
        )
        self.assertEqual(response.status_code, 201, response.content)
        touch = Touchpoint.objects.get(pk=response.json()["id"])
        self.assertEqual((touch.kind, touch.team, touch.actor), (Kind.CALL_LOGGED, Team.SALES, self.cast["bob"]))
        self.assertEqual(touch.details["outcome"], "Booked demo")

    def test_refused_touches(self):
        deal = make_deal(None)
        base = {"contact": self.contact.pk, "summary": "x"}
        cases = [
            ({**base, "kind": "deal_won"}, "kind"),  # system facts are written by services only
            ({**base, "kind": "contact_created"}, "kind"),
            ({"kind": "page_viewed", "summary": "x"}, "contact"),
            (
                {**base, "kind": "page_viewed", "occurred_at": (timezone.now() + timedelta(days=1)).isoformat()},
                "occurred_at",
            ),
            ({**base, "kind": "call_logged", "deal": deal.pk}, "deal"),
            ({**base, "kind": "page_viewed", "details": {"k": "x" * 20000}}, "details"),
            ({**base, "kind": "page_viewed", "details": {"k": "a\x00"}}, "details"),
            ({**base, "kind": "page_viewed", "team": "system"}, "team"),
        ]
        for data, field in cases:
            with self.subTest(field=field, kind=data.get("kind")):
                self.assertProblem(self.post("/api/v1/touchpoints", data, token=self.tokens["alice"]), 400, field)


class TaskAndNoteApiTests(ApiTestCase):
    def test_task_create_list_filter_complete(self):
        contact = make_contact(None)
        due = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
        response = self.post(
            "/api/v1/tasks",
            {"title": "Send proposal", "kind": "email", "due_at": due.isoformat(), "contact": contact.pk},
            token=self.tokens["bob"],
        )
        self.assertEqual(response.status_code, 201, response.content)
        task = Task.objects.get(pk=response.json()["id"])
        self.assertEqual((task.owner, task.created_by, task.due_at), (self.cast["bob"], self.cast["bob"], due))
        self.assertTrue(Touchpoint.objects.filter(contact=contact, kind=Kind.TASK_CREATED).exists())
        mine = self.get(f"/api/v1/tasks?owner={self.cast['bob'].pk}&completed=false", token=self.tokens["bob"]).json()
        self.assertEqual([t["id"] for t in mine["results"]], [task.pk])
        self.post(f"/api/v1/tasks/{task.pk}/complete", token=self.tokens["bob"])
        self.assertEqual(self.get("/api/v1/tasks?completed=false", token=self.tokens["bob"]).json()["results"], [])
        self.assertProblem(self.post("/api/v1/tasks", {"title": " "}, token=self.tokens["bob"]), 400, "title")

    def test_note_is_sanitized_and_needs_exactly_one_target(self):
        contact = make_contact(None)
        response = self.post(
            "/api/v1/notes",
            {"body": "<p>Met <b>Jane</b></p><script>alert(1)</script>", "contact": contact.pk},
            token=self.tokens["bob"],
        )
        self.assertEqual(response.status_code, 201, response.content)
        note = Note.objects.get(pk=response.json()["id"])
        self.assertNotIn("script", note.body)
        self.assertIn("<b>Jane</b>", note.body)
        self.assertEqual(note.author, self.cast["bob"])
        company = make_company(None)
        two = {"body": "x", "contact": contact.pk, "company": company.pk}
        self.assertProblem(self.post("/api/v1/notes", two, token=self.tokens["bob"]), 400, "contact")
        self.assertProblem(
            self.post("/api/v1/notes", {"body": "<script></script>", "contact": contact.pk}, token=self.tokens["bob"]),
            400,
            "body",
        )
        listed = self.get(f"/api/v1/notes?contact={contact.pk}&expand=contact", token=self.tokens["rory"]).json()
        self.assertEqual(listed["results"][0]["contact"]["email"], contact.email)
