"""The reminder job: due meetings found by their type's reminder_minutes, each reminded once, by a real worker."""

from datetime import timedelta

from django.test import TestCase, TransactionTestCase
from django.utils import timezone

from smarketing.jobs.models import PeriodicSchedule
from smarketing.jobs.testing import WorkerPool
from smarketing.mail.models import TransactionalMessage
from smarketing.mail.testing import SmtpTestServer
from smarketing.scheduling import services, tasks
from smarketing.scheduling.models import Meeting
from smarketing.scheduling.tests.test_services import booker, open_hours, personal_type
from smarketing.testing import ensure_defaults, make_cast


def soon_slot(mt, hours: int):
    from smarketing.scheduling import availability

    start = timezone.now() + timedelta(hours=hours)
    slots = availability.free_slots(mt, start=start.date(), end=(start + timedelta(days=1)).date())
    return next(s.starts_at for s in slots if s.starts_at >= start)


class DueTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        open_hours(cls.cast["bob"])
        cls.mt = personal_type(cls.cast["bob"], reminder_minutes=120, reminder_text="Bring your numbers.")

    def test_only_meetings_inside_their_reminder_window_are_due_and_each_is_reminded_once(self):
        due = services.book(self.mt, starts_at=soon_slot(self.mt, 1), booker=booker())
        later = services.book(self.mt, starts_at=soon_slot(self.mt, 5), booker=booker("later@visitor.example"))
        gone = services.book(
            self.mt, starts_at=soon_slot(self.mt, 1) + timedelta(hours=1), booker=booker("g@v.example")
        )
        services.cancel(gone)
        self.assertEqual(tasks.due_reminders(), [due.pk])
        self.assertTrue(tasks.remind(due.pk))
        self.assertFalse(tasks.remind(due.pk))  # claimed: a second worker or run does nothing
        self.assertEqual(tasks.due_reminders(), [])
        reminder = TransactionalMessage.objects.get(kind="booking_reminder")
        self.assertEqual(reminder.to_email, "vera@visitor.example")
        self.assertIn("Bring your numbers.", reminder.text)
        self.assertEqual(reminder.calendar_method, "REQUEST")
        self.assertIn(later.pk, tasks.due_reminders(now=timezone.now() + timedelta(hours=4)))

    def test_a_type_without_reminders_and_a_rescheduled_meeting(self):
        quiet = personal_type(self.cast["bob"], slug="quiet", reminder_minutes=0)
        services.book(quiet, starts_at=soon_slot(quiet, 1), booker=booker())
        self.assertEqual(tasks.due_reminders(), [])
        m = services.book(self.mt, starts_at=soon_slot(self.mt, 3), booker=booker("r@visitor.example"))
        self.assertEqual(tasks.send_reminders(now=timezone.now() + timedelta(hours=2)), 1)
        moved = services.reschedule(m, starts_at=soon_slot(self.mt, 6))
        self.assertIsNone(moved.reminder_sent_at)  # the new time gets its own reminder
        self.assertEqual(tasks.send_reminders(now=timezone.now() + timedelta(hours=5)), 1)


class ReminderWorkerTests(TransactionTestCase):
    """Real worker processes run the periodic job; two of them, twice: one reminder, sent through SMTP."""

    def test_two_workers_remind_once_and_the_mail_leaves_with_its_invitation(self):
        ensure_defaults()
        cast = make_cast()
        open_hours(cast["bob"])
        mt = personal_type(cast["bob"], reminder_minutes=180)
        meeting = services.book(mt, starts_at=soon_slot(mt, 1), booker=booker())
        with SmtpTestServer() as server:
            env = {"EMAIL_HOST": server.host, "EMAIL_PORT": str(server.port)}
            for _ in range(2):
                PeriodicSchedule.objects.filter(task_path__endswith="meeting_reminders").update(
                    next_run_at=timezone.now() - timedelta(seconds=1)
                )
                with WorkerPool(2, env=env) as pool:
                    pool.wait()
        meeting = Meeting.objects.get(pk=meeting.pk)
        self.assertIsNotNone(meeting.reminder_sent_at, pool.logs())
        reminders = TransactionalMessage.objects.filter(kind="booking_reminder")
        self.assertEqual(reminders.count(), 1, pool.logs())
        self.assertEqual(reminders.get().status, TransactionalMessage.Status.SENT, pool.logs())
        to_booker = [m for m in server.messages if "Reminder:" in m.message["Subject"]]
        self.assertEqual(len(to_booker), 1)
        parts = [p.get_content_type() for p in to_booker[0].message.walk()]
        self.assertIn("text/calendar", parts)
