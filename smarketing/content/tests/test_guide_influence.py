"""Content influence on a small hand-built history whose figures are worked out by hand below.

Days are counted from T0 (noon, 60 days ago). The default pipeline's stages: P = "Presentation scheduled"
(position 2), Q = "Decision maker bought-in" (3), then Closed won / Closed lost.

    deal  amount     contacts  stages                               what happens with content
    D1    1000 USD   c1        P@0 → Q@5 → won@10                   A shared on D1 to c1 @1; c1 opens it @2
    D2    2000 USD   c2        P@0 → lost@6                         A shared to c2 (no deal) @1; c2 opens it @3
    D3     500 EUR   c3        P@0 → won@4                          B viewed by c3 (API touch) @2;
                                                                    A shared to c3 @7, opened @8 (after close)
    D4     300 USD   c1, c4    P@0 (open)                           c4 views A (API touch) @3; c1's opening @2
    C: approved, never used. Noise: a content_viewed touch with no asset, one with asset_id "abc".

By hand:
    A: shares 3; views 4 (three openings + c4's API touch; the openings' own touches carry share_id and are the
       same views); contacts c1-c4 = 4; deals: D1 won (share @1 < close @10), D2 lost (view @3 < @6),
       D4 open (views @2, @3), not D3 (viewed after it closed) → 1 won, 1 lost, 1 open; revenue 1000 USD.
    B: views 1, shares 0, contacts 1, D3 won, revenue 500 EUR.
    Since day 3: A has shares 1 (@7), views 3 (@3, @3, @8), contacts c2, c3, c4; D2 lost, D4 open.
    Stage P: A touched D1's visit (→ Q: forward), D2's (→ lost), D4's (no move: stalled); B touched D3's
    (→ won: forward). Stage Q: nothing (no content while D1 was in Q).
"""

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.content import sharing
from smarketing.content.influence import Amount, AssetInfluence, LibraryLeaders, StageProgression
from smarketing.content.kinds import CONTENT_VIEWED
from smarketing.content.models import Asset, AssetType, AssetVersion, Share, Status, VersionStatus
from smarketing.crm import services as crm
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Deal, DealStageChange
from smarketing.testing import make_cast, make_contact, make_deal
from smarketing.timeline.models import Team
from smarketing.timeline.services import record_touch


def published(owner, title) -> Asset:
    """An approved asset as rows: how it got approved is the library's business, not this test's."""
    asset = Asset.objects.create(title=title, asset_type=AssetType.CASE_STUDY, owner=owner, status=Status.APPROVED)
    version = AssetVersion.objects.create(
        asset=asset, number=1, status=VersionStatus.APPROVED, url=f"https://example.com/{title}"
    )
    asset.published_version = version
    asset.save(update_fields=["published_version"])
    return asset


class InfluenceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        bob = cls.cast["bob"]
        noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
        cls.t0 = noon - dt.timedelta(days=60)

        def day(n):
            return cls.t0 + dt.timedelta(days=n)

        stages = {s.name: s for s in default_pipeline().stages.all()}
        cls.P, Q = stages["Presentation scheduled"], stages["Decision maker bought-in"]
        won, lost = stages["Closed won"], stages["Closed lost"]
        cls.A, cls.B, cls.C = (published(cls.cast["mia"], t) for t in ("Alpha", "Beta", "Gamma"))
        c1, c2, c3, c4 = (make_contact(None) for _ in range(4))

        def deal(amount, currency, contacts):
            d = make_deal(None, stage=cls.P, contacts=contacts, amount=amount, currency=currency)
            # Backdated: the history starts at T0 (the services stamp "now").
            Deal.objects.filter(pk=d.pk).update(created_at=day(0), stage_entered_at=day(0))
            DealStageChange.objects.filter(deal=d).update(changed_at=day(0))
            d.refresh_from_db()
            return d

        d1 = deal("1000", "USD", [c1])
        d2 = deal("2000", "USD", [c2])
        d3 = deal("500", "EUR", [c3])
        cls.d4 = deal("300", "USD", [c1, c4])
        system = system_actor()
        crm.move_deal_stage(d1, Q, actor=system, at=day(5))
        crm.move_deal_stage(d1, won, actor=system, at=day(10))
        crm.move_deal_stage(d2, lost, actor=system, at=day(6), reason="Budget")
        crm.move_deal_stage(d3, won, actor=system, at=day(4))

        def share(contact, at, deal=None):
            s = sharing.share_asset(cls.A, contact, bob, deal=deal)
            Share.objects.filter(pk=s.pk).update(created_at=at)
            return s

        sharing.record_open(share(c1, day(1), deal=d1), now=day(2))
        sharing.record_open(share(c2, day(1)), now=day(3))
        sharing.record_open(share(c3, day(7)), now=day(8))

        def api_view(contact, at, details):
            record_touch(
                kind=CONTENT_VIEWED, team=Team.MARKETING, contact=contact, summary="Viewed", details=details,
                occurred_at=at,
            )  # fmt: skip

        api_view(c4, day(3), {"asset_id": cls.A.pk})
        api_view(c3, day(2), {"asset_id": cls.B.pk})
        api_view(c1, day(2), {})
        api_view(c1, day(2), {"asset_id": "abc"})

    def day(self, n: int) -> dt.datetime:
        return self.t0 + dt.timedelta(days=n)

    def test_per_asset_figures(self):
        rows = {r.title: r for r in AssetInfluence().result()}
        a, b, c = rows["Alpha"], rows["Beta"], rows["Gamma"]
        self.assertEqual((a.shares, a.views, a.contacts, a.deals_won, a.deals_lost, a.deals_open), (3, 4, 4, 1, 1, 1))
        self.assertEqual(a.revenue, (Amount("USD", Decimal("1000.00")),))
        self.assertEqual((b.shares, b.views, b.contacts, b.deals_won, b.deals), (0, 1, 1, 1, 1))
        self.assertEqual(b.revenue, (Amount("EUR", Decimal("500.00")),))
        self.assertEqual((c.views, c.shares, c.deals, c.revenue), (0, 0, 0, ()))
        self.assertEqual([r.title for r in AssetInfluence().result()], ["Alpha", "Beta", "Gamma"])

    def test_one_asset_and_a_window(self):
        alpha = AssetInfluence(asset_id=self.A.pk).one()
        self.assertEqual((alpha.views, alpha.deals_won), (4, 1))
        since = self.day(3).date()
        alpha = AssetInfluence(asset_id=self.A.pk, since=since).one()
        self.assertEqual(
            (alpha.shares, alpha.views, alpha.contacts, alpha.deals_won, alpha.deals_lost, alpha.deals_open),
            (1, 3, 3, 0, 1, 1),
        )
        self.assertEqual(alpha.revenue, ())
        until = self.day(1).date()
        alpha = AssetInfluence(asset_id=self.A.pk, until=until).one()
        self.assertEqual((alpha.shares, alpha.views, alpha.deals_won), (2, 0, 1))

    def test_stage_progression(self):
        stages = StageProgression().result()
        self.assertEqual([s.stage for s in stages], ["Presentation scheduled"])
        rows = [(a.title, a.forward, a.stalled, a.lost) for a in stages[0].assets]
        self.assertEqual(rows, [("Alpha", 1, 1, 1), ("Beta", 1, 0, 0)])
        only_beta = StageProgression(asset_id=self.B.pk).result()
        self.assertEqual([(a.title, a.forward) for a in only_beta[0].assets], [("Beta", 1)])

    def test_a_later_move_makes_a_stalled_visit_move_forward(self):
        later = [s for s in default_pipeline().stages.all() if s.name == "Contract sent"][0]
        crm.move_deal_stage(self.d4, later, actor=system_actor(), at=self.day(20))
        alpha = StageProgression(asset_id=self.A.pk).result()[0].assets[0]
        self.assertEqual((alpha.forward, alpha.stalled, alpha.lost), (2, 0, 1))

    def test_library_leaders(self):
        self.assertEqual(LibraryLeaders().result(), ((self.A.pk, "Alpha", 1, Decimal("1000.00")),))
        self.assertEqual(LibraryLeaders(currency="EUR").result(), ((self.B.pk, "Beta", 1, Decimal("500.00")),))

    def test_parameters_are_validated(self):
        for bad in (
            {"asset_id": 0},
            {"asset_id": True},
            {"since": dt.date(2024, 2, 1), "until": dt.date(2024, 1, 1)},
            {"since": timezone.now()},
        ):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                AssetInfluence(**bad)
        with self.assertRaises(ValueError):
            LibraryLeaders(currency="dollars")

    def test_constant_queries(self):
        with self.assertNumQueries(3):
            AssetInfluence().result()
        with self.assertNumQueries(3):
            StageProgression().result()
        with self.assertNumQueries(1):
            LibraryLeaders().result()

    def test_the_report_page_and_the_asset_fragment(self):
        self.client.force_login(self.cast["bob"])
        since = self.t0.date().isoformat()
        response = self.client.get(reverse("content:report"), {"since": since})
        self.assertEqual(response.status_code, 200)
        page = response.content.decode()
        for text in ("Alpha", "Beta", "Gamma", "Presentation scheduled", "1,000 USD", "500 EUR"):
            self.assertIn(text, page)
        self.assertIn('id="report-charts"', page)
        fragment = self.client.get(reverse("content:asset_report", args=[self.A.pk]), HTTP_HX_REQUEST="true")
        html = fragment.content.decode()
        self.assertNotIn("<html", html)
        self.assertIn("1 won, 1 lost, 1 open", html)
        self.assertIn("1 moved forward, 1 stalled, 1 lost", html)
        self.assertEqual(self.client.get(reverse("content:asset_report", args=[999999])).status_code, 404)

    def test_the_report_runs_a_constant_number_of_queries(self):
        self.client.force_login(self.cast["bob"])
        url = reverse("content:report")
        with CaptureQueriesContext(connection) as before:
            self.assertEqual(self.client.get(url).status_code, 200)
        more = [published(self.cast["mia"], f"More {i}") for i in range(4)]
        for asset in more:
            buyer = make_contact(None)
            make_deal(None, stage=self.P, contacts=[buyer])
            sharing.record_open(sharing.share_asset(asset, buyer, self.cast["bob"]))
        with self.assertNumQueries(len(before.captured_queries)):
            self.client.get(url)
