"""The contact, company and deal lists through HTTP: search, filters, sorts, pages, bulk actions, escaping."""

import csv
import io
import re
from html import unescape
from unittest import mock

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from smarketing.core.models import AuditEntry
from smarketing.crm import queries
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Company, Contact, Deal, LifecycleChange, PropertyDefinition
from smarketing.testing import make_cast, make_company, make_contact, make_deal

ROW_ID = re.compile(r'name="ids" value="(\d+)"')
NEXT = re.compile(r'rel="next" href="([^"]+)"')


def row_ids(response) -> list[int]:
    return [int(i) for i in ROW_ID.findall(response.content.decode())]


def next_link(response) -> str | None:
    match = NEXT.search(response.content.decode())
    return unescape(match.group(1)) if match else None


def define_properties():
    PropertyDefinition.objects.create(
        object_type="contact", key="persona", label="Persona", type="choice", choices=["Buyer", "Champion"]
    )
    PropertyDefinition.objects.create(object_type="contact", key="nps", label="NPS", type="number")
    PropertyDefinition.objects.create(object_type="contact", key="newsletter", label="Newsletter", type="boolean")
    PropertyDefinition.objects.create(object_type="contact", key="note", label="Note", type="text")
    PropertyDefinition.objects.create(object_type="contact", key="renewal", label="Renewal", type="date")


class ContactSearchAndFilterTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        define_properties()
        cls.acme = make_company(None, name="Acme Corp", domain="acme.com")
        cls.other_acme = make_company(None, name="Acme Corp", domain="acme.org")
        cls.jane = make_contact(
            None,
            email="jane.doe@acme.com",
            first_name="Jane",
            last_name="Doe",
            company=cls.acme,
            owner=cls.cast["bob"],
            lifecycle_stage="mql",
            lead_status="open",
            first_source="webinar",
            custom={"persona": "Buyer", "nps": 9, "newsletter": "yes", "note": "VIP", "renewal": "2025-03-01"},
        )
        cls.john = make_contact(
            None,
            email="john.smith@globex.com",
            first_name="John",
            last_name="Smith",
            owner=cls.cast["carol"],
            lifecycle_stage="lead",
            consent_status="granted",
            custom={"persona": "Champion", "nps": 4, "newsletter": "no", "renewal": "2024-01-10"},
        )
        cls.ann = make_contact(None, email="ann@zeta.io", first_name="Ann", last_name="Dobbs", lifecycle_stage="sql")

    def setUp(self):
        self.client.force_login(self.cast["bob"])

    def ids(self, query: str) -> set[int]:
        response = self.client.get(reverse("contact_list") + query)
        self.assertEqual(response.status_code, 200)
        return set(row_ids(response))

    def test_search_by_email_name_and_last_name_prefix_case_insensitive(self):
        j, s, a = self.jane.pk, self.john.pk, self.ann.pk
        self.assertEqual(self.ids("?q=jane.doe@"), {j})
        self.assertEqual(self.ids("?q=JANE"), {j})  # first name and email prefix
        self.assertEqual(self.ids("?q=jane+d"), {j})  # "first last" prefix
        self.assertEqual(self.ids("?q=do"), {j, a})  # last name prefix
        self.assertEqual(self.ids("?q=smi"), {s})
        self.assertEqual(self.ids("?q=ane"), set())  # prefix search, not substring
        self.assertEqual(self.ids("?q=%20%20"), {j, s, a})  # blank search is no search

    def test_dense_prefixes_give_the_same_rows(self):
        # Above SEARCH_CANDIDATES matches per column the search keeps the plain OR; the rows must not change.
        with mock.patch.object(queries, "SEARCH_CANDIDATES", 1):
            self.assertEqual(self.ids("?q=do"), {self.jane.pk, self.ann.pk})
            self.assertEqual(self.ids("?q=jane+d&sort=email"), {self.jane.pk})
            self.assertEqual(self.ids("?q=j"), {self.jane.pk, self.john.pk})

    def test_builtin_filters(self):
        j, s, a = self.jane.pk, self.john.pk, self.ann.pk
        self.assertEqual(self.ids("?lifecycle=mql"), {j})
        self.assertEqual(self.ids("?owner=me"), {j})
        self.assertEqual(self.ids("?owner=none"), {a})
        self.assertEqual(self.ids(f"?owner={self.cast['carol'].pk}"), {s})
        self.assertEqual(self.ids("?lead_status=open"), {j})
        self.assertEqual(self.ids("?source=webinar"), {j})
        self.assertEqual(self.ids("?consent=granted"), {s})
        self.assertEqual(self.ids("?lifecycle=mql&owner=carol"), {j})  # bad owner dropped, stage kept

    def test_company_filter_by_label_id_and_unambiguous_domain(self):
        self.assertEqual(self.ids("?company=Acme+Corp+%28acme.com%29"), {self.jane.pk})
        self.assertEqual(self.ids(f"?company=%23{self.acme.pk}"), {self.jane.pk})
        response = self.client.get(reverse("contact_list") + f"?company={self.acme.pk}")  # record pages link ids
        self.assertEqual(set(row_ids(response)), {self.jane.pk})
        self.assertContains(response, 'value="Acme Corp (acme.com)"')
        self.assertEqual(self.ids("?company=acme.com"), {self.jane.pk})
        response = self.client.get(reverse("contact_list") + "?company=Acme+Corp")
        self.assertContains(response, "Several companies are called")  # two companies share the name

    def test_custom_property_filters(self):
        j, s = self.jane.pk, self.john.pk
        self.assertEqual(self.ids("?cp_persona=Buyer"), {j})
        self.assertEqual(self.ids("?cp_newsletter=yes"), {j})
        self.assertEqual(self.ids("?cp_newsletter=no"), {s})
        self.assertEqual(self.ids("?cp_note=vip"), {j})  # text: case-insensitive equality
        self.assertEqual(self.ids("?cp_nps_min=5"), {j})
        self.assertEqual(self.ids("?cp_nps_max=5"), {s})
        self.assertEqual(self.ids("?cp_nps_min=4&cp_nps_max=9"), {j, s})
        self.assertEqual(self.ids("?cp_renewal_from=2025-01-01"), {j})
        self.assertEqual(self.ids("?cp_renewal_to=2024-12-31"), {s})

    def test_bad_filter_values_are_ignored_with_a_visible_message(self):
        everyone = {self.jane.pk, self.john.pk, self.ann.pk}
        for query, text in [
            ("?lifecycle=zzz", "Lifecycle stage filter ignored"),
            ("?owner=999999", "Owner filter ignored"),
            ("?cp_nps_min=abc", "NPS min filter ignored"),
            ("?cp_nps_max=1e999", "NPS max filter ignored"),
            ("?cp_renewal_from=yesterday", "is not a date"),
            ("?cp_persona=%3Cscript%3E", "Persona filter ignored"),
            ("?company=No+Such+Inc", "No company called"),
            ("?source=%27%3B+drop+table", "First source filter ignored"),
        ]:
            with self.subTest(query):
                response = self.client.get(reverse("contact_list") + query)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, text)
                self.assertEqual(set(row_ids(response)), everyone)
        self.assertNotContains(self.client.get(reverse("contact_list") + "?cp_persona=%3Cscript%3E"), "<script>")

    def test_unknown_sort_and_filter_parameters_never_reach_the_orm(self):
        everyone = {self.jane.pk, self.john.pk, self.ann.pk}
        query = "?sort=owner__password&owner__password__startswith=x&email__contains=jane&order_by=password&cp_secret=1"
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.get(reverse("contact_list") + query)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Unknown sort")
        self.assertEqual(set(row_ids(response)), everyone)
        self.assertEqual(row_ids(response), sorted(everyone, reverse=True))  # the default: newest first
        sql = " ".join(q["sql"].lower() for q in ctx.captured_queries)
        self.assertNotIn("password", sql.replace('"accounts_user"."password"', ""))
        self.assertNotIn("secret", sql)

    def test_htmx_request_gets_only_the_rows_partial(self):
        response = self.client.get(reverse("contact_list") + "?q=jane", HTTP_HX_REQUEST="true")
        self.assertEqual(response.status_code, 200)
        body = response.content.decode()
        self.assertNotIn("<html", body)
        self.assertIn("jane.<wbr>doe@<wbr>acme.<wbr>com", body)  # wraps at the @ and dots first
        self.assertIn("HX-Request", response["Vary"])
        response = self.client.get(
            reverse("contact_list") + "?q=jane&lifecycle=&owner=me&company=&sort=newest&bogus=1", HTTP_HX_REQUEST="true"
        )
        self.assertEqual(response["HX-Push-Url"], "/contacts/?q=jane&owner=me")  # a clean address bar
        # The swapped rows carry where a bulk action returns to: the list as filtered now.
        self.assertContains(response, '<input type="hidden" name="next" value="/contacts/?q=jane&amp;owner=me">')
        # A history restore (back button after the cache was dropped) needs the whole page.
        full = self.client.get(reverse("contact_list"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
        self.assertIn("<html", full.content.decode())

    def test_list_page_markup_for_keyboard_and_htmx(self):
        response = self.client.get(reverse("contact_list"))
        self.assertContains(response, 'data-hotkey="n"')
        self.assertContains(response, 'hx-trigger="submit, change, input changed delay:300ms from:#list-q"')
        self.assertContains(response, 'hx-target="#list-rows"')
        self.assertContains(response, 'class="hide-sm"')


class SortAndPaginationTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        names = ["Zed", "Abel", "Moss", "Abel", "Kim"]
        cls.contacts = [
            make_contact(None, email=f"p{i:03d}@{'abc'[i % 3]}.com", first_name="P", last_name=names[i % 5])
            for i in range(120)
        ]

    def setUp(self):
        self.client.force_login(self.cast["rory"])  # read-only users browse lists too

    def walk(self, query: str) -> list[list[int]]:
        pages, url = [], reverse("contact_list") + query
        while url:
            response = self.client.get(url)
            self.assertEqual(response.status_code, 200)
            pages.append([int(i) for i in re.findall(r'href="/contacts/(\d+)/"', response.content.decode())])
            url = next_link(response)
            self.assertLessEqual(len(pages), 5)
        return pages

    def test_every_sort_pages_through_every_row_once_in_order(self):
        expected = {
            "": list(Contact.objects.order_by("-id").values_list("pk", flat=True)),
            "name": list(Contact.objects.order_by("last_key", "id").values_list("pk", flat=True)),
            "email": list(Contact.objects.order_by("email", "id").values_list("pk", flat=True)),
            "oldest": list(Contact.objects.order_by("id").values_list("pk", flat=True)),
            "lifecycle": list(Contact.objects.order_by("-lifecycle_changed_at", "-id").values_list("pk", flat=True)),
        }
        for sort, order in expected.items():
            with self.subTest(sort=sort):
                pages = self.walk(f"?sort={sort}" if sort else "")
                self.assertEqual([len(p) for p in pages], [50, 50, 20])
                self.assertFalse(set(pages[0]) & set(pages[1]))  # a row on page 2 is not on page 1
                self.assertEqual([pk for page in pages for pk in page], order)

    def test_next_link_carries_filters_and_first_page_link_drops_the_cursor(self):
        response = self.client.get(reverse("contact_list") + "?q=p0&sort=email&lifecycle=lead")
        self.assertContains(response, "100 contacts")  # p000 to p099
        link = next_link(response)
        self.assertIn("q=p0", link)
        self.assertIn("sort=email", link)
        self.assertIn("lifecycle=lead", link)
        self.assertIn("after=", link)
        second = self.client.get(link)
        self.assertContains(second, "First page")
        self.assertContains(second, 'href="/contacts/?q=p0&amp;sort=email&amp;lifecycle=lead"')
        self.assertContains(second, "end of the list")

    def test_garbage_cursor_shows_the_first_page(self):
        response = self.client.get(reverse("contact_list") + "?after=%27%3Bdrop")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(row_ids(response)), 0)  # rory has no checkboxes
        self.assertContains(response, "120 contacts")


class QueryCountTests(TestCase):
    """Each list renders in a constant number of queries, whatever the number of rows."""

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        define_properties()
        PropertyDefinition.objects.create(object_type="deal", key="rival", label="Rival", type="text")

    def add_rows(self, n: int) -> None:
        owners = [self.cast["bob"], self.cast["carol"], None]
        for i in range(n):
            company = make_company(None, owner=owners[i % 3])
            make_contact(None, company=company, owner=owners[i % 3], custom={"persona": "Buyer", "nps": i})
            make_deal(None, company=company, owner=owners[i % 3], custom={"rival": "X"})

    def count(self, url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        return len(ctx.captured_queries)

    def test_constant_queries_with_3_and_30_rows(self):
        self.client.force_login(self.cast["alice"])
        urls = [
            reverse("contact_list"),
            reverse("contact_list") + "?q=person&owner=me&cp_persona=Buyer&company=%231",
            reverse("company_list"),
            reverse("deal_list"),
            reverse("deal_list") + "?status=open&amount_min=1",
        ]
        self.add_rows(3)
        small = {url: self.count(url) for url in urls}
        self.add_rows(27)
        for url in urls:
            with self.subTest(url=url), self.assertNumQueries(small[url]):
                response = self.client.get(url)
            self.assertGreaterEqual(len(row_ids(response)), 0)
        self.assertEqual(len(row_ids(self.client.get(reverse("contact_list")))), 30)
        self.assertEqual(len(row_ids(self.client.get(reverse("deal_list")))), 30)


class CompanyAndDealListTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.acme = make_company(None, name="Acme Corp", domain="acme.com", industry="Software")
        cls.globex = make_company(None, name="Globex", domain="globex.io", industry="Energy", country="France")
        stages = list(default_pipeline().stages.order_by("position"))
        cls.stages = stages
        cls.big = make_deal(None, name="Acme renewal", company=cls.acme, amount="50000", stage=stages[1])
        cls.small = make_deal(None, name="Globex pilot", company=cls.globex, amount="900", close_date="2025-06-30")

    def setUp(self):
        self.client.force_login(self.cast["carol"])

    def ids(self, name: str, query: str) -> set[int]:
        response = self.client.get(reverse(name) + query)
        self.assertEqual(response.status_code, 200)
        return set(row_ids(response))

    def test_company_search_and_filters(self):
        self.assertEqual(self.ids("company_list", "?q=acm"), {self.acme.pk})
        self.assertEqual(self.ids("company_list", "?q=glob"), {self.globex.pk})
        self.assertEqual(self.ids("company_list", "?q=https://www.globex"), {self.globex.pk})  # domain prefix
        self.assertEqual(self.ids("company_list", "?industry=software"), {self.acme.pk})
        self.assertEqual(self.ids("company_list", "?country=France"), {self.globex.pk})

    def test_deal_search_and_filters(self):
        self.assertEqual(self.ids("deal_list", "?q=renewal"), {self.big.pk})
        self.assertEqual(self.ids("deal_list", f"?stage={self.stages[1].pk}"), {self.big.pk})
        self.assertEqual(self.ids("deal_list", "?status=open"), {self.big.pk, self.small.pk})
        self.assertEqual(self.ids("deal_list", "?status=won"), set())
        self.assertEqual(self.ids("deal_list", "?amount_min=1000"), {self.big.pk})
        self.assertEqual(self.ids("deal_list", "?amount_max=1000"), {self.small.pk})
        self.assertEqual(self.ids("deal_list", "?close_from=2025-06-01&close_to=2025-06-30"), {self.small.pk})
        self.assertEqual(self.ids("deal_list", "?company=globex.io"), {self.small.pk})
        self.assertEqual(self.ids("deal_list", "?sort=amount"), {self.big.pk, self.small.pk})
        response = self.client.get(reverse("deal_list") + "?sort=amount")
        self.assertEqual(row_ids(response), [self.big.pk, self.small.pk])
        response = self.client.get(reverse("deal_list") + "?amount_min=lots&stage=abc")
        self.assertContains(response, "Amount min filter ignored")
        self.assertContains(response, "Stage filter ignored")

    def test_lookup_suggests_companies_and_contacts_escaped(self):
        make_company(None, name="<b>Acme</b> Labs", domain="acmelabs.com")
        make_contact(None, email="zoe@acme.com", first_name="<i>Zoe</i>")
        response = self.client.get(reverse("record_lookup", args=["company"]) + "?company=acme")
        self.assertContains(response, '<option value="Acme Corp (acme.com)">Software</option>', html=True)
        self.assertContains(response, "&lt;b&gt;Acme&lt;/b&gt; Labs (acmelabs.com)")
        self.assertNotContains(response, "<b>")
        response = self.client.get(reverse("record_lookup", args=["contact"]) + "?q=zo")
        self.assertContains(response, "zoe@acme.com")
        self.assertNotContains(response, "<i>")
        self.assertEqual(self.client.get(reverse("record_lookup", args=["user"]) + "?q=a").status_code, 404)


class BulkActionTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        PropertyDefinition.objects.create(object_type="contact", key="score", label="Score", type="text")

    def setUp(self):
        bob, carol = self.cast["bob"], self.cast["carol"]
        self.own = make_contact(None, owner=bob, lifecycle_stage="sql")
        self.unowned = make_contact(None, lifecycle_stage="lead")
        self.carols = make_contact(None, owner=carol, lifecycle_stage="lead")
        self.ids = [self.own.pk, self.unowned.pk, self.carols.pk]

    def post(self, user, action, url="contact_bulk", **extra):
        self.client.force_login(user)
        data = {"ids": extra.pop("ids", self.ids), "action": action, **extra}
        return self.client.post(reverse(url), data, follow=True)

    def test_member_assigns_only_records_they_may_reassign(self):
        mia = self.cast["mia"]
        response = self.post(self.cast["bob"], "assign", owner=mia.pk, next="/contacts/?lifecycle=lead")
        self.assertContains(response, "2 updated, 1 skipped (no permission).")
        self.assertEqual(response.redirect_chain[-1][0], "/contacts/?lifecycle=lead")  # back with the filters
        owners = dict(Contact.objects.filter(pk__in=self.ids).values_list("pk", "owner_id"))
        self.assertEqual(owners, {self.own.pk: mia.pk, self.unowned.pk: mia.pk, self.carols.pk: self.cast["carol"].pk})

    def test_manager_assigns_all_and_unassigns(self):
        response = self.post(self.cast["carol"], "assign", owner="none")
        self.assertContains(response, "2 updated")
        self.assertContains(response, "1 already had that owner")
        self.assertFalse(Contact.objects.filter(pk__in=self.ids, owner__isnull=False).exists())

    def test_assign_needs_a_real_active_owner(self):
        for owner in ("", "abc", "99999"):
            response = self.post(self.cast["carol"], "assign", owner=owner)
            self.assertContains(response, "Choose an owner")
        self.assertEqual(Contact.objects.get(pk=self.own.pk).owner, self.cast["bob"])

    def test_lifecycle_change_skips_backward_moves_without_reason(self):
        response = self.post(self.cast["carol"], "lifecycle", lifecycle_stage="mql")
        self.assertContains(response, "2 updated")
        self.assertContains(response, "1 skipped (moving back to an earlier stage needs a reason)")
        self.assertEqual(Contact.objects.get(pk=self.own.pk).lifecycle_stage, "sql")
        response = self.post(self.cast["carol"], "lifecycle", lifecycle_stage="mql", reason="Not ready to buy")
        self.assertContains(response, "1 updated")
        self.assertEqual(Contact.objects.get(pk=self.own.pk).lifecycle_stage, "mql")
        change = LifecycleChange.objects.filter(contact=self.own).latest("id")
        self.assertEqual((change.from_stage, change.to_stage, change.reason), ("sql", "mql", "Not ready to buy"))

    def test_member_lifecycle_change_skips_records_of_others(self):
        response = self.post(self.cast["bob"], "lifecycle", lifecycle_stage="customer")
        self.assertContains(response, "2 updated, 1 skipped (no permission)")
        self.assertEqual(Contact.objects.get(pk=self.carols.pk).lifecycle_stage, "lead")

    def export(self, ids, kind="contacts"):
        """What the bulk bar's Export button does: post the ticked rows to dataio's export."""
        url = reverse("dataio:export", kwargs={"kind": kind, "fmt": "csv"})
        return self.client.post(url, {"ids": ids, "selection": "1", "owner": "", "next": "/contacts/"}, follow=True)

    def test_export_streams_defused_csv_for_managers_only(self):
        PropertyDefinition.objects.get_or_create(object_type="contact", key="score", defaults={"label": "Score"})
        formula = make_contact(None, email="f@x.com", first_name='=HYPERLINK("http://evil")', custom={"score": "+1"})
        self.client.force_login(self.cast["carol"])
        response = self.export([formula.pk, self.own.pk])
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn("attachment;", response["Content-Disposition"])
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        self.assertEqual([r["Smarketing ID"] for r in rows], [str(self.own.pk), str(formula.pk)])
        self.assertEqual(rows[1]["First Name"], '\'=HYPERLINK("http://evil")')
        self.assertEqual(rows[1]["Score"], "'+1")
        self.assertEqual(rows[0]["Contact owner"], "bob@example.com")
        self.assertTrue(AuditEntry.objects.filter(action="export", actor=self.cast["carol"]).exists())
        for user in (self.cast["bob"], self.cast["rory"]):
            self.client.force_login(user)
            self.assertEqual(self.export(self.ids).status_code, 403)

    def test_the_list_page_exports_what_it_shows(self):
        self.client.force_login(self.cast["carol"])
        page = self.client.get(reverse("contact_list"), {"q": "own", "lifecycle": "mql"}).content.decode()
        self.assertIn('<form method="post" id="export-form" action="/import/export/contacts.csv">', page)
        self.assertIn('<input type="hidden" form="export-form" name="q" value="own">', page)
        self.assertIn('<input type="hidden" form="export-form" name="lifecycle" value="mql">', page)
        self.assertIn('formaction="/import/export/contacts.xlsx"', page)
        # The rows partial (htmx, on every filter change) carries the new filters to the same form.
        rows = self.client.get(reverse("contact_list"), {"q": "carol"}, headers={"HX-Request": "true"})
        self.assertContains(rows, '<input type="hidden" form="export-form" name="q" value="carol">')
        self.assertNotContains(rows, 'name="lifecycle" value="mql"')

    def test_delete_for_managers_only(self):
        self.client.force_login(self.cast["bob"])
        self.assertEqual(
            self.client.post(reverse("contact_bulk"), {"ids": self.ids, "action": "delete"}).status_code, 403
        )
        self.assertEqual(Contact.objects.filter(pk__in=self.ids).count(), 3)
        response = self.post(self.cast["carol"], "delete")
        self.assertContains(response, "3 deleted.")
        self.assertFalse(Contact.objects.filter(pk__in=self.ids).exists())
        self.assertEqual(AuditEntry.objects.filter(action="delete", object_type="crm.contact").count(), 3)

    def test_read_only_user_cannot_bulk_edit(self):
        for action in ("assign", "lifecycle", "delete"):
            self.client.force_login(self.cast["rory"])
            data = {"ids": self.ids, "action": action, "owner": "none", "lifecycle_stage": "customer"}
            self.assertEqual(self.client.post(reverse("contact_bulk"), data).status_code, 403, action)
        self.assertEqual(self.export(self.ids).status_code, 403)
        self.assertEqual(Contact.objects.get(pk=self.carols.pk).lifecycle_stage, "lead")

    def test_nothing_selected_unknown_action_and_hostile_ids(self):
        response = self.post(self.cast["carol"], "assign", ids=[], owner="none")
        self.assertContains(response, "Select at least one row first.")
        response = self.post(self.cast["carol"], "explode")
        self.assertContains(response, "Unknown bulk action.")
        response = self.post(self.cast["carol"], "assign", ids=["x", "-1", "1" * 40], owner="none")
        self.assertContains(response, "Select at least one row first.")
        response = self.post(self.cast["carol"], "assign", owner="none", next="https://evil.example/contacts/")
        self.assertEqual(response.redirect_chain[-1][0], "/contacts/")
        self.assertEqual(self.client.get(reverse("contact_bulk")).status_code, 405)

    def test_company_and_deal_bulk_assign_and_export(self):
        companies = [make_company(None, owner=self.cast["carol"]), make_company(None)]
        deals = [make_deal(None, owner=self.cast["carol"]), make_deal(None)]
        ids = [c.pk for c in companies]
        response = self.post(self.cast["bob"], "assign", url="company_bulk", ids=ids, owner=self.cast["bob"].pk)
        self.assertContains(response, "1 updated, 1 skipped (no permission)")
        self.assertEqual(Company.objects.get(pk=companies[1].pk).owner, self.cast["bob"])
        ids = [d.pk for d in deals]
        response = self.post(self.cast["alice"], "assign", url="deal_bulk", ids=ids, owner=self.cast["mia"].pk)
        self.assertContains(response, "2 updated")
        self.assertEqual(set(Deal.objects.filter(pk__in=ids).values_list("owner", flat=True)), {self.cast["mia"].pk})
        self.client.force_login(self.cast["alice"])
        response = self.export(ids, kind="deals")
        header = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[0]
        self.assertTrue(header.startswith("Smarketing ID,Deal Name,Amount,Currency,Close Date,Pipeline,Deal Stage"))
        response = self.post(self.cast["alice"], "lifecycle", url="deal_bulk", ids=ids, lifecycle_stage="lead")
        self.assertContains(response, "Unknown bulk action.")


XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


class EscapingTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        PropertyDefinition.objects.create(object_type="contact", key="motto", label=XSS[1], type="text")
        PropertyDefinition.objects.create(object_type="deal", key="motto", label="Motto", type="text")
        PropertyDefinition.objects.create(
            object_type="company", key="tier", label="Tier", type="choice", choices=[XSS[0], "B"]
        )
        company = make_company(None, name=XSS[0], domain="xss.example", industry=XSS[1], custom={"tier": XSS[0]})
        make_contact(None, first_name=XSS[1], last_name=XSS[0], title=XSS[0], company=company, custom={"motto": XSS[0]})
        make_deal(None, name=XSS[1], company=company, custom={"motto": XSS[1]})

    def test_payloads_render_escaped_on_every_list(self):
        self.client.force_login(self.cast["alice"])
        for name in ("contact_list", "company_list", "deal_list"):
            for query in ("", "?q=%3C", "?cp_tier=%3Cscript%3Ealert(1)%3C/script%3E"):
                with self.subTest(name=name, query=query):
                    body = self.client.get(reverse(name) + query).content.decode()
                    self.assertNotIn("<script>alert", body)
                    self.assertNotIn("<img src=x", body)
                    if not query:
                        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", body)
            body = self.client.get(reverse(name), HTTP_HX_REQUEST="true").content.decode()
            self.assertNotIn("<script>alert", body)
            self.assertNotIn("<img src=x", body)
        body = self.client.get(reverse("contact_list")).content.decode()
        self.assertIn("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;", body)  # the custom column header
