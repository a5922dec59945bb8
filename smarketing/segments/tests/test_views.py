from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from smarketing.accounts.access import system_actor
from smarketing.segments import services
from smarketing.segments.models import ListMembership, Segment
from smarketing.testing import make_cast, make_contact


def form(**fields):
    """A builder form with the root group and the given "<path>.<part>" fields."""
    data = {"n.kind": "group", "n.op": "and", "name": "Test"}
    data.update(fields)
    return data


class SegmentPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.mql = make_contact(email="mql@x.test", first_name="Mia", lifecycle_stage="mql")
        cls.lead = make_contact(email="lead@x.test", first_name="Leo", lifecycle_stage="lead")

    def setUp(self):
        self.client.force_login(self.cast["mia"])

    def test_live_count_of_the_posted_conditions(self):
        data = form(
            **{"n-0.kind": "field", "n-0.field": "lifecycle_stage", "n-0.operator": "in", "n-0.values": ["mql"]}
        )
        response = self.client.post(reverse("segments:count"), data)
        self.assertContains(response, "<strong data-count>1</strong> contact")
        # Half-finished: the builder explains instead of counting.
        data["n-0.values"] = []
        response = self.client.post(reverse("segments:count"), data)
        self.assertContains(response, "choose at least one value")

    def test_the_page_shows_the_last_count_and_the_recount_comes_after_it(self):
        segment = services.create_segment(
            self.cast["mia"],
            name="MQLs",
            definition={
                "op": "and",
                "rules": [{"field": "lifecycle_stage", "operator": "equals", "value": "mql"}],
            },
        )
        page = self.client.get(reverse("segments:segment_detail", args=[segment.pk]))
        recount = reverse("segments:segment_recount", args=[segment.pk])
        self.assertContains(page, f'hx-get="{recount}"')  # the page itself does not count
        segment.refresh_from_db()
        self.assertIsNone(segment.counted_at)
        fragment = self.client.get(recount)
        self.assertContains(fragment, "<strong data-segment-count>1</strong>")
        self.assertContains(fragment, "match now")
        self.assertNotContains(fragment, "hx-get")
        segment.refresh_from_db()
        self.assertEqual((segment.last_count, segment.counted_at is not None), (1, True))
        self.client.force_login(self.cast["rory"])  # read-only users may look too
        self.assertEqual(self.client.get(recount).status_code, 200)

    def test_builder_buttons_add_and_remove_rules_and_groups(self):
        data = form(**{"n-0.kind": "field", "n-0.field": "email", "n-0.operator": "contains", "n-0.value": "x.test"})
        response = self.client.post(
            reverse("segments:builder"), {**data, "action": "add-group:n"}, HTTP_HX_REQUEST="true"
        )
        self.assertContains(response, 'name="n-1.kind" value="group"')
        self.assertContains(response, 'name="n-1-0.kind" value="field"')
        self.assertContains(response, 'hx-swap-oob="true"')  # the count follows the tree
        response = self.client.post(reverse("segments:builder"), {**data, "action": "remove:n-0"})
        self.assertNotContains(response, 'name="n-0.kind"')
        response = self.client.post(reverse("segments:builder"), {**data, "action": "add-event:n"})
        self.assertContains(response, 'name="n-1.kinds"')

    def test_save_then_detail_shows_members_and_summary(self):
        data = form(
            name="Engaged MQLs",
            **{
                "n-0.kind": "field",
                "n-0.field": "lifecycle_stage",
                "n-0.operator": "equals",
                "n-0.value": "mql",
                "n-1.kind": "event",
                "n-1.kinds": ["email_clicked"],
                "n-1.min_count": "2",
                "n-1.window": "days",
                "n-1.within_days": "30",
                "n.negate": "",
            },
            save="1",
        )
        data["n-1.kinds"] = ["email_clicked"]
        response = self.client.post(reverse("segments:segment_create"), data)
        segment = Segment.objects.get(name="Engaged MQLs")
        self.assertRedirects(response, reverse("segments:segment_detail", args=[segment.pk]))
        self.assertEqual(
            segment.definition["rules"][1],
            {
                "event": {
                    "kinds": ["email_clicked"],
                    "campaign": None,
                    "url_contains": None,
                    "min_count": 2,
                    "within_days": 30,
                }
            },
        )
        response = self.client.get(reverse("segments:segment_detail", args=[segment.pk]))
        self.assertContains(response, "Lifecycle stage is Marketing-qualified lead and had")
        self.assertContains(response, "at least 2 times in the last 30 days")
        self.assertContains(response, "?members=1")  # the members come after the page
        self.assertNotContains(response, "Nobody matches")
        members = self.client.get(reverse("segments:segment_detail", args=[segment.pk]), {"members": "1"})
        self.assertContains(members, "Nobody matches")
        fragment = self.client.get(
            reverse("segments:segment_detail", args=[segment.pk]), {"members": "1"}, HTTP_HX_REQUEST="true"
        )
        self.assertContains(fragment, "Nobody matches")
        self.assertNotContains(fragment, "<h1")  # only the table

    def test_bad_definitions_are_explained_and_kept(self):
        data = form(
            **{"n-0.kind": "field", "n-0.field": "fit_score", "n-0.operator": "gt", "n-0.value": "lots"}, save="1"
        )
        response = self.client.post(reverse("segments:segment_create"), data)
        self.assertContains(response, "Fit score: &#x27;lots&#x27; is not a number.", status_code=400)
        self.assertContains(response, 'value="lots"', status_code=400)

    def test_xss_in_names_and_values_is_escaped(self):
        payload = "<script>alert(1)</script>"
        services.create_segment(self.cast["mia"], name=payload, description=payload)
        response = self.client.get(reverse("segments:segment_list"))
        self.assertNotContains(response, payload)
        self.assertContains(response, "&lt;script&gt;")

    def test_read_only_users_view_but_do_not_edit(self):
        segment = services.create_segment(self.cast["mia"], name="Seen")
        self.client.force_login(self.cast["rory"])
        self.assertEqual(self.client.get(reverse("segments:segment_detail", args=[segment.pk])).status_code, 200)
        self.assertEqual(self.client.get(reverse("segments:segment_create")).status_code, 403)
        self.assertEqual(self.client.post(reverse("segments:segment_archive", args=[segment.pk])).status_code, 403)
        self.client.force_login(self.cast["bob"])  # sales member
        self.assertEqual(self.client.post(reverse("segments:list_create"), {"name": "x"}).status_code, 403)

    def test_list_pages_query_counts_stay_constant(self):
        for i in range(3):
            services.create_segment(self.cast["mia"], name=f"S{i}")
            services.create_list(self.cast["mia"], name=f"L{i}")
        # session + user, the rows (owner joined), the edit check's team.
        with self.assertNumQueries(4):
            self.client.get(reverse("segments:segment_list"))
        with self.assertNumQueries(4):
            self.client.get(reverse("segments:list_list"))
        for i in range(3, 8):
            services.create_segment(self.cast["mia"], name=f"S{i}")
            services.create_list(self.cast["mia"], name=f"L{i}")
        with self.assertNumQueries(4):
            self.client.get(reverse("segments:segment_list"))
        with self.assertNumQueries(4):
            self.client.get(reverse("segments:list_list"))


class DetailQueryCountTests(TestCase):
    def test_segment_and_list_pages_do_not_grow_with_members(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        cast = make_cast()
        self.client.force_login(cast["mia"])
        actor = system_actor()
        contact_list = services.create_list(actor, name="L")
        segment = services.create_segment(
            actor,
            name="S",
            definition={"op": "or", "rules": [{"field": "list", "operator": "in", "value": contact_list.pk}]},
        )

        def queries_of(url):
            with CaptureQueriesContext(connection) as ctx:
                self.assertEqual(self.client.get(url).status_code, 200)
            return len(ctx.captured_queries)

        urls = [
            reverse("segments:segment_detail", args=[segment.pk]) + "?members=1",
            reverse("segments:list_detail", args=[contact_list.pk]),
        ]
        services.add_to_list(actor, contact_list, [make_contact().pk for _ in range(2)])
        before = [queries_of(url) for url in urls]
        services.add_to_list(actor, contact_list, [make_contact().pk for _ in range(8)])
        self.assertEqual([queries_of(url) for url in urls], before)


class ListPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.ann = make_contact(email="ann@list.test", first_name="Ann", lifecycle_stage="mql")
        cls.ben = make_contact(email="ben@list.test", first_name="Ben", lifecycle_stage="mql")
        cls.cid = make_contact(email="cid@list.test", first_name="Cid", lifecycle_stage="lead")
        cls.vip = services.create_list(system_actor(), name="VIP")

    def setUp(self):
        self.client.force_login(self.cast["mia"])

    def members(self):
        return set(ListMembership.objects.filter(contact_list=self.vip).values_list("contact_id", flat=True))

    def test_create_add_by_hand_and_remove(self):
        response = self.client.post(reverse("segments:list_create"), {"name": "Webinar"})
        self.assertEqual(response.status_code, 302)
        response = self.client.get(reverse("segments:list_search", args=[self.vip.pk]), {"q": "ann"})
        self.assertContains(response, f'name="ids" value="{self.ann.pk}"')
        self.client.post(reverse("segments:list_add", args=[self.vip.pk]), {"ids": [self.ann.pk]})
        self.assertEqual(self.members(), {self.ann.pk})
        response = self.client.get(reverse("segments:list_detail", args=[self.vip.pk]))
        self.assertContains(response, "ann@list.test")
        self.client.post(reverse("segments:list_remove", args=[self.vip.pk]), {"ids": [self.ann.pk]})
        self.assertEqual(self.members(), set())

    def test_csv_import_reports_rows_not_found(self):
        body = "Name;Email\nAnn;ANN@list.test\nNobody;nobody@list.test\nBroken;not-an-address\nBen;ben@list.test\n"
        upload = SimpleUploadedFile("scan.csv", body.encode(), content_type="text/csv")
        self.client.post(reverse("segments:list_import", args=[self.vip.pk]), {"file": upload})
        self.assertEqual(self.members(), {self.ann.pk, self.ben.pk})
        response = self.client.get(reverse("segments:list_detail", args=[self.vip.pk]))
        self.assertContains(response, "<strong>2 added</strong>")
        self.assertContains(response, "nobody@list.test")
        self.assertContains(response, "1 without a valid address")

    def test_bulk_add_from_the_contact_list(self):
        page = self.client.get(reverse("contact_list"))
        self.assertContains(page, "Add all matching")
        back = reverse("contact_list") + "?lifecycle=mql"
        self.client.post(
            reverse("segments:bulk_add"), {"contact_list": self.vip.pk, "ids": [self.ann.pk], "next": back}
        )
        self.assertEqual(self.members(), {self.ann.pk})
        make_contact(email="dan@list.test", lifecycle_stage="sql")  # matches no filter below
        # Everyone matching the page's filter, set-based.
        response = self.client.post(
            reverse("segments:bulk_add"), {"contact_list": self.vip.pk, "scope": "all", "next": back}
        )
        self.assertRedirects(response, reverse("segments:list_detail", args=[self.vip.pk]))
        self.assertEqual(self.members(), {self.ann.pk, self.ben.pk})  # cid is a lead, dan an SQL

    def test_bulk_add_refuses_foreign_redirects(self):
        response = self.client.post(
            reverse("segments:bulk_add"), {"contact_list": "", "next": "https://evil.test/contacts/"}
        )
        self.assertRedirects(response, reverse("contact_list"), fetch_redirect_response=False)
