"""/api/v1/score-groups and /api/v1/score-changes: read-only, keyset pages, filters, fixed query counts."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from smarketing.api.tests.helpers import ApiTestCase
from smarketing.scoring import incremental, services
from smarketing.scoring.recompute import recompute
from smarketing.scoring.tests.helpers import SYSTEM, default_group, view
from smarketing.testing import make_contact


class ScoringApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.group, cls.director, cls.pricing = default_group(mql_threshold=50)
        cls.dana = make_contact(first_name="Dana", title="Director")
        cls.eve = make_contact(first_name="Eve", title="Director")
        recompute()
        view(cls.dana, summary="Viewed /pricing")
        incremental.score_new_touches()

    def test_groups_with_their_rules(self):
        body = self.get("/api/v1/score-groups", token=self.tokens["rory"]).json()
        [group] = body["results"]
        self.assertEqual((group["name"], group["is_primary"], group["mql_threshold"]), ("Default", True, 50))
        self.assertEqual({r["name"]: r["points"] for r in group["rules"]}, {"Director": 20, "Viewed pricing": 10})
        fit = next(r for r in group["rules"] if r["dimension"] == "fit")
        self.assertEqual(fit["condition"]["rules"][0]["field"], "title")

    def test_a_contacts_history_newest_first(self):
        token = self.tokens["bob"]
        body = self.get(f"/api/v1/score-changes?contact={self.dana.pk}&ordering=-occurred_at", token=token).json()
        reasons = [(c["delta"], c["reason"]) for c in body["results"]]
        self.assertEqual(reasons[0][0], 10)
        self.assertTrue(reasons[0][1].startswith("Viewed /pricing on "))
        self.assertEqual(reasons[1], (20, "Rules changed: fit 0 → 20"))
        self.assertEqual(body["results"][0]["rule"], self.pricing.pk)
        self.assertEqual({c["contact"] for c in body["results"]}, {self.dana.pk})

    def test_pages_and_query_counts_do_not_grow(self):
        token = self.tokens["alice"]
        self.get("/api/v1/score-changes?limit=1", token=token)  # the token's first use is recorded once
        with CaptureQueriesContext(connection) as first:
            page = self.get("/api/v1/score-changes?limit=2", token=token).json()
        self.assertEqual(len(page["results"]), 2)
        self.assertIsNotNone(page["next"])
        for i in range(20):
            services.adjust_score(self.eve, points=1, reason=f"n{i}", actor=SYSTEM, origin="api")
        with self.assertNumQueries(len(first.captured_queries)):
            page = self.get("/api/v1/score-changes?limit=50", token=token).json()
        self.assertEqual(len(page["results"]), 23)
        with CaptureQueriesContext(connection) as groups:
            self.get("/api/v1/score-groups", token=token)
        services.create_group(SYSTEM, name="Product B", half_life_days=0)
        with self.assertNumQueries(len(groups.captured_queries)):
            self.get("/api/v1/score-groups", token=token)

    def test_read_only_and_signed_in(self):
        response = self.post("/api/v1/score-groups", {"name": "X"}, token=self.tokens["alice"])
        self.assertEqual(response.status_code, 405)
        self.assertEqual(self.client.get("/api/v1/score-changes").status_code, 401)
        response = self.get("/api/v1/score-changes?dimension=nope", token=self.tokens["alice"])
        self.assertEqual(response.status_code, 400)
