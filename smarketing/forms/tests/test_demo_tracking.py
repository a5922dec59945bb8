"""The seeded visits agree with the timeline they come from (runs on SQLite and PostgreSQL)."""

from datetime import UTC, datetime

from django.db.models import Count, Sum
from django.test import TestCase

from smarketing.demo.seed import seed
from smarketing.demo.users import DEMO_PASSWORD, demo_email
from smarketing.forms.models import PageView, PageViewDaily, Visitor
from smarketing.timeline.models import Touchpoint

END = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())


class SeededVisitsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        seed(contacts=400, seed=5, end=END, demo_users=True, out=lambda line: None)

    def test_every_page_viewed_touch_is_one_page_view(self):
        touches = Touchpoint.objects.filter(kind="page_viewed")
        self.assertGreater(touches.filter(contact__isnull=False).count(), 50)
        self.assertEqual(PageView.objects.filter(contact__isnull=False).count(), touches.count())
        known = dict(PageView.objects.filter(touchpoint__isnull=False).values_list("touchpoint_id", "contact_id"))
        self.assertEqual(known, dict(touches.filter(contact__isnull=False).values_list("id", "contact_id")))
        # A view on the timeline is at the touch's time.
        view = PageView.objects.select_related("touchpoint").filter(touchpoint__isnull=False).first()
        self.assertEqual(view.occurred_at, view.touchpoint.occurred_at)
        self.assertTrue(view.url.startswith("https://"))

    def test_one_stitched_visitor_per_contact_and_anonymous_ones(self):
        per_contact = Visitor.objects.filter(contact__isnull=False).values("contact_id").annotate(n=Count("id"))
        self.assertTrue(per_contact)
        self.assertEqual({row["n"] for row in per_contact}, {1})
        strangers = Visitor.objects.filter(contact__isnull=True)
        self.assertGreater(strangers.count(), 100)
        self.assertFalse(PageView.objects.filter(visitor__in=strangers, touchpoint__isnull=False).exists())
        self.assertFalse(Visitor.objects.filter(contact__isnull=False, stitched_at__isnull=True).exists())
        self.assertEqual(Visitor.objects.values("public_id").distinct().count(), Visitor.objects.count())

    def test_the_counters_add_up_and_the_visits_page_shows_them(self):
        totals = PageViewDaily.objects.aggregate(views=Sum("views"), known=Sum("known_views"))
        self.assertEqual(totals["views"], PageView.objects.count())
        self.assertEqual(totals["known"], PageView.objects.filter(contact__isnull=False).count())
        self.client.login(username=demo_email("maya"), password=DEMO_PASSWORD)
        response = self.client.get("/tracking/?who=known")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["page"].rows)
