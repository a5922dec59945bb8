"""Sender identities under /settings/senders/ (admins only, audited, one default)."""

from django.test import TestCase

from smarketing.core.models import AuditEntry
from smarketing.mail.models import SenderIdentity
from smarketing.testing import make_cast

VALID = {
    "name": "Newsletter",
    "from_name": "Maya at Acme",
    "from_email": "maya@acme.example",
    "reply_to": "",
    "per_second": "20",
    "per_hour": "5000",
}


class SenderSettingsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_admins_only(self):
        for name, status in (("alice", 200), ("carol", 403), ("mia", 403), ("rory", 403)):
            self.client.force_login(self.cast[name])
            self.assertEqual(self.client.get("/settings/senders/").status_code, status, name)
            self.assertEqual(self.client.get("/settings/senders/new/").status_code, status, name)
        self.client.force_login(self.cast["mia"])
        self.assertEqual(self.client.post("/settings/senders/new/", VALID).status_code, 403)
        self.assertFalse(SenderIdentity.objects.exists())

    def test_create_edit_default_and_audit(self):
        self.client.force_login(self.cast["alice"])
        r = self.client.post("/settings/senders/new/", VALID, follow=True)
        self.assertContains(r, "Sender “Newsletter” added.")
        first = SenderIdentity.objects.get()
        self.assertTrue(first.is_default)  # the first one is the default
        r = self.client.post("/settings/senders/new/", {**VALID, "name": "Events", "is_default": "on"})
        self.assertEqual(r.status_code, 302)
        second = SenderIdentity.objects.get(name="Events")
        first.refresh_from_db()
        self.assertEqual((first.is_default, second.is_default), (False, True))
        # Unticking the only default keeps it.
        self.client.post(f"/settings/senders/{second.pk}/", {**VALID, "name": "Events"})
        second.refresh_from_db()
        self.assertTrue(second.is_default)
        self.client.post(f"/settings/senders/{first.pk}/", {**VALID, "per_hour": "9000"})
        first.refresh_from_db()
        self.assertEqual(first.per_hour, 9000)
        entry = AuditEntry.objects.filter(object_type="mail.senderidentity", action="update").latest("id")
        self.assertEqual(entry.changes, {"per_hour": [5000, 9000]})
        with self.assertNumQueries(4):  # session, user, the senders, the team (sidebar)
            r = self.client.get("/settings/senders/")
        self.assertContains(r, "Default")
        self.assertContains(self.client.get("/settings/"), "/settings/senders/")

    def test_bad_input(self):
        self.client.force_login(self.cast["alice"])
        r = self.client.post("/settings/senders/new/", {**VALID, "from_name": "Maya\r\nBcc: x@evil.example"})
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "Line breaks are not allowed")
        r = self.client.post("/settings/senders/new/", {**VALID, "per_second": "100", "per_hour": "10"})
        self.assertContains(r, "hourly limit cannot be lower")
        r = self.client.post("/settings/senders/new/", {**VALID, "from_email": "nope"})
        self.assertContains(r, "Enter a valid email address")
        self.assertFalse(SenderIdentity.objects.exists())
