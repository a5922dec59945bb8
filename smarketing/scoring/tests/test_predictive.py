"""Predictive scoring: training on won/lost history, held-out AUC, scores and factors in words, the job, the
page, the contact card and the API."""

import random
from datetime import timedelta

import pytest
from django.test import TestCase, TransactionTestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.core.models import Origin
from smarketing.crm import services as crm
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Stage
from smarketing.jobs.testing import WorkerPool
from smarketing.scoring.models import ModelStatus, PredictiveModel, PredictiveScore
from smarketing.scoring.predictive import features as F
from smarketing.scoring.predictive.score import score_all
from smarketing.scoring.predictive.train import train
from smarketing.testing import PASSWORD, make_cast, make_company, make_contact, make_deal
from smarketing.timeline.kinds import is_declared
from smarketing.timeline.services import record_touches


def close(deal, outcome: str, at):
    stage = default_pipeline().stages.get(outcome=outcome)
    reason = "" if outcome == Stage.Outcome.WON else "Went with a competitor"
    crm.move_deal_stage(deal, stage, actor=system_actor(Origin.SYSTEM), reason=reason, at=at)


def page_views(contact, urls_and_days, now):
    record_touches(
        {
            "kind": "page_viewed",
            "contact": contact,
            "occurred_at": now - timedelta(days=days, hours=1),
            "summary": f"Viewed {url}",
            "details": {"url": f"https://example.com{url}"},
        }
        for url, days in urls_and_days
    )


def history(n: int, *, separable: bool, seed: int) -> dict:
    """`n` contacts, each on one deal closed yesterday; half won. With `separable`, won contacts viewed /pricing
    2-4 times before the close and lost ones never did, everything else being the same mix; without, the deal
    outcome is a coin toss independent of what the contacts did."""
    rng = random.Random(seed)
    now = timezone.now()
    closed_at = now - timedelta(days=1)
    companies = [make_company(industry=i, employees=e) for i, e in (("Software", 800), ("Retail", 20))]
    contacts = {"won": [], "lost": []}
    for i in range(n):
        won = i % 2 == 0
        title = rng.choice(["VP Sales", "Marketing Manager", "Analyst"])
        contact = make_contact(title=title, company=rng.choice(companies))
        visits = rng.randint(2, 4)
        others = rng.randint(0, 3)
        if separable:
            urls = ["/pricing"] * visits if won else ["/blog/post"] * visits
        else:
            urls = [rng.choice(["/pricing", "/blog/post"]) for _ in range(visits)]
            won = rng.random() < 0.5
        page_views(contact, [(u, rng.randint(2, 60)) for u in urls + ["/features"] * others], now)
        deal = make_deal(contacts=[contact])
        close(deal, Stage.Outcome.WON if won else Stage.Outcome.LOST, closed_at)
        contacts["won" if won else "lost"].append(contact)
    return contacts


class KindsTests(TestCase):
    def test_every_kind_the_features_read_is_declared(self):
        self.assertEqual([k for k in F.ACTIVITY_KINDS if not is_declared(k)], [])
        for kinds, _url in F.COUNTS.values():
            self.assertLessEqual(set(kinds), set(F.ACTIVITY_KINDS))


@override_settings(PREDICTIVE_MIN_OUTCOMES=30)
class InsufficientHistoryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        now = timezone.now()
        both = make_contact()
        close(make_deal(contacts=[both]), Stage.Outcome.LOST, now - timedelta(days=20))
        close(make_deal(contacts=[both]), Stage.Outcome.WON, now - timedelta(days=2))
        lost = make_contact()
        close(make_deal(contacts=[lost]), Stage.Outcome.LOST, now - timedelta(days=3))
        make_deal(contacts=[make_contact()])  # open: no outcome yet

    def test_too_little_history_is_stored_in_words_and_never_becomes_active(self):
        model = train()

        self.assertEqual(model.status, ModelStatus.INSUFFICIENT)
        self.assertFalse(model.active)
        # The contact with a won and a lost deal counts as won.
        self.assertEqual((model.won_count, model.lost_count), (1, 1))
        self.assertEqual(
            model.message,
            "1 contact on won deals and 1 on lost deals so far; predictive scoring needs at least 30 of each.",
        )
        self.assertIsNone(model.auc)
        self.assertEqual(score_all(), 0, "no active model: nothing is scored")


@override_settings(PREDICTIVE_MIN_OUTCOMES=30)
class SeparableHistoryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.contacts = history(120, separable=True, seed=1)
        cls.previous = PredictiveModel.objects.create(status=ModelStatus.TRAINED, active=True, auc=0.6)

    def test_the_separating_feature_gives_a_high_held_out_auc_and_is_the_top_factor(self):
        model = train()

        self.assertEqual(model.status, ModelStatus.TRAINED, model.message)
        self.assertTrue(model.active)
        self.previous.refresh_from_db()
        self.assertFalse(self.previous.active, "the new model replaced the old one")
        self.assertEqual((model.won_count, model.lost_count), (60, 60))
        self.assertGreater(model.auc, 0.8)
        strongest = max(model.parameters["features"], key=lambda f: abs(f["coef"]))
        self.assertEqual(strongest["name"], "pricing_views")
        self.assertGreater(strongest["coef"], 0)
        # Plain numbers, not a pickle: everything is JSON.
        for feature in model.parameters["features"]:
            self.assertEqual({type(feature[k]) for k in ("mean", "scale", "coef")}, {float}, feature["name"])

        scored = score_all(model)

        contacts = self.contacts["won"] + self.contacts["lost"]
        self.assertGreaterEqual(scored, len(contacts))
        scores = {s.contact_id: s for s in PredictiveScore.objects.filter(model=model)}
        self.assertEqual(set(scores), {c.pk for c in contacts} | set(scores))
        self.assertEqual(len(scores), scored, "every contact has one score row")
        won = scores[self.contacts["won"][0].pk]
        lost = scores[self.contacts["lost"][0].pk]
        self.assertGreater(won.probability, 0.5)
        self.assertLess(lost.probability, 0.5)
        self.assertEqual(len(won.factors), 3)
        self.assertRegex(won.factors[0]["label"], r"^Viewed pricing [2-4] times in 90 days$")
        self.assertGreater(won.factors[0]["effect"], 0)
        self.assertEqual(lost.factors[0]["label"], "Did not view pricing in 90 days")
        self.assertLess(lost.factors[0]["effect"], 0)
        model.refresh_from_db()
        self.assertEqual(model.scored_count, scored)

    def test_scores_match_scikit_learn_from_the_stored_numbers(self):
        import numpy as np

        model = train()
        features = [F.Feature.from_dict(f) for f in model.parameters["features"]]
        _ids, _y, raw = F.training_data(features)
        x = F.model_inputs(raw, features)
        mean = np.array([f["mean"] for f in model.parameters["features"]])
        scale = np.array([f["scale"] for f in model.parameters["features"]])
        coef = np.array([f["coef"] for f in model.parameters["features"]])
        logit = model.parameters["intercept"] + ((x - mean) / scale) @ coef
        from smarketing.scoring.predictive.score import Scorer

        scorer = Scorer(model)
        np.testing.assert_allclose(scorer.probabilities(scorer.effects(raw)), 1 / (1 + np.exp(-logit)))


@override_settings(PREDICTIVE_MIN_OUTCOMES=30)
class RandomLabelTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        history(200, separable=False, seed=7)

    def test_labels_that_nothing_predicts_give_an_auc_near_one_half(self):
        # Won contacts become customers and get a "deal won" touch: features that leaked the outcome would show.
        model = train()

        self.assertEqual(model.status, ModelStatus.TRAINED, model.message)
        self.assertGreater(model.auc, 0.3)
        self.assertLess(model.auc, 0.7)


@pytest.mark.worker
@override_settings(PREDICTIVE_MIN_OUTCOMES=5)
class RetrainJobTests(TransactionTestCase):
    def test_the_periodic_retrain_runs_in_a_real_worker_and_scores_every_contact(self):
        from smarketing.jobs.periodic import discover

        self.assertIn("smarketing.scoring.predictive.tasks.retrain_predictive_model", discover())
        contacts = history(16, separable=True, seed=3)

        with WorkerPool(1, env={"PREDICTIVE_MIN_OUTCOMES": "5"}) as pool:
            pool.wait(timeout=120)

        model = PredictiveModel.objects.get()
        self.assertEqual(model.status, ModelStatus.TRAINED, model.message)
        self.assertTrue(model.active)
        ids = {c.pk for c in contacts["won"] + contacts["lost"]}
        self.assertEqual(set(PredictiveScore.objects.filter(model=model).values_list("contact_id", flat=True)), ids)
        self.assertEqual(model.scored_count, len(ids))


@override_settings(PREDICTIVE_MIN_OUTCOMES=5)
class PageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.contacts = history(16, separable=True, seed=5)
        cls.model = train()
        score_all(cls.model)

    def login(self, name):
        self.client.login(email=f"{name}@example.com", password=PASSWORD)

    def test_admins_see_the_model_its_auc_in_words_its_features_and_the_runs(self):
        self.login("alice")
        with self.assertNumQueries(5):
            response = self.client.get(reverse("scoring:predictive"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f"{self.model.auc:.2f}")
        self.assertContains(response, "at telling likely winners apart")
        self.assertContains(response, "Pricing page views (90 days)")
        self.assertContains(response, "Retrain now")
        self.assertContains(response, 'data-chart="features"')
        self.assertContains(response, "Most likely to win")
        self.assertContains(response, "Training runs")
        self.assertContains(response, reverse("scoring:predictive"))  # in the navigation

    def test_the_query_count_does_not_grow_with_runs_or_scores(self):
        self.login("carol")
        for _ in range(3):
            train()
        with self.assertNumQueries(5):
            response = self.client.get(reverse("scoring:predictive"))
        self.assertNotContains(response, "Retrain now", msg_prefix="managers see the page, admins retrain")

    def test_members_and_read_only_users_cannot_open_the_page(self):
        for name in ("bob", "mia", "rory"):
            self.login(name)
            self.assertEqual(self.client.get(reverse("scoring:predictive")).status_code, 403, name)
            self.assertNotContains(self.client.get(reverse("home")), reverse("scoring:predictive"))

    def test_retrain_now_enqueues_the_job_for_admins_only(self):
        from django_tasks_db.models import DBTaskResult

        self.login("carol")
        self.assertEqual(self.client.post(reverse("scoring:predictive_retrain")).status_code, 403)
        self.assertFalse(DBTaskResult.objects.exists())
        self.login("alice")
        response = self.client.post(reverse("scoring:predictive_retrain"))
        self.assertRedirects(response, reverse("scoring:predictive"))
        job = DBTaskResult.objects.get()
        self.assertEqual(job.task_path, "smarketing.scoring.predictive.tasks.retrain_predictive_model")
        self.assertEqual(job.args_kwargs["args"], [self.cast["alice"].pk])

    def test_members_see_a_contact_s_probability_and_factors_in_words(self):
        contact = self.contacts["won"][0]
        score = PredictiveScore.objects.get(contact=contact)
        self.login("bob")
        page = self.client.get(reverse("contact_detail", args=[contact.pk]))
        self.assertContains(page, f'hx-get="{reverse("scoring:predictive_contact", args=[contact.pk])}"')
        with self.assertNumQueries(4):
            card = self.client.get(reverse("scoring:predictive_contact", args=[contact.pk]), HTTP_HX_REQUEST="true")
        self.assertContains(card, f"{round(score.probability * 100)} %")
        self.assertContains(card, score.factors[0]["label"])
        self.assertRegex(card.content.decode(), r"Viewed pricing [2-4] times in 90 days: <strong[^>]*>\+\d\.\d\d")

    def test_the_card_is_honest_before_there_is_a_model(self):
        PredictiveModel.objects.update(active=False)
        PredictiveModel.objects.create(status=ModelStatus.INSUFFICIENT, message="3 contacts on won deals and ...")
        contact = make_contact()
        self.login("rory")
        card = self.client.get(reverse("scoring:predictive_contact", args=[contact.pk]))
        self.assertContains(card, "No predictive score yet. 3 contacts on won deals and ...")


class EmptyPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_no_runs_and_not_enough_history_are_said_plainly(self):
        self.client.login(email="alice@example.com", password=PASSWORD)
        response = self.client.get(reverse("scoring:predictive"))
        self.assertContains(response, "No model trained yet")
        with override_settings(PREDICTIVE_MIN_OUTCOMES=30):
            train()
        response = self.client.get(reverse("scoring:predictive"))
        self.assertContains(response, "Not enough history")
        missing = "0 contacts on won deals and 0 on lost deals so far; predictive scoring needs at least 30 of each."
        self.assertContains(response, missing)
        self.assertNotContains(response, "What predicts a win")


@override_settings(PREDICTIVE_MIN_OUTCOMES=5)
class ApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        history(12, separable=True, seed=9)
        cls.first = train()
        with override_settings(PREDICTIVE_MIN_OUTCOMES=500):
            cls.second = train()

    def test_list_and_latest(self):
        token = self.tokens["carol"]
        with self.assertNumQueries(3):
            response = self.get("/api/v1/predictive-models", token=token)
        self.assertEqual(response.status_code, 200, response.content)
        results = response.json()["results"]
        self.assertEqual([r["id"] for r in results], [self.second.pk, self.first.pk])
        trained = results[1]
        self.assertEqual(trained["status"], "trained")
        self.assertTrue(trained["active"])
        self.assertAlmostEqual(trained["auc"], self.first.auc)
        names = [f["name"] for f in trained["parameters"]["features"]]
        self.assertIn("pricing_views", names)
        self.assertIsNone(results[0]["parameters"])
        self.assertEqual(results[0]["status"], "insufficient")
        latest = self.get("/api/v1/predictive-models/latest", token=token).json()
        self.assertEqual(latest["id"], self.second.pk)
        one = self.get(f"/api/v1/predictive-models/{self.first.pk}", token=token).json()
        self.assertEqual(one["auc"], trained["auc"])

    def test_members_get_a_403_problem(self):
        self.assertProblem(self.get("/api/v1/predictive-models", token=self.tokens["bob"]), 403)
        self.assertProblem(self.get("/api/v1/predictive-models/latest", token=self.tokens["mia"]), 403)
