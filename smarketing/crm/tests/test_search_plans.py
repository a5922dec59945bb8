"""Search and custom property filters give the same rows whichever SQL form crm.queries picks for them."""

import datetime
from unittest import mock

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from smarketing.crm import queries
from smarketing.crm.models import Contact, ObjectType, PropertyDefinition
from smarketing.testing import make_cast, make_contact


class SearchFormTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.bob = make_cast()["bob"]
        # 150 Jacobs: above the 100 ids from which PostgreSQL gets one array parameter instead of a list.
        for i in range(150):
            make_contact(None, first_name="Jacob", last_name=f"Zed{i:03d}", email=f"z{i:03d}@example.com")
        for i in range(5):
            make_contact(None, first_name="Other", last_name=f"Jacobsen{i}", email=f"jacob.other{i}@example.com")

    def ids(self, params) -> list[int]:
        records = queries.build_list("contact", self.bob, params)
        return [c.pk for c in records.page(None, size=500).rows]

    def test_every_sort_gives_the_rows_of_the_plain_or_in_its_order(self):
        for sort in queries.CONTACT_SORTS:
            with self.subTest(sort=sort):
                found = self.ids({"q": "jacob", "sort": sort})
                self.assertEqual(len(found), 155)
                with mock.patch.object(queries, "SEARCH_CANDIDATES", 1):
                    self.assertEqual(self.ids({"q": "jacob", "sort": sort}), found)
                fields = queries.CONTACT_SORTS[sort].fields
                expected = Contact.objects.filter(pk__in=found).order_by(*fields).values_list("pk", flat=True)
                self.assertEqual(found, list(expected))

    def test_postgresql_passes_many_candidates_as_one_array(self):
        with CaptureQueriesContext(connection) as ctx:
            self.ids({"q": "jacob", "sort": "email"})
        keys_sql, rows_sql = (q["sql"] for q in ctx.captured_queries[-2:])  # RecordList.page: keys, then rows
        if connection.vendor == "postgresql":
            self.assertIn("unnest(", keys_sql)
        else:
            self.assertNotIn("unnest(", keys_sql)
        self.assertNotIn("unnest(", rows_sql)  # the page's rows are read by their own ids only


class CustomEqualityTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.bob = cast["bob"]
        PropertyDefinition.objects.create(object_type=ObjectType.CONTACT, key="vip", label="VIP", type="boolean")
        PropertyDefinition.objects.create(
            object_type=ObjectType.CONTACT, key="tier", label="Tier", type="choice", choices=["gold", "silver"]
        )
        cls.gold = make_contact(None)
        cls.silver = make_contact(None)
        cls.plain = make_contact(None)
        Contact.objects.filter(pk=cls.gold.pk).update(custom={"vip": True, "tier": "gold"})
        Contact.objects.filter(pk=cls.silver.pk).update(custom={"vip": False, "tier": "silver"})

    def ids(self, params) -> set[int]:
        return {c.pk for c in queries.build_list("contact", self.bob, params).page(None).rows}

    def test_boolean_and_choice_filters(self):
        self.assertEqual(self.ids({"cp_vip": "yes"}), {self.gold.pk})
        self.assertEqual(self.ids({"cp_vip": "no"}), {self.silver.pk})
        self.assertEqual(self.ids({"cp_tier": "silver"}), {self.silver.pk})
        self.assertEqual(self.ids({"cp_tier": "gold", "cp_vip": "no"}), set())

    def test_postgresql_uses_containment_for_the_gin_index(self):
        with CaptureQueriesContext(connection) as ctx:
            self.ids({"cp_tier": "gold"})
        if connection.vendor == "postgresql":
            self.assertIn("@>", ctx.captured_queries[-1]["sql"])


class SearchPageShapeTests(TestCase):
    """A search's page is read as keys on narrow rows (no joins), then only that page's rows with relations."""

    @classmethod
    def setUpTestData(cls):
        cls.bob = make_cast()["bob"]
        for i in range(60):
            make_contact(None, first_name="Jacob", last_name=f"Key{i:03d}", email=f"k{i:03d}@example.com")

    def test_keys_first_then_rows(self):
        for sort in queries.CONTACT_SORTS:
            with self.subTest(sort=sort):
                records = queries.build_list("contact", self.bob, {"q": "jacob", "sort": sort})
                with CaptureQueriesContext(connection) as ctx:
                    page = records.page(None)
                keys_sql, rows_sql = (q["sql"] for q in ctx.captured_queries[-2:])
                self.assertNotIn("JOIN", keys_sql)
                self.assertIn("JOIN", rows_sql)  # company and owner, for the 50 rows shown only
                self.assertEqual(len(page.rows), 50)
                fields = queries.CONTACT_SORTS[sort].fields
                expected = list(Contact.objects.order_by(*fields).values_list("pk", flat=True)[:50])
                self.assertEqual([c.pk for c in page.rows], expected)
                self.assertTrue(all(c.company_id is None or c.company for c in page.rows))
                after = records.page(page.next_cursor)
                rest = list(Contact.objects.order_by(*fields).values_list("pk", flat=True)[50:])
                self.assertEqual([c.pk for c in after.rows], rest)


class SortedCandidateWindowTests(TestCase):
    """A selective search's page from its candidates' sort keys (RecordList._page_from_sorted_candidates, used on
    PostgreSQL) walks the same rows in the same order as sorting every candidate, page by page, whether the window
    holds every candidate, too few to fill a page once filtered (the fallback), or anything between."""

    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.bob = cast["bob"]
        when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        for i in range(40):
            contact = make_contact(
                None,
                first_name="Wei" if i % 3 else "Other",
                last_name=f"Wei{i % 7}" if i % 3 == 0 else f"Li{i % 5}",
                email=f"w{i:02d}@example.com" if i % 2 else f"wei{i:02d}@example.com",
            )
            Contact.objects.filter(pk=contact.pk).update(
                fit_score=i % 4,  # ties, broken by id
                last_touch_at=None if i % 5 == 0 else when + datetime.timedelta(hours=i % 6),
                lifecycle_stage="lead" if i % 4 == 0 else "subscriber",
            )
        make_contact(None, first_name="Zed", last_name="Nobody", email="zed@example.com")

    def walk(self, params: dict, size: int) -> list[int]:
        ids, cursor = [], None
        for _ in range(100):
            page = queries.build_list("contact", self.bob, params).page(cursor, size=size)
            ids += [c.pk for c in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                return ids
        self.fail("the pages never ended")

    def test_every_sort_and_window_walks_the_full_sort(self):
        for sort in queries.CONTACT_SORTS:
            for params in ({"q": "wei", "sort": sort}, {"q": "wei", "sort": sort, "lifecycle": "lead"}):
                with mock.patch.object(queries.RecordList, "_page_from_sorted_candidates", return_value=None):
                    expected = self.walk(params, size=4)
                self.assertTrue(expected)
                for window in (2, 5, 9, 200):
                    with (
                        self.subTest(params=params, window=window),
                        mock.patch.object(queries, "CANDIDATE_WINDOW", window),
                    ):
                        self.assertEqual(self.walk(params, size=4), expected)

    def test_postgresql_reads_the_candidates_sort_keys_with_a_union(self):
        with CaptureQueriesContext(connection) as ctx:
            self.walk({"q": "wei", "sort": "name"}, size=4)
        union = [q["sql"] for q in ctx.captured_queries if " UNION " in q["sql"]]
        self.assertEqual(bool(union), connection.vendor == "postgresql")
