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
