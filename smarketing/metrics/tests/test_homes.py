"""The home pages per role: which one `/` shows, each block with data and empty (with its next step), query counts."""

import datetime

from django.core.cache import cache
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.models import Role
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Deal, LeadStatus, LifecycleStage
from smarketing.dataio.models import Import
from smarketing.metrics.leads import LeadsBySource
from smarketing.metrics.pipeline import StalledDeals, TeamPipeline
from smarketing.metrics.views import home_kind_for
from smarketing.testing import make_cast, make_contact, make_deal, make_user


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


class WhichHomeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.maya = make_user("maya@example.com", role=Role.MANAGER, team_kind="marketing", name="Maya Lopez")

    def test_role_and_team_pick_the_home(self):
        expected = {"alice": "manager", "bob": "rep", "carol": "manager", "mia": "marketing", "rory": "rep"}
        for key, kind in expected.items():
            with self.subTest(user=key):
                self.assertEqual(home_kind_for(self.cast[key]), kind)
                self.client.force_login(self.cast[key])
                self.assertTemplateUsed(self.client.get(reverse("home")), f"metrics/home_{kind}.html")
        self.assertEqual(home_kind_for(self.maya), "marketing", "a marketing manager runs campaigns, not deals")

    def test_tabs_lead_to_the_other_homes(self):
        self.client.force_login(self.cast["bob"])
        page = self.client.get(reverse("home")).content.decode()
        for kind in ("rep", "marketing", "manager"):
            self.assertIn(f'href="{reverse("home_tab", args=[kind])}"', page)
        self.assertIn("My work <span", page.split('aria-current="page"')[1][:40])
        self.assertTemplateUsed(self.client.get(reverse("home_tab", args=["manager"])), "metrics/home_manager.html")
        self.assertEqual(self.client.get("/home/nothing/").status_code, 404)


class RepHomeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.bob, cls.carol = cast["bob"], cast["carol"]

    def setUp(self):
        self.client.force_login(self.bob)

    def test_empty_blocks_say_what_to_do_and_link_there(self):
        html = self.client.get(reverse("home")).content.decode()
        self.assertIn("No new leads waiting for you", html)
        self.assertIn(f"{reverse('contact_list')}?owner=none&amp;lifecycle=mql", html)
        self.assertIn("You have no open deals", html)
        self.assertIn(f'href="{reverse("deal_create")}"', html)
        self.assertIn("Plan your next calls", html)
        self.assertNotIn("my meetings", html.lower(), "no empty 'my meetings' block on the rep's home")

    def test_new_leads_and_open_deals_with_their_next_step(self):
        make_contact(None, first_name="Nora", last_name="New", owner=self.bob)
        worked = make_contact(None, first_name="Walt", last_name="Worked", owner=self.bob)
        services.update_record(worked, actor=self.bob, data={"lead_status": LeadStatus.CONNECTED})
        make_contact(None, first_name="Carla", last_name="Carols", owner=self.carol)
        planned = make_deal(None, owner=self.bob, name="Planned deal")
        make_deal(None, owner=self.bob, name="Drifting deal")
        services.create_task(
            actor=self.bob, title="Send the proposal", deal=planned, due_at=timezone.now() + datetime.timedelta(days=1)
        )
        html = self.client.get(reverse("home")).content.decode()
        leads = html[html.index('id="leads-heading"') :]
        self.assertIn("Nora New", leads)
        self.assertNotIn("Walt Worked", leads)
        self.assertNotIn("Carla Carols", leads)
        deals = html[html.index('id="deals-heading"') : html.index('id="activity-heading"')]
        planned_row = deals[deals.index("Planned deal") :][:1200]
        self.assertIn("Send the proposal", planned_row)
        drifting = deals[deals.index("Drifting deal") :]
        self.assertIn("No next step — add a task", drifting)

    def test_query_count_does_not_grow_with_the_data(self):
        # One of everything first: an empty block skips its follow-up query (no touches to decorate).
        contact = make_contact(None, owner=self.bob)
        services.create_task(actor=self.bob, title="T", deal=make_deal(None, owner=self.bob, contacts=[contact]))
        few = queries(self.client, reverse("home"))
        for i in range(12):
            contact = make_contact(None, owner=self.bob)
            deal = make_deal(None, owner=self.bob, contacts=[contact])
            services.create_task(actor=self.bob, title=f"T{i}", deal=deal, due_at=timezone.now())
        with self.assertNumQueries(few):
            self.client.get(reverse("home"))


class MarketingHomeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.mia, cls.alice, cls.bob, cls.rory = cast["mia"], cast["alice"], cast["bob"], cast["rory"]

    def setUp(self):
        cache.clear()
        self.client.force_login(self.mia)

    def test_empty_marketing_home_links_to_import_and_to_adding_a_contact(self):
        html = self.client.get(reverse("home")).content.decode()
        self.assertIn("No contact became a lead in the last 30 days", html)
        self.assertIn(f'href="{reverse("dataio:import_list")}"', html)
        self.assertIn(f'href="{reverse("contact_create")}"', html)
        self.assertIn("No imports yet", html)
        self.assertIn("No marketing-qualified leads yet", html)

    def test_new_leads_by_source_with_words_and_bars(self):
        for _ in range(3):
            make_contact(None, first_source="paid")
        make_contact(None, first_source="organic")
        make_contact(None, first_source="Trade show 2026")  # a raw imported value: shown as it came
        mql = make_contact(None, first_source="organic", first_name="Mona", last_name="Qualified")
        services.change_lifecycle_stage(mql, LifecycleStage.MQL, actor=self.mia)
        old = make_contact(None, first_source="webinar")
        old.lifecycle_changes.update(changed_at=timezone.now() - datetime.timedelta(days=45))
        html = self.client.get(reverse("home")).content.decode()
        table = html[html.index('id="sources-heading"') : html.index('id="mqls-heading"')]
        self.assertIn(f'<a href="{reverse("contact_list")}?source=paid">Paid ads</a>', table)
        self.assertIn('<meter class="bar" min="0" max="3" value="3">', table)
        self.assertIn("Trade show 2026", table)
        self.assertNotIn("Webinar", table, "a lead from 45 days ago is not new")
        self.assertIn("Organic search", table)
        mqls = html[html.index('id="mqls-heading"') :]
        self.assertIn("Mona Qualified", mqls)
        self.assertIn("not assigned to a rep yet", mqls)
        result = LeadsBySource(today=timezone.now().astimezone(datetime.UTC).date()).compute()
        self.assertEqual((result.leads, result.mqls, result.capped), (6, 1, False))
        self.assertEqual(result.rows[0].label, "Paid ads")

    def test_imports_follow_the_import_visibility_rules(self):
        Import.objects.create(
            object_type="contact", original_name="mia.csv", encoding="utf-8", delimiter=",", created_by=self.mia
        )
        Import.objects.create(
            object_type="contact", original_name="bob.csv", encoding="utf-8", delimiter=",", created_by=self.bob
        )
        html = self.client.get(reverse("home")).content.decode()
        self.assertIn("mia.csv", html)
        self.assertIn("Waiting for column mapping", html)  # the status in words
        self.assertNotIn("bob.csv", html)
        self.client.force_login(self.alice)
        html = self.client.get(reverse("home_tab", args=["marketing"])).content.decode()
        self.assertIn("bob.csv", html)
        self.client.force_login(self.rory)
        html = self.client.get(reverse("home_tab", args=["marketing"])).content.decode()
        self.assertIn("Read-only users cannot import", html)

    def test_parameters_are_validated(self):
        for params in ({"today": "2026-01-01"}, {"today": timezone.now()}, {"today": datetime.date.today(), "days": 0}):
            with self.subTest(params=params), self.assertRaises(ValueError):
                LeadsBySource(**params)

    def test_query_count_does_not_grow_with_the_data(self):
        few = queries(self.client, reverse("home"))
        for i in range(10):
            make_contact(None, first_source=["paid", "email", "social"][i % 3])
            Import.objects.create(
                object_type="contact", original_name=f"{i}.csv", encoding="utf-8", delimiter=",", created_by=self.mia
            )
        cache.clear()
        with self.assertNumQueries(few):
            self.client.get(reverse("home"))


class ManagerHomeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.carol, cls.bob, cls.mia, cls.alice = cast["carol"], cast["bob"], cast["mia"], cast["alice"]
        cls.stages = list(default_pipeline().stages.order_by("position"))

    def setUp(self):
        cache.clear()
        self.client.force_login(self.carol)

    def test_empty_team_pipeline_links_to_creating_deals(self):
        html = self.client.get(reverse("home")).content.decode()
        self.assertIn("Sales has no open deals", html)
        self.assertIn(f'href="{reverse("deal_create")}"', html)
        self.assertIn("Stalled deals show up here once the team has open deals", html)

    def test_team_pipeline_by_stage_and_rep_with_totals(self):
        first, second = self.stages[0], self.stages[1]
        make_deal(None, owner=self.bob, amount="1000", stage=first)
        make_deal(None, owner=self.bob, amount="500", stage=second)
        make_deal(None, owner=self.carol, amount="2000", stage=first)
        make_deal(None, owner=self.mia, amount="9999", stage=first)  # marketing's: not the sales team's
        make_deal(None, owner=None, amount="7777", stage=first)
        result = TeamPipeline(team_id=self.bob.team_id).compute()
        self.assertEqual(result.deals, 3)
        self.assertEqual([(s.stage, s.deals) for s in result.stages][:2], [(first, 2), (second, 1)])
        self.assertTrue(all(s.stage.outcome == "open" for s in result.stages), "no won/lost rows of zeros")
        self.assertEqual(result.totals[0].amount, 3500)
        self.assertEqual([(r.owner, r.deals) for r in result.reps], [(self.bob, 2), (self.carol, 1)])
        html = self.client.get(reverse("home")).content.decode()
        self.assertIn(f"{reverse('deal_list')}?status=open&amp;stage={first.pk}", html)
        self.assertIn("$3,500", html)
        self.assertNotIn("$9,999", html)

    def test_stalled_deals_past_target_or_idle(self):
        stage = self.stages[1]
        stage.target_days = 7
        stage.save()
        late = make_deal(None, owner=self.bob, name="Late deal", stage=stage)
        Deal.objects.filter(pk=late.pk).update(stage_entered_at=timezone.now() - datetime.timedelta(days=10))
        idle = make_deal(None, owner=self.bob, name="Idle deal", stage=self.stages[0])
        idle.touchpoints.update(occurred_at=timezone.now() - datetime.timedelta(days=30))
        make_deal(None, owner=self.bob, name="Busy deal", stage=self.stages[0])  # created just now: a fresh touch
        result = StalledDeals(team_id=self.bob.team_id).compute()
        names = [r.deal.name for r in result.rows]
        self.assertEqual(sorted(names), ["Idle deal", "Late deal"])
        late_row = next(r for r in result.rows if r.deal.name == "Late deal")
        self.assertTrue(late_row.over_target)
        html = self.client.get(reverse("home")).content.decode()
        stalled = html[html.index('id="stalled-heading"') :]
        self.assertIn("10 days in stage (target 7)", stalled)
        self.assertNotIn("Busy deal", stalled)

    def test_nothing_stalls_says_so_and_links_to_the_board(self):
        make_deal(None, owner=self.bob, name="Busy deal")
        html = self.client.get(reverse("home")).content.decode()
        self.assertIn("Nothing stalls", html)
        self.assertIn(f'href="{reverse("pipeline_board")}"', html)

    def test_admin_outside_sales_sees_the_first_sales_team(self):
        self.client.force_login(self.alice)
        html = self.client.get(reverse("home")).content.decode()
        self.assertIn("Team pipeline: Sales", html)

    def test_query_count_does_not_grow_with_the_data(self):
        make_deal(None, owner=self.bob)  # without deals the stage and rep look-ups are skipped
        few = queries(self.client, reverse("home"))
        for i in range(10):
            make_deal(None, owner=[self.bob, self.carol][i % 2], stage=self.stages[i % 3])
        cache.clear()
        with self.assertNumQueries(few):
            self.client.get(reverse("home"))
        with CaptureQueriesContext(connection) as ctx:
            self.client.get(reverse("home"))
        self.assertLess(len(ctx.captured_queries), few, "the team figures come from the cache within a minute")
