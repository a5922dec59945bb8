""" "My work" home, the task list and completing tasks."""

import datetime
import re

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from smarketing.crm import kinds as Kind
from smarketing.crm import services
from smarketing.crm.models import Deal, Task
from smarketing.email import kinds as EmailKind
from smarketing.forms import kinds as FormKind
from smarketing.testing import make_cast, make_contact, make_deal
from smarketing.timeline.models import Team, Touchpoint
from smarketing.timeline.services import record_touch

TASK = re.compile(r'id="task-(\d+)"')


def task_ids(response) -> list[int]:
    return [int(i) for i in TASK.findall(response.content.decode())]


class HomeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob, cls.carol = cls.cast["bob"], cls.cast["carol"]
        now = timezone.now()
        cls.contact = make_contact(None, first_name="Olivia", last_name="Owned", owner=cls.bob)
        cls.overdue = services.create_task(
            actor=cls.bob,
            title="Overdue call",
            kind="call",
            due_at=now - datetime.timedelta(days=2),
            contact=cls.contact,
        )
        cls.upcoming = services.create_task(actor=cls.bob, title="Next week", due_at=now + datetime.timedelta(days=6))
        cls.undated = services.create_task(actor=cls.bob, title="Someday")
        cls.done = services.create_task(actor=cls.bob, title="Already done", due_at=now - datetime.timedelta(days=1))
        services.complete_task(cls.done, actor=cls.bob)
        cls.carols = services.create_task(
            actor=cls.carol, title="Carol's overdue", due_at=now - datetime.timedelta(days=1)
        )

    def setUp(self):
        self.client.force_login(self.bob)

    def test_home_shows_my_overdue_and_upcoming_tasks_only(self):
        response = self.client.get(reverse("home"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Overdue call")
        self.assertContains(response, "Next week")
        self.assertContains(response, "Someday")
        self.assertNotContains(response, "Carol's overdue")
        self.assertNotContains(response, "Already done")
        html = response.content.decode()
        self.assertLess(html.index("Overdue call"), html.index("Next week"))
        self.assertRegex(html, rf'task-item overdue" id="task-{self.overdue.pk}"')

    def test_a_long_overdue_list_is_cut_short_with_a_link(self):
        now = timezone.now()
        for i in range(30):
            services.create_task(actor=self.bob, title=f"Late {i}", due_at=now - datetime.timedelta(hours=i + 1))
        html = self.client.get(reverse("home")).content.decode()
        self.assertIn('<div class="value">25+</div><div class="label">Overdue tasks</div>', html)
        overdue = html[html.index(">Overdue<") : html.index(">Today<")]
        self.assertEqual(overdue.count('class="task-item overdue"'), 8)
        self.assertIn("See all 25+ overdue tasks", overdue)
        self.assertIn(f"{reverse('task_list')}?who=mine&amp;state=overdue", overdue)

    def test_tasks_due_later_today_are_in_today(self):
        self.bob.time_zone = "Pacific/Kiritimati"  # UTC+14: "today" is not the UTC day
        self.bob.save()
        local_now = timezone.localtime(timezone.now(), timezone=datetime.timezone(datetime.timedelta(hours=14)))
        end_of_day = local_now.replace(hour=23, minute=59, second=0, microsecond=0)
        if end_of_day - local_now < datetime.timedelta(minutes=2):
            self.skipTest("too close to midnight")
        services.create_task(actor=self.bob, title="Tonight", due_at=end_of_day)
        html = self.client.get(reverse("home")).content.decode()
        today = html[html.index(">Today<") : html.index(">Upcoming<")]
        self.assertIn("Tonight", today)
        self.assertNotIn("Next week", today)

    def test_closing_this_month_open_deals_new_leads_and_activity(self):
        today = timezone.localdate()
        make_deal(None, name="Closing soon", owner=self.bob, amount="5000", close_date=today)
        make_deal(None, name="Next year", owner=self.bob, close_date=today + datetime.timedelta(days=400))
        make_deal(None, name="Carol closes", owner=self.carol, close_date=today)
        record_touch(kind=EmailKind.EMAIL_CLICKED, team=Team.MARKETING, contact=self.contact, summary="Clicked pricing")
        response = self.client.get(reverse("home"))
        html = response.content.decode()
        closing = html[html.index('id="closing-heading"') : html.index('id="leads-heading"')]
        self.assertIn("Closing soon", closing)
        self.assertIn("$5,000", closing)
        self.assertNotIn("Next year", closing)
        self.assertNotIn("Carol closes", closing)
        leads = html[html.index('id="leads-heading"') :]
        self.assertIn("Olivia Owned", leads)  # a new lead of bob's that nobody worked yet
        deals = html[html.index('id="deals-heading"') : html.index('id="activity-heading"')]
        self.assertIn("Next year", deals)  # every open deal of mine, whatever its close date
        self.assertNotIn("Carol closes", deals)
        self.assertIn("Clicked pricing", html)

    def test_home_runs_a_bounded_number_of_queries(self):
        def count() -> int:
            with CaptureQueriesContext(connection) as ctx:
                self.assertEqual(self.client.get(reverse("home")).status_code, 200)
            return len(ctx.captured_queries)

        few = count()
        now = timezone.now()
        for i in range(30):
            contact = make_contact(None, owner=self.bob)
            deal = make_deal(None, owner=self.bob, close_date=timezone.localdate(), contacts=[contact])
            services.create_task(
                actor=self.bob, title=f"T{i}", due_at=now + datetime.timedelta(hours=i - 15), contact=contact, deal=deal
            )
            record_touch(kind=FormKind.PAGE_VIEWED, team=Team.MARKETING, contact=contact, summary=f"Viewed {i}")
        with self.assertNumQueries(few):
            self.client.get(reverse("home"))
        with CaptureQueriesContext(connection) as ctx:
            self.client.get(reverse("home"))
        self.assertFalse([q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()])
        self.assertTrue(all("LIMIT" in q["sql"] for q in ctx.captured_queries if "crm_task" in q["sql"]))


class TaskListTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob, cls.carol, cls.alice = cls.cast["bob"], cls.cast["carol"], cls.cast["alice"]
        start = timezone.now() - datetime.timedelta(days=10)
        cls.mine = [
            services.create_task(actor=cls.bob, title=f"Mine {i:02d}", due_at=start + datetime.timedelta(hours=i % 40))
            for i in range(55)
        ]
        cls.undated = services.create_task(actor=cls.bob, title="Mine undated")
        cls.future = services.create_task(
            actor=cls.bob, title="Mine future", due_at=timezone.now() + datetime.timedelta(days=3)
        )
        cls.theirs = services.create_task(actor=cls.carol, title="Carol's task", due_at=start)
        services.complete_task(cls.mine[0], actor=cls.bob)

    def setUp(self):
        self.client.force_login(self.bob)

    def test_my_open_tasks_by_due_date_with_keyset_pages(self):
        first = self.client.get(reverse("task_list"))
        self.assertEqual(first.status_code, 200)
        ids = task_ids(first)
        self.assertEqual(len(ids), 50)
        self.assertNotIn(self.mine[0].pk, ids)  # done
        self.assertNotIn(self.theirs.pk, ids)
        next_url = re.search(r'href="([^"]*cursor=[^"]+)"', first.content.decode()).group(1).replace("&amp;", "&")
        second = self.client.get(next_url)
        more = task_ids(second)
        self.assertFalse(set(ids) & set(more))
        expected = list(
            Task.objects.filter(owner=self.bob, completed_at__isnull=True)
            .order_by("due_at", "id")
            .values_list("id", flat=True)
        )
        # Due date order; the undated task comes last on every database.
        expected = [pk for pk in expected if pk != self.undated.pk] + [self.undated.pk]
        self.assertEqual(ids + more, expected)
        self.assertContains(second, "First page")

    def test_filters(self):
        everyone = task_ids(self.client.get(reverse("task_list"), {"who": "all", "state": "overdue"}))
        self.assertIn(self.theirs.pk, everyone)
        self.assertNotIn(self.future.pk, everyone)
        self.assertNotIn(self.undated.pk, everyone)
        done = task_ids(self.client.get(reverse("task_list"), {"state": "done"}))
        self.assertEqual(done, [self.mine[0].pk])
        weird = self.client.get(reverse("task_list"), {"who": "<script>", "state": "everything", "cursor": "%%%"})
        self.assertEqual(weird.status_code, 200)
        self.assertEqual(len(task_ids(weird)), 50)

    def test_task_list_query_count_is_constant(self):
        def count(params) -> int:
            with CaptureQueriesContext(connection) as ctx:
                self.client.get(reverse("task_list"), params)
            return len(ctx.captured_queries)

        self.client.force_login(self.carol)
        last_page = count({})  # carol's one task: the last dated page, followed by the undated run
        one_done = count({"state": "done"})
        self.client.force_login(self.bob)
        first = self.client.get(reverse("task_list")).content.decode()
        second_url = re.search(r'href="([^"]*cursor=[^"]+)"', first).group(1).replace("&amp;", "&")
        with self.assertNumQueries(last_page):
            self.client.get(second_url)  # bob's last page of 55 tasks
        with self.assertNumQueries(one_done):
            self.client.get(reverse("task_list"), {"who": "all", "state": "done"})


class CompleteTaskTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob, cls.carol, cls.mia, cls.rory = (cls.cast[n] for n in ("bob", "carol", "mia", "rory"))
        cls.contact = make_contact(None)

    def setUp(self):
        self.client.force_login(self.bob)
        self.task = services.create_task(
            actor=self.bob, title="Ring Jane", due_at=timezone.now() - datetime.timedelta(hours=1), contact=self.contact
        )
        self.url = reverse("task_complete", args=[self.task.pk])

    def test_htmx_completion_swaps_in_the_done_item(self):
        response = self.client.post(self.url, HTTP_HX_REQUEST="true")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f'class="task-item done" id="task-{self.task.pk}"')
        self.assertContains(response, "Done ")
        self.task.refresh_from_db()
        self.assertIsNotNone(self.task.completed_at)
        self.assertTrue(Touchpoint.objects.filter(contact=self.contact, kind=Kind.TASK_COMPLETED).exists())
        # A second click does nothing twice.
        self.client.post(self.url, HTTP_HX_REQUEST="true")
        self.assertEqual(Touchpoint.objects.filter(kind=Kind.TASK_COMPLETED).count(), 1)

    def test_plain_post_redirects_to_next(self):
        response = self.client.post(self.url, {"next": reverse("home")})
        self.assertRedirects(response, reverse("home"), fetch_redirect_response=False)
        response = self.client.post(self.url, {"next": "//evil.example/"})
        self.assertRedirects(response, reverse("task_list"), fetch_redirect_response=False)

    def test_others_cannot_complete_my_task(self):
        for user in (self.mia, self.rory):
            self.client.force_login(user)
            response = self.client.post(self.url)
            self.assertEqual(response.status_code, 403)
            self.assertContains(response, "Only the task&#x27;s owner or a manager can complete it.", status_code=403)
            htmx = self.client.post(self.url, HTTP_HX_REQUEST="true")
            self.assertEqual(htmx.status_code, 403)
            self.assertEqual(htmx.content.decode(), "Only the task's owner or a manager can complete it.")
        self.task.refresh_from_db()
        self.assertIsNone(self.task.completed_at)
        self.client.force_login(self.carol)  # a manager may
        self.assertEqual(self.client.post(self.url).status_code, 302)

    def test_complete_button_only_where_it_works(self):
        self.client.force_login(self.mia)
        html = self.client.get(reverse("task_list"), {"who": "all"}).content.decode()
        self.assertIn("Ring Jane", html)
        self.assertNotIn(self.url, html)

    def test_get_is_not_allowed_and_unknown_task_is_404(self):
        self.assertEqual(self.client.get(self.url).status_code, 405)
        self.assertEqual(self.client.post(reverse("task_complete", args=[999999])).status_code, 404)


class DealCountSanityTests(TestCase):
    """The home page's 'closing this month' never counts the deals table."""

    @classmethod
    def setUpTestData(cls):
        cls.bob = make_cast()["bob"]

    def test_more_than_twenty_closing_deals_show_a_plus(self):
        self.client.force_login(self.bob)
        for i in range(22):
            make_deal(None, owner=self.bob, close_date=timezone.localdate(), name=f"C{i}")
        self.assertEqual(Deal.objects.count(), 22)
        response = self.client.get(reverse("home"))
        self.assertContains(response, '<div class="value">20+</div>')
