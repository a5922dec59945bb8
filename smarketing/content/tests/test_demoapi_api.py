"""/api/v1/assets and /api/v1/messages: lists in a fixed number of queries, writes through the services, the review
transitions and who may make them (a read-only token or user never; an owner never approves their own)."""

from smarketing.api import tokens
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.content import guide, services
from smarketing.content.models import Asset, Message, Persona, Product, Review
from smarketing.crm.defaults import default_pipeline
from smarketing.testing import ensure_defaults


def _make_asset(owner, n: int, **fields):
    fields.setdefault("asset_type", "one_pager")
    return services.create_asset(owner, title=f"Asset {n}", url=f"https://example.com/{n}", **fields)


class AssetApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        super().setUpTestData()
        stages = list(default_pipeline().stages.order_by("position"))
        cls.first, cls.last = stages[0], stages[4]
        cls.cfo = Persona.objects.create(name="CFO", title_keywords="cfo")
        cls.it = Persona.objects.create(name="IT", title_keywords="cto")
        cls.product = Product.objects.create(name="Platform")
        cls.asset = services.create_asset(
            cls.mia,
            title="Pricing one-pager",
            asset_type="one_pager",
            url="https://example.com/pricing",
            deal_stages=[cls.last],
            personas=[cls.cfo],
            products=[cls.product],
            funnel_stages=["opportunity", "sql"],
            reviewers=[cls.carol],
        )
        cls.read_token = tokens.create_token(cls.carol, name="read", scope="read")[1]

    def test_list_is_the_whole_library_in_a_fixed_number_of_queries(self):
        self.get("/api/v1/assets", self.tokens["bob"])  # the token's last_used_at is written once a minute
        with self.assertNumQueries(7) as one:  # token, page, stages, personas, products, reviewers, funnel stages
            response = self.get("/api/v1/assets", self.tokens["bob"])
        queries = len(one.captured_queries)  # now: the next request resets the connection's query log
        self.assertEqual(response.status_code, 200, response.content)
        [row] = response.json()["results"]
        self.assertEqual(
            (row["title"], row["status"], row["shareable"], row["owner"]),
            ("Pricing one-pager", "draft", False, self.mia.pk),
        )
        self.assertEqual((row["deal_stages"], row["personas"], row["products"]), ([self.last.pk], [self.cfo.pk],
                                                                                 [self.product.pk]))  # fmt: skip
        self.assertEqual(row["funnel_stages"], ["sql", "opportunity"])  # funnel order
        self.assertEqual(row["reviewers"], [self.carol.pk])
        self.assertIsNone(row["published_version"])
        for n in range(4):
            _make_asset(self.alice, n, deal_stages=[self.first], personas=[self.it], reviewers=[self.carol])
        self.get("/api/v1/assets", self.tokens["rory"])
        with self.assertNumQueries(queries):
            response = self.get("/api/v1/assets", self.tokens["rory"])  # read-only users read the library too
        self.assertEqual(len(response.json()["results"]), 5)

    def test_filters_ordering_and_pages(self):
        for n in range(3):
            _make_asset(self.alice, n, asset_type="case_study", deal_stages=[self.first], funnel_stages=["mql"])
        cases = {
            "status=draft": 4,
            "asset_type=case_study": 3,
            f"deal_stage={self.last.pk}": 1,
            f"persona={self.cfo.pk}": 1,
            f"product={self.product.pk}": 1,
            "funnel_stage=mql": 3,
            "funnel_stage=sql": 1,
            f"owner={self.mia.pk}": 1,
            "q=pricing": 1,
            f"deal_stage={self.first.pk}&funnel_stage=mql": 3,
        }
        for query, expected in cases.items():
            with self.subTest(query):
                response = self.get(f"/api/v1/assets?{query}", self.tokens["bob"])
                self.assertEqual(len(response.json()["results"]), expected, response.content)
        titles = [r["title"] for r in self.get("/api/v1/assets?ordering=title", self.tokens["bob"]).json()["results"]]
        self.assertEqual(titles, sorted(titles))
        page = self.get("/api/v1/assets?limit=2", self.tokens["bob"]).json()
        self.assertEqual(len(page["results"]), 2)
        rest = self.client.get(page["next"], HTTP_AUTHORIZATION=f"Bearer {self.tokens['bob']}").json()
        self.assertEqual(len(rest["results"]), 2)
        self.assertProblem(self.get("/api/v1/assets?status=nope", self.tokens["bob"]), 400, "status")
        self.assertProblem(self.get("/api/v1/assets?deal_stage=", self.tokens["bob"]), 400, "deal_stage")

    def test_create_a_url_asset_and_change_its_metadata(self):
        body = {
            "title": "Product tour",
            "asset_type": "video",
            "url": "https://video.example.com/tour",
            "note": "First cut",
            "deal_stages": [self.first.pk],
            "personas": [self.it.pk],
            "funnel_stages": ["lead"],
            "reviewers": [self.carol.pk],
            "expires_on": "2031-01-31",
        }
        response = self.post("/api/v1/assets", body, self.tokens["mia"])
        self.assertEqual(response.status_code, 201, response.content)
        created = response.json()
        self.assertEqual(response["Location"], f"/api/v1/assets/{created['id']}")
        self.assertEqual((created["status"], created["owner"], created["expires_on"]), ("draft", self.mia.pk,
                                                                                        "2031-01-31"))  # fmt: skip
        [version] = created["versions"]
        self.assertEqual((version["number"], version["url"], version["note"], version["is_file"]),
                         (1, "https://video.example.com/tour", "First cut", False))  # fmt: skip
        asset = Asset.objects.get(pk=created["id"])
        self.assertEqual(list(asset.deal_stages.all()), [self.first])
        pk = created["id"]
        self.assertProblem(self.patch(f"/api/v1/assets/{pk}", {"title": "Mine now"}, self.tokens["bob"]), 403)
        response = self.patch(
            f"/api/v1/assets/{pk}", {"title": "Product tour (3 min)", "personas": [self.cfo.pk, self.it.pk]},
            self.tokens["mia"],
        )  # fmt: skip
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["title"], "Product tour (3 min)")
        self.assertEqual(sorted(response.json()["personas"]), sorted([self.cfo.pk, self.it.pk]))
        self.assertEqual(response.json()["deal_stages"], [self.first.pk])  # untouched
        # Refused with the field named: an unknown id, a script URL, an unknown field, a number as a string.
        self.assertProblem(self.post("/api/v1/assets", {**body, "deal_stages": [999999]}, self.tokens["mia"]), 400,
                           "deal_stages")  # fmt: skip
        self.assertProblem(
            self.post("/api/v1/assets", {**body, "url": "javascript:alert(1)"}, self.tokens["mia"]), 400, "url"
        )
        self.assertProblem(self.post("/api/v1/assets", {**body, "file": "x"}, self.tokens["mia"]), 400, "file")
        self.assertProblem(self.post("/api/v1/assets", {**body, "personas": ["1"]}, self.tokens["mia"]), 400)
        self.assertProblem(self.post("/api/v1/assets", {**body, "reviewers": [self.rory.pk]}, self.tokens["mia"]),
                           400, "reviewers")  # fmt: skip
        # Nobody read-only writes: not a read-only user, not a read-scoped token.
        self.assertProblem(self.post("/api/v1/assets", body, self.tokens["rory"]), 403)
        self.assertProblem(self.post("/api/v1/assets", body, self.read_token), 403)
        self.assertProblem(self.patch(f"/api/v1/assets/{pk}", {"title": "x"}, self.read_token), 403)
        self.assertEqual(Asset.objects.count(), 2)

    def test_review_transitions_and_who_may_make_them(self):
        path = f"/api/v1/assets/{self.asset.pk}"
        self.assertProblem(self.post(f"{path}/approve", {}, self.tokens["carol"]), 400)  # nothing submitted yet
        self.assertProblem(self.post(f"{path}/submit", None, self.tokens["bob"]), 403)  # not bob's
        response = self.post(f"{path}/submit", None, self.tokens["mia"])
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(
            (response.json()["status"], response.json()["versions"][0]["status"]), ("in_review", "in_review")
        )
        # The owner cannot approve their own asset, a colleague who is no reviewer cannot, a read-only token cannot.
        self.assertProblem(self.post(f"{path}/approve", {}, self.tokens["mia"]), 403)
        self.assertProblem(self.post(f"{path}/approve", {}, self.tokens["bob"]), 403)
        self.assertProblem(self.post(f"{path}/approve", {}, self.read_token), 403)
        self.assertProblem(self.post(f"{path}/approve", {}, self.tokens["rory"]), 403)
        self.assertProblem(self.post(f"{path}/request-changes", {}, self.tokens["carol"]), 400, "comment")
        response = self.post(f"{path}/request-changes", {"comment": "Add the annual price"}, self.tokens["carol"])
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["status"], "draft")
        self.assertEqual(response.json()["versions"][0]["status"], "changes_requested")
        self.post(f"{path}/submit", None, self.tokens["mia"])
        response = self.post(f"{path}/approve", {"comment": "Good to go"}, self.tokens["carol"])
        self.assertEqual(response.status_code, 200, response.content)
        data = response.json()
        self.assertEqual((data["status"], data["shareable"], data["approved_by"]), ("approved", True, self.carol.pk))
        self.assertEqual(data["published_version"]["number"], 1)
        self.assertEqual([(r["decision"], r["reviewer"]) for r in data["reviews"]],
                         [("approved", self.carol.pk), ("changes_requested", self.carol.pk)])  # fmt: skip
        self.assertProblem(self.post(f"{path}/approve", {}, self.tokens["carol"]), 400)  # decided already
        self.assertProblem(self.post(f"{path}/retire", None, self.tokens["bob"]), 403)
        self.assertEqual(self.post(f"{path}/retire", None, self.tokens["mia"]).json()["status"], "retired")
        self.assertEqual(self.post(f"{path}/retire", None, self.tokens["mia"]).status_code, 200)  # twice: no change
        self.assertEqual(self.post(f"{path}/restore", None, self.tokens["mia"]).json()["status"], "approved")
        self.assertProblem(self.post("/api/v1/assets/999999/approve", {}, self.tokens["carol"]), 404)

    def test_a_new_version_waits_in_review_while_the_approved_one_is_served(self):
        path = f"/api/v1/assets/{self.asset.pk}"
        self.post(f"{path}/submit", None, self.tokens["mia"])
        self.post(f"{path}/approve", {}, self.tokens["carol"])
        services.add_version(self.asset, self.mia, url="https://example.com/pricing-2026", note="New prices")
        data = self.post(f"{path}/submit", None, self.tokens["mia"]).json()
        self.assertEqual(data["status"], "approved")  # still shareable
        self.assertEqual([(v["number"], v["status"]) for v in data["versions"]], [(2, "in_review"), (1, "approved")])
        self.assertEqual(data["published_version"]["number"], 1)
        data = self.post(f"{path}/approve", {}, self.tokens["carol"]).json()
        self.assertEqual([(v["number"], v["status"]) for v in data["versions"]], [(2, "approved"), (1, "superseded")])
        self.assertEqual(data["published_version"]["url"], "https://example.com/pricing-2026")

    def test_only_an_admin_lets_an_owner_approve_their_own(self):
        path = f"/api/v1/assets/{self.asset.pk}"
        self.assertProblem(self.patch(path, {"allow_self_approval": True}, self.tokens["mia"]), 403)
        self.assertTrue(
            self.patch(path, {"allow_self_approval": True}, self.tokens["alice"]).json()["allow_self_approval"]
        )
        self.post(f"{path}/submit", None, self.tokens["mia"])
        self.assertEqual(self.post(f"{path}/approve", {}, self.tokens["mia"]).json()["status"], "approved")
        self.assertEqual(Review.objects.get(asset=self.asset).reviewer, self.mia)


class MessageApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        super().setUpTestData()
        cls.stage = default_pipeline().stages.order_by("position")[4]
        cls.cfo = Persona.objects.create(name="CFO", title_keywords="cfo")
        cls.message = guide.create_message(
            cls.mia,
            kind="objection",
            title="It's too expensive",
            body="Compare with the three tools it replaces.",
            personas=[cls.cfo],
            deal_stages=[cls.stage],
            lifecycle_stages=["opportunity"],
            reviewers=[cls.carol],
        )
        cls.read_token = tokens.create_token(cls.carol, name="read", scope="read")[1]

    def test_list_in_a_fixed_number_of_queries_and_filters(self):
        self.get("/api/v1/messages", self.tokens["bob"])
        with self.assertNumQueries(6) as one:  # token, page (latest revision annotated), 4 tag prefetches
            response = self.get("/api/v1/messages", self.tokens["bob"])
        queries = len(one.captured_queries)  # now: the next request resets the connection's query log
        [row] = response.json()["results"]
        self.assertEqual((row["kind"], row["status"], row["pending_revision"]), ("objection", "draft", False))
        self.assertEqual((row["personas"], row["deal_stages"], row["lifecycle_stages"]), ([self.cfo.pk],
                                                                                          [self.stage.pk],
                                                                                          ["opportunity"]))  # fmt: skip
        for n in range(3):
            guide.create_message(self.alice, kind="competitor", title=f"Rival {n}", body="Notes", competitor=f"R{n}")
        self.get("/api/v1/messages", self.tokens["rory"])
        with self.assertNumQueries(queries):
            response = self.get("/api/v1/messages", self.tokens["rory"])
        self.assertEqual(len(response.json()["results"]), 4)
        self.assertEqual(len(self.get("/api/v1/messages?kind=competitor", self.tokens["bob"]).json()["results"]), 3)
        self.assertEqual(len(self.get("/api/v1/messages?competitor=r1", self.tokens["bob"]).json()["results"]), 1)
        self.assertEqual(len(self.get(f"/api/v1/messages?persona={self.cfo.pk}", self.tokens["bob"]).json()["results"]),
                         1)  # fmt: skip

    def test_create_review_edit_and_re_approve(self):
        response = self.post(
            "/api/v1/messages",
            {"kind": "talking_point", "title": "Proposal: walk through it", "body": "Never just send it.",
             "deal_stages": [self.stage.pk], "reviewers": [self.carol.pk]},
            self.tokens["mia"],
        )  # fmt: skip
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual([r["number"] for r in response.json()["revisions"]], [1])
        path = f"/api/v1/messages/{self.message.pk}"
        self.assertEqual(self.post(f"{path}/submit", None, self.tokens["mia"]).json()["status"], "in_review")
        self.assertProblem(self.post(f"{path}/approve", {}, self.tokens["mia"]), 403)  # their own
        self.assertProblem(self.post(f"{path}/approve", {}, self.read_token), 403)
        self.assertProblem(self.post(f"{path}/approve", {}, self.tokens["bob"]), 403)  # not a reviewer
        data = self.post(f"{path}/approve", {"comment": "Yes"}, self.tokens["carol"]).json()
        self.assertEqual((data["status"], data["approved_revision"]["number"]), ("approved", 1))
        # An edit of an approved message waits for approval; sales keeps the approved text meanwhile.
        data = self.patch(
            path, {"body": "Compare with the three tools, and the hours saved."}, self.tokens["mia"]
        ).json()
        self.assertEqual((data["status"], data["pending_revision"]), ("approved", True))
        self.assertEqual(data["approved_revision"]["body"], "Compare with the three tools it replaces.")
        self.assertEqual(self.get("/api/v1/messages?status=approved", self.tokens["bob"]).json()["results"][0][
            "pending_revision"], True)  # fmt: skip
        self.post(f"{path}/submit", None, self.tokens["mia"])
        data = self.post(f"{path}/approve", {}, self.tokens["carol"]).json()
        self.assertEqual((data["pending_revision"], data["approved_revision"]["number"]), (False, 2))
        self.assertProblem(self.patch(path, {"owner": self.bob.pk}, self.tokens["alice"]), 400, "owner")
        self.assertProblem(self.patch(path, {"title": "x"}, self.tokens["bob"]), 403)
        self.assertProblem(self.post(f"{path}/retire", None, self.read_token), 403)
        self.assertEqual(self.post(f"{path}/retire", None, self.tokens["mia"]).json()["status"], "retired")
        self.assertEqual(Message.objects.get(pk=self.message.pk).status, "retired")
