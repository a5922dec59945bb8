"""CampaignReport on a known small history (metrics/tests/campaign_history.py): the funnel, machine opens kept
out, the window, the A/B columns, the timeline, the click map, and a constant number of queries."""

import datetime
from decimal import Decimal

from django.core.cache import cache
from django.test import TestCase

from smarketing.crm.models import LifecycleChange, LifecycleStage
from smarketing.email.models import EmailSend
from smarketing.metrics.campaigns import CampaignReport
from smarketing.metrics.deals import Money
from smarketing.metrics.tests.campaign_history import T0, H, make_history


class CampaignReportTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.history = make_history()
        cls.ec = cls.history["email_campaign"]

    def setUp(self):
        cache.clear()

    def report(self, window=30):
        return CampaignReport(email_campaign_id=self.ec.pk, window_days=window).result()

    def test_the_funnel_counts_what_was_sent_and_tracked(self):
        total = self.report().total
        self.assertEqual(total.recipients, 10)
        self.assertEqual(total.sent, 9)
        self.assertEqual(total.suppressed, 1)
        self.assertEqual((total.bounced, total.hard_bounced, total.soft_bounced), (2, 1, 1))
        self.assertEqual(total.delivered, 7)
        self.assertEqual(total.unsubscribed, 1)
        self.assertEqual(total.complained, 1)
        self.assertAlmostEqual(total.complaint_rate, 1 / 7)
        self.assertAlmostEqual(total.open_rate, 4 / 7)
        self.assertAlmostEqual(total.click_rate, 3 / 7)
        self.assertAlmostEqual(total.click_to_open_rate, 3 / 4)

    def test_machine_opens_are_not_human_opens(self):
        total = self.report().total
        self.assertEqual(total.opened, 4)  # c1, c2, c6, c7; not c3 (only machine opens)
        self.assertEqual(total.machine_opened, 1)
        self.assertEqual(total.clicked, 3)  # c1, c6, c10 (a click without a recorded open still counts)
        # c3's SQL two days later is not credited: c3 never engaged.
        self.assertEqual(total.engaged, 5)

    def test_what_followed_within_the_window(self):
        total = self.report().total
        self.assertEqual((total.leads, total.mqls, total.sqls), (1, 1, 1))
        # c1's deal, c6's deal and the deal c1 and c10 share (once); not c9's (no engagement) nor c2's (before).
        self.assertEqual(total.deals, 3)
        self.assertEqual(total.deals_won, 2)
        self.assertEqual(total.revenue, (Money("USD", Decimal("3000.00")),))

    def test_a_longer_window_credits_later_moves_and_a_shorter_one_fewer(self):
        self.assertEqual(self.report(window=60).total.leads, 2)  # c2 became a lead on day 40
        short = self.report(window=7).total
        self.assertEqual((short.leads, short.mqls, short.sqls, short.deals), (1, 1, 1, 1))  # only the day-2 deal

    def test_a_stage_move_before_the_engagement_is_not_credited(self):
        LifecycleChange.objects.create(
            contact=self.history["contacts"]["c6"], to_stage=LifecycleStage.MQL, changed_at=T0 + 2 * H
        )  # c6 first opened at T0+3h
        self.assertEqual(self.report().total.mqls, 1)

    def test_each_variant_has_its_column(self):
        a, b = self.report().variants
        self.assertEqual((a.variant, a.label, b.variant), ("a", "Variant A", "b"))
        self.assertEqual((a.recipients, a.sent, a.opened, a.clicked, a.hard_bounced), (5, 4, 2, 1, 1))
        self.assertEqual((b.recipients, b.sent, b.opened, b.clicked, b.soft_bounced), (5, 5, 2, 2, 1))
        self.assertEqual((a.engaged, a.leads, a.mqls, a.sqls), (2, 1, 1, 0))
        self.assertEqual((b.engaged, b.leads, b.mqls, b.sqls, b.complained), (3, 0, 0, 1, 1))
        # The shared deal counts in both variants, once in the total.
        self.assertEqual((a.deals, a.deals_won, a.revenue), (2, 2, (Money("USD", Decimal("3000.00")),)))
        self.assertEqual((b.deals, b.deals_won, b.revenue), (2, 1, (Money("USD", Decimal("2000.00")),)))

    def test_a_campaign_without_a_test_has_no_variant_columns(self):
        EmailSend.objects.filter(campaign=self.ec).update(variant="")
        report = self.report()
        self.assertEqual(report.variants, ())
        self.assertEqual(report.total.deals, 3)

    def test_the_timeline_is_hourly_for_two_days_then_daily(self):
        timeline = self.report().timeline
        hourly = [b for b in timeline if b.hourly]
        daily = [b for b in timeline if not b.hourly]
        self.assertEqual(len(hourly), 48)
        self.assertEqual(hourly[0].start, T0)
        self.assertEqual([(b.start - T0, b.opens, b.clicks) for b in hourly if b.opens or b.clicks], [
            (H, 3, 0), (2 * H, 0, 1), (3 * H, 1, 0), (5 * H, 0, 1),
        ])  # fmt: skip
        self.assertEqual([(b.start, b.opens, b.clicks) for b in daily], [(T0 + 48 * H, 0, 1)])
        self.assertEqual(sum(b.opens for b in timeline), self.report().total.opened)

    def test_the_click_map_ranks_links_by_human_clicks(self):
        links = self.report().links
        self.assertEqual([(link.position, link.label, link.clicks) for link in links], [
            (1, "See pricing", 3), (2, "Read the blog", 1),
        ])  # fmt: skip
        self.assertEqual([link.share for link in links], [0.75, 0.25])
        self.assertEqual(links[0].machine_clicks, 4)

    def test_a_constant_number_of_queries(self):
        with self.assertNumQueries(7):
            self.report()
        cache.clear()
        # More recipients, engagement and deals: the same queries.
        more = [
            EmailSend(
                campaign=self.ec, email=f"x{i}@example.com", token=f"more{i:028d}", status="sent",
                first_opened_at=T0 + i * H, opens=1,
            )
            for i in range(30)
        ]  # fmt: skip
        EmailSend.objects.bulk_create(more)
        with self.assertNumQueries(7):
            report = self.report()
        self.assertEqual(report.total.opened, 34)

    def test_the_result_is_cached_briefly(self):
        self.report()
        with self.assertNumQueries(0):
            self.report()

    def test_parameters_are_checked(self):
        for bad in (0, 366, "30", True):
            with self.assertRaises(ValueError):
                CampaignReport(email_campaign_id=self.ec.pk, window_days=bad)

    def test_an_empty_campaign_has_zeros_and_no_rates(self):
        EmailSend.objects.filter(campaign=self.ec).delete()
        report = self.report()
        self.assertEqual(report.total.sent, 0)
        self.assertIsNone(report.total.open_rate)
        self.assertEqual(report.timeline, ())
        data = report.as_dict()
        self.assertIsNone(data["total"]["complaint_rate"])
        self.assertEqual(data["total"]["revenue"], [])
        self.assertIsInstance(datetime.datetime.fromisoformat(data["computed_at"]), datetime.datetime)
