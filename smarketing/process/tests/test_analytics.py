"""Process analytics' query objects against histories made through the real services: the stage funnel, time in
stage percentiles, the lifecycle funnel, the weakest step; bad parameters refused; the page."""

import datetime as dt
from datetime import timedelta

from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.services.deals import move_deal_stage
from smarketing.crm.services.lifecycle import change_lifecycle_stage
from smarketing.process.analytics import LifecycleFunnel, StageFunnel, TimeInStage, WeakestStep
from smarketing.testing import PASSWORD, make_cast, make_contact, make_deal


class AnalyticsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.pipeline = default_pipeline()
        stages = list(cls.pipeline.stages.order_by("position"))
        cls.open = [s for s in stages if s.outcome == "open"]
        cls.won = next(s for s in stages if s.outcome == "won")
        cls.lost = next(s for s in stages if s.outcome == "lost")
        for stage in cls.open:  # no exit criteria in these tests: they test counting, not governance
            stage.exit_criteria = []
            stage.save()
        now = timezone.now()
        actor = system_actor()
        # Ten deals: all in stage 0; 6 move to stage 1 after 2, 4, 6, 8, 10, 12 days; 3 go on to stage 2;
        # one of those is won; two others are lost from stage 0 (lost does not count as progress).
        cls.deals = [make_deal(name=f"D{i}", stage=cls.open[0], owner=cls.cast["bob"]) for i in range(10)]
        for i, deal in enumerate(cls.deals[:6]):
            move_deal_stage(deal, cls.open[1], actor=actor, at=deal.stage_entered_at + timedelta(days=2 * (i + 1)))
        for deal in cls.deals[:3]:
            deal.refresh_from_db()
            move_deal_stage(deal, cls.open[2], actor=actor, at=deal.stage_entered_at + timedelta(days=1))
        move_deal_stage(cls.deals[0], cls.won, actor=actor, at=now + timedelta(days=20))
        for deal in cls.deals[8:]:
            move_deal_stage(deal, cls.lost, actor=actor, reason="No budget", at=now + timedelta(days=1))
        cls.today = timezone.localdate()

    def period(self, **extra):
        return {
            "pipeline_id": self.pipeline.pk,
            "start": self.today - timedelta(days=1),
            "end": self.today + timedelta(days=60),
            **extra,
        }

    def test_the_funnel_counts_the_furthest_stage_each_deal_reached(self):
        rows = {r["id"]: r for r in StageFunnel(**self.period()).compute()}
        self.assertEqual(rows[self.open[0].pk]["reached"], 10)
        self.assertEqual(rows[self.open[1].pk]["reached"], 6)
        self.assertEqual(rows[self.open[0].pk]["conversion"], 60.0)
        self.assertEqual(rows[self.open[2].pk]["reached"], 3)
        self.assertEqual(rows[self.won.pk]["reached"], 1)
        self.assertNotIn(self.lost.pk, rows)
        self.assertEqual(StageFunnel(**self.period(owner_id=self.cast["carol"].pk)).compute()[0]["reached"], 0)

    def test_time_in_stage_percentiles_are_nearest_rank(self):
        rows = {r["id"]: r for r in TimeInStage(**self.period()).compute()}
        first = rows[self.open[0].pk]
        # Left stage 0: six moves after 2..12 days and two lost after ~1 day → 8 values 1,1,2,4,6,8,10,12.
        self.assertEqual(first["count"], 8)
        self.assertEqual(first["median_days"], 4.0)
        self.assertEqual(first["p75_days"], 8.0)
        self.assertEqual(first["p90_days"], 12.0)

    def test_the_lifecycle_funnel_counts_contacts_reaching_each_stage(self):
        actor = system_actor()
        people = [make_contact(lifecycle_stage="lead") for _ in range(4)]
        for person in people[:3]:
            change_lifecycle_stage(person, "mql", actor=actor)
        change_lifecycle_stage(people[0], "sql", actor=actor)
        rows = {r["stage"]: r for r in LifecycleFunnel(start=self.today, end=self.today + timedelta(days=1)).compute()}
        self.assertEqual(rows["mql"]["reached"], 3)
        self.assertEqual(rows["sql"]["reached"], 1)
        self.assertEqual(rows["mql"]["conversion"], 33.3)

    def test_the_weakest_step_is_the_largest_lag_behind_target_when_nothing_dropped(self):
        self.open[0].target_days = 2
        self.open[0].save()
        weakest = WeakestStep(**self.period()).compute()
        self.assertEqual(weakest["stage_id"], self.open[0].pk)
        self.assertIn("against a target of 2", weakest["why"])

    def test_bad_parameters_are_refused_before_any_sql(self):
        for bad in (
            {"pipeline_id": "1"},
            {"start": self.today, "end": self.today},
            {"start": dt.date(2020, 1, 1), "end": dt.date(2026, 1, 1)},
            {"owner_id": True},
            {"source": "x" * 51},
        ):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                StageFunnel(**{**self.period(), **bad})

    def test_the_page(self):
        self.client.login(email=self.cast["mia"].email, password=PASSWORD)
        response = self.client.get(
            reverse("process:analytics")
            + f"?start={self.today - timedelta(days=1)}&end={self.today + timedelta(days=60)}"
        )
        self.assertContains(response, "Deals: stage to stage")
        self.assertContains(response, "60.0 %")
        response = self.client.get(reverse("process:analytics") + "?start=2026-05-01&end=2025-01-01")
        self.assertContains(response, "must end after it starts")
