"""Scoring new touches as they arrive (the periodic job, run for real by a worker), its crash safety, the daily
decay and the outbox consumer that rescores a contact's fit when the contact changes."""

from datetime import timedelta
from unittest import mock

from django.test import TestCase, TransactionTestCase
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from smarketing.crm import services as crm_services
from smarketing.crm.models import Contact
from smarketing.jobs import outbox
from smarketing.jobs.testing import WorkerPool
from smarketing.scoring import incremental, services
from smarketing.scoring.models import ChangeSource, ContactScore, ScoreChange, ScoringState
from smarketing.scoring.recompute import recompute
from smarketing.scoring.tests.helpers import SYSTEM, default_group, view
from smarketing.testing import ensure_defaults, make_contact


def engagement(contact, group):
    return ContactScore.objects.get(contact=contact, group=group).engagement


class IncrementalTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.group, cls.director, cls.pricing = default_group()
        cls.dana = make_contact(first_name="Dana", title="Director of Sales")
        recompute()
        incremental.score_new_touches()  # the cursor starts after what the recompute already counted

    def test_each_scored_touch_gets_its_own_history_line(self):
        touch = view(self.dana, summary="Viewed /pricing")
        lines = incremental.score_new_touches()
        self.assertEqual(lines, 1)
        line = ScoreChange.objects.get(touchpoint=touch)
        day = timezone.localtime(touch.occurred_at).strftime("%-d %b")
        self.assertEqual(str(line), f"+10: Viewed /pricing on {day}")
        self.assertEqual((line.rule_id, line.source, line.score_after), (self.pricing.pk, ChangeSource.RULE, 10))
        self.assertEqual(engagement(self.dana, self.group), 10)
        self.assertEqual(Contact.objects.get(pk=self.dana.pk).engagement_score, 10)
        view(self.dana, "/blog")  # matches no rule
        self.assertEqual(incremental.score_new_touches(), 0)

    def test_a_replay_scores_nothing_twice(self):
        view(self.dana)
        view(self.dana)
        incremental.score_new_touches()
        ScoringState.objects.filter(pk=1).update(last_touchpoint_id=0)  # as if the cursor had not moved
        self.assertEqual(incremental.score_new_touches(), 0)
        self.assertEqual(engagement(self.dana, self.group), 20)

    def test_a_crash_mid_window_rolls_back_lines_and_cursor_together(self):
        view(self.dana)
        cursor = ScoringState.objects.get(pk=1).last_touchpoint_id
        with mock.patch("smarketing.scoring.recompute.apply_diff", side_effect=RuntimeError("power cut")):
            with self.assertRaises(RuntimeError):
                incremental.score_new_touches()
        self.assertEqual(ScoringState.objects.get(pk=1).last_touchpoint_id, cursor)
        self.assertFalse(ScoreChange.objects.filter(source=ChangeSource.RULE).exists())
        self.assertEqual(incremental.score_new_touches(), 1)

    def test_max_times_and_the_cap_stop_the_points(self):
        services.update_rule(SYSTEM, self.pricing, max_times=2)
        recompute()
        for _ in range(3):
            view(self.dana)
        self.assertEqual(incremental.score_new_touches(), 2)
        self.assertEqual(engagement(self.dana, self.group), 20)
        services.update_group(SYSTEM, self.group, engagement_cap=25)
        services.update_rule(SYSTEM, self.pricing, max_times=None)
        view(self.dana)
        incremental.score_new_touches()
        self.assertEqual(engagement(self.dana, self.group), 25)
        self.assertEqual(ScoreChange.objects.filter(source=ChangeSource.RULE).last().delta, 10)
        self.assertEqual(ScoreChange.objects.filter(source=ChangeSource.RULE).first().delta, 5)

    def test_decay_writes_one_aggregate_line_per_contact_once_a_day(self):
        services.update_group(SYSTEM, self.group, half_life_days=10)
        recompute()
        view(self.dana, days_ago=0)
        view(self.dana, days_ago=0)
        incremental.score_new_touches()
        self.assertEqual(engagement(self.dana, self.group), 20)
        stats = incremental.apply_decay(now=timezone.now() + timedelta(days=10))
        self.assertEqual(stats.changed, 1)
        self.assertEqual(engagement(self.dana, self.group), 10)
        line = ScoreChange.objects.filter(source=ChangeSource.DECAY).get()
        self.assertEqual(str(line), "-10: engagement decays over time")
        again = incremental.apply_decay(now=timezone.now() + timedelta(days=10))
        self.assertEqual(again.changed, 0)

    def test_fit_follows_the_contact_through_the_outbox(self):
        outbox.run_consumer(incremental.CONSUMER, wait=True)
        eve = make_contact(first_name="Eve", title="Engineer")
        crm_services.update_record(eve, actor=SYSTEM, data={"title": "Engineering Director"})
        outbox.run_consumer(incremental.CONSUMER, wait=True)
        self.assertEqual(ContactScore.objects.get(contact=eve, group=self.group).fit, 20)
        self.assertEqual(ScoreChange.objects.get(contact=eve, dimension="fit").reason, "Contact changed: fit 0 → 20")


class WorkerTests(TransactionTestCase):
    def setUp(self):
        ensure_defaults()

    def test_the_periodic_job_scores_new_touches_in_a_real_worker(self):
        group, _, pricing = default_group()
        dana = make_contact(first_name="Dana")
        recompute()  # what the rule edits' recompute job would do; it counted no touch yet
        DBTaskResult.objects.all().delete()
        # Today's decay has run (else the worker's first decay run, a full recompute, could count them first).
        ScoringState.objects.filter(pk=1).update(decayed_on=timezone.localdate())
        touches = [view(dana), view(dana, "/pricing/team")]
        with WorkerPool(1) as pool:
            pool.wait()
        lines = ScoreChange.objects.filter(touchpoint__in=touches, rule=pricing)
        self.assertEqual(lines.count(), 2, pool.logs())
        self.assertEqual(engagement(dana, group), 20)
        self.assertGreaterEqual(ScoringState.objects.get(pk=1).last_touchpoint_id, touches[-1].pk)
