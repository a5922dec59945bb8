"""The stage panel on deal and contact pages: only approved content, the approved text of messages, assets ranked
by stage, persona, product, industry and won deals; a constant number of queries; the record pages' placeholder."""

import re

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from smarketing.accounts.access import system_actor
from smarketing.content import guide, services, sharing
from smarketing.content.models import Asset, AssetType, MessageKind, Persona, Product, Review
from smarketing.crm import services as crm
from smarketing.crm.defaults import default_pipeline
from smarketing.testing import make_cast, make_company, make_contact, make_deal

APPROVED = Review.Decision.APPROVED


def approved_asset(owner, reviewer, title, **tags) -> Asset:
    """An asset approved through the library's real review flow."""
    asset = services.create_asset(
        owner, title=title, asset_type=AssetType.CASE_STUDY, url=f"https://example.com/{title.lower()}", **tags
    )
    services.submit_for_review(asset, owner)
    services.review(asset, reviewer, APPROVED)
    asset.refresh_from_db()
    return asset


def approved_message(owner, reviewer, title, **fields):
    fields.setdefault("kind", MessageKind.TALKING_POINT)
    message = guide.create_message(owner, title=title, body=f"{title} body\n- second line", **fields)
    guide.submit_message(message, owner)
    guide.review_message(message, reviewer, APPROVED)
    return message


def panel_assets(html: str) -> list[str]:
    """The recommended assets' titles, in the panel's order."""
    part = html.split("Recommended content", 1)[1]
    return re.findall(r'<a href="/content/assets/\d+/">([^<]+)</a>', part)


class StagePanelTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.mia, cls.alice, cls.bob = cls.cast["mia"], cls.cast["alice"], cls.cast["bob"]
        stages = list(default_pipeline().stages.order_by("position"))
        cls.stage, cls.other, cls.contract, cls.won = stages[2], stages[3], stages[4], stages[5]
        cls.cfo = Persona.objects.create(name="CFO", title_keywords="cfo, finance", position=1)
        cls.cmo = Persona.objects.create(name="CMO", title_keywords="cmo", position=2)
        cls.product = Product.objects.create(name="Analytics")
        crm.define_property(actor=system_actor(), object_type="deal", key="product", label="Product", type="text")
        company = make_company(None, industry="Retail")
        cls.contact = make_contact(None, title="CFO", company=company)
        cls.deal = make_deal(None, stage=cls.stage, contacts=[cls.contact], company=company, custom={})

        a, m = cls.mia, cls.alice
        cls.a7 = approved_asset(a, m, "StagePersona", deal_stages=[cls.stage], personas=[cls.cfo])
        cls.a1 = approved_asset(a, m, "StageOnly", deal_stages=[cls.stage])
        cls.a2 = approved_asset(a, m, "StageWinner", deal_stages=[cls.stage])
        cls.a3 = approved_asset(a, m, "PersonaOnly", personas=[cls.cfo])
        cls.a8 = approved_asset(a, m, "IndustryOnly", industry="retail")
        cls.elsewhere = approved_asset(a, m, "OtherStage", deal_stages=[cls.other], personas=[cls.cmo])
        retired = approved_asset(a, m, "RetiredOne", deal_stages=[cls.stage], personas=[cls.cfo])
        services.retire(retired, a)
        services.create_asset(  # a draft: never in the panel
            a, title="DraftOne", asset_type=AssetType.DECK, url="https://example.com/d", deal_stages=[cls.stage]
        )
        # StageWinner was shared on a deal that was later won: it ranks above StageOnly.
        buyer = make_contact(None)
        winning = make_deal(None, stage=cls.contract, contacts=[buyer])
        sharing.share_asset(cls.a2, buyer, cls.bob, deal=winning)
        crm.move_deal_stage(winning, cls.won, actor=system_actor())

        approved_message(a, m, "Ask about budget", deal_stages=[cls.stage.pk], personas=[cls.cfo])
        approved_message(a, m, "Always true", kind=MessageKind.VALUE_PROPOSITION)
        approved_message(a, m, "For marketers", deal_stages=[cls.stage.pk], personas=[cls.cmo])
        approved_message(a, m, "Later stage point", deal_stages=[cls.other.pk])
        guide.create_message(a, kind=MessageKind.TALKING_POINT, title="Unapproved point", body="x",
                             deal_stages=[cls.stage.pk])  # fmt: skip

    def setUp(self):
        self.client.force_login(self.bob)

    def panel(self, kind="deal", pk=None, **headers) -> str:
        pk = pk or (self.deal.pk if kind == "deal" else self.contact.pk)
        response = self.client.get(reverse("content:panel", args=[kind, pk]), **headers)
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_the_deal_panel_ranks_approved_assets(self):
        html = self.panel(HTTP_HX_REQUEST="true")
        self.assertTrue(html.lstrip().startswith('<section class="card record-panel content-panel" id="panel-content"'))
        self.assertEqual(
            panel_assets(html), ["StagePersona", "StageWinner", "StageOnly", "PersonaOnly", "IndustryOnly"]
        )
        self.assertIn("Shared on 1 won deal", html)
        for absent in ("RetiredOne", "DraftOne", "OtherStage"):
            self.assertNotIn(absent, html)

    def test_a_product_on_the_deal_lifts_its_assets(self):
        lifted = approved_asset(self.mia, self.alice, "ProductOne", products=[self.product])
        crm.update_record(self.deal, actor=system_actor(), data={"custom": {"product": "analytics"}})
        titles = panel_assets(self.panel(HTTP_HX_REQUEST="true"))
        # Stage, then persona, then product, then industry.
        expected = ["StagePersona", "StageWinner", "StageOnly", "PersonaOnly", lifted.title, "IndustryOnly"]
        self.assertEqual(titles, expected)

    def test_the_deal_panel_shows_approved_messages_for_the_stage_and_persona(self):
        html = self.panel(HTTP_HX_REQUEST="true")
        self.assertIn("Ask about budget", html)
        self.assertIn("second line", html)  # each line a bullet, the typed dash gone
        self.assertNotIn("- second line", html)
        self.assertIn("Always true", html)  # no stage, no persona: holds everywhere
        self.assertNotIn("For marketers", html)  # another persona
        self.assertNotIn("Later stage point", html)
        self.assertNotIn("Unapproved point", html)

    def test_share_buttons_carry_asset_contact_and_deal(self):
        html = self.panel(HTTP_HX_REQUEST="true")
        share = reverse("content:share_new")
        self.assertIn(f"{share}?asset={self.a7.pk}&amp;contact={self.contact.pk}&amp;deal={self.deal.pk}", html)
        self.client.force_login(self.cast["rory"])  # read-only: no Share button
        self.assertNotIn(share, self.panel(HTTP_HX_REQUEST="true"))

    def test_the_contact_panel_uses_lifecycle_and_open_deals(self):
        funnel = approved_asset(self.mia, self.alice, "FunnelOne", funnel_stages=["opportunity"])
        self.contact.refresh_from_db()
        self.assertEqual(self.contact.lifecycle_stage, "opportunity")
        html = self.panel("contact", HTTP_HX_REQUEST="true")
        titles = panel_assets(html)
        self.assertIn(funnel.title, titles)
        self.assertEqual(titles[0], "StagePersona")  # its open deal's stage and its own persona
        self.assertIn("Ask about budget", html)
        share = reverse("content:share_new")
        self.assertIn(f"{share}?asset={self.a7.pk}&amp;contact={self.contact.pk}&amp;deal={self.deal.pk}", html)

    def test_an_empty_panel_links_to_the_library(self):
        lonely = make_deal(None, stage=self.contract)  # no contacts, no tagged content, no company
        Asset.objects.filter(pk=self.a8.pk).update(industry="")
        Asset.objects.filter(pk=self.a2.pk).update(status="retired")
        html = self.panel(pk=lonely.pk, HTTP_HX_REQUEST="true")
        self.assertIn("No approved asset is tagged for this stage", html)
        self.assertIn(reverse("content:library"), html)

    def test_without_htmx_the_panel_is_a_page(self):
        html = self.panel()
        self.assertIn("<html", html)
        self.assertIn(reverse("deal_detail", args=[self.deal.pk]), html)

    def test_unknown_kinds_and_records_are_404(self):
        self.assertEqual(self.client.get(reverse("content:panel", args=["company", 1])).status_code, 404)
        self.assertEqual(self.client.get(reverse("content:panel", args=["deal", 999999])).status_code, 404)

    def test_the_panel_runs_a_constant_number_of_queries(self):
        url = reverse("content:panel", args=["deal", self.deal.pk])
        contact_url = reverse("content:panel", args=["contact", self.contact.pk])
        counts = {}
        for name, target in (("deal", url), ("contact", contact_url)):
            with CaptureQueriesContext(connection) as ctx:
                self.client.get(target, HTTP_HX_REQUEST="true")
            counts[name] = len(ctx.captured_queries)
        for i in range(5):
            approved_asset(self.mia, self.alice, f"More{i}", deal_stages=[self.stage], personas=[self.cfo])
            approved_message(self.mia, self.alice, f"Point {i}", deal_stages=[self.stage.pk], personas=[self.cfo])
            extra = make_contact(None, title="CMO")
            crm.add_deal_contact(self.deal, extra, role="influencer", actor=system_actor())
            make_deal(None, stage=self.other, contacts=[self.contact])
        with self.assertNumQueries(counts["deal"]):
            self.client.get(url, HTTP_HX_REQUEST="true")
        with self.assertNumQueries(counts["contact"]):
            self.client.get(contact_url, HTTP_HX_REQUEST="true")


class RecordPagePlaceholderTests(TestCase):
    """crm renders the registered panels as lazy cards; it knows nothing of content."""

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.contact = make_contact(None)
        cls.deal = make_deal(None, contacts=[cls.contact])
        cls.company = make_company(None)

    def setUp(self):
        self.client.force_login(self.cast["bob"])

    def test_deal_and_contact_pages_load_the_panel_lazily(self):
        for kind, obj in (("deal", self.deal), ("contact", self.contact)):
            with self.subTest(kind=kind):
                html = self.client.get(reverse(f"{kind}_detail", args=[obj.pk])).content.decode()
                url = reverse("content:panel", args=[kind, obj.pk])
                self.assertIn(f'hx-get="{url}" hx-trigger="load"', html)
                self.assertIn(f'<a href="{url}">Show content for this stage</a>', html)  # without JavaScript

    def test_the_company_page_has_no_content_panel(self):
        html = self.client.get(reverse("company_detail", args=[self.company.pk])).content.decode()
        self.assertNotIn("/content/panel/", html)
