"""The set-based recompute: fit from segment conditions, engagement with decay, max_times, caps, groups, the mirror
onto the contact and history lines only for what changed. Runs on SQLite and PostgreSQL alike."""

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from smarketing.core.models import Event
from smarketing.crm.models import Contact
from smarketing.scoring import incremental, payloads, services
from smarketing.scoring.models import ContactScore, ScoreChange
from smarketing.scoring.recompute import recompute
from smarketing.scoring.tests.helpers import SYSTEM, default_group, view
from smarketing.testing import make_company, make_contact


def score(contact, group):
    s = ContactScore.objects.filter(contact=contact, group=group).first()
    return (s.fit, s.engagement, s.total) if s else None


class RecomputeTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.group, cls.director, cls.pricing = default_group()
        big = make_company(name="Big Co", employees=5000, country="DE")
        cls.dana = make_contact(first_name="Dana", title="Sales Director", company=big)
        cls.eve = make_contact(first_name="Eve", title="Engineer")
        cls.finn = make_contact(first_name="Finn", title="Marketing director")
        view(cls.dana)
        view(cls.dana, "/pricing/enterprise")
        view(cls.eve)
        view(cls.eve, "/blog")  # not a pricing page

    def test_fit_and_engagement_are_summed_per_contact(self):
        stats = recompute()
        self.assertEqual(score(self.dana, self.group), (20, 20, 40))
        self.assertEqual(score(self.eve, self.group), (0, 10, 10))
        self.assertEqual(score(self.finn, self.group), (20, 0, 20))
        self.assertEqual(stats.changed, 3)

    def test_primary_group_is_mirrored_onto_the_contact(self):
        recompute()
        dana = Contact.objects.get(pk=self.dana.pk)
        self.assertEqual((dana.fit_score, dana.engagement_score), (20, 20))
        self.assertEqual(Contact.objects.get(pk=self.eve.pk).engagement_score, 10)

    def test_history_lines_only_for_contacts_whose_score_changed(self):
        recompute()
        fit_lines = ScoreChange.objects.filter(contact=self.dana, dimension="fit")
        self.assertEqual([c.reason for c in fit_lines], ["Rules changed: fit 0 → 20"])
        self.assertEqual(fit_lines[0].delta, 20)
        before = ScoreChange.objects.count()
        events_before = Event.objects.filter(name="contact.score_changed").count()
        stats = recompute()  # nothing changed
        self.assertEqual(stats.changed, 0)
        self.assertEqual(ScoreChange.objects.count(), before)
        self.assertEqual(Event.objects.filter(name="contact.score_changed").count(), events_before)
        services.update_rule(SYSTEM, self.director, points=35)
        recompute()
        self.assertEqual(
            list(ScoreChange.objects.filter(contact=self.dana, dimension="fit").values_list("reason", flat=True)),
            ["Rules changed: fit 20 → 35", "Rules changed: fit 0 → 20"],
        )
        self.assertFalse(ScoreChange.objects.filter(contact=self.eve, dimension="fit").exists())

    def test_a_rule_removed_brings_the_score_back_to_zero(self):
        recompute()
        services.delete_rule(SYSTEM, self.pricing)
        recompute()
        self.assertEqual(score(self.eve, self.group), (0, 0, 0))
        self.assertEqual(Contact.objects.get(pk=self.eve.pk).engagement_score, 0)

    def test_engagement_decays_with_the_half_life(self):
        services.update_group(SYSTEM, self.group, half_life_days=10)
        gus = make_contact(first_name="Gus")
        view(gus, days_ago=10)  # worth 10 × 0.5 = 5
        view(gus, days_ago=30)  # worth 10 × 0.125 = 1.25
        recompute()
        self.assertEqual(score(gus, self.group), (0, 6, 6))  # 6.25 rounds to 6

    def test_max_times_counts_the_most_recent_touches(self):
        services.update_rule(SYSTEM, self.pricing, max_times=1)
        services.update_group(SYSTEM, self.group, half_life_days=10)
        hal = make_contact(first_name="Hal")
        view(hal, days_ago=0)
        view(hal, days_ago=10)
        view(hal, days_ago=20)
        recompute()
        self.assertEqual(score(hal, self.group), (0, 10, 10))

    def test_caps_bound_each_dimension(self):
        services.update_group(SYSTEM, self.group, engagement_cap=15, fit_cap=10)
        recompute()
        self.assertEqual(score(self.dana, self.group), (10, 15, 25))

    def test_negative_points_subtract(self):
        services.create_rule(
            SYSTEM,
            self.group,
            dimension="engagement",
            name="Read the blog",
            condition={"kinds": ["page_viewed"], "url_contains": "/blog"},
            points=-50,
        )
        recompute()
        self.assertEqual(score(self.eve, self.group), (0, -40, -40))

    def test_groups_score_separately_and_only_the_primary_is_mirrored(self):
        germany = services.create_group(SYSTEM, name="Product DE", half_life_days=0)
        services.create_rule(
            SYSTEM,
            germany,
            dimension="fit",
            name="German company",
            condition={"field": "company.country", "operator": "equals", "value": "DE"},
            points=50,
        )
        services.create_rule(
            SYSTEM,
            germany,
            dimension="fit",
            name="Large company",
            condition={"field": "company.employees", "operator": "gte", "value": 1000},
            points=5,
        )
        recompute()
        self.assertEqual(score(self.dana, germany), (55, 0, 55))
        self.assertEqual(score(self.dana, self.group), (20, 20, 40))
        self.assertIsNone(score(self.eve, germany))
        self.assertEqual(Contact.objects.get(pk=self.dana.pk).fit_score, 20)

    def test_recompute_of_a_few_contacts_leaves_the_others(self):
        # Engagement up to the incremental job's cursor: what it scored is what the recompute counts.
        incremental.score_new_touches()
        recompute(contacts=[self.dana.pk])
        self.assertEqual(score(self.dana, self.group), (20, 20, 40))
        self.assertEqual(score(self.eve, self.group), (0, 10, 10))
        self.assertIsNone(score(self.finn, self.group))

    def test_events_carry_the_payload_of_the_one_function(self):
        recompute()
        event = Event.objects.filter(name="contact.score_changed", object_id=str(self.dana.pk)).get()
        self.assertEqual(event.object_type, "crm.contact")
        self.group.refresh_from_db()
        expected = payloads.score_changed(
            contact_id=self.dana.pk, email=self.dana.email, group=self.group, fit=20, engagement=20, old_total=0
        )
        self.assertEqual(event.payload, expected)
        self.assertFalse(event.payload["crossed_threshold"])

    def test_sql_payload_matches_python_payload_with_a_threshold(self):
        services.update_group(SYSTEM, self.group, mql_threshold=30)
        self.group.refresh_from_db()
        recompute()
        event = Event.objects.filter(name="contact.score_changed", object_id=str(self.dana.pk)).get()
        expected = payloads.score_changed(
            contact_id=self.dana.pk, email=self.dana.email, group=self.group, fit=20, engagement=20, old_total=0
        )
        self.assertEqual(event.payload, expected)
        self.assertTrue(event.payload["crossed_threshold"])

    def test_the_run_is_a_fixed_number_of_statements(self):
        # Set-based: the statements do not grow with the contacts (10 more contacts, same count).
        recompute()
        services.update_rule(SYSTEM, self.director, points=25)
        with CaptureQueriesContext(connection) as ctx:
            recompute()
        self.assertLess(len(ctx.captured_queries), 30)
        for i in range(10):
            make_contact(title=f"Director {i}")
            view(Contact.objects.order_by("-pk").first())
        incremental.score_new_touches()  # the cursor past the new touches, as the minute job leaves it
        services.update_rule(SYSTEM, self.director, points=30)
        with self.assertNumQueries(len(ctx.captured_queries)):
            recompute()

    def test_backend(self):
        self.assertIn(connection.vendor, ("sqlite", "postgresql"))
