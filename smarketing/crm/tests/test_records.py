"""Record pages: the 360° view, the unified timeline, quick actions and the lifecycle form, through HTTP."""

import datetime
import re

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from smarketing.crm import kinds as Kind
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Deal, LifecycleChange, Note, PropertyDefinition, Task
from smarketing.email import kinds as EmailKind
from smarketing.forms import kinds as FormKind
from smarketing.testing import make_cast, make_company, make_contact, make_deal
from smarketing.timeline.models import Team, Touchpoint
from smarketing.timeline.services import record_touch

XSS = [
    '<script>alert("xss")</script>',
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)//<a href='javascript:alert(1)'>x</a>",
]
TOUCH_ID = re.compile(r'id="touch-(\d+)"')


def touch_ids(response) -> list[int]:
    return [int(i) for i in TOUCH_ID.findall(response.content.decode())]


def assert_no_raw_payload(test, html: str) -> None:
    for payload in ("<script>alert", "<img src=x", "<svg onload", "onerror=alert(1)>", "href='javascript"):
        test.assertNotIn(payload, html)


class RecordPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice, cls.bob, cls.mia, cls.rory = (cls.cast[n] for n in ("alice", "bob", "mia", "rory"))
        PropertyDefinition.objects.create(object_type="contact", key="tshirt", label="T-shirt size", type="text")
        PropertyDefinition.objects.create(object_type="contact", key="renewal", label="Renewal date", type="date")
        PropertyDefinition.objects.create(object_type="contact", key="vip", label="VIP", type="boolean")
        cls.company = make_company(None, name="Acme Robotics", domain="acme.example", industry="Manufacturing")
        cls.contact = make_contact(
            None,
            email="jane@acme.example",
            first_name="Jane",
            last_name="Doe",
            title="VP Operations",
            company=cls.company,
            owner=cls.bob,
            lifecycle_stage="mql",
            first_source="organic",
            first_utm_source="google",
            first_utm_campaign="brand-2025",
            custom={"tshirt": "Medium", "renewal": "2026-03-01", "vip": True},
        )
        cls.colleague = make_contact(None, first_name="Colin", last_name="Colleague", company=cls.company)
        record_touch(
            kind=EmailKind.EMAIL_OPENED, team=Team.MARKETING, contact=cls.contact, summary="Opened: May newsletter"
        )
        services.log_activity(
            cls.contact, kind="call", summary="Discovery call", body="Budget <b>approved</b>", actor=cls.bob
        )

    def setUp(self):
        self.client.force_login(self.bob)

    def url(self, contact=None):
        return reverse("contact_detail", args=[(contact or self.contact).pk])

    def test_contact_page_shows_properties_custom_properties_and_both_teams(self):
        response = self.client.get(self.url())
        self.assertEqual(response.status_code, 200)
        for text in (
            "jane@acme.example",
            "VP Operations",
            "Acme Robotics",
            "Marketing-qualified lead",
            "T-shirt size",
            "Medium",
            "Renewal date",
            "Mar 1, 2026",
            "VIP",
            "brand-2025",
            "Opened: May newsletter",
            "Discovery call",
            "Colin Colleague",  # the company's other contacts
        ):
            self.assertContains(response, text)
        self.assertContains(response, 'class="dot marketing"')
        self.assertContains(response, 'class="dot sales"')
        # Call notes are shown escaped, not as markup.
        self.assertContains(response, "Budget &lt;b&gt;approved&lt;/b&gt;")

    def test_times_are_shown_in_the_users_time_zone(self):
        self.bob.time_zone = "Asia/Tokyo"
        self.bob.save()
        when = datetime.datetime(2025, 1, 10, 23, 30, tzinfo=datetime.UTC)
        record_touch(
            kind=FormKind.PAGE_VIEWED, team=Team.MARKETING, contact=self.contact, summary="Viewed", occurred_at=when
        )
        response = self.client.get(self.url())
        self.assertContains(response, "Jan 11, 2025 08:30")  # UTC+9

    def test_team_filter(self):
        partial = reverse("timeline_partial", args=["contact", self.contact.pk])
        marketing = self.client.get(partial, {"team": "marketing"}).content.decode()
        self.assertIn("Opened: May newsletter", marketing)
        self.assertNotIn("Discovery call", marketing)
        sales = self.client.get(self.url(), {"team": "sales"}).content.decode()
        self.assertIn("Discovery call", sales)
        self.assertNotIn("Opened: May newsletter", sales)
        system = self.client.get(partial, {"team": "system"}).content.decode()
        self.assertIn("Contact created", system)
        self.assertNotIn("Discovery call", system)

    def test_kind_filter_and_unknown_filters_are_ignored(self):
        partial = reverse("timeline_partial", args=["contact", self.contact.pk])
        calls = self.client.get(partial, {"kind": "call_logged"}).content.decode()
        self.assertIn("Discovery call", calls)
        self.assertNotIn("Opened: May newsletter", calls)
        everything = self.client.get(partial, {"kind": "bogus'; drop table", "team": "nobody"})
        self.assertEqual(everything.status_code, 200)
        self.assertContains(everything, "Discovery call")
        self.assertContains(everything, "Opened: May newsletter")

    def test_load_more_returns_the_next_items_without_duplicates(self):
        contact = make_contact(None)
        start = timezone.now() - datetime.timedelta(days=30)
        for i in range(44):
            record_touch(
                kind=FormKind.PAGE_VIEWED,
                team=Team.MARKETING,
                contact=contact,
                summary=f"Page {i}",
                occurred_at=start + datetime.timedelta(hours=i // 2),  # pairs share a timestamp: ties broken by id
            )
        expected = list(
            Touchpoint.objects.filter(contact=contact).order_by("-occurred_at", "-id").values_list("id", flat=True)
        )
        self.assertEqual(len(expected), 45)
        first = self.client.get(self.url(contact))
        first_ids = touch_ids(first)
        self.assertEqual(first_ids, expected[:30])
        cursor = re.search(r'hx-get="[^"]*cursor=([^"&]+)', first.content.decode()).group(1)
        second = self.client.get(
            reverse("timeline_partial", args=["contact", contact.pk]), {"cursor": cursor}, HTTP_HX_REQUEST="true"
        )
        second_ids = touch_ids(second)
        self.assertEqual(second_ids, expected[30:])
        self.assertFalse(set(first_ids) & set(second_ids))
        self.assertNotContains(second, "Load more")
        # Without JavaScript the same cursor pages the full record page.
        page_two = self.client.get(self.url(contact), {"cursor": cursor})
        self.assertEqual(touch_ids(page_two), expected[30:])
        self.assertContains(page_two, "Back to the newest activity")

    def test_load_more_keeps_the_team_filter(self):
        contact = make_contact(None)
        for i in range(35):
            record_touch(kind=EmailKind.EMAIL_SENT, team=Team.MARKETING, contact=contact, summary=f"Sent {i}")
            record_touch(kind=Kind.CALL_LOGGED, team=Team.SALES, contact=contact, summary=f"Call {i}")
        partial = reverse("timeline_partial", args=["contact", contact.pk])
        first = self.client.get(partial, {"team": "sales"}).content.decode()
        more = re.search(r'<li class="timeline-more"><a [^>]*hx-get="([^"]+)"', first).group(1).replace("&amp;", "&")
        self.assertIn("team=sales", more)
        second = self.client.get(more).content.decode()
        self.assertEqual(len(TOUCH_ID.findall(second)), 5)
        self.assertNotIn("Sent ", second)

    def test_bad_cursor_shows_the_first_page(self):
        response = self.client.get(self.url(), {"cursor": "not-a-cursor!!"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Discovery call")

    def test_unknown_record_kind_is_404(self):
        self.assertEqual(self.client.get("/invoice/1/timeline/").status_code, 404)
        self.assertEqual(self.client.get(reverse("contact_detail", args=[999999])).status_code, 404)

    def test_action_links_follow_permissions(self):
        response = self.client.get(self.url())  # bob owns the contact: edit, but no merge/delete
        self.assertContains(response, reverse("contact_edit", args=[self.contact.pk]))
        self.assertNotContains(response, reverse("contact_delete", args=[self.contact.pk]))
        self.assertNotContains(response, reverse("contact_merge", args=[self.contact.pk]))
        self.client.force_login(self.alice)
        response = self.client.get(self.url())
        self.assertContains(response, reverse("contact_delete", args=[self.contact.pk]))
        self.assertContains(response, reverse("contact_merge", args=[self.contact.pk]))
        self.client.force_login(self.rory)
        response = self.client.get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, reverse("contact_edit", args=[self.contact.pk]))
        self.assertNotContains(response, reverse("log_activity", args=["contact", self.contact.pk]))
        self.assertNotContains(response, reverse("contact_lifecycle", args=[self.contact.pk]))

    def test_create_deal_link_carries_the_contact_and_company(self):
        response = self.client.get(self.url())
        self.assertContains(
            response, f"{reverse('deal_create')}?contact={self.contact.pk}&amp;company={self.company.pk}"
        )


class QuickActionTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob, cls.rory = cls.cast["bob"], cls.cast["rory"]
        cls.contact = make_contact(None, first_name="Jane", owner=cls.bob)
        cls.company = make_company(None)
        cls.deal = make_deal(None, company=cls.company, contacts=[cls.contact])

    def setUp(self):
        self.client.force_login(self.bob)

    def test_log_call_with_htmx_prepends_the_item_and_resets_the_form(self):
        url = reverse("log_activity", args=["contact", self.contact.pk])
        response = self.client.post(
            url,
            {"kind": "call", "summary": "Called about pricing", "outcome": "Connected", "body": "Wants a demo"},
            HTTP_HX_REQUEST="true",
        )
        self.assertEqual(response.status_code, 200)
        touch = Touchpoint.objects.get(contact=self.contact, kind=Kind.CALL_LOGGED)
        self.assertEqual(touch.summary, "Called about pricing")
        self.assertEqual(touch.details["outcome"], "Connected")
        self.assertEqual(touch.team, Team.SALES)
        html = response.content.decode()
        self.assertIn('hx-swap-oob="afterbegin:#timeline-list"', html)
        self.assertIn(f'id="touch-{touch.pk}"', html)
        self.assertIn('id="qa-call"', html)
        self.assertNotIn("Called about pricing</textarea>", html)
        self.assertNotIn('value="Called about pricing"', html)  # the form came back empty
        timeline = self.client.get(reverse("contact_detail", args=[self.contact.pk]))
        self.assertContains(timeline, "Called about pricing")
        self.assertContains(timeline, "Outcome: Connected")

    def test_plain_post_redirects_to_the_record(self):
        url = reverse("log_activity", args=["deal", self.deal.pk])
        response = self.client.post(url, {"kind": "meeting", "summary": "Demo with IT", "outcome": "Completed"})
        self.assertRedirects(response, reverse("deal_detail", args=[self.deal.pk]) + "#timeline")
        touch = Touchpoint.objects.get(deal=self.deal, kind=Kind.MEETING_LOGGED)
        self.assertEqual(touch.company_id, self.company.pk)
        self.assertContains(self.client.get(reverse("deal_detail", args=[self.deal.pk])), "Demo with IT")

    def test_errors_keep_what_was_typed(self):
        url = reverse("log_activity", args=["company", self.company.pk])
        data = {"kind": "email", "summary": "", "outcome": "Replied", "body": "Long notes I typed"}
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "This field is required.", status_code=400)
        self.assertContains(response, "Long notes I typed", status_code=400)
        self.assertContains(response, 'value="Replied" selected', status_code=400)
        htmx = self.client.post(url, data, HTTP_HX_REQUEST="true")
        self.assertEqual(htmx.status_code, 200)
        self.assertContains(htmx, "Long notes I typed")
        self.assertNotContains(htmx, "hx-swap-oob")
        self.assertFalse(Touchpoint.objects.filter(kind=Kind.EMAIL_LOGGED).exists())

    def test_bad_outcome_and_future_time_are_refused_clearly(self):
        url = reverse("log_activity", args=["contact", self.contact.pk])
        response = self.client.post(url, {"kind": "call", "summary": "x", "outcome": "Exploded"})
        self.assertContains(response, "Select a valid choice", status_code=400)
        future = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        response = self.client.post(url, {"kind": "call", "summary": "Next week", "occurred_at": future})
        self.assertContains(response, "cannot be in the future", status_code=400)
        self.assertContains(response, 'value="Next week"', status_code=400)
        self.assertFalse(Touchpoint.objects.filter(kind=Kind.CALL_LOGGED).exists())

    def test_note_is_escaped_text_turned_into_paragraphs(self):
        url = reverse("add_note", args=["contact", self.contact.pk])
        body = "First line <script>alert(1)</script>\nsecond line\n\nNew paragraph"
        response = self.client.post(url, {"body": body}, HTTP_HX_REQUEST="true")
        self.assertEqual(response.status_code, 200)
        note = Note.objects.get(contact=self.contact)
        self.assertEqual(
            note.body, "<p>First line &lt;script&gt;alert(1)&lt;/script&gt;<br>second line</p><p>New paragraph</p>"
        )
        self.assertIn("<p>New paragraph</p>", response.content.decode())
        page = self.client.get(reverse("contact_detail", args=[self.contact.pk])).content.decode()
        self.assertIn("<p>First line &lt;script&gt;alert(1)&lt;/script&gt;<br>second line</p>", page)
        assert_no_raw_payload(self, page)

    def test_empty_note_is_an_error(self):
        response = self.client.post(reverse("add_note", args=["contact", self.contact.pk]), {"body": "  "})
        self.assertContains(response, "This field is required.", status_code=400)
        self.assertFalse(Note.objects.exists())

    def test_task_is_created_with_due_date_and_shown_in_open_tasks(self):
        url = reverse("add_task", args=["contact", self.contact.pk])
        due = (timezone.localtime() + datetime.timedelta(days=1)).replace(second=0, microsecond=0)
        response = self.client.post(
            url,
            {"title": "Send proposal", "kind": "email", "due_at": due.strftime("%Y-%m-%dT%H:%M")},
            HTTP_HX_REQUEST="true",
        )
        self.assertEqual(response.status_code, 200)
        task = Task.objects.get(title="Send proposal")
        self.assertEqual((task.contact, task.owner, task.kind, task.due_at), (self.contact, self.bob, "email", due))
        html = response.content.decode()
        self.assertIn('id="record-tasks" hx-swap-oob="true"', html)
        self.assertIn("Send proposal", html)
        self.assertTrue(Touchpoint.objects.filter(contact=self.contact, kind=Kind.TASK_CREATED).exists())

    def test_task_can_be_assigned_to_a_colleague_but_not_to_a_read_only_user(self):
        url = reverse("add_task", args=["deal", self.deal.pk])
        carol = self.cast["carol"]
        self.client.post(url, {"title": "Review pricing", "kind": "todo", "owner": carol.pk})
        self.assertEqual(Task.objects.get(title="Review pricing").owner, carol)
        response = self.client.post(url, {"title": "Read this", "kind": "todo", "owner": self.rory.pk})
        self.assertContains(response, "Select a valid choice", status_code=400)
        self.assertContains(response, 'value="Read this"', status_code=400)

    def test_read_only_user_gets_403_on_every_quick_action(self):
        self.client.force_login(self.rory)
        posts = [
            (reverse("log_activity", args=["contact", self.contact.pk]), {"kind": "call", "summary": "x"}),
            (reverse("add_note", args=["company", self.company.pk]), {"body": "x"}),
            (reverse("add_task", args=["deal", self.deal.pk]), {"title": "x", "kind": "todo"}),
            (reverse("contact_lifecycle", args=[self.contact.pk]), {"lifecycle_stage": "sql"}),
        ]
        before = Touchpoint.objects.count()
        for url, data in posts:
            response = self.client.post(url, data)
            self.assertEqual(response.status_code, 403, url)
            self.assertContains(response, "You can't do that", status_code=403)
            htmx = self.client.post(url, data, HTTP_HX_REQUEST="true")
            self.assertEqual(htmx.status_code, 403)
            self.assertIn("text/plain", htmx["Content-Type"])
            self.assertTrue(htmx.content)
        self.assertEqual(Touchpoint.objects.count(), before)
        self.assertFalse(Note.objects.exists() or Task.objects.exists())

    def test_quick_actions_need_post(self):
        self.assertEqual(self.client.get(reverse("add_note", args=["contact", self.contact.pk])).status_code, 405)


class LifecycleFormTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob = cls.cast["bob"]

    def setUp(self):
        self.client.force_login(self.bob)
        self.contact = make_contact(None, lifecycle_stage="sql", owner=self.bob)
        self.url = reverse("contact_lifecycle", args=[self.contact.pk])

    def test_forward_move_is_recorded_and_shown_in_history(self):
        response = self.client.post(self.url, {"lifecycle_stage": "opportunity", "reason": "Budget confirmed"})
        self.assertRedirects(response, reverse("contact_detail", args=[self.contact.pk]))
        self.contact.refresh_from_db()
        self.assertEqual(self.contact.lifecycle_stage, "opportunity")
        page = self.client.get(reverse("contact_detail", args=[self.contact.pk]))
        self.assertContains(page, "Budget confirmed")
        self.assertContains(page, "Lifecycle moved: Sales-qualified lead → Opportunity")

    def test_backward_move_needs_recycle_and_reason(self):
        response = self.client.post(self.url, {"lifecycle_stage": "lead"})
        self.assertContains(response, "Tick “Recycle” and give a reason", status_code=400)
        response = self.client.post(self.url, {"lifecycle_stage": "lead", "recycle": "on"})
        self.assertContains(response, "Say why the contact is recycled.", status_code=400)
        self.contact.refresh_from_db()
        self.assertEqual(self.contact.lifecycle_stage, "sql")
        response = self.client.post(self.url, {"lifecycle_stage": "lead", "recycle": "on", "reason": "No budget"})
        self.assertEqual(response.status_code, 302)
        change = LifecycleChange.objects.filter(contact=self.contact).latest("id")
        self.assertEqual((change.from_stage, change.to_stage, change.reason), ("sql", "lead", "No budget"))

    def test_unknown_stage_and_same_stage_are_errors(self):
        self.assertContains(
            self.client.post(self.url, {"lifecycle_stage": "king"}), "Select a valid choice", status_code=400
        )
        self.assertContains(
            self.client.post(self.url, {"lifecycle_stage": "sql"}), "already at this stage", status_code=400
        )

    def test_member_cannot_change_someone_elses_contact(self):
        other = make_contact(None, owner=self.cast["carol"])
        response = self.client.post(reverse("contact_lifecycle", args=[other.pk]), {"lifecycle_stage": "customer"})
        self.assertEqual(response.status_code, 403)


class CompanyAndDealPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice, cls.bob = cls.cast["alice"], cls.cast["bob"]
        cls.company = make_company(None, name="Globex", domain="globex.example", country="Germany")
        cls.contacts = [make_contact(None, first_name=f"Person{i:02d}", company=cls.company) for i in range(27)]
        record_touch(
            kind=FormKind.FORM_SUBMITTED, team=Team.MARKETING, contact=cls.contacts[0], summary="Filled demo form"
        )
        cls.stages = list(default_pipeline().stages.order_by("position"))

    def setUp(self):
        self.client.force_login(self.bob)

    def test_company_page_lists_contacts_deals_and_the_company_timeline(self):
        deal = make_deal(None, name="Globex expansion", company=self.company, amount="12500")
        response = self.client.get(reverse("company_detail", args=[self.company.pk]))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "globex.example")
        self.assertContains(response, "Globex expansion")
        self.assertContains(response, "$12,500")
        self.assertContains(response, "Filled demo form")  # a contact's touch is on the company timeline
        self.assertContains(response, f"{reverse('contact_list')}?company={self.company.pk}")
        self.assertEqual(response.content.decode().count('<li>\n      <a href="/contacts/'), 25)
        self.assertContains(response, reverse("deal_detail", args=[deal.pk]))

    def test_deal_page_shows_stage_history_time_in_stage_and_exit_criteria(self):
        contact = make_contact(None, first_name="Dana")
        deal = make_deal(None, name="Big deal", stage=self.stages[1], amount="0", contacts=[contact])
        Deal.objects.filter(pk=deal.pk).update(
            stage_entered_at=timezone.now() - datetime.timedelta(days=20, hours=3), owner=self.bob
        )
        response = self.client.get(reverse("deal_detail", args=[deal.pk]))
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn("stage-steps", html)
        self.assertIn('class="stage-step current"', html)
        self.assertIn("Stalled", html)  # 20 days against a 14-day target
        self.assertIn("20 d 3 h", html)
        self.assertIn("(target 14 d)", html)
        self.assertIn("To leave “Qualified to buy”", html)
        self.assertRegex(html, r'class="unmet">.*Amount')
        self.assertRegex(html, r'class="unmet">.*Close date')
        self.assertIn("Dana", html)
        self.assertIn("Champion", html)

    def test_stage_history_shows_the_time_spent_in_each_stage(self):
        deal = make_deal(None, name="Timed", stage=self.stages[2])
        start = timezone.now() - datetime.timedelta(days=10)
        Deal.objects.filter(pk=deal.pk).update(stage_entered_at=start)
        deal.stage_changes.update(changed_at=start)
        deal.refresh_from_db()
        services.move_deal_stage(
            deal, self.stages[3], actor=self.alice, at=start + datetime.timedelta(days=3, hours=4, minutes=5)
        )
        response = self.client.get(reverse("deal_detail", args=[deal.pk]))
        rows = re.findall(r"<tr[^>]*>\s*<td>(.*?)</tr>", response.content.decode(), re.S)
        self.assertEqual(len(rows), 2)
        newest, oldest = rows
        self.assertIn("Decision maker bought-in", newest)
        self.assertIn("6 d 19 h", newest)  # 10 days minus 3 d 4 h 5 min, still running
        self.assertIn("so far", newest)
        self.assertIn("Alice Admin", newest)
        self.assertIn("Presentation scheduled", oldest)
        self.assertIn("3 d 4 h", oldest)

    def test_move_form_lost_needs_a_reason_and_keeps_input(self):
        deal = make_deal(None, name="Doomed", stage=self.stages[2], owner=self.bob)
        lost = self.stages[-1]
        url = reverse("deal_move", args=[deal.pk])
        response = self.client.post(url, {"stage": lost.pk, "reason": ""})
        self.assertContains(response, "Say why the deal was lost.", status_code=400)
        self.assertContains(response, f'<option value="{lost.pk}" selected>', status_code=400)
        response = self.client.post(url, {"stage": lost.pk, "reason": "Chose a competitor"})
        self.assertRedirects(response, reverse("deal_detail", args=[deal.pk]))
        deal.refresh_from_db()
        self.assertEqual((deal.status, deal.close_reason), ("lost", "Chose a competitor"))
        page = self.client.get(reverse("deal_detail", args=[deal.pk]))
        self.assertContains(page, "Lost because")
        self.assertContains(page, 'class="stage-step current outcome-lost"')


class XssTests(TestCase):
    """Hostile text in every field the record pages show comes out escaped (notes: sanitized)."""

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob = cls.cast["bob"]
        PropertyDefinition.objects.create(object_type="contact", key="motto", label=XSS[1], type="text")
        PropertyDefinition.objects.create(object_type="deal", key="memo", label="Memo", type="text")
        cls.company = make_company(None, name=XSS[0], industry=XSS[1], country=XSS[2])
        cls.contact = make_contact(
            None,
            first_name=XSS[0],
            last_name=XSS[2],
            title=XSS[1],
            phone=XSS[2][:50],
            company=cls.company,
            first_source=XSS[3][:50],
            first_utm_campaign=XSS[0],
            consent_source=XSS[1],
            custom={"motto": XSS[0]},
            owner=cls.bob,
        )
        cls.deal = make_deal(
            None, name=XSS[1], company=cls.company, contacts=[cls.contact], source=XSS[0][:50], custom={"memo": XSS[2]}
        )
        for payload in XSS:
            record_touch(
                kind=FormKind.PAGE_VIEWED, team=Team.MARKETING, contact=cls.contact, summary=payload, source=payload
            )
            services.log_activity(
                cls.contact, kind="call", summary=payload, body=payload, outcome=payload, actor=cls.bob
            )
            services.add_note(cls.contact, body_html=payload + "<p onclick='x()'>ok</p>", actor=cls.bob)
            services.create_task(actor=cls.bob, title=payload, contact=cls.contact, deal=cls.deal)
        services.change_lifecycle_stage(cls.contact, "customer", actor=cls.bob, reason=XSS[0])

    def setUp(self):
        self.client.force_login(self.bob)

    def test_record_pages_escape_everything(self):
        for url in (
            reverse("contact_detail", args=[self.contact.pk]),
            reverse("company_detail", args=[self.company.pk]),
            reverse("deal_detail", args=[self.deal.pk]),
            reverse("timeline_partial", args=["contact", self.contact.pk]),
            reverse("timeline_partial", args=["company", self.company.pk]),
            reverse("home"),
            reverse("task_list"),
        ):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 200, url)
            html = response.content.decode()
            assert_no_raw_payload(self, html)
            self.assertNotIn("onclick=", html)
        contact_page = self.client.get(reverse("contact_detail", args=[self.contact.pk]))
        self.assertContains(contact_page, "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;")
        self.assertContains(contact_page, "<p>ok</p>")  # sanitized note HTML is kept as markup

    def test_error_pages_escape_the_typed_input(self):
        url = reverse("log_activity", args=["contact", self.contact.pk])
        response = self.client.post(url, {"kind": "call", "summary": "", "body": XSS[0]})
        self.assertEqual(response.status_code, 400)
        assert_no_raw_payload(self, response.content.decode())


class QueryCountTests(TestCase):
    """Record pages run the same number of queries whatever the length of the timeline."""

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob = cls.cast["bob"]
        PropertyDefinition.objects.create(object_type="contact", key="size", label="Size", type="text")
        cls.small, cls.large = cls.make_record(5), cls.make_record(50)

    @classmethod
    def make_record(cls, touches: int):
        company = make_company(None, owner=cls.bob)
        contact = make_contact(None, company=company, owner=cls.bob, custom={"size": "L"})
        make_contact(None, company=company)
        deal = make_deal(None, company=company, contacts=[contact], owner=cls.bob)
        services.create_task(actor=cls.bob, title="Follow up", contact=contact, company=company, deal=deal)
        services.add_note(contact, body_html="<p>n</p>", actor=cls.bob)
        campaign = None
        for i in range(touches):
            team = (Team.MARKETING, Team.SALES)[i % 2]
            record_touch(
                kind=EmailKind.EMAIL_OPENED if i % 2 == 0 else Kind.CALL_LOGGED,
                team=team,
                contact=contact,
                deal=deal if i % 3 == 0 else None,
                actor=cls.bob if team == Team.SALES else None,
                campaign=campaign,
                summary=f"Touch {i}",
            )
        for i in range(touches // 5):
            services.add_note(contact, body_html=f"<p>note {i}</p>", actor=cls.bob)
            services.add_note(deal, body_html=f"<p>deal note {i}</p>", actor=cls.bob)
        return {"contact": contact, "company": company, "deal": deal}

    def setUp(self):
        self.client.force_login(self.bob)

    def count(self, url) -> int:
        with CaptureQueriesContext(connection) as ctx:
            self.assertEqual(self.client.get(url).status_code, 200)
        return len(ctx.captured_queries)

    def test_record_pages_run_a_constant_number_of_queries(self):
        for kind in ("contact", "company", "deal"):
            with self.subTest(kind=kind):
                small = self.count(reverse(f"{kind}_detail", args=[self.small[kind].pk]))
                with self.assertNumQueries(small):
                    response = self.client.get(reverse(f"{kind}_detail", args=[self.large[kind].pk]))
                self.assertGreaterEqual(len(touch_ids(response)), 30 if kind != "deal" else 10)

    def test_timeline_partial_runs_a_constant_number_of_queries(self):
        small = self.count(reverse("timeline_partial", args=["contact", self.small["contact"].pk]))
        with self.assertNumQueries(small):
            self.client.get(reverse("timeline_partial", args=["contact", self.large["contact"].pk]))

    def test_a_long_timeline_loads_only_the_first_page(self):
        contact = make_contact(None)
        start = timezone.now() - datetime.timedelta(days=365)
        # Test data in bulk (record_touch writes one row per call); the page under test only reads.
        Touchpoint.objects.bulk_create(
            Touchpoint(
                contact=contact,
                kind=FormKind.PAGE_VIEWED,
                team=Team.MARKETING,
                summary=f"Viewed page {i}",
                occurred_at=start + datetime.timedelta(minutes=i),
            )
            for i in range(10_000)
        )
        with CaptureQueriesContext(connection) as ctx:
            response = self.client.get(reverse("contact_detail", args=[contact.pk]))
        self.assertEqual(len(touch_ids(response)), 30)
        self.assertContains(response, "Viewed page 9999")
        self.assertContains(response, "Load more")
        timeline_sql = [q["sql"] for q in ctx.captured_queries if "timeline_touchpoint" in q["sql"]]
        self.assertTrue(timeline_sql and all("LIMIT 31" in sql for sql in timeline_sql), timeline_sql)
        self.assertFalse([q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()])


# ---------------------------------------------------------------------------------------------------------
# In a real browser: htmx quick actions, team tabs and "Load more" (CSP on, so no inline script may run).


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_log_a_call_filter_by_team_and_load_more_in_the_browser(live_server, page):
    from smarketing.accounts.models import Team as UserTeam
    from smarketing.crm.defaults import install_defaults
    from smarketing.crm.models import Pipeline, Stage
    from smarketing.testing import PASSWORD

    # serialized_rollback does not restore the migrations' teams after an earlier flush: recreate them.
    install_defaults(UserTeam, Pipeline, Stage)
    cast = make_cast()
    contact = make_contact(None, first_name="Jane", last_name="Browser", owner=cast["bob"])
    start = timezone.now() - datetime.timedelta(days=40)
    for i in range(35):
        record_touch(
            kind=EmailKind.EMAIL_OPENED,
            team=Team.MARKETING,
            contact=contact,
            summary=f"Opened newsletter {i}",
            occurred_at=start + datetime.timedelta(days=i),
        )
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "bob@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(live_server.url + reverse("contact_detail", args=[contact.pk]))

    # Log a call: the form is checked, then the new item appears on top of the timeline without a reload.
    page.click("[data-tab='qa-call']")
    with page.expect_response(lambda r: "/activity/" in r.url):
        page.click("#qa-call button[type=submit]")
    expect(page.locator("#qa-call .error")).to_have_text("This field is required.")
    page.fill("#id_call_summary", "Talked about the rollout")
    page.select_option("#id_call_outcome", "Connected")
    page.fill("#id_call_body", "Wants <b>SSO</b> first")
    with page.expect_response(lambda r: "/activity/" in r.url):
        page.click("#qa-call button[type=submit]")
    first = page.locator("#timeline-list > li").first
    expect(first).to_contain_text("Talked about the rollout")
    expect(first).to_contain_text("Outcome: Connected")
    expect(first.locator(".body")).to_have_text("Wants <b>SSO</b> first")
    expect(page.locator("#id_call_summary")).to_have_value("")
    assert Touchpoint.objects.filter(contact=contact, kind=Kind.CALL_LOGGED).count() == 1

    # Team tabs swap the timeline in place; "Load more" appends the next page once.
    with page.expect_response(lambda r: "/timeline/" in r.url):
        page.click(".timeline-tabs a:has-text('Marketing')")
    expect(page.locator(".timeline-tabs a.active")).to_have_text("Marketing")
    expect(page.locator("#timeline-list .timeline-item")).to_have_count(30)
    expect(page.locator("#timeline-list")).not_to_contain_text("Talked about the rollout")
    with page.expect_response(lambda r: "cursor=" in r.url):
        page.click("text=Load more")
    expect(page.locator("#timeline-list .timeline-item")).to_have_count(35)
    expect(page.locator("text=Load more")).to_have_count(0)
    expect(page.locator("#timeline-list")).to_contain_text("Opened newsletter 0")
    assert errors == []
