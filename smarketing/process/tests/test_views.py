"""The handoff's pages and API through HTTP: the inbox (constant queries), accept and reject from a card, the team
queue and reassignment, the report, the settings, /api/v1/handoffs."""

import json

from django.urls import reverse

from smarketing.api.tokens import create_token
from smarketing.crm.models import Contact
from smarketing.crm.services.activities import log_activity
from smarketing.process.models import HandoffStatus, MqlCommitment, RepRouting, RoutingSettings, SlaPolicy
from smarketing.process.tests.test_handoff import HandoffTestCase, qualify
from smarketing.testing import PASSWORD, make_contact
from smarketing.timeline.services import record_touch


class InboxTests(HandoffTestCase):
    def login(self, who):
        self.client.login(email=self.cast[who].email, password=PASSWORD)

    def _leads_for_bob(self, n):
        made = []
        while len(made) < n:
            h = qualify(make_contact(first_name="Lead", last_name=str(len(made))))
            if h.owner == self.cast["bob"]:
                made.append(h)
        return made

    def test_the_inbox_shows_my_leads_with_context_in_constant_queries(self):
        first = self._leads_for_bob(1)[0]
        log_activity(first.contact, kind="email", summary="Sent the pricing sheet", actor=self.cast["bob"])
        self.login("bob")
        self.client.get(reverse("process:inbox"))  # warm the session and caches
        with self.assertNumQueries(10) as one:
            response = self.client.get(reverse("process:inbox"))
        self.assertContains(response, str(first.contact))
        self.assertContains(response, "Sent the pricing sheet")
        self.assertContains(response, "left")
        self._leads_for_bob(3)
        with self.assertNumQueries(len(one.captured_queries)):
            response = self.client.get(reverse("process:inbox"))
        self.assertEqual(len(response.context["handoffs"]), 4)

    def test_someone_elses_leads_are_not_in_my_inbox(self):
        self._leads_for_bob(1)
        self.login("mia")
        response = self.client.get(reverse("process:inbox"))
        self.assertEqual(response.context["handoffs"], [])
        self.assertContains(response, "No leads waiting for you")

    def test_accept_and_reject_from_the_card_with_htmx(self):
        keep, back = self._leads_for_bob(2)
        self.login("bob")
        response = self.client.post(reverse("process:accept", args=[keep.pk]), HTTP_HX_REQUEST="true")
        self.assertContains(response, "Accepted")
        self.assertIn("sm:toast", response["HX-Trigger"])
        self.assertEqual(Contact.objects.get(pk=keep.contact_id).lifecycle_stage, "sql")
        response = self.client.post(reverse("process:reject", args=[back.pk]), {"reason": ""}, HTTP_HX_REQUEST="true")
        self.assertContains(response, "Choose why you reject this lead", status_code=400)
        response = self.client.post(
            reverse("process:reject", args=[back.pk]),
            {"reason": self.not_fit.pk, "text": "<script>x</script> 3 people"},
            HTTP_HX_REQUEST="true",
        )
        self.assertContains(response, "Rejected")
        self.assertContains(response, "&lt;script&gt;")  # escaped, never markup
        back.refresh_from_db()
        self.assertEqual((back.status, back.reason), (HandoffStatus.REJECTED, self.not_fit))
        response = self.client.post(reverse("process:accept", args=[back.pk]), HTTP_HX_REQUEST="true")
        self.assertContains(response, "already rejected", status_code=400)

    def test_a_stranger_cannot_decide(self):
        h = self._leads_for_bob(1)[0]
        self.login("mia")
        self.assertEqual(self.client.post(reverse("process:accept", args=[h.pk])).status_code, 403)
        h.refresh_from_db()
        self.assertEqual(h.status, HandoffStatus.OPEN)

    def test_log_first_touch_stops_the_clock(self):
        h = self._leads_for_bob(1)[0]
        self.login("bob")
        response = self.client.post(
            reverse("process:log_touch", args=[h.pk]),
            {"kind": "call", "summary": "Left a voicemail"},
            HTTP_HX_REQUEST="true",
        )
        self.assertContains(response, "First touch")
        h.refresh_from_db()
        self.assertEqual(h.first_touch_kind, "call_logged")

    def test_the_team_queue_for_managers_and_reassignment(self):
        h = self._leads_for_bob(1)[0]
        self.login("bob")
        self.assertEqual(self.client.get(reverse("process:team")).status_code, 403)
        self.login("carol")
        with self.assertNumQueries(5):
            response = self.client.get(reverse("process:team"))
        self.assertContains(response, str(h.contact))
        response = self.client.post(
            reverse("process:reassign", args=[h.pk]), {"owner": self.cast["carol"].pk, "reason": "Bob is out sick"}
        )
        self.assertEqual(response.status_code, 302)
        h.refresh_from_db()
        self.assertEqual(h.owner, self.cast["carol"])

    def test_the_report_shows_the_reasons_by_source_and_form(self):
        person = make_contact(last_source="paid")
        record_touch(
            kind="form_submitted",
            team="marketing",
            contact=person,
            summary="Submitted Webinar signup",
            details={"form": "Webinar signup", "form_id": 99, "submission_id": 1},
        )
        h = qualify(person)
        from smarketing.process import handoff

        handoff.reject(h, actor=self.cast["alice"], reason_id=self.no_budget.pk)
        self.login("mia")
        response = self.client.get(reverse("process:report"))
        self.assertContains(response, "No budget (test)")
        self.assertContains(response, "Paid")
        response = self.client.get(reverse("process:report") + "?by=form")
        self.assertContains(response, "Webinar signup")
        response = self.client.get(reverse("process:report") + "?start=2026-05-01&end=2025-01-01")
        self.assertContains(response, "must end after it starts")

    def test_settings_are_for_admins_and_validate(self):
        self.login("carol")
        self.assertEqual(self.client.get(reverse("process:settings")).status_code, 403)
        self.login("alice")
        self.assertEqual(self.client.get(reverse("process:settings")).status_code, 200)
        response = self.client.post(
            reverse("process:settings"),
            {
                "part": "sla",
                "first_touch_hours": "2",
                "time_zone": "Mars/Olympus",
                "holiday_country": "DE",
                "remind_before_minutes": "30",
                "week": "mon 09:00-17:00",
            },
        )
        self.assertContains(response, "Choose a time zone")
        response = self.client.post(
            reverse("process:settings"),
            {
                "part": "sla",
                "first_touch_hours": "2",
                "time_zone": "Europe/Berlin",
                "holiday_country": "de",
                "holiday_subdivision": "by",
                "remind_before_minutes": "30",
                "week": "mon 09:00-12:00, 13:00-17:00\nfri 09:00-15:00",
                "holidays_text": "2026-12-24\n2026-12-31",
            },
        )
        self.assertEqual(response.status_code, 302)
        policy = SlaPolicy.objects.get(team=self.sales)
        self.assertEqual(
            (policy.time_zone, policy.holiday_country, policy.holiday_subdivision), ("Europe/Berlin", "DE", "BY")
        )
        self.assertEqual(policy.working_hours["mon"], [["09:00", "12:00"], ["13:00", "17:00"]])
        self.assertEqual(policy.extra_holidays, ["2026-12-24", "2026-12-31"])
        response = self.client.post(
            reverse("process:settings"),
            {"part": "routing", "team": self.sales.pk, "mode": "rules", "rules_json": '[{"field": "email"}]'},
        )
        self.assertContains(response, "choose what to look at")
        response = self.client.post(
            reverse("process:settings"),
            {
                f"weight-{self.cast['bob'].pk}": "3",
                f"away_from-{self.cast['bob'].pk}": "2026-12-20",
                f"away_until-{self.cast['bob'].pk}": "2026-12-27",
                "part": "reps",
            },
        )
        self.assertEqual(RepRouting.objects.get(user=self.cast["bob"]).weight, 3)
        response = self.client.post(
            reverse("process:settings"), {"part": "commitment", "mql_target": "50", "acceptance_target": "70"}
        )
        self.assertEqual(MqlCommitment.objects.get().mql_target, 50)
        self.assertTrue(RoutingSettings.objects.exists())


class ApiTests(HandoffTestCase):
    def api(self, who, method, path, data=None):
        token = create_token(self.cast[who], name="t", scope="read_write")[1]
        body = json.dumps(data) if data is not None else ""
        return self.client.generic(
            method.upper(), path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    def test_the_queue_accept_and_reject(self):
        hs = [qualify(make_contact()) for _ in range(4)]
        mine = [h for h in hs if h.owner == self.cast["bob"]]
        with self.assertNumQueries(8):
            response = self.api("bob", "get", "/api/v1/handoffs?owner=me&status=open")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual({r["id"] for r in response.json()["results"]}, {h.pk for h in mine})
        response = self.api("mia", "post", f"/api/v1/handoffs/{mine[0].pk}/accept")
        self.assertEqual(response.status_code, 403)
        response = self.api("bob", "post", f"/api/v1/handoffs/{mine[0].pk}/accept")
        self.assertEqual(response.json()["status"], "accepted")
        response = self.api("bob", "post", f"/api/v1/handoffs/{mine[0].pk}/reject", {"reason": self.no_budget.pk})
        self.assertEqual(response.status_code, 400)
        response = self.api(
            "bob", "post", f"/api/v1/handoffs/{mine[1].pk}/reject", {"reason": self.no_budget.pk, "text": "2027"}
        )
        self.assertEqual((response.json()["status"], response.json()["reason"]), ("rejected", "No budget (test)"))
        response = self.api("bob", "post", f"/api/v1/handoffs/{mine[1].pk}/reject", {"reason": "x", "extra": 1})
        self.assertEqual(response.status_code, 400)
        reasons = self.api("bob", "get", "/api/v1/rejection-reasons").json()["results"]
        self.assertIn("No budget (test)", [r["label"] for r in reasons])
