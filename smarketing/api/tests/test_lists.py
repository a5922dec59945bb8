import itertools
from datetime import timedelta
from urllib.parse import urlsplit

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smarketing.accounts.models import Team
from smarketing.api.models import ApiToken
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.crm import kinds as Kind
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Contact, Pipeline, PropertyDefinition, Stage
from smarketing.forms import kinds as FormKind
from smarketing.testing import make_company, make_contact, make_deal, make_user
from smarketing.timeline.models import Team as TouchTeam
from smarketing.timeline.models import Touchpoint
from smarketing.timeline.services import record_touch

_n = itertools.count(1)


class FilterTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        PropertyDefinition.objects.create(
            object_type="contact", key="plan", label="Plan", type="choice", choices=["free", "pro"]
        )
        PropertyDefinition.objects.create(object_type="contact", key="seats", label="Seats", type="number")
        PropertyDefinition.objects.create(object_type="contact", key="vip", label="VIP", type="boolean")
        cls.acme = make_company(name="Acme")
        cls.jane = make_contact(
            None,
            email="jane@acme.example",
            first_name="Jane",
            last_name="Doe",
            company=cls.acme,
            owner=cls.cast["bob"],
            lifecycle_stage="mql",
            first_source="webinar",
            custom={"plan": "pro", "seats": 5, "vip": True},
        )
        cls.john = make_contact(
            None, email="john@other.example", first_name="John", last_name="Smith", custom={"plan": "free", "seats": 50}
        )

    def ids(self, query, resource="contacts"):
        response = self.get(f"/api/v1/{resource}?{query}", token=self.tokens["rory"])
        self.assertEqual(response.status_code, 200, response.content)
        return [row["id"] for row in response.json()["results"]]

    def test_contact_filters(self):
        jane, john = self.jane.pk, self.john.pk
        self.assertEqual(self.ids("email=JANE@acme.example"), [jane])
        self.assertEqual(self.ids("lifecycle_stage=mql"), [jane])
        self.assertEqual(self.ids(f"owner={self.cast['bob'].pk}"), [jane])
        self.assertEqual(self.ids(f"company={self.acme.pk}"), [jane])
        self.assertEqual(self.ids("first_source=webinar"), [jane])
        self.assertEqual(self.ids("q=smi"), [john])
        self.assertEqual(self.ids("q=jane%20d"), [jane])
        self.assertEqual(self.ids("q=acm", "companies"), [self.acme.pk])
        self.assertEqual(self.ids("properties.plan=pro"), [jane])
        self.assertEqual(self.ids("properties.seats=50"), [john])
        self.assertEqual(self.ids("properties.vip=yes"), [jane])
        self.assertEqual(self.ids("properties.plan=free&properties.seats=5"), [])
        future = (timezone.now() + timedelta(days=1)).isoformat().replace("+", "%2B")
        self.assertEqual(self.ids(f"updated_at_before={future}&ordering=id"), [jane, john])
        self.assertEqual(self.ids(f"updated_at_after={future}"), [])
        # Offsets PostgreSQL would refuse (beyond ±15:59) are converted to UTC first.
        self.assertEqual(self.ids("created_at_after=0342-02-02T01:19:08%2B20:26&ordering=id"), [jane, john])

    def test_bad_filter_values_are_400_problems(self):
        for query, field in [
            ("lifecycle_stage=boss", "lifecycle_stage"),
            ("owner=abc", "owner"),
            ("owner=99999999999999999999999", "owner"),
            ("updated_at_after=yesterday", "updated_at"),
            ("updated_at_after=0001-01-01T00:00:00%2B05:00", "updated_at"),
            ("properties.nope=1", "properties.nope"),
            ("properties.seats=many", "properties.seats"),
            ("properties.plan=gold", "properties.plan"),
            ("email=a%00b", "email"),
        ]:
            with self.subTest(query=query):
                self.assertProblem(self.get(f"/api/v1/contacts?{query}", token=self.tokens["rory"]), 400, field)

    def test_unknown_filter_names_are_ignored_but_unknown_ordering_is_refused(self):
        self.assertEqual(len(self.ids("favourite_colour=blue")), 2)
        for ordering in ("password", "-custom", "company__name", "last_touch_at"):
            with self.subTest(ordering=ordering):
                self.assertProblem(
                    self.get(f"/api/v1/contacts?ordering={ordering}", token=self.tokens["rory"]), 400, "ordering"
                )

    def test_deal_and_touchpoint_filters(self):
        deal = make_deal(None, contacts=[self.jane], amount="900")
        other = make_deal(None, amount="50")
        self.assertEqual(self.ids(f"contact={self.jane.pk}", "deals"), [deal.pk])
        self.assertEqual(self.ids("amount_min=100", "deals"), [deal.pk])
        self.assertEqual(self.ids(f"stage={deal.stage_id}&ordering=id", "deals"), [deal.pk, other.pk])
        self.assertEqual(self.ids("status=won", "deals"), [])
        touches = self.ids(f"contact={self.jane.pk}&kind=contact_created&kind=deal_created", "touchpoints")
        kinds = set(Touchpoint.objects.filter(pk__in=touches).values_list("kind", flat=True))
        self.assertEqual(kinds, {Kind.CONTACT_CREATED, Kind.DEAL_CREATED})
        self.assertEqual(self.ids(f"contact={self.jane.pk}&team=marketing", "touchpoints"), [])


class PaginationTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        stages = ["lead", "mql", "sql"]
        base = timezone.now() - timedelta(days=1)
        for i in range(23):
            contact = make_contact(None, last_name=f"N{i % 5}", lifecycle_stage=stages[i % 3])
            # Equal timestamps in groups of four: the cursor must break ties by id.
            Contact.objects.filter(pk=contact.pk).update(updated_at=base + timedelta(minutes=i // 4))

    def walk(self, ordering: str, limit: int = 4) -> list[int]:
        url = f"/api/v1/contacts?ordering={ordering}&limit={limit}"
        seen = []
        for _ in range(30):
            response = self.get(url, token=self.tokens["rory"])
            self.assertEqual(response.status_code, 200, response.content)
            body = response.json()
            self.assertLessEqual(len(body["results"]), limit)
            seen += [row["id"] for row in body["results"]]
            if not body["next"]:
                return seen
            parts = urlsplit(body["next"])
            url = f"{parts.path}?{parts.query}"
        self.fail("pagination did not end")

    def test_every_ordering_pages_through_every_row_once_in_order(self):
        rows = list(Contact.objects.values("id", "updated_at", "created_at", "email", "last_key", "lifecycle_stage"))
        fields = {
            "id": "id",
            "updated_at": "updated_at",
            "created_at": "created_at",
            "email": "email",
            "last_name": "last_key",
            "lifecycle_stage": "lifecycle_stage",
        }
        for name, field in fields.items():
            for desc in (False, True):
                with self.subTest(ordering=name, desc=desc):
                    expected = [r["id"] for r in sorted(rows, key=lambda r: (r[field], r["id"]), reverse=desc)]
                    self.assertEqual(self.walk(("-" if desc else "") + name), expected)

    def test_default_is_newest_first_50(self):
        body = self.get("/api/v1/contacts", token=self.tokens["rory"]).json()
        ids = [row["id"] for row in body["results"]]
        self.assertEqual(ids, sorted(ids, reverse=True))
        self.assertIsNone(body["next"])

    def test_bad_cursor_limit_and_cross_ordering_cursor_are_400(self):
        body = self.get("/api/v1/contacts?ordering=email&limit=2", token=self.tokens["rory"]).json()
        cursor = urlsplit(body["next"]).query.split("cursor=")[1].split("&")[0]
        self.assertProblem(
            self.get(f"/api/v1/contacts?ordering=-email&cursor={cursor}", token=self.tokens["rory"]), 400, "cursor"
        )
        self.assertProblem(self.get("/api/v1/contacts?cursor=%%%", token=self.tokens["rory"]), 400, "cursor")
        self.assertProblem(self.get("/api/v1/contacts?cursor=bm90IGpzb24", token=self.tokens["rory"]), 400, "cursor")
        for limit in ("0", "501", "ten", "-1"):
            self.assertProblem(self.get(f"/api/v1/contacts?limit={limit}", token=self.tokens["rory"]), 400, "limit")
        self.assertEqual(len(self.get("/api/v1/contacts?limit=500", token=self.tokens["rory"]).json()["results"]), 23)


class NoNPlusOneTests(ApiTestCase):
    """Every list endpoint, with every expansion, costs the same number of queries for 3 rows as for 30."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.pipeline = default_pipeline()

    def make_rows(self, resource: str, count: int) -> None:
        alice = self.cast["alice"]
        for _ in range(count):
            n = next(_n)
            if resource in ("contacts", "companies", "deals", "touchpoints", "tasks", "notes"):
                company = make_company(None, owner=alice)
                contact = make_contact(None, company=company, owner=self.cast["bob"])
                deal = make_deal(None, contacts=[contact], company=company, owner=alice)
            if resource == "touchpoints":
                record_touch(
                    kind=FormKind.PAGE_VIEWED, team=TouchTeam.MARKETING, summary="x", contact=contact, deal=deal
                )
            elif resource == "tasks":
                services.create_task(actor=alice, title="t", contact=contact, company=company, deal=deal)
            elif resource == "notes":
                services.add_note(contact, body_html="<p>n</p>", actor=alice)
            elif resource == "pipelines":
                pipeline = Pipeline.objects.create(name=f"P{n}", position=n)
                Stage.objects.create(pipeline=pipeline, name="s", position=0)
            elif resource == "stages":
                Stage.objects.create(pipeline=self.pipeline, name=f"s{n}", position=100 + n)
            elif resource == "properties":
                PropertyDefinition.objects.create(object_type="contact", key=f"k{n}", label=f"K{n}", type="text")
            elif resource == "users":
                make_user(f"user{n}@example.com")
            elif resource == "teams":
                Team.objects.create(name=f"Team {n}", kind="sales")

    def count_queries(self, url: str) -> int:
        # The token's "last used" write happens at most once a minute; a slow run would count it on one side only.
        ApiToken.objects.update(last_used_at=timezone.now() + timedelta(days=1))
        with CaptureQueriesContext(connection) as ctx:
            response = self.get(url, token=self.tokens["alice"])
        self.assertEqual(response.status_code, 200, response.content)
        self.assertGreaterEqual(len(response.json()["results"]), 3)
        return len(ctx.captured_queries)

    def test_query_count_does_not_grow_with_rows(self):
        endpoints = {
            "contacts": "expand=company,owner",
            "companies": "expand=owner",
            "deals": "expand=company,owner,stage,contacts",
            "touchpoints": "expand=contact,company,deal",
            "tasks": "expand=owner,contact,company,deal",
            "notes": "expand=contact,company,deal",
            "pipelines": "",
            "stages": "",
            "properties": "",
            "users": "",
            "teams": "",
        }
        self.get("/api/v1/teams", token=self.tokens["alice"])  # the token's last-use write happens once
        for resource, query in endpoints.items():
            for q in {query, ""}:
                with self.subTest(resource=resource, query=q):
                    self.make_rows(resource, 3)
                    url = f"/api/v1/{resource}?limit=100&{q}"
                    few = self.count_queries(url)
                    self.make_rows(resource, 27)
                    with self.assertNumQueries(few):
                        self.get(url, token=self.tokens["alice"])

    def test_expanded_objects_are_embedded(self):
        self.make_rows("deals", 1)
        deal = self.get("/api/v1/deals?expand=company,owner,stage,contacts", token=self.tokens["rory"]).json()[
            "results"
        ][0]
        self.assertEqual(deal["owner"]["email"], "alice@example.com")
        self.assertIsInstance(deal["company"]["name"], str)
        self.assertEqual(deal["stage"]["pipeline"], self.pipeline.pk)
        contact = deal["contacts"][0]["contact"]
        self.assertIn("@", contact["email"])
        self.assertIsInstance(contact["company"], int)  # nested objects are not expanded further
        plain = self.get("/api/v1/deals", token=self.tokens["rory"]).json()["results"][0]
        self.assertIsInstance(plain["owner"], int)
        self.assertIsInstance(plain["contacts"][0]["contact"], int)

    def test_unknown_expansion_is_400(self):
        self.assertProblem(self.get("/api/v1/contacts?expand=deals", token=self.tokens["rory"]), 400, "expand")
        self.assertProblem(self.get("/api/v1/teams?expand=members", token=self.tokens["rory"]), 400, "expand")
