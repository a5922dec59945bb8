"""The metric base (validated parameters, one query, a typed cached result) and the first metric."""

import dataclasses
import datetime
from decimal import Decimal
from typing import ClassVar

from django.core.cache import cache
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from smarketing.core.metric import Metric
from smarketing.crm.models import DealStatus
from smarketing.metrics.deals import ClosingThisMonth, ClosingTotal, Money
from smarketing.testing import make_cast, make_deal


@dataclasses.dataclass(frozen=True)
class Answer(Metric[int]):
    """A test metric that counts its own computations."""

    n: int
    name = "test.answer"
    cache_seconds = 60
    calls: ClassVar[list] = []

    def clean(self) -> None:
        if self.n < 0:
            raise ValueError("n must not be negative")

    def compute(self) -> int:
        self.calls.append(self.n)
        return self.n * 2


class MetricBaseTests(TestCase):
    def setUp(self):
        cache.clear()
        Answer.calls.clear()

    def test_parameters_are_validated_on_creation(self):
        with self.assertRaisesMessage(ValueError, "n must not be negative"):
            Answer(n=-1)

    def test_a_cached_metric_computes_once_per_parameter_set(self):
        self.assertEqual(Answer(n=2).result(), 4)
        self.assertEqual(Answer(n=2).result(), 4)
        self.assertEqual(Answer(n=3).result(), 6)
        self.assertEqual(Answer.calls, [2, 3])
        self.assertNotEqual(Answer(n=2).cache_key(), Answer(n=3).cache_key())

    def test_an_uncached_metric_computes_every_time(self):
        class Fresh(Answer):
            cache_seconds = 0

        Fresh(n=1).result()
        Fresh(n=1).result()
        self.assertEqual(Answer.calls, [1, 1])


class ClosingThisMonthTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.bob, cls.carol = cast["bob"], cast["carol"]
        cls.month = timezone.localdate().replace(day=1)
        for i in range(22):  # more than the home page lists: the figure still adds them all
            make_deal(None, owner=cls.bob, amount="1000", close_date=cls.month, name=f"D{i}")
        make_deal(None, owner=cls.bob, amount="250.50", currency="EUR", close_date=cls.month)
        make_deal(None, owner=cls.bob, amount="9999", close_date=cls.month - datetime.timedelta(days=1))
        make_deal(None, owner=cls.carol, amount="7777", close_date=cls.month)
        won = make_deal(None, owner=cls.bob, amount="5555", close_date=cls.month)
        type(won).objects.filter(pk=won.pk).update(status=DealStatus.WON)

    def test_sums_open_deals_of_the_owner_in_the_month_per_currency_in_one_query(self):
        metric = ClosingThisMonth(owner_id=self.bob.pk, month=self.month)
        with self.assertNumQueries(1):
            result = metric.result()
        self.assertIsInstance(result, ClosingTotal)
        self.assertEqual(result.totals, (Money("USD", Decimal("22000")), Money("EUR", Decimal("250.50"))))

    def test_bad_parameters_are_refused(self):
        for params in (
            {"owner_id": 0, "month": self.month},
            {"owner_id": "1", "month": self.month},
            {"owner_id": self.bob.pk, "month": self.month.replace(day=2)},
            {"owner_id": self.bob.pk, "month": "2026-01-01"},
        ):
            with self.subTest(params=params), self.assertRaises(ValueError):
                ClosingThisMonth(**params)

    def test_the_home_page_shows_the_metric(self):
        self.client.force_login(self.bob)
        response = self.client.get(reverse("home"))
        self.assertContains(response, '<div class="value">$22,000 · €250.50</div><div class="label">Closing this month')
        self.assertContains(response, '<div class="value">20+</div>')


class RecentActivityTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.bob, cls.carol = cast["bob"], cast["carol"]

    def test_touches_on_my_deals_and_contacts_newest_first_without_duplicates(self):
        from smarketing.email import kinds as EmailKind
        from smarketing.metrics.views import recent_activity
        from smarketing.testing import make_contact
        from smarketing.timeline.models import Team
        from smarketing.timeline.services import record_touch

        mine = make_contact(None, owner=self.bob)
        theirs = make_contact(None, owner=self.carol)
        deal = make_deal(None, owner=self.bob, contacts=[theirs])
        now = timezone.now()
        both = record_touch(kind=EmailKind.EMAIL_CLICKED, team=Team.MARKETING, contact=mine, summary="on both")
        both.deal = deal
        both.occurred_at = now + datetime.timedelta(hours=1)
        both.save()
        on_deal = record_touch(kind=EmailKind.EMAIL_CLICKED, team=Team.MARKETING, contact=theirs, summary="deal only")
        on_deal.deal = deal
        on_deal.occurred_at = now + datetime.timedelta(hours=2)
        on_deal.save()
        record_touch(kind=EmailKind.EMAIL_CLICKED, team=Team.MARKETING, contact=theirs, summary="not mine")
        summaries = [t.summary for t in recent_activity(self.bob)]
        self.assertEqual(summaries[:2], ["deal only", "on both"])
        self.assertNotIn("not mine", summaries)
        self.assertEqual(len(summaries), len(set(t.pk for t in recent_activity(self.bob))))
