"""No dead ends, toasts and undo: contacts on a deal, the owner's quick change, exit criteria that link to their
fix, the board's locked cards, and the signed, short-lived Undo of a completed task, a stage move and an owner
change. Through HTTP, with data made through the services."""

import json
import os
import time
from unittest import mock

import pytest
from django.test import TestCase
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.core.models import AuditEntry
from smarketing.core.toasts import undo_token
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import DealContact, DealStageChange
from smarketing.testing import make_cast, make_contact, make_deal
from smarketing.timeline.models import Touchpoint


def _screenshot(page, name: str, full_page: bool = False) -> None:
    """Saved only when SCREENSHOT_DIR is set, to look at the pages at 1280 and 390 px."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=full_page)


def toast_of(response) -> dict:
    """The toast an htmx answer carries in its HX-Trigger header."""
    return json.loads(response["HX-Trigger"])["sm:toast"]


def undo_form_token(html: str) -> str:
    start = html.index('class="toast-undo"')
    marker = 'name="token" value="'
    begin = html.index(marker, start) + len(marker)
    return html[begin : html.index('"', begin)]


class DealContactTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob, cls.mia, cls.carol = (cls.cast[n] for n in ("bob", "mia", "carol"))
        cls.stages = list(default_pipeline().stages.order_by("position"))
        cls.jane = make_contact(None, email="jane.longname@very-long-subdomain.acme.example", first_name="Jane")
        cls.deal = make_deal(None, name="Acme expansion", stage=cls.stages[0], owner=cls.bob)

    def setUp(self):
        self.client.force_login(self.bob)
        self.url = reverse("deal_detail", args=[self.deal.pk])

    def add(self, email, role="decision_maker", **extra):
        return self.client.post(reverse("deal_contact_add", args=[self.deal.pk]), {"q": email, "role": role})

    def test_the_exit_criterion_links_to_adding_a_contact_and_the_form_adds_one(self):
        page = self.client.get(self.url).content.decode()
        self.assertIn('href="' + self.url + '#add-contact">Add a contact</a>', page)
        self.assertIn('id="add-contact" open', page)  # no contacts yet: the form is open
        response = self.add(self.jane.email, "champion")
        self.assertRedirects(response, self.url + "#deal-contacts", fetch_redirect_response=False)
        link = DealContact.objects.get(deal=self.deal, contact=self.jane)
        self.assertEqual(link.role, "champion")
        entry = AuditEntry.objects.get(action="associate", object_id=str(self.deal.pk))
        self.assertEqual(entry.changes["contact"], [None, f"{self.jane} (Champion)"])
        page = self.client.get(self.url).content.decode()
        self.assertIn(f"Added {self.jane} to “Acme expansion” as Champion.", page)
        self.assertIn("<wbr>", page)  # the long email wraps at its dots
        self.assertNotIn(">Add a contact</a>", page)  # criterion met: no more fix link
        services.move_deal_stage(self.deal, self.stages[1], actor=self.bob)  # and the deal can leave the stage

    def test_bad_input_is_explained_and_nothing_is_added(self):
        response = self.add("nobody@nowhere.example")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "nobody@nowhere.example", status_code=400)  # typed value kept
        self.assertContains(response, 'class="error"', status_code=400)
        response = self.add(self.jane.email, role="boss")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "Select a valid choice", status_code=400)
        self.assertFalse(DealContact.objects.filter(deal=self.deal).exists())

    def test_only_those_who_may_edit_the_deal_add_or_remove_contacts(self):
        services.add_deal_contact(self.deal, self.jane, role="user", actor=self.bob)
        self.client.force_login(self.mia)  # a member, not the owner
        page = self.client.get(self.url).content.decode()
        self.assertNotIn('id="add-contact"', page)
        self.assertIn("ask Bob Seller", page)
        self.assertEqual(self.add("someone@example.com").status_code, 403)
        remove = reverse("deal_contact_remove", args=[self.deal.pk, self.jane.pk])
        self.assertEqual(self.client.post(remove).status_code, 403)
        self.assertTrue(DealContact.objects.filter(deal=self.deal, contact=self.jane).exists())
        self.client.force_login(self.carol)  # a manager may
        self.client.post(remove)
        self.assertFalse(DealContact.objects.filter(deal=self.deal).exists())

    def test_removing_a_contact_is_audited_and_undone_by_putting_it_back(self):
        services.add_deal_contact(self.deal, self.jane, role="influencer", actor=self.bob)
        response = self.client.post(reverse("deal_contact_remove", args=[self.deal.pk, self.jane.pk]), follow=True)
        self.assertContains(response, f"Removed {self.jane} from “Acme expansion”.")
        self.assertFalse(DealContact.objects.filter(deal=self.deal).exists())
        self.assertEqual(AuditEntry.objects.filter(action="dissociate").count(), 1)
        token = undo_form_token(response.content.decode())
        response = self.client.post(reverse("undo"), {"token": token, "next": self.url}, follow=True)
        self.assertContains(response, "is on “Acme expansion” again.")
        self.assertEqual(DealContact.objects.get(deal=self.deal, contact=self.jane).role, "influencer")
        # A second click on the same Undo changes nothing: the contact is there with that role already.
        self.client.post(reverse("undo"), {"token": token})
        self.assertEqual(AuditEntry.objects.filter(action="associate").count(), 2)


class UndoTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob, cls.mia, cls.carol, cls.rory = (cls.cast[n] for n in ("bob", "mia", "carol", "rory"))
        cls.stages = list(default_pipeline().stages.order_by("position"))
        cls.contact = make_contact(None, email="lee@globex.example", first_name="Lee")
        cls.deal = make_deal(None, name="Globex", stage=cls.stages[2], owner=cls.bob, contacts=[cls.contact])

    def setUp(self):
        self.client.force_login(self.bob)

    def test_a_stage_move_confirms_with_an_undo_that_moves_back_through_the_service(self):
        response = self.client.post(
            reverse("deal_move", args=[self.deal.pk]), {"stage": self.stages[3].pk}, HTTP_ACCEPT="application/json"
        )
        toast = response.json()["toast"]
        self.assertEqual(toast["message"], f"Moved “Globex” to {self.stages[3].name}.")
        self.assertEqual(toast["undo"]["url"], reverse("undo"))
        response = self.client.post(toast["undo"]["url"], {"token": toast["undo"]["token"]})
        self.assertRedirects(response, reverse("deal_detail", args=[self.deal.pk]), fetch_redirect_response=False)
        self.deal.refresh_from_db()
        self.assertEqual(self.deal.stage_id, self.stages[2].pk)
        moves = list(DealStageChange.objects.filter(deal=self.deal).order_by("id").values_list("to_stage", flat=True))
        self.assertEqual(moves[-2:], [self.stages[3].pk, self.stages[2].pk])  # the undo is a move of its own
        # Undoing twice is refused: the deal is no longer where the move put it.
        response = self.client.post(reverse("undo"), {"token": toast["undo"]["token"]}, follow=True)
        self.assertContains(response, "has moved since")
        self.assertEqual(DealStageChange.objects.filter(deal=self.deal).count(), len(moves))

    def test_the_deal_page_move_redirects_to_a_toast_with_undo(self):
        url = reverse("deal_detail", args=[self.deal.pk])
        response = self.client.post(
            reverse("deal_move", args=[self.deal.pk]), {"stage": self.stages[4].pk}, follow=True
        )
        self.assertContains(response, f"Moved “Globex” to {self.stages[4].name}.")
        self.assertContains(response, 'class="toast-undo"')
        self.assertEqual(response.redirect_chain[-1][0], url)
        # The toast is shown once: the next page has no Undo any more.
        self.assertNotContains(self.client.get(url), 'class="toast-undo"')

    def test_a_completed_task_is_reopened_by_its_undo(self):
        task = services.create_task(actor=self.bob, title="Send the quote", deal=self.deal)
        response = self.client.post(reverse("task_complete", args=[task.pk]), HTTP_HX_REQUEST="true")
        toast = toast_of(response)
        self.assertEqual(toast["message"], "Task “Send the quote” completed.")
        task.refresh_from_db()
        self.assertIsNotNone(task.completed_at)
        response = self.client.post(toast["undo"]["url"], {"token": toast["undo"]["token"]}, follow=True)
        self.assertContains(response, "Task “Send the quote” is open again.")
        task.refresh_from_db()
        self.assertIsNone(task.completed_at)
        self.assertTrue(Touchpoint.objects.filter(deal=self.deal, kind="task_reopened").exists())
        self.assertTrue(AuditEntry.objects.filter(action="reopen", object_id=str(task.pk)).exists())

    def test_a_member_handing_a_deal_over_is_told_who_can_change_it_back(self):
        response = self.client.post(
            reverse("change_owner", args=["deal", self.deal.pk]), {"owner": self.carol.pk}, follow=True
        )
        self.assertContains(
            response, "Owner of “Globex” set to Carol Manager. Only Carol Manager or a manager can change it now."
        )
        self.assertNotContains(response, 'class="toast-undo"')  # bob may not reassign Carol's deal: no Undo to refuse
        self.deal.refresh_from_db()
        self.assertEqual(self.deal.owner_id, self.carol.pk)

    def test_an_owner_change_confirms_and_is_undone_through_the_service(self):
        self.client.force_login(self.carol)
        response = self.client.post(reverse("change_owner", args=["deal", self.deal.pk]), {"owner": ""}, follow=True)
        self.assertContains(response, "set to nobody (unassigned)")
        self.deal.refresh_from_db()
        self.assertIsNone(self.deal.owner_id)
        token = undo_form_token(response.content.decode())
        self.client.force_login(self.mia)  # someone else's Undo: refused
        self.assertEqual(self.client.post(reverse("undo"), {"token": token}).status_code, 403)
        self.client.force_login(self.carol)
        response = self.client.post(reverse("undo"), {"token": token}, follow=True)
        self.assertContains(response, "Owner of “Globex” is Bob Seller again.")
        self.deal.refresh_from_db()
        self.assertEqual(self.deal.owner_id, self.bob.pk)
        self.assertEqual(Touchpoint.objects.filter(deal=self.deal, kind="owner_changed").count(), 2)
        self.assertEqual(AuditEntry.objects.filter(action="update", object_id=str(self.deal.pk)).count(), 2)

    def test_undo_is_a_signed_short_lived_post(self):
        task = services.create_task(actor=self.bob, title="Call back", deal=self.deal)
        services.complete_task(task, actor=self.bob)
        self.assertEqual(
            self.client.get(reverse("undo"), {"token": undo_token("task", self.bob, task=task.pk)}).status_code, 405
        )
        # Altered: refused, nothing changes.
        forged = undo_token("task", self.bob, task=task.pk)[:-2] + "xx"
        response = self.client.post(reverse("undo"), {"token": forged}, follow=True)
        self.assertContains(response, "not valid; nothing was changed")
        # Expired: made three minutes ago.
        with mock.patch("django.core.signing.time.time", return_value=time.time() - 180):
            old = undo_token("task", self.bob, task=task.pk)
        response = self.client.post(reverse("undo"), {"token": old}, follow=True)
        self.assertContains(response, "Too late to undo")
        task.refresh_from_db()
        self.assertIsNotNone(task.completed_at)
        # Another user's token: 403, and a read-only user cannot reopen through a token of their own either.
        self.client.force_login(self.mia)
        self.assertEqual(
            self.client.post(reverse("undo"), {"token": undo_token("task", self.bob, task=task.pk)}).status_code, 403
        )
        self.client.force_login(self.rory)
        self.assertEqual(
            self.client.post(reverse("undo"), {"token": undo_token("task", self.rory, task=task.pk)}).status_code, 403
        )
        task.refresh_from_db()
        self.assertIsNotNone(task.completed_at)

    def test_quick_actions_confirm_with_a_toast(self):
        response = self.client.post(
            reverse("add_note", args=["deal", self.deal.pk]), {"body": "Budget approved"}, HTTP_HX_REQUEST="true"
        )
        self.assertEqual(toast_of(response), {"message": "Note added.", "level": "success"})
        response = self.client.post(
            reverse("log_activity", args=["deal", self.deal.pk]),
            {"kind": "call", "summary": "Intro call", "outcome": "No answer"},
            HTTP_HX_REQUEST="true",
        )
        self.assertEqual(toast_of(response)["message"], "Call logged.")
        # A refused quick action has no success toast.
        response = self.client.post(
            reverse("add_note", args=["deal", self.deal.pk]), {"body": ""}, HTTP_HX_REQUEST="true"
        )
        self.assertNotIn("HX-Trigger", response)


class NoDeadEndTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob, cls.mia, cls.rory = (cls.cast[n] for n in ("bob", "mia", "rory"))
        cls.stages = list(default_pipeline().stages.order_by("position"))
        cls.blocked = make_deal(None, name="Blocked", stage=cls.stages[0], owner=cls.bob)
        cls.bare = make_deal(None, name="Bare", stage=cls.stages[1], owner=cls.bob, amount="0")

    def setUp(self):
        self.client.force_login(self.bob)

    def test_a_refused_board_move_says_where_to_fix_it(self):
        response = self.client.post(
            reverse("deal_move", args=[self.blocked.pk]), {"stage": self.stages[1].pk}, HTTP_ACCEPT="application/json"
        )
        self.assertEqual(response.status_code, 400)
        fix = response.json()["fixes"]
        self.assertEqual(
            fix, [{"url": reverse("deal_detail", args=[self.blocked.pk]) + "#add-contact", "label": "Add a contact"}]
        )
        response = self.client.post(
            reverse("deal_move", args=[self.bare.pk]), {"stage": self.stages[2].pk}, HTTP_ACCEPT="application/json"
        )
        self.assertEqual(
            response.json()["fixes"],
            [{"url": reverse("deal_edit", args=[self.bare.pk]) + "#id_amount", "label": "Fill in Amount, Close date"}],
        )

    def test_the_plain_board_form_and_the_deal_page_link_to_the_fix(self):
        board = reverse("pipeline_board")
        response = self.client.post(
            reverse("deal_move", args=[self.blocked.pk]), {"stage": self.stages[1].pk, "next": board}, follow=True
        )
        self.assertContains(response, "was not moved: Before leaving")
        self.assertContains(
            response, f'href="{reverse("deal_detail", args=[self.blocked.pk])}#add-contact">Add a contact</a>'
        )
        response = self.client.post(reverse("deal_move", args=[self.blocked.pk]), {"stage": self.stages[1].pk})
        self.assertContains(response, '#add-contact">Add a contact</a>', status_code=400)

    def test_the_board_explains_locked_cards_and_offers_what_can_be_done(self):
        self.client.force_login(self.mia)
        html = self.client.get(reverse("pipeline_board")).content.decode()
        card = html[html.index(f'id="deal-card-{self.blocked.pk}"') :]
        card = card[: card.index("</article>")]
        self.assertNotIn('draggable="true"', card)
        self.assertIn('aria-label="Only Bob Seller (the owner) or a manager can move this deal."', card)
        self.assertIn(
            f'href="{reverse("deal_detail", args=[self.blocked.pk])}#quick-actions">Log a note for Bob Seller', card
        )
        self.client.force_login(self.rory)
        html = self.client.get(reverse("pipeline_board")).content.decode()
        self.assertIn("your account is read-only", html)
        self.client.force_login(self.bob)
        html = self.client.get(reverse("pipeline_board")).content.decode()
        self.assertNotIn("deal-lock", html)
        self.assertIn('class="board is-wide"', html)  # seven stages: compact columns
        self.assertIn(f'href="#stage-{self.stages[6].pk}"', html)  # and a jump list to each


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rep_adds_a_contact_to_a_deal_and_moves_it_past_the_exit_criterion(live_server, page):
    from smarketing.crm.tests.test_board import _browser_cast, _log_in

    cast = _browser_cast()
    stages = list(default_pipeline().stages.order_by("position"))
    make_contact(None, email="dana.decider@initech.example", first_name="Dana", last_name="Decider")
    deal = make_deal(None, name="Initech renewal", stage=stages[0], owner=cast["bob"])
    theirs = make_deal(None, name="Carol's account", stage=stages[2], owner=cast["carol"])
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The refused move answers 400 on purpose; any other console error fails the test.
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" and "status of 400" not in msg.text else None,
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, "bob@example.com")

    # The board refuses the move and links to the place where the missing contact is added.
    page.goto(live_server.url + reverse("pipeline_board"))
    with page.expect_response(lambda r: "/move/" in r.url):
        page.locator(f"#deal-card-{deal.pk}").drag_to(
            page.locator(f".board-column[data-stage-id='{stages[1].pk}'] .board-cards")
        )
    expect(page.locator("#board-error")).to_contain_text("fill in: Contacts")
    page.locator("#board-error-fixes a", has_text="Add a contact").click()

    # The deal page: type-ahead suggests the contact, the form adds it, a toast confirms.
    page.wait_for_url(lambda url: f"/deals/{deal.pk}/" in url)
    box = page.locator("#id_deal_contact_q")
    box.fill("dana")
    expect(page.locator("#deal-contact-options option[value='dana.decider@initech.example']")).to_have_count(1)
    box.fill("dana.decider@initech.example")
    page.select_option("#id_deal_contact_role", "decision_maker")
    page.get_by_role("button", name="Add to deal").click()
    expect(page.locator("#toasts")).to_contain_text("Added Dana Decider to “Initech renewal” as Decision maker.")
    expect(page.locator("#deal-contacts")).to_contain_text("Dana Decider")
    expect(page.locator(".criteria-list .met")).to_contain_text("Contacts")
    # A quick action through htmx confirms in the same live region.
    page.fill("#id_note_body", "Dana signs off on the budget.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#toasts")).to_contain_text("Note added.")
    expect(page.locator("#timeline-list")).to_contain_text("Dana signs off on the budget.")
    _screenshot(page, "records-deal-1280.png", full_page=True)

    # Back on the board the card now moves, and the toast offers an Undo.
    page.goto(live_server.url + reverse("pipeline_board"))
    target = page.locator(f".board-column[data-stage-id='{stages[1].pk}']")
    with page.expect_response(lambda r: "/move/" in r.url):
        page.locator(f"#deal-card-{deal.pk}").drag_to(target.locator(".board-cards"))
    expect(target.locator(f"#deal-card-{deal.pk}")).to_be_visible()
    toast = page.locator("#toasts .toast-item", has_text="Moved “Initech renewal” to Qualified to buy.")
    expect(toast).to_be_visible()
    expect(toast.get_by_role("button", name="Undo")).to_be_visible()
    lock = page.locator(f"#deal-card-{theirs.pk} .deal-lock")
    expect(lock).to_have_attribute("title", "Only Carol Manager (the owner) or a manager can move this deal.")
    _screenshot(page, "records-board-1280.png")
    deal.refresh_from_db()
    assert deal.stage_id == stages[1].pk

    # Undo moves it back (a POST), and the reloaded board shows it in its first stage again.
    toast.get_by_role("button", name="Undo").click()
    expect(page.locator("#toasts")).to_contain_text("Moved “Initech renewal” back to Appointment scheduled.")
    expect(page.locator(f".board-column[data-stage-id='{stages[0].pk}'] #deal-card-{deal.pk}")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    _screenshot(page, "records-board-390.png")
    page.goto(live_server.url + reverse("deal_detail", args=[deal.pk]))
    _screenshot(page, "records-deal-390.png", full_page=True)
    assert errors == []
