from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import TestCase

from smarketing.accounts.access import system_actor
from smarketing.core.models import AuditEntry
from smarketing.mail import suppression
from smarketing.mail.models import Suppression, SuppressionReason
from smarketing.testing import make_cast


class SuppressionTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_normalize(self):
        self.assertEqual(suppression.normalize("  <Ann.Lee@Example.COM> "), "ann.lee@example.com")
        self.assertEqual(suppression.normalize(""), "")
        self.assertEqual(suppression.normalize(None), "")

    def test_suppress_is_idempotent_and_keeps_the_first_reason(self):
        self.assertTrue(suppression.suppress("Ann@Example.com", SuppressionReason.HARD_BOUNCE, "notice 1"))
        self.assertFalse(suppression.suppress("ann@example.com ", SuppressionReason.COMPLAINT, "notice 2"))
        row = Suppression.objects.get()
        self.assertEqual((row.email, row.reason, row.source), ("ann@example.com", "hard_bounce", "notice 1"))

    def test_suppress_refuses_unknown_reason_and_ignores_empty(self):
        with self.assertRaises(ValueError):
            suppression.suppress("a@example.com", "because")
        self.assertFalse(suppression.suppress("  ", SuppressionReason.MANUAL))
        self.assertFalse(Suppression.objects.exists())

    def test_unsuppress(self):
        suppression.suppress("a@example.com", SuppressionReason.MANUAL)
        self.assertTrue(suppression.unsuppress("A@example.com"))
        self.assertFalse(suppression.unsuppress("a@example.com"))
        self.assertFalse(suppression.is_suppressed("a@example.com"))

    def test_suppressed_answers_in_one_query(self):
        suppression.suppress("a@example.com", SuppressionReason.HARD_BOUNCE)
        suppression.suppress("b@example.com", SuppressionReason.UNSUBSCRIBED)
        emails = ["A@example.com", "b@example.com", "c@example.com"] + [f"x{i}@example.com" for i in range(2000)]
        with self.assertNumQueries(1):
            found = suppression.suppressed(emails)
        self.assertEqual(found, {"a@example.com": "hard_bounce", "b@example.com": "unsubscribed"})
        with self.assertNumQueries(0):
            self.assertEqual(suppression.suppressed([]), {})

    def test_suppressed_sql_works_in_a_not_exists(self):
        suppression.suppress("a@example.com", SuppressionReason.COMPLAINT)
        sql = suppression.suppressed_sql()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e FROM (SELECT 'A@example.com' AS e UNION ALL SELECT 'b@example.com') t "
                f"WHERE NOT EXISTS (SELECT 1 FROM ({sql}) s WHERE s.email = LOWER(t.e)) ORDER BY e"
            )
            self.assertEqual([r[0] for r in cursor.fetchall()], ["b@example.com"])

    def test_add_by_hand_and_remove_are_audited_and_checked(self):
        alice, mia, bob, rory = (self.cast[k] for k in ("alice", "mia", "bob", "rory"))
        row, created = suppression.add_by_hand(mia, " Spam@Trap.example ", "asked by phone")
        self.assertTrue(created)
        self.assertEqual((row.email, row.reason, row.source), ("spam@trap.example", "manual", "asked by phone"))
        self.assertFalse(suppression.add_by_hand(alice, "spam@trap.example")[1])
        for user in (bob, rory):
            with self.assertRaises(PermissionDenied):
                suppression.add_by_hand(user, "x@example.com")
            with self.assertRaises(PermissionDenied):
                suppression.remove(user, row)
        suppression.remove(alice, row)
        self.assertFalse(Suppression.objects.exists())
        entries = AuditEntry.objects.filter(object_type="mail.suppression").order_by("id")
        actions = list(entries.values_list("action", "actor"))
        self.assertEqual(actions, [("suppress", mia.pk), ("unsuppress", alice.pk)])
        suppression.add_by_hand(system_actor(), "y@example.com")


class SuppressionPageTests(TestCase):
    URL = "/mail/suppressions/"

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        for i in range(60):
            suppression.suppress(f"user{i:02d}@example.com", SuppressionReason.HARD_BOUNCE, f"notice {i}")
        suppression.suppress("<script>x@evil.example", SuppressionReason.COMPLAINT, "<img src=x onerror=alert(1)>")

    def test_who_may_open_it(self):
        for name, status in (("alice", 200), ("carol", 200), ("mia", 200), ("bob", 403), ("rory", 403)):
            self.client.force_login(self.cast[name])
            self.assertEqual(self.client.get(self.URL).status_code, status, name)
        self.client.logout()
        self.assertEqual(self.client.get(self.URL).status_code, 302)

    def test_list_is_paged_escaped_and_constant_in_queries(self):
        self.client.force_login(self.cast["mia"])
        with self.assertNumQueries(4):  # session, user, one page of rows, the user's team (sidebar)
            r = self.client.get(self.URL)
        body = r.content.decode()
        self.assertNotIn("<img src=x", body)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", body)
        self.assertEqual(len(r.context["page"].rows), 50)
        cursor = r.context["page"].next_cursor
        with self.assertNumQueries(4):
            r = self.client.get(self.URL, {"cursor": cursor})
        self.assertEqual(len(r.context["page"].rows), 11)
        self.assertIsNone(r.context["page"].next_cursor)

    def test_search_by_prefix(self):
        self.client.force_login(self.cast["mia"])
        r = self.client.get(self.URL, {"q": " USER5"})
        self.assertEqual(sorted(s.email for s in r.context["page"].rows), [f"user5{i}@example.com" for i in range(10)])
        r = self.client.get(self.URL, {"q": "nobody"})
        self.assertContains(r, "No suppressed address starts with")

    def test_add_and_remove_through_the_page(self):
        self.client.force_login(self.cast["mia"])
        r = self.client.post(self.URL, {"email": "Asked@Phone.example", "note": "called us"}, follow=True)
        self.assertContains(r, "asked@phone.example added to the suppression list")
        row = Suppression.objects.get(email="asked@phone.example")
        self.assertEqual((row.reason, row.source), ("manual", "called us"))
        r = self.client.post(self.URL, {"email": "not an address"})
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "Enter a valid email address")
        self.client.force_login(self.cast["bob"])
        self.assertEqual(self.client.post(f"/mail/suppressions/{row.pk}/remove/").status_code, 403)
        self.client.force_login(self.cast["alice"])
        self.assertEqual(self.client.get(f"/mail/suppressions/{row.pk}/remove/").status_code, 405)
        r = self.client.post(f"/mail/suppressions/{row.pk}/remove/", follow=True)
        self.assertContains(r, "removed from the suppression list")
        self.assertFalse(Suppression.objects.filter(pk=row.pk).exists())
        self.assertTrue(AuditEntry.objects.filter(action="unsuppress", object_id=str(row.pk)).exists())
