from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smarketing.api.models import ApiToken
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.segments import services
from smarketing.segments.models import ListMembership, Segment
from smarketing.testing import make_contact

MQLS = {"op": "and", "negate": False, "rules": [{"field": "lifecycle_stage", "operator": "equals", "value": "mql"}]}


class SegmentApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.contacts = [
            make_contact(email=f"api{i}@seg.test", lifecycle_stage="mql" if i < 3 else "lead") for i in range(5)
        ]

    def test_crud_count_and_members(self):
        token = self.tokens["mia"]
        response = self.post("/api/v1/segments", {"name": "MQLs", "definition": MQLS}, token=token)
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(body["definition"]["rules"][0]["value"], "mql")
        url = f"/api/v1/segments/{body['id']}"
        self.assertEqual(self.get(f"{url}/count", token=token).json()["count"], 3)
        page = self.get(f"{url}/members?limit=2", token=token).json()
        self.assertEqual(len(page["results"]), 2)
        rest = self.client.get(page["next"], HTTP_AUTHORIZATION=f"Bearer {token}").json()
        self.assertEqual(len(rest["results"]), 1)
        self.assertIsNone(rest["next"])
        self.assertEqual({r["id"] for r in page["results"] + rest["results"]}, {c.pk for c in self.contacts[:3]})
        response = self.patch(url, {"name": "Leads", "definition": {**MQLS, "negate": True}}, token=token)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(self.get(f"{url}/count", token=token).json()["count"], 2)
        self.assertEqual(self.delete(url, token=token).status_code, 204)
        self.assertFalse(Segment.objects.exists())

    def test_bad_definitions_are_problems_a_person_can_read(self):
        token = self.tokens["mia"]
        bad = {"op": "and", "rules": [{"field": "fit_score", "operator": "gt", "value": "lots"}]}
        body = self.assertProblem(self.post("/api/v1/segments", {"name": "x", "definition": bad}, token=token), 400)
        self.assertIn("Fit score: 'lots' is not a number.", str(body))
        injection = {
            "op": "and",
            "rules": [{"field": "email; DROP TABLE crm_contact", "operator": "equals", "value": "x"}],
        }
        self.assertProblem(self.post("/api/v1/segments", {"name": "x", "definition": injection}, token=token), 400)

    def test_roles(self):
        self.assertProblem(self.post("/api/v1/segments", {"name": "x"}, token=self.tokens["bob"]), 403)
        self.assertProblem(self.post("/api/v1/lists", {"name": "x"}, token=self.tokens["rory"]), 403)
        self.assertEqual(self.get("/api/v1/segments", token=self.tokens["rory"]).status_code, 200)


class ListApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.contacts = [make_contact(email=f"list{i}@seg.test") for i in range(4)]

    def test_members_add_list_and_remove(self):
        token = self.tokens["mia"]
        created = self.post("/api/v1/lists", {"name": "Webinar"}, token=token)
        self.assertEqual(created.status_code, 201, created.content)
        url = f"/api/v1/lists/{created.json()['id']}/members"
        ids = [c.pk for c in self.contacts[:3]]
        self.assertEqual(self.post(url, {"contact_ids": [*ids, 987654321]}, token=token).json(), {"added": 3})
        self.assertEqual(self.post(url, {"contact_ids": ids[:1]}, token=token).json(), {"added": 0})
        listed = self.get(url, token=token).json()
        self.assertEqual({r["id"] for r in listed["results"]}, set(ids))
        self.assertEqual(self.call("DELETE", url, {"contact_ids": ids[:1]}, token=token).json(), {"removed": 1})
        self.assertEqual(self.post(f"{url}/remove", {"contact_ids": ids[1:2]}, token=token).json(), {"removed": 1})
        self.assertEqual(ListMembership.objects.count(), 1)
        self.assertProblem(self.post(url, {"contact_ids": ["x"]}, token=token), 400, "contact_ids.0")
        self.assertProblem(self.post(url, {"contact_ids": []}, token=token), 400, "contact_ids")

    def test_query_counts_do_not_grow_with_rows(self):
        contact_list = services.create_list(self.mia, name="Big")

        def count(url):
            ApiToken.objects.update(last_used_at=timezone.now() + timedelta(days=1))
            with CaptureQueriesContext(connection) as ctx:
                response = self.get(url, token=self.tokens["alice"])
            self.assertEqual(response.status_code, 200, response.content)
            return len(ctx.captured_queries)

        services.add_to_list(self.mia, contact_list, [c.pk for c in self.contacts[:2]])
        services.create_segment(self.mia, name="A")
        services.create_list(self.mia, name="B")
        before = [count(f"/api/v1/lists/{contact_list.pk}/members"), count("/api/v1/segments"), count("/api/v1/lists")]
        more = [make_contact(email=f"more{i}@seg.test") for i in range(6)]
        services.add_to_list(self.mia, contact_list, [c.pk for c in more])
        for i in range(5):
            services.create_segment(self.mia, name=f"S{i}")
            services.create_list(self.mia, name=f"L{i}")
        after = [count(f"/api/v1/lists/{contact_list.pk}/members"), count("/api/v1/segments"), count("/api/v1/lists")]
        self.assertEqual(before, after)
