"""The expiry reminder: a week before an asset's expiry date its owner is told, once, by the daily job run by real
workers."""

from datetime import timedelta

from django.test import TestCase, TransactionTestCase
from django.utils import timezone

from smarketing.content import kinds, services, tasks
from smarketing.content.models import Asset, AssetType
from smarketing.jobs.models import PeriodicSchedule
from smarketing.jobs.testing import WorkerPool
from smarketing.mail.testing import SmtpTestServer
from smarketing.notifications.models import Notification
from smarketing.testing import ensure_defaults, make_cast


def asset(owner, title, expires_on):
    return services.create_asset(
        owner, title=title, asset_type=AssetType.WHITEPAPER, url="https://example.com/w", expires_on=expires_on
    )


class DueTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()

    def test_a_week_ahead_once_and_a_new_date_gets_its_own_reminder(self):
        mia = self.cast["mia"]
        today = timezone.localdate()
        soon = asset(mia, "Soon", today + timedelta(days=7))
        later = asset(mia, "Later", today + timedelta(days=8))
        passed = asset(mia, "Passed", today - timedelta(days=1))
        asset(mia, "Never", None)
        gone = asset(mia, "Gone", today + timedelta(days=2))
        services.retire(gone, mia)
        self.assertEqual(sorted(tasks.due_expiry_reminders(today)), sorted([soon.pk, passed.pk]))

        self.assertTrue(tasks.remind_expiring(soon.pk))
        self.assertFalse(tasks.remind_expiring(soon.pk))  # claimed: a second worker or run does nothing
        told = Notification.objects.get(kind=kinds.NOTIFY_EXPIRING)
        self.assertEqual(told.user, mia)
        self.assertIn("“Soon” expires on", told.title)
        self.assertEqual(told.url, f"/content/assets/{soon.pk}/")

        self.assertEqual(tasks.send_expiry_reminders(), 1)  # "Passed" (expired): said so
        self.assertIn("expired", Notification.objects.get(kind=kinds.NOTIFY_EXPIRING, object_id=str(passed.pk)).title)
        self.assertEqual(tasks.send_expiry_reminders(), 0)
        self.assertEqual(tasks.due_expiry_reminders(today + timedelta(days=1)), [later.pk])

        services.update_asset(soon, mia, expires_on=today + timedelta(days=30))
        self.assertIsNone(Asset.objects.get(pk=soon.pk).expiry_reminded_at)
        self.assertEqual(tasks.due_expiry_reminders(today + timedelta(days=23)), [later.pk, soon.pk])


class ReminderWorkerTests(TransactionTestCase):
    """Real worker processes run the periodic job twice: one reminder, its email sent once."""

    def test_two_workers_twice_remind_once(self):
        ensure_defaults()
        cast = make_cast()
        item = asset(cast["mia"], "Q3 whitepaper", timezone.localdate() + timedelta(days=5))
        with SmtpTestServer() as server:
            env = {"EMAIL_HOST": server.host, "EMAIL_PORT": str(server.port)}
            for _ in range(2):
                PeriodicSchedule.objects.filter(task_path__endswith="expiry_reminders").update(
                    next_run_at=timezone.now() - timedelta(seconds=1)
                )
                with WorkerPool(2, env=env) as pool:
                    pool.wait()
        item.refresh_from_db()
        self.assertIsNotNone(item.expiry_reminded_at, pool.logs())
        reminders = Notification.objects.filter(kind=kinds.NOTIFY_EXPIRING)
        self.assertEqual(reminders.count(), 1, pool.logs())
        self.assertEqual(reminders.get().user, cast["mia"])
        self.assertEqual(
            PeriodicSchedule.objects.filter(task_path__endswith="content.tasks.expiry_reminders").count(), 1
        )
        mails = [m for m in server.messages if "Q3 whitepaper" in (m.message["Subject"] or "")]
        self.assertEqual(len(mails), 1, pool.logs())
