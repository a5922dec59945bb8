"""The scoring pages through HTTP: who may see and change what, the rule forms, recompute with progress, the
contact card and history, and a fixed number of queries on every list."""

from django.test import TestCase
from django.urls import reverse
from django.utils.html import escape
from django_tasks_db.models import DBTaskResult

from smarketing.core.models import AuditEntry
from smarketing.crm.models import Contact
from smarketing.scoring import incremental, services
from smarketing.scoring.models import ScoreChange, ScoreGroup, ScoringRule, ScoringState
from smarketing.scoring.recompute import recompute
from smarketing.scoring.tests.helpers import SYSTEM, default_group, view
from smarketing.testing import PASSWORD, make_cast, make_contact


class ScoringViewTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.group, cls.director, cls.pricing = default_group(mql_threshold=100)
        cls.dana = make_contact(first_name="Dana", title="Director <b>Sales</b>")
        cls.eve = make_contact(first_name="Eve", title="Director")
        view(cls.dana)
        services.run_recompute()
        view(cls.dana, summary="Viewed /pricing <script>")
        incremental.score_new_touches()

    def login(self, name):
        self.client.login(email=f"{name}@example.com", password=PASSWORD)

    def test_the_scoring_page_for_everyone_signed_in(self):
        for name in ("alice", "carol", "bob", "rory"):
            self.login(name)
            response = self.client.get(reverse("scoring:index"))
            self.assertEqual(response.status_code, 200, name)
            self.assertContains(response, "Viewed pricing")
            self.assertContains(response, "Job title contains director")
            can_edit = name in ("alice", "carol")
            self.assertEqual("Recompute now" in response.content.decode(), can_edit, name)
        self.client.logout()
        self.assertEqual(self.client.get(reverse("scoring:index")).status_code, 302)

    def test_the_page_shows_the_top_contacts_and_the_distribution_in_fixed_queries(self):
        self.login("alice")
        with self.assertNumQueries(8):
            response = self.client.get(reverse("scoring:index"))
        self.assertContains(response, 'data-chart="distribution"')
        self.assertContains(response, "report-charts")
        top = response.context["top"]
        self.assertEqual([s.contact_id for s in top], [self.dana.pk, self.eve.pk])
        self.assertEqual(response.context["scored_total"], 2)
        for i in range(5):
            make_contact(title=f"Director {i}")
        recompute()
        with self.assertNumQueries(8):
            response = self.client.get(reverse("scoring:index"))
        self.assertEqual(response.context["scored_total"], 7)

    def test_members_and_readers_cannot_change_rules(self):
        for name in ("bob", "rory", "mia"):
            self.login(name)
            url = reverse("scoring:rule_create", args=[self.group.pk]) + "?dimension=fit"
            self.assertEqual(self.client.get(url).status_code, 403, name)
            response = self.client.post(reverse("scoring:rule_delete", args=[self.pricing.pk]))
            self.assertEqual(response.status_code, 403, name)
            self.assertEqual(self.client.post(reverse("scoring:recompute")).status_code, 403, name)
            self.assertEqual(self.client.get(reverse("scoring:group_create")).status_code, 403, name)
        self.assertTrue(ScoringRule.objects.filter(pk=self.pricing.pk).exists())

    def test_a_manager_adds_a_fit_rule_and_a_recompute_is_queued(self):
        self.login("carol")
        DBTaskResult.objects.all().delete()
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                reverse("scoring:rule_create", args=[self.group.pk]),
                {
                    "dimension": "fit",
                    "name": "Big company",
                    "field": "company.employees",
                    "operator": "gte",
                    "value": "500",
                    "points": "15",
                },
            )
        self.assertEqual(response.status_code, 302)
        rule = ScoringRule.objects.get(name="Big company")
        self.assertEqual(rule.condition["rules"][0], {"field": "company.employees", "operator": "gte", "value": 500})
        self.assertEqual(ScoringState.objects.get(pk=1).recompute_status, "queued")
        self.assertTrue(DBTaskResult.objects.filter(task_path__endswith="recompute_scores").exists())
        self.assertTrue(AuditEntry.objects.filter(action="score_rule_create").exists())

    def test_an_engagement_rule_with_a_bad_value_is_refused_with_words(self):
        self.login("alice")
        response = self.client.post(
            reverse("scoring:rule_create", args=[self.group.pk]),
            {"dimension": "engagement", "name": "Webinar", "points": "abc", "kinds": ["webinar_attended"]},
        )
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "Enter a whole number.", status_code=400)
        response = self.client.post(
            reverse("scoring:rule_create", args=[self.group.pk]),
            {"dimension": "engagement", "name": "Webinar", "points": "15", "kinds": ["no_such_kind"]},
        )
        self.assertContains(response, "unknown kind of activity", status_code=400)
        response = self.client.post(
            reverse("scoring:rule_create", args=[self.group.pk]),
            {
                "dimension": "engagement",
                "name": "Webinar",
                "points": "15",
                "kinds": ["webinar_attended"],
                "max_times": "3",
            },
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(ScoringRule.objects.get(name="Webinar").max_times, 3)

    def test_rules_reorder_and_edit(self):
        self.login("alice")
        second = services.create_rule(
            SYSTEM,
            self.group,
            dimension="fit",
            name="VP",
            condition={"field": "title", "operator": "contains", "value": "vp"},
            points=20,
        )
        self.client.post(reverse("scoring:rule_move", args=[second.pk]), {"direction": "up"})
        names = list(self.group.rules.filter(dimension="fit").order_by("position").values_list("name", flat=True))
        self.assertEqual(names, ["VP", "Director"])
        response = self.client.get(reverse("scoring:rule_edit", args=[second.pk]))
        self.assertContains(response, 'value="vp"')

    def test_group_settings(self):
        self.login("alice")
        response = self.client.post(
            reverse("scoring:group_edit", args=[self.group.pk]),
            {"name": "Default", "half_life_days": "14", "engagement_cap": "50", "mql_threshold": "60"},
        )
        self.assertEqual(response.status_code, 302)
        self.group.refresh_from_db()
        self.assertEqual((self.group.half_life_days, self.group.engagement_cap, self.group.mql_threshold), (14, 50, 60))
        self.assertTrue(self.group.is_primary)
        response = self.client.post(reverse("scoring:group_create"), {"name": "default", "half_life_days": "5"})
        self.assertContains(response, "A score group with this name exists.", status_code=400)

    def test_recompute_progress(self):
        self.login("alice")
        response = self.client.post(reverse("scoring:recompute"), HTTP_HX_REQUEST="true")
        self.assertContains(response, 'hx-trigger="every 1s"')
        services.run_recompute()
        response = self.client.get(reverse("scoring:progress"), HTTP_HX_REQUEST="true")
        self.assertContains(response, "Scores up to date")
        self.assertNotContains(response, "every 1s")

    def test_the_contact_card_and_history_escape_what_touches_carry(self):
        self.login("bob")
        with self.assertNumQueries(6):
            response = self.client.get(reverse("scoring:contact_card", args=[self.dana.pk]))
        self.assertContains(response, "Lead score")
        self.assertContains(response, escape("Viewed /pricing <script>"))
        self.assertNotContains(response, "<script>")
        self.assertContains(response, "Rules changed: fit 0 → 20")
        with self.assertNumQueries(6):
            response = self.client.get(reverse("scoring:contact_history", args=[self.dana.pk]))
        self.assertContains(response, "+10")
        self.assertEqual(len(response.context["page"].rows), 4)

    def test_the_contact_page_loads_the_card(self):
        self.login("bob")
        response = self.client.get(reverse("contact_detail", args=[self.dana.pk]))
        self.assertContains(response, reverse("scoring:contact_card", args=[self.dana.pk]))

    def test_history_pages_by_keyset(self):
        self.login("alice")
        for i in range(60):
            services.adjust_score(self.eve, points=1, reason=f"Nudge {i}", actor=SYSTEM, origin="ui")
        url = reverse("scoring:contact_history", args=[self.eve.pk])
        first = self.client.get(url)
        self.assertEqual(len(first.context["page"].rows), 50)
        cursor = first.context["page"].next_cursor
        with self.assertNumQueries(6):
            second = self.client.get(url, {"after": cursor})
        self.assertEqual(len(second.context["page"].rows), 11)  # 10 nudges + the fit line

    def test_adjusting_by_hand(self):
        self.login("bob")
        response = self.client.post(
            reverse("scoring:contact_adjust", args=[self.eve.pk]), {"points": "7", "reason": "Called back"}
        )
        self.assertEqual(response.status_code, 302)
        line = ScoreChange.objects.filter(contact=self.eve).first()
        self.assertEqual((str(line), line.actor, line.source), ("+7: Called back", self.cast["bob"], "manual"))
        self.assertEqual(Contact.objects.get(pk=self.eve.pk).engagement_score, 7)
        self.login("rory")
        response = self.client.post(reverse("scoring:contact_adjust", args=[self.eve.pk]), {"points": "7"})
        self.assertEqual(response.status_code, 403)

    def test_unknown_things_are_404(self):
        self.login("alice")
        self.assertEqual(self.client.get(reverse("scoring:contact_card", args=[999999])).status_code, 404)
        self.assertEqual(self.client.get(reverse("scoring:group_edit", args=[999999])).status_code, 404)
        url = reverse("scoring:rule_create", args=[self.group.pk]) + "?dimension=bogus"
        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertEqual(ScoreGroup.objects.count(), 1)
