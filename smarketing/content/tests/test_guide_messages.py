"""The messaging guide: a message's revisions and approval (an edit after approval waits, sales keeps the approved
text), the rules of who may do what, and the guide's pages."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from smarketing.accounts.access import system_actor
from smarketing.content import guide, panels
from smarketing.content.models import Message, MessageKind, Persona, Review, Status
from smarketing.core.models import AuditEntry, Event
from smarketing.crm.defaults import default_pipeline
from smarketing.notifications.models import Notification
from smarketing.testing import make_cast, make_deal

APPROVED, CHANGES = Review.Decision.APPROVED, Review.Decision.CHANGES_REQUESTED


def approved_message(owner, reviewer, **fields) -> Message:
    fields.setdefault("kind", MessageKind.TALKING_POINT)
    fields.setdefault("title", "Ask about their reporting")
    fields.setdefault("body", "How long does the monthly report take?\nWho reads it?")
    message = guide.create_message(owner, reviewers=[reviewer], **fields)
    guide.submit_message(message, owner)
    guide.review_message(message, reviewer, APPROVED)
    message.refresh_from_db()
    return message


class RevisionAndApprovalTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.mia, cls.carol, cls.bob, cls.alice, cls.rory = (
            cls.cast[k] for k in ("mia", "carol", "bob", "alice", "rory")
        )

    def test_create_writes_revision_one_as_a_draft(self):
        message = guide.create_message(
            self.mia, kind=MessageKind.OBJECTION, title="Too expensive", body="Compare with the cost of a hire."
        )
        self.assertEqual(message.status, Status.DRAFT)
        self.assertEqual(list(message.revisions.values_list("number", "title")), [(1, "Too expensive")])
        self.assertIsNone(message.approved_revision_id)
        self.assertTrue(AuditEntry.objects.filter(object_type="content.message", action="create").exists())

    def test_submit_then_approve_publishes_the_revision(self):
        message = guide.create_message(self.mia, kind="key_message", title="One view", body="b", reviewers=[self.carol])
        guide.submit_message(message, self.mia)
        message.refresh_from_db()
        self.assertEqual(message.status, Status.IN_REVIEW)
        self.assertTrue(Notification.objects.filter(user=self.carol, kind="content_review").exists())
        review = guide.review_message(message, self.carol, APPROVED)
        message.refresh_from_db()
        self.assertEqual(message.status, Status.APPROVED)
        self.assertEqual(message.approved_revision_id, review.revision_id)
        self.assertEqual(message.approved_by, self.carol)
        event = Event.objects.get(name="message.approved")
        self.assertEqual(event.payload["revision"]["number"], 1)
        self.assertTrue(Notification.objects.filter(user=self.mia, kind="content_decided").exists())
        self.assertTrue(AuditEntry.objects.filter(object_type="content.message", action="approve").exists())

    def test_an_edit_after_approval_waits_and_sales_keeps_the_approved_text(self):
        message = approved_message(self.mia, self.carol, body="Old answer")
        stage = default_pipeline().stages.order_by("position").first()
        guide.update_message(message, self.mia, deal_stages=[stage.pk])
        guide.update_message(message, self.mia, body="New answer, not approved yet")
        message.refresh_from_db()
        self.assertEqual(message.status, Status.APPROVED)  # still shown to sales
        self.assertEqual(message.revisions.count(), 2)
        self.assertEqual(message.approved_revision.number, 1)
        self.assertTrue(guide.has_pending(message))
        # What sales sees: the stage panel and the guide show revision 1's text.
        deal = make_deal(None, stage=stage)
        self.client.force_login(self.bob)
        body = self.client.get(reverse("content:panel", args=["deal", deal.pk]), HTTP_HX_REQUEST="true").content
        self.assertIn(b"Old answer", body)
        self.assertNotIn(b"New answer", body)
        guide_page = self.client.get(reverse("content:guide")).content.decode()
        self.assertIn("Old answer", guide_page)
        self.assertNotIn("New answer", guide_page)
        self.assertIn("Edit waiting for approval", guide_page)
        # The reviewer approves revision 2: now sales sees it.
        guide.submit_message(message, self.mia)
        guide.review_message(message, self.carol, APPROVED)
        body = self.client.get(reverse("content:panel", args=["deal", deal.pk]), HTTP_HX_REQUEST="true").content
        self.assertIn(b"New answer", body)
        self.assertNotIn(b"Old answer", body)

    def test_changes_requested_on_a_pending_edit_keep_the_approved_text(self):
        message = approved_message(self.mia, self.carol, body="Approved words")
        guide.update_message(message, self.mia, body="Draft words")
        guide.review_message(message, self.carol, CHANGES, "Too long")
        message.refresh_from_db()
        self.assertEqual(message.status, Status.APPROVED)
        self.assertEqual(message.approved_revision.body, "Approved words")
        self.assertTrue(guide.has_pending(message))

    def test_same_text_makes_no_revision(self):
        message = guide.create_message(self.mia, kind="key_message", title="T", body="B")
        guide.update_message(message, self.mia, title="T", body="B")
        self.assertEqual(message.revisions.count(), 1)

    def test_an_edit_while_in_review_goes_back_to_draft(self):
        message = guide.create_message(self.mia, kind="key_message", title="T", body="B", reviewers=[self.carol])
        guide.submit_message(message, self.mia)
        guide.update_message(message, self.mia, body="B2")
        message.refresh_from_db()
        self.assertEqual(message.status, Status.DRAFT)
        with self.assertRaises(ValidationError):
            guide.review_message(message, self.carol, APPROVED)

    def test_changes_requested_need_a_comment_and_send_a_draft_back(self):
        message = guide.create_message(self.mia, kind="key_message", title="T", body="B", reviewers=[self.carol])
        guide.submit_message(message, self.mia)
        with self.assertRaises(ValidationError):
            guide.review_message(message, self.carol, CHANGES, "")
        guide.review_message(message, self.carol, CHANGES, "Say it shorter")
        message.refresh_from_db()
        self.assertEqual(message.status, Status.DRAFT)
        self.assertIsNone(message.approved_revision_id)

    def test_review_rules_are_the_assets(self):
        message = guide.create_message(self.mia, kind="key_message", title="T", body="B", reviewers=[self.carol])
        guide.submit_message(message, self.mia)
        for who in (self.mia, self.bob, self.rory):  # the owner, a member who is no reviewer, read-only
            with self.subTest(who=who.email), self.assertRaises(PermissionDenied):
                guide.review_message(message, who, APPROVED)
        guide.review_message(message, self.alice, APPROVED)  # an admin may
        own = guide.create_message(self.alice, kind="key_message", title="Mine", body="B")
        guide.submit_message(own, self.alice)
        with self.assertRaises(PermissionDenied):
            guide.review_message(own, self.alice, APPROVED)  # not even an admin approves their own
        guide.update_message(own, self.alice, allow_self_approval=True)
        guide.review_message(own, self.alice, APPROVED)

    def test_edit_rules(self):
        message = guide.create_message(self.mia, kind="key_message", title="T", body="B")
        with self.assertRaises(PermissionDenied):
            guide.update_message(message, self.bob, body="Mine now")
        with self.assertRaises(PermissionDenied):
            guide.create_message(self.rory, kind="key_message", title="T", body="B")
        with self.assertRaises(PermissionDenied):
            guide.update_message(message, self.mia, allow_self_approval=True)
        guide.update_message(message, self.alice, body="Fixed by an admin")
        guide.update_message(message, system_actor(), body="Fixed by the system")

    def test_bad_input_names_the_field(self):
        cases = [
            ({"kind": "rumour", "title": "T", "body": "B"}, "kind"),
            ({"kind": "key_message", "title": "", "body": "B"}, "title"),
            ({"kind": "key_message", "title": "T", "body": "x" * 5001}, "body"),
            ({"kind": "key_message", "title": "T", "body": "B", "lifecycle_stages": ["vip"]}, "lifecycle_stages"),
            ({"kind": "key_message", "title": "T", "body": "B", "personas": [999999]}, "personas"),
            ({"kind": "key_message", "title": "T", "body": "B", "reviewers": [self.rory]}, "reviewers"),
        ]
        for fields, name in cases:
            with self.subTest(name=name), self.assertRaises(ValidationError) as caught:
                guide.create_message(self.mia, **fields)
            self.assertIn(name, caught.exception.message_dict)

    def test_retired_messages_leave_the_panel_and_cannot_change(self):
        message = approved_message(self.mia, self.carol, body="Retire me")
        guide.retire_message(message, self.mia)
        self.assertNotIn(message.pk, [m.pk for m in panels.approved_messages()])
        with self.assertRaises(ValidationError):
            guide.update_message(message, self.mia, body="x")


class GuidePageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.mia, cls.carol, cls.bob = cls.cast["mia"], cls.cast["carol"], cls.cast["bob"]
        cls.cfo = Persona.objects.create(name="CFO", title_keywords="cfo, finance", position=1)
        cls.cmo = Persona.objects.create(name="CMO", title_keywords="cmo, marketing", position=2)
        cls.stage = default_pipeline().stages.order_by("position")[2]
        cls.for_cfo = approved_message(cls.mia, cls.carol, title="ROI in a quarter", personas=[cls.cfo])
        cls.for_cmo = approved_message(cls.mia, cls.carol, title="One dashboard", personas=[cls.cmo])
        cls.everyone = approved_message(
            cls.mia, cls.carol, kind=MessageKind.VALUE_PROPOSITION, title="Aligned teams grow faster"
        )
        cls.at_stage = approved_message(
            cls.mia, cls.carol, kind=MessageKind.OBJECTION, title="We have a tool", deal_stages=[cls.stage.pk]
        )
        cls.at_mql = approved_message(cls.mia, cls.carol, title="Nurture note", lifecycle_stages=["mql"])
        cls.draft = guide.create_message(cls.mia, kind=MessageKind.KEY_MESSAGE, title="Half-written", body="…")

    def setUp(self):
        self.client.force_login(self.bob)

    def titles(self, **params) -> str:
        response = self.client.get(reverse("content:guide"), params)
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_the_guide_groups_by_kind_with_status_badges(self):
        page = self.titles()
        for title in (
            "ROI in a quarter",
            "One dashboard",
            "Aligned teams grow faster",
            "We have a tool",
            "Half-written",
        ):
            self.assertIn(title, page)
        self.assertIn("Value proposition", page)
        self.assertIn("Objection handling", page)
        self.assertIn("Draft", page)

    def test_persona_filter_keeps_messages_for_everyone(self):
        page = self.titles(persona=self.cfo.pk)
        self.assertIn("ROI in a quarter", page)
        self.assertIn("Aligned teams grow faster", page)
        self.assertNotIn("One dashboard", page)

    def test_stage_filters(self):
        page = self.titles(stage=f"d{self.stage.pk}")
        self.assertIn("We have a tool", page)
        self.assertIn("Aligned teams grow faster", page)  # no stage: holds everywhere
        self.assertNotIn("Nurture note", page)
        page = self.titles(stage="lmql")
        self.assertIn("Nurture note", page)
        self.assertNotIn("We have a tool", page)
        page = self.titles(stage="lsql")  # "sql" is not inside "mql"
        self.assertNotIn("Nurture note", page)

    def test_status_filter(self):
        page = self.titles(status="draft")
        self.assertIn("Half-written", page)
        self.assertNotIn("ROI in a quarter", page)
        guide.update_message(self.for_cfo, self.mia, body="A newer answer")
        page = self.titles(status="review")
        self.assertIn("ROI in a quarter", page)
        self.assertNotIn("One dashboard", page)

    def test_the_guide_runs_a_constant_number_of_queries(self):
        with CaptureQueriesContext(connection) as few:
            self.titles()
        for i in range(6):
            approved_message(self.mia, self.carol, title=f"More {i}", personas=[self.cfo, self.cmo])
        with self.assertNumQueries(len(few.captured_queries)):
            self.titles()

    def test_a_journey_through_the_pages(self):
        self.client.force_login(self.mia)
        self.assertContains(self.client.get(reverse("content:message_new")), "Add as a draft")
        response = self.client.post(
            reverse("content:message_new"),
            {
                "kind": "objection",
                "title": "Too expensive",
                "body": "Compare with a hire",
                "reviewers": [self.carol.pk],
            },
        )
        message = Message.objects.get(title="Too expensive")
        self.assertRedirects(response, reverse("content:message_detail", args=[message.pk]))
        self.client.post(reverse("content:message_submit", args=[message.pk]))
        self.client.force_login(self.carol)
        detail = self.client.get(reverse("content:message_detail", args=[message.pk])).content.decode()
        self.assertIn("Approve revision 1", detail)
        self.client.post(reverse("content:message_review", args=[message.pk]), {"decision": "approved"})
        self.client.force_login(self.mia)
        edit = self.client.get(reverse("content:message_edit", args=[message.pk]))
        self.assertContains(edit, "saved as a new revision that waits for approval")
        self.client.post(
            reverse("content:message_edit", args=[message.pk]),
            {"kind": "objection", "title": "Too expensive", "body": "A second answer", "reviewers": [self.carol.pk]},
        )
        message.refresh_from_db()
        self.assertEqual(
            (message.status, message.approved_revision.number, message.revisions.count()), ("approved", 1, 2)
        )
        detail = self.client.get(reverse("content:message_detail", args=[message.pk])).content.decode()
        self.assertIn("Waiting for approval: revision 2", detail)
        self.client.post(reverse("content:message_comment", args=[message.pk]), {"body": "Ready for another look"})
        self.assertEqual(message.comments.count(), 1)
        self.client.post(reverse("content:message_retire", args=[message.pk]))
        message.refresh_from_db()
        self.assertEqual(message.status, Status.RETIRED)

    def test_read_only_users_see_but_cannot_write(self):
        self.client.force_login(self.cast["rory"])
        self.assertEqual(self.client.get(reverse("content:guide")).status_code, 200)
        self.assertEqual(self.client.get(reverse("content:message_new")).status_code, 403)
        response = self.client.post(reverse("content:message_edit", args=[self.for_cfo.pk]), {"title": "x"})
        self.assertEqual(response.status_code, 403)
