"""Crossing a group's MQL threshold moves a contact to MQL through crm's lifecycle service, with the reason, once."""

from django.test import TestCase

from smarketing.core.models import Origin
from smarketing.crm import services as crm_services
from smarketing.crm.models import Contact, LifecycleChange
from smarketing.scoring import incremental, services
from smarketing.scoring.recompute import recompute
from smarketing.scoring.tests.helpers import SYSTEM, default_group, view
from smarketing.segments import services as segment_services
from smarketing.testing import make_contact


def stage(contact):
    return Contact.objects.get(pk=contact.pk).lifecycle_stage


class MqlTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.group, cls.director, cls.pricing = default_group(mql_threshold=30)
        cls.dana = make_contact(first_name="Dana", title="Director", lifecycle_stage="lead")
        cls.sam = make_contact(first_name="Sam", title="Director", lifecycle_stage="sql")
        recompute()
        incremental.score_new_touches()

    def test_crossing_the_threshold_makes_an_mql_with_the_reason(self):
        self.assertEqual(stage(self.dana), "lead")  # 20 < 30
        view(self.dana)
        incremental.score_new_touches()
        self.assertEqual(stage(self.dana), "mql")
        change = LifecycleChange.objects.get(contact=self.dana, to_stage="mql")
        self.assertEqual(change.reason, "Score 30 reached the MQL threshold 30 of 'Default'")
        self.assertEqual(change.origin, Origin.SYSTEM)

    def test_only_once_and_never_downwards(self):
        view(self.dana)
        view(self.sam)
        incremental.score_new_touches()
        # Sales recycles her to lead; more points above the threshold do not make her an MQL again.
        crm_services.change_lifecycle_stage(
            Contact.objects.get(pk=self.dana.pk), "lead", actor=SYSTEM, reason="Not ready", allow_backward=True
        )
        view(self.dana)
        incremental.score_new_touches()
        recompute()
        self.assertEqual(stage(self.dana), "lead")
        self.assertEqual(LifecycleChange.objects.filter(contact=self.dana, to_stage="mql").count(), 1)
        self.assertEqual(stage(self.sam), "sql")  # already past MQL: untouched

    def test_an_adjustment_can_cross_the_threshold(self):
        change = services.adjust_score(self.dana, points=15, reason="Met at the fair", actor=SYSTEM, origin=Origin.UI)
        self.assertEqual(str(change), "+15: Met at the fair")
        self.assertEqual(stage(self.dana), "mql")
        # Adjustments survive a recompute (summed in with the rules).
        recompute()
        self.assertEqual(Contact.objects.get(pk=self.dana.pk).engagement_score, 15)

    def test_the_mql_segment_must_match_too(self):
        segment = segment_services.create_segment(
            SYSTEM,
            name="Germany",
            definition={"op": "and", "rules": [{"field": "company.country", "operator": "equals", "value": "DE"}]},
        )
        services.update_group(SYSTEM, self.group, mql_segment=segment.pk)
        view(self.dana)
        incremental.score_new_touches()
        self.assertEqual(stage(self.dana), "lead")

    def test_a_rule_change_that_lifts_many_moves_them_in_one_recompute(self):
        eve = make_contact(first_name="Eve", title="Director")
        services.update_rule(SYSTEM, self.director, points=40)
        stats = recompute()
        self.assertEqual(stats.mql, 2)  # Dana and Eve; Sam is past MQL
        self.assertEqual(stage(eve), "mql")
