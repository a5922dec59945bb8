"""The shared-CRM rule, through HTTP in the UI and the API: a member may log notes, tasks and touches on a
record owned by someone else, but may not edit its fields; a read-only user may do neither."""

import json

from django.test import TestCase
from django.urls import reverse

from smarketing.api import tokens
from smarketing.crm import kinds as Kind
from smarketing.crm.models import Contact, Note, Task
from smarketing.testing import make_cast, make_contact
from smarketing.timeline.models import Touchpoint

QUICK_ACTIONS = 'aria-label="Quick actions"'


class SharedActivityUiTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.contact = make_contact(None, owner=cls.cast["carol"], title="Buyer")

    def post_all(self):
        pk = self.contact.pk
        return [
            self.client.post(reverse("add_note", args=["contact", pk]), {"body": "Met at the fair"}),
            self.client.post(reverse("log_activity", args=["contact", pk]), {"kind": "call", "summary": "Called"}),
            self.client.post(reverse("add_task", args=["contact", pk]), {"title": "Send deck", "kind": "todo"}),
        ]

    def test_a_member_logs_activity_on_a_colleagues_record_but_cannot_edit_it(self):
        self.client.force_login(self.cast["bob"])
        page = self.client.get(reverse("contact_detail", args=[self.contact.pk]))
        self.assertContains(page, QUICK_ACTIONS)
        self.assertNotContains(page, reverse("contact_edit", args=[self.contact.pk]))
        self.assertEqual([r.status_code for r in self.post_all()], [302, 302, 302])
        self.assertTrue(Note.objects.filter(contact=self.contact, author=self.cast["bob"]).exists())
        self.assertTrue(Task.objects.filter(contact=self.contact, created_by=self.cast["bob"]).exists())
        kinds = set(
            Touchpoint.objects.filter(contact=self.contact, actor=self.cast["bob"]).values_list("kind", flat=True)
        )
        self.assertEqual(kinds, {Kind.NOTE_ADDED, Kind.CALL_LOGGED, Kind.TASK_CREATED})
        edit = {"email": self.contact.email, "title": "Changed", "lifecycle_stage": "lead", "consent_status": "unknown"}
        response = self.client.post(reverse("contact_edit", args=[self.contact.pk]), {**edit, "version": 1})
        self.assertContains(response, "You can't do that", status_code=403)
        self.assertEqual(Contact.objects.get(pk=self.contact.pk).title, "Buyer")

    def test_a_read_only_user_may_do_neither(self):
        self.client.force_login(self.cast["rory"])
        page = self.client.get(reverse("contact_detail", args=[self.contact.pk]))
        self.assertNotContains(page, QUICK_ACTIONS)
        for response in self.post_all():
            self.assertContains(response, "Read-only users cannot log activities", status_code=403)
        self.assertFalse(Touchpoint.objects.filter(contact=self.contact, actor=self.cast["rory"]).exists())


class SharedActivityApiTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.contact = make_contact(None, owner=cls.cast["carol"], title="Buyer")
        cls.keys = {n: tokens.create_token(cls.cast[n], name="t", scope="read_write")[1] for n in ("bob", "rory")}

    def call(self, who: str, method: str, path: str, data: dict):
        auth = {"HTTP_AUTHORIZATION": f"Bearer {self.keys[who]}"}
        return self.client.generic(method, path, json.dumps(data), content_type="application/json", **auth)

    def writes(self, who: str):
        pk = self.contact.pk
        return [
            self.call(who, "POST", "/api/v1/notes", {"body": "<p>Met</p>", "contact": pk}),
            self.call(who, "POST", "/api/v1/tasks", {"title": "Follow up", "kind": "todo", "contact": pk}),
            self.call(who, "POST", "/api/v1/touchpoints", {"kind": "call_logged", "summary": "Called", "contact": pk}),
        ]

    def test_a_member_logs_activity_on_a_colleagues_record_but_cannot_edit_it(self):
        self.assertEqual([r.status_code for r in self.writes("bob")], [201, 201, 201])
        response = self.call("bob", "PATCH", f"/api/v1/contacts/{self.contact.pk}", {"title": "Changed"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response["Content-Type"], "application/problem+json")
        self.assertEqual(Contact.objects.get(pk=self.contact.pk).title, "Buyer")

    def test_a_read_only_user_may_do_neither(self):
        for response in self.writes("rory"):
            self.assertEqual(response.status_code, 403, response.content)
            self.assertEqual(response["Content-Type"], "application/problem+json")
        self.assertFalse(Touchpoint.objects.filter(contact=self.contact, actor=self.cast["rory"]).exists())
