"""Who may do what, through the pages: the cast × actions matrix of crm/access.py, cell by cell.

alice is an admin, carol a manager, bob a member (owning some records, not others) and rory read-only.
Each cell states the HTTP status the page answers and what happened to the data.
"""

from django.test import TestCase
from django.urls import reverse

from smarketing.crm.models import Contact, PropertyDefinition
from smarketing.testing import make_cast, make_contact

# (user, whose record) -> expected outcome per action. "own" = bob's record, "other" = carol's record.
EDIT = {
    ("alice", "other"): 302,
    ("carol", "other"): 302,
    ("bob", "own"): 302,
    ("bob", "unowned"): 302,
    ("bob", "other"): 403,
    ("rory", "own"): 403,
}
REASSIGN = {  # status, and whether the owner changed
    ("alice", "other"): (200, True),
    ("carol", "other"): (200, True),
    ("bob", "own"): (200, True),
    ("bob", "unowned"): (200, True),
    ("bob", "other"): (200, False),  # skipped, with a message
    ("rory", "own"): (403, False),
}
DELETE = {
    ("alice", "own"): 302,
    ("carol", "own"): 302,
    ("bob", "own"): 403,
    ("rory", "own"): 403,
}
EXPORT = {"alice": 200, "carol": 200, "bob": 403, "rory": 403}
EXPORT_URL = "/import/export/contacts.csv"
ADMIN = {"alice": 200, "carol": 403, "bob": 403, "rory": 403}
CREATE = {"alice": 200, "carol": 200, "bob": 200, "rory": 403}
MERGE = {"alice": 200, "carol": 200, "bob": 403, "rory": 403}


class AccessMatrixTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.prop = PropertyDefinition.objects.create(object_type="contact", key="tier", label="Tier", type="text")

    def setUp(self):
        self.records = {
            "own": make_contact(None, owner=self.cast["bob"], title="Old"),
            "unowned": make_contact(None, title="Old"),
            "other": make_contact(None, owner=self.cast["carol"], title="Old"),
        }

    def login(self, name: str):
        self.client.force_login(self.cast[name])

    def test_edit(self):
        for (user, whose), expected in EDIT.items():
            with self.subTest(user=user, record=whose):
                contact = self.records[whose]
                contact.refresh_from_db()
                self.login(user)
                url = reverse("contact_edit", args=[contact.pk])
                self.assertEqual(self.client.get(url).status_code, 200 if expected == 302 else 403)
                data = {
                    "email": contact.email,
                    "title": f"Edited by {user}",
                    "lifecycle_stage": contact.lifecycle_stage,
                    "consent_status": contact.consent_status,
                    "owner": contact.owner_id or "",
                    "version": contact.version,
                }
                response = self.client.post(url, data)
                self.assertEqual(response.status_code, expected)
                contact.refresh_from_db()
                self.assertEqual(contact.title == f"Edited by {user}", expected == 302)

    def test_reassign(self):
        mia = self.cast["mia"]
        for (user, whose), (status, changed) in REASSIGN.items():
            with self.subTest(user=user, record=whose):
                contact = self.records[whose]
                before = Contact.objects.get(pk=contact.pk).owner_id
                self.login(user)
                data = {"ids": [contact.pk], "action": "assign", "owner": mia.pk}
                response = self.client.post(reverse("contact_bulk"), data, follow=status == 200)
                self.assertEqual(response.status_code, status)
                after = Contact.objects.get(pk=contact.pk).owner_id
                self.assertEqual(after == mia.pk, changed)
                if status == 200 and not changed:
                    self.assertContains(response, "0 updated, 1 skipped (no permission)")
                Contact.objects.filter(pk=contact.pk).update(owner_id=before)

    def test_reassign_through_the_edit_form(self):
        # A member may hand their own record to someone else, but not take someone else's.
        self.login("bob")
        own = self.records["own"]
        data = {"email": own.email, "lifecycle_stage": "lead", "consent_status": "unknown", "version": 1}
        response = self.client.post(reverse("contact_edit", args=[own.pk]), {**data, "owner": self.cast["mia"].pk})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Contact.objects.get(pk=own.pk).owner, self.cast["mia"])
        other = self.records["other"]
        data = {**data, "email": other.email, "owner": self.cast["bob"].pk}
        self.assertEqual(self.client.post(reverse("contact_edit", args=[other.pk]), data).status_code, 403)
        self.assertEqual(Contact.objects.get(pk=other.pk).owner, self.cast["carol"])

    def test_delete(self):
        for (user, whose), expected in DELETE.items():
            with self.subTest(user=user, record=whose):
                contact = make_contact(None, owner=self.cast["bob"])
                self.login(user)
                self.assertEqual(self.client.post(reverse("contact_delete", args=[contact.pk])).status_code, expected)
                self.assertEqual(Contact.objects.filter(pk=contact.pk).exists(), expected != 302)
                response = self.client.post(
                    reverse("contact_bulk"), {"ids": [self.records["other"].pk], "action": "delete"}
                )
                self.assertEqual(response.status_code, 302 if expected == 302 else 403)
                self.assertEqual(Contact.objects.filter(pk=self.records["other"].pk).exists(), expected != 302)
                self.records["other"] = make_contact(None, owner=self.cast["carol"])

    def test_export(self):
        ids = [r.pk for r in self.records.values()]
        for user, expected in EXPORT.items():
            with self.subTest(user=user):
                self.login(user)
                # The list's Export button posts the ticked rows to dataio's export, then follows to the file.
                response = self.client.post(EXPORT_URL, {"ids": ids, "selection": "1"}, follow=True)
                self.assertEqual(response.status_code, expected)
                if expected == 200:
                    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
                    self.assertEqual(len(lines), 1 + len(ids))
                    self.assertIn("Tier", lines[0].split(","))

    def test_admin_pages(self):
        for user, expected in ADMIN.items():
            with self.subTest(user=user):
                self.login(user)
                self.assertEqual(self.client.get(reverse("property_list")).status_code, expected)
                self.assertEqual(self.client.get(reverse("audit_log")).status_code, expected)
                data = {"object_type": "deal", "key": f"k_{user}", "label": "K", "type": "text", "position": 0}
                response = self.client.post(reverse("property_list"), data)
                self.assertEqual(response.status_code, 302 if expected == 200 else 403)
                self.assertEqual(PropertyDefinition.objects.filter(key=f"k_{user}").exists(), expected == 200)
                response = self.client.post(reverse("property_delete", args=[self.prop.pk]))
                self.assertEqual(response.status_code, 302 if expected == 200 else 403)
                self.prop, _ = PropertyDefinition.objects.get_or_create(
                    object_type="contact", key="tier", defaults={"label": "Tier", "type": "text"}
                )

    def test_create_and_merge_pages(self):
        for user in CREATE:
            with self.subTest(user=user):
                self.login(user)
                self.assertEqual(self.client.get(reverse("contact_create")).status_code, CREATE[user])
                self.assertEqual(self.client.get(reverse("deal_create")).status_code, CREATE[user])
                url = reverse("contact_merge", args=[self.records["own"].pk])
                self.assertEqual(self.client.get(url).status_code, MERGE[user])

    def test_everyone_reads_every_list_and_sees_only_allowed_bulk_actions(self):
        everything = ("assign", "lifecycle", "export", "delete")
        expectations = {"alice": everything, "carol": everything, "bob": ("assign", "lifecycle"), "rory": ()}
        for user, shown in expectations.items():
            with self.subTest(user=user):
                self.login(user)
                for name in ("contact_list", "company_list", "deal_list"):
                    self.assertEqual(self.client.get(reverse(name)).status_code, 200)
                response = self.client.get(reverse("contact_list"))
                for action in everything:
                    marker = 'name="selection" value="1"' if action == "export" else f'name="action" value="{action}"'
                    self.assertEqual(marker in response.content.decode(), action in shown, action)
                self.assertEqual('id="export-form"' in response.content.decode(), "export" in shown)
                self.assertEqual('data-hotkey="n"' in response.content.decode(), user != "rory")

    def test_anonymous_users_are_sent_to_log_in(self):
        for name in ("contact_list", "contact_create", "property_list", "audit_log"):
            response = self.client.get(reverse(name))
            self.assertEqual(response.status_code, 302)
            self.assertIn(reverse("login"), response["Location"])
