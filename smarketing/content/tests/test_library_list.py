"""The library page: search, every filter, sort, keyset pages, the empty states, and a constant query count."""

from datetime import timedelta

from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from smarketing.content import services
from smarketing.content.models import AssetType, Persona, Product, Review
from smarketing.crm.defaults import default_pipeline
from smarketing.testing import ensure_defaults, make_cast


def titles(response) -> list[str]:
    return [a.title for a in response.context["lib"].page.rows]


class LibraryListTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        mia, bob, carol = cls.cast["mia"], cls.cast["bob"], cls.cast["carol"]
        stages = list(default_pipeline().stages.order_by("position"))
        cls.proposal = stages[2]
        cls.cmo = Persona.objects.create(name="CMO")
        cls.it = Persona.objects.create(name="IT Director")
        cls.pro = Product.objects.create(name="Pro plan")
        today = timezone.localdate()

        def add(title, owner, **fields):
            fields.setdefault("asset_type", AssetType.CASE_STUDY)
            return services.create_asset(owner, title=title, url=f"https://example.com/{len(title)}", **fields)

        cls.acme = add(
            "ACME case study",
            mia,
            description="How ACME doubled pipeline",
            deal_stages=[cls.proposal],
            personas=[cls.cmo],
            funnel_stages=["sql", "opportunity"],
            reviewers=[carol],
        )
        services.submit_for_review(cls.acme, mia)
        services.review(cls.acme, carol, Review.Decision.APPROVED)
        cls.deck = add(
            "Security deck",
            mia,
            asset_type=AssetType.DECK,
            personas=[cls.it],
            products=[cls.pro],
            language="de",
            expires_on=today + timedelta(days=10),
        )
        cls.battle = add("Battlecard vs Rival", bob, asset_type=AssetType.BATTLECARD, reviewers=[carol])
        services.submit_for_review(cls.battle, bob)
        cls.old = add("Old pricing", bob, asset_type=AssetType.ONE_PAGER, expires_on=today - timedelta(days=3))
        cls.gone = add("Retired webinar", mia, asset_type=AssetType.VIDEO)
        services.retire(cls.gone, mia)

    def setUp(self):
        self.client.force_login(self.cast["bob"])

    def get(self, **params):
        return self.client.get(reverse("content:library"), params)

    def test_everything_in_use_by_default_and_each_filter(self):
        response = self.get()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            sorted(titles(response)), ["ACME case study", "Battlecard vs Rival", "Old pricing", "Security deck"]
        )  # not the retired one
        cases = {
            "q=acme (title)": ({"q": "acme"}, ["ACME case study"]),
            "q in the description": ({"q": "doubled PIPELINE"}, ["ACME case study"]),
            "type": ({"type": AssetType.DECK}, ["Security deck"]),
            "status approved": ({"status": "approved"}, ["ACME case study"]),
            "status in review": ({"status": "in_review"}, ["Battlecard vs Rival"]),
            "status retired": ({"status": "retired"}, ["Retired webinar"]),
            "deal stage": ({"stage": self.proposal.pk}, ["ACME case study"]),
            "funnel stage": ({"funnel": "opportunity"}, ["ACME case study"]),
            "persona": ({"persona": self.it.pk}, ["Security deck"]),
            "product": ({"product": self.pro.pk}, ["Security deck"]),
            "owner": ({"owner": self.cast["bob"].pk}, ["Battlecard vs Rival", "Old pricing"]),
            "language": ({"language": "de"}, ["Security deck"]),
            "expiring soon": ({"expiring": "soon"}, ["Security deck"]),
            "expired": ({"expiring": "past"}, ["Old pricing"]),
            "two filters": ({"type": AssetType.CASE_STUDY, "persona": self.it.pk}, []),
        }
        for name, (params, expected) in cases.items():
            with self.subTest(name):
                self.assertEqual(sorted(titles(self.get(**params))), sorted(expected))
        self.assertEqual(len(titles(self.get(status="all"))), 5)

    def test_an_approved_asset_with_a_version_in_review_is_found_as_in_review(self):
        services.add_version(self.acme, self.cast["mia"], url="https://example.com/acme-2")
        services.submit_for_review(self.acme, self.cast["mia"])
        response = self.get(status="in_review")
        self.assertEqual(sorted(titles(response)), ["ACME case study", "Battlecard vs Rival"])
        self.assertContains(response, "New version in review")

    def test_bad_filter_values_are_ignored_not_errors(self):
        for params in ({"type": "nope"}, {"stage": "x"}, {"persona": "99999"}, {"sort": "drop table"}, {"after": "!!"}):
            with self.subTest(params):
                response = self.get(**params)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(len(titles(response)), 4)

    def test_sorts_and_pages(self):
        self.assertEqual(
            titles(self.get(sort="title")), ["ACME case study", "Battlecard vs Rival", "Old pricing", "Security deck"]
        )
        # Expiry: soonest first, assets without a date last.
        self.assertEqual(titles(self.get(sort="expiry"))[:2], ["Old pricing", "Security deck"])
        from smarketing.content import queries

        first = queries.library({"sort": "title"}, size=3)
        self.assertEqual(len(first.page.rows), 3)
        self.assertIsNotNone(first.page.next_cursor)
        self.assertIn("sort=title", first.next_query)
        second = queries.library({"sort": "title", "after": first.page.next_cursor}, size=3)
        self.assertEqual([a.title for a in second.page.rows], ["Security deck"])
        self.assertIsNone(second.page.next_cursor)

    def test_cards_show_type_status_tags_and_expiry(self):
        response = self.get()
        self.assertContains(response, reverse("content:asset_detail", args=[self.acme.pk]))
        self.assertContains(response, "Approved")
        self.assertContains(response, "In review")
        self.assertContains(response, "CMO")
        self.assertContains(response, "Opportunity")
        self.assertContains(response, "Expired")
        self.assertContains(response, "Expires")
        self.assertContains(response, 'href="/content/"')  # the nav's Library link

    def test_htmx_asks_for_the_rows_only(self):
        response = self.client.get(
            reverse("content:library"), {"q": "deck"}, headers={"HX-Request": "true", "HX-Target": "library-rows"}
        )
        self.assertContains(response, "Security deck")
        self.assertNotContains(response, "<form")  # not the filter bar again
        self.assertNotContains(response, "<html")

    def test_no_match_and_empty_library(self):
        self.assertContains(self.get(q="nothing like this"), "No assets match")
        from smarketing.content.models import Asset

        Asset.objects.all().delete()
        response = self.get()
        self.assertContains(response, "The library is empty")
        self.assertContains(response, "Add the first asset")
        self.client.force_login(self.cast["rory"])
        response = self.get()
        self.assertNotContains(response, "Add the first asset")
        self.assertContains(response, "Read-only users can browse")

    def test_query_count_does_not_grow_with_the_assets(self):
        self.get()  # warm caches (content types, sessions)
        with self.assertNumQueries(11) as first:  # session, user, 5 for the filter bar, page, 2 prefetches, team
            self.get(persona=self.cmo.pk)
        mia = self.cast["mia"]
        for n in range(12):
            asset = services.create_asset(
                mia,
                title=f"More {n}",
                asset_type=AssetType.EBOOK,
                url="https://example.com/more",
                personas=[self.cmo, self.it],
                funnel_stages=["lead", "mql"],
                deal_stages=[self.proposal],
            )
            services.add_version(asset, mia, url="https://example.com/more-2")
        with self.assertNumQueries(len(first.captured_queries)):
            response = self.get(persona=self.cmo.pk)
        self.assertEqual(len(titles(response)), 13)
        with self.assertNumQueries(len(first.captured_queries)):
            self.get()
