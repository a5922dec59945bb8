"""Global search: the header's dropdown (/search/menu/) and the results page (/search/), over the three kinds."""

import re

import pytest
from django.test import TestCase
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.crm.views import search
from smarketing.testing import PASSWORD, make_cast, make_company, make_contact, make_deal

OPTION = re.compile(r'role="option" id="search-option-(contact|company|deal)-(\d+)"')


class GlobalSearchTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.bob, cls.carol, cls.rory = cast["bob"], cast["carol"], cast["rory"]
        cls.initech = make_company(None, name="Initech", domain="initech.example", industry="Software")
        cls.other_co = make_company(None, name="Globex", domain="globex.example")
        cls.peter = make_contact(
            None, first_name="Peter", last_name="Gibbons", email="peter@initech.example", company=cls.initech
        )
        cls.milton = make_contact(None, first_name="Milton", last_name="Waddams", email="red.stapler@initech.example")
        cls.samir = make_contact(None, first_name="Samir", last_name="Nagheenanajar", email="samir@globex.example")
        cls.renewal = make_deal(None, name="Initech renewal 2027", company=cls.initech, owner=cls.carol)
        cls.upsell = make_deal(None, name="Globex upsell", company=cls.other_co)

    def setUp(self):
        self.client.force_login(self.bob)

    def found(self, html: str) -> set[tuple[str, int]]:
        return {(kind, int(pk)) for kind, pk in OPTION.findall(html)}

    def test_menu_groups_contacts_companies_and_deals(self):
        response = self.client.get(reverse("search_menu"), {"q": "Initech"})
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        # A company by name, a deal by a word of its name; no contact is named or emailed "initech…".
        self.assertEqual(self.found(html), {("company", self.initech.pk), ("deal", self.renewal.pk)})
        self.assertLess(html.index(">Companies<"), html.index(">Deals<"))
        self.assertNotIn(">Contacts<", html)  # empty groups are left out
        self.assertIn(f'href="{reverse("search")}?q=initech"', html)  # "All results" goes to the full page
        self.assertIn("$1,000", html)  # the deal's amount, formatted

    def test_contacts_by_first_name_last_name_and_email_prefix(self):
        for term, expected in (
            ("pet", self.peter),
            ("peter gib", self.peter),
            ("waddams", self.milton),
            ("red.stapler@", self.milton),
            ("  SAMIR  ", self.samir),
        ):
            with self.subTest(term=term):
                html = self.client.get(reverse("search_menu"), {"q": term}).content.decode()
                self.assertIn(("contact", expected.pk), self.found(html))
                self.assertEqual(len([k for k, _ in self.found(html) if k == "contact"]), 1)

    def test_companies_by_domain(self):
        for term in ("globex.example", "https://www.globex.ex"):
            with self.subTest(term=term):
                html = self.client.get(reverse("search_menu"), {"q": term}).content.decode()
                self.assertIn(("company", self.other_co.pk), self.found(html))

    def test_nothing_found_and_empty_term(self):
        html = self.client.get(reverse("search_menu"), {"q": "zzqx"}).content.decode()
        self.assertIn("Nothing matches “zzqx”", html)
        self.assertEqual(self.found(html), set())
        with self.assertNumQueries(2):  # session and user only: an empty box searches nothing
            response = self.client.get(reverse("search_menu"), {"q": "   "})
        self.assertEqual(response.content.decode().strip(), "")
        page = self.client.get(reverse("search"))
        self.assertContains(page, "Type a name, an email or a domain")
        self.assertContains(self.client.get(reverse("search"), {"q": "zzqx"}), "Nothing matches “zzqx”")

    def test_results_page_lists_each_kind_with_links_to_the_filtered_lists(self):
        response = self.client.get(reverse("search"), {"q": "initech"})
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn(reverse("company_detail", args=[self.initech.pk]), html)
        self.assertIn(reverse("deal_detail", args=[self.renewal.pk]), html)
        self.assertIn(f"{reverse('deal_list')}?q=initech", html)
        self.assertIn("Carol Manager", html)  # the deal's owner
        self.assertIn('value="initech"', html)  # the header box keeps the term
        self.assertNotIn(reverse("contact_detail", args=[self.peter.pk]), html)
        self.assertIn("Peter", self.client.get(reverse("search"), {"q": "peter"}).content.decode())

    def test_groups_stop_at_their_limit_and_say_there_are_more(self):
        for i in range(search.MENU_SHOWN + 1):
            make_contact(None, first_name="Zelda", last_name=f"Many{i}", email=f"zelda{i}@example.com")
        html = self.client.get(reverse("search_menu"), {"q": "zelda"}).content.decode()
        contacts = [int(pk) for kind, pk in OPTION.findall(html) if kind == "contact"]
        self.assertEqual(len(contacts), search.MENU_SHOWN)
        self.assertIn("search-option-more-contact", html)
        self.assertIn(f"{reverse('contact_list')}?q=zelda", html)
        self.assertEqual(contacts, sorted(contacts, reverse=True))  # newest first

    def test_query_count_is_constant(self):
        # Session, user, then per kind its candidate reads (contacts: email, name, last name; companies: name,
        # domain; deals: name), its keys and its rows, and the page layout's team: 2 + (3+2) + (2+2) + (1+2) + 1.
        with self.assertNumQueries(15):
            small = self.client.get(reverse("search"), {"q": "g"})
        for i in range(30):
            make_contact(None, first_name="Gary", last_name=f"G{i}", email=f"g{i}@example.com", company=self.initech)
            make_company(None, name=f"Gadget {i}", domain=f"gadget{i}.example")
            make_deal(None, name=f"G deal {i}", company=self.initech)
        with self.assertNumQueries(15):
            big = self.client.get(reverse("search"), {"q": "g"})
        self.assertGreater(big.content.count(b"<tr>"), small.content.count(b"<tr>"))
        with self.assertNumQueries(14):
            self.client.get(reverse("search_menu"), {"q": "g"})

    def test_read_only_users_search_everything_they_may_view(self):
        self.client.force_login(self.rory)
        html = self.client.get(reverse("search_menu"), {"q": "initech"}).content.decode()
        self.assertEqual(self.found(html), {("company", self.initech.pk), ("deal", self.renewal.pk)})

    def test_deactivated_users_find_nothing_and_anonymous_ones_log_in(self):
        self.rory.is_active = False
        self.assertEqual(search.find(self.rory, "initech", 5)[1][1].rows, [])
        self.assertEqual([g.rows for g in search.find(self.rory, "peter", 5)[1]], [[], [], []])
        self.client.logout()
        for name in ("search", "search_menu"):
            response = self.client.get(reverse(name), {"q": "peter"})
            self.assertEqual(response.status_code, 302)
            self.assertIn(reverse("login"), response["Location"])

    def test_header_box_on_every_page_is_the_global_search(self):
        html = self.client.get(reverse("home")).content.decode()
        self.assertRegex(html, rf'<form class="global-search" action="{reverse("search")}"')
        self.assertIn('data-shortcut="/"', html)
        self.assertIn(f'hx-get="{reverse("search_menu")}"', html)
        self.assertIn("smarketing/search.js", html)
        self.assertNotIn("onkeydown", html)

    def test_names_are_escaped(self):
        make_contact(None, first_name="<script>alert(1)</script>", last_name="X", email="xss@example.com")
        html = self.client.get(reverse("search_menu"), {"q": "<script>"}).content.decode()
        self.assertNotIn("<script>alert", html)
        self.assertIn("&lt;script&gt;", html)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_keyboard_finds_and_opens_a_record(live_server, page):
    cast = make_cast()
    company = make_company(None, name="Initech", domain="initech.example")
    make_contact(None, first_name="Peter", last_name="Gibbons", email="peter@initech.example", company=company)
    milton = make_contact(None, first_name="Peter", last_name="Milton", email="milton@initech.example")
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live_server.url
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", cast["bob"].email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/")

    box = page.locator("#global-search-q")
    menu = page.locator("#global-search-menu")
    page.keyboard.press("/")  # app.js's shortcut focuses the box
    expect(box).to_be_focused()
    page.keyboard.type("peter")
    expect(menu).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = menu.locator("[role=option]")
    expect(options).to_have_count(3)  # two contacts and "All results"
    page.keyboard.press("ArrowDown")  # newest first: Milton
    expect(options.nth(0)).to_have_class(re.compile("is-active"))
    expect(box).to_have_attribute("aria-activedescendant", f"search-option-contact-{milton.pk}")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    expect(box).to_have_attribute("aria-activedescendant", f"search-option-contact-{milton.pk}")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_be_focused()

    # Down opens it again; Enter opens the chosen record.
    page.keyboard.press("ArrowDown")
    expect(menu).to_be_visible()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/contacts/{milton.pk}/")

    # Enter with nothing chosen opens the full results page.
    page.keyboard.press("/")
    page.keyboard.type("initech")
    expect(menu.locator("[role=option]").first).to_be_visible()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/search/?q=initech")
    expect(page.locator("h1")).to_have_text("Search")
    expect(page.locator("#search-company")).to_be_visible()
    assert not errors, errors
