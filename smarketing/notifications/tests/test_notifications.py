"""notify(), the email job, the notification center, preferences, privacy and the CRM's producers."""

import smtplib
from unittest import mock

from django.core import mail
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.management import call_command
from django.test import TestCase, TransactionTestCase
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from smarketing.core.models import AuditEntry
from smarketing.crm import kinds as Kind
from smarketing.crm import services
from smarketing.notifications import catalogue
from smarketing.notifications.catalogue import NotificationKind, UnknownNotificationKind
from smarketing.notifications.models import EmailState, Notification, Preference
from smarketing.notifications.services import deliver_email, mark_all_read, mark_read, notify, set_preferences
from smarketing.testing import make_cast, make_contact, make_deal

TASK = Kind.NOTIFY_TASK_ASSIGNED
MENTION = Kind.NOTIFY_MENTIONED


def run_jobs():
    """The real worker, in batch mode: runs every job that is due, then returns."""
    call_command("worker", batch=True, verbosity=0)


class NotifyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.alice, cls.bob, cls.carol, cls.mia = cast["alice"], cast["bob"], cast["carol"], cast["mia"]

    def test_in_app_only_when_the_user_turned_email_off(self):
        set_preferences(self.bob, actor=self.bob, email_by_kind={TASK: False})
        with self.captureOnCommitCallbacks(execute=True):
            n = notify(self.bob, kind=TASK, title="Quiet", actor=self.carol)
        self.assertEqual(n.email_state, EmailState.IN_APP)
        self.assertFalse(DBTaskResult.objects.exists(), "no email job")
        self.assertEqual(Notification.objects.filter(user=self.bob).count(), 1)

    def test_a_transient_smtp_failure_is_recorded_and_the_retry_sends_once(self):
        n = notify(self.bob, kind=TASK, title="Retry me", actor=self.carol)
        with mock.patch("django.core.mail.EmailMessage.send", side_effect=smtplib.SMTPServerDisconnected("gone")):
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                deliver_email(n.pk)
        n.refresh_from_db()
        self.assertEqual(n.email_state, EmailState.FAILED)
        self.assertIn("gone", n.email_error)
        self.assertEqual(deliver_email(n.pk), "sent")
        self.assertEqual(deliver_email(n.pk), "skipped")
        self.assertEqual(len(mail.outbox), 1)

    def test_no_one_to_tell(self):
        self.assertIsNone(notify(self.bob, kind=TASK, title="Myself", actor=self.bob))
        self.bob.is_active = False
        self.bob.save()
        self.assertIsNone(notify(self.bob, kind=TASK, title="Gone", actor=self.carol))
        self.assertFalse(Notification.objects.exists())

    def test_mistakes_in_the_calling_code_are_refused(self):
        with self.assertRaises(UnknownNotificationKind):
            notify(self.bob, kind="no_such_kind", title="x")
        with self.assertRaisesMessage(ValueError, "needs a title"):
            notify(self.bob, kind=TASK, title="  ")
        for url in ("https://evil.example/", "//evil.example/", "deals/1/"):
            with self.subTest(url=url), self.assertRaises(ValueError):
                notify(self.bob, kind=TASK, title="x", url=url)

    def test_read_marks_are_the_owners_only(self):
        n = notify(self.bob, kind=TASK, title="Mine", actor=self.carol)
        with self.assertRaises(PermissionDenied):
            mark_read(self.carol, n)
        self.assertTrue(mark_read(self.bob, n))
        self.assertFalse(mark_read(self.bob, n), "a second mark changes nothing")
        notify(self.bob, kind=TASK, title="Two", actor=self.carol)
        notify(self.bob, kind=TASK, title="Three", actor=self.carol)
        self.assertEqual(mark_all_read(self.bob), 2)

    def test_catalogue_refuses_a_kind_declared_twice(self):
        kind = NotificationKind("k", "K")
        with self.assertRaises(ImproperlyConfigured):
            catalogue.build_catalogue([("a", [kind]), ("b", [kind])])
        self.assertEqual(catalogue.label("gone_kind"), "Gone kind")


class EmailJobTests(TransactionTestCase):
    """The email job run by the real worker command. Transactional: the job is enqueued on commit, and the
    worker closes its connection when it is done, which a TestCase's wrapping transaction would not survive."""

    serialized_rollback = True  # keep the migrations' teams and pipeline for the tests after these

    def setUp(self):
        cast = make_cast()
        self.bob, self.carol = cast["bob"], cast["carol"]

    def test_stores_and_emails_once_when_the_kind_defaults_to_email(self):
        n = notify(
            self.bob, kind=TASK, title="Carol assigned you a task", body="Call Ada", url="/tasks/", actor=self.carol
        )
        self.assertEqual(n.email_state, EmailState.PENDING)
        self.assertEqual(DBTaskResult.objects.count(), 1)
        run_jobs()
        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertEqual(message.to, ["bob@example.com"])
        self.assertEqual(message.subject, "Carol assigned you a task")
        self.assertIn("Call Ada", message.body)
        self.assertIn("/tasks/", message.body)
        n.refresh_from_db()
        self.assertEqual(n.email_state, EmailState.SENT)
        self.assertIsNotNone(n.emailed_at)
        # A stray second job (a retry racing, a re-enqueue) sends nothing: the claim is a conditional update.
        self.assertEqual(deliver_email(n.pk), "skipped")
        run_jobs()
        self.assertEqual(len(mail.outbox), 1)

    def test_the_job_retries_a_transient_failure_with_backoff(self):
        notify(self.bob, kind=TASK, title="Server down", actor=self.carol)
        with mock.patch("django.core.mail.EmailMessage.send", side_effect=ConnectionRefusedError("refused")):
            run_jobs()
        self.assertEqual(Notification.objects.get().email_state, EmailState.FAILED)
        retry = DBTaskResult.objects.filter(status="READY").get()
        self.assertEqual(retry.args_kwargs["kwargs"]["_attempt"], 2)
        self.assertGreater(retry.run_after, retry.enqueued_at)


class CenterViewTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.bob, cls.carol = cast["bob"], cast["carol"]
        cls.deal = make_deal(None, owner=cls.bob, name="Acme pilot")
        cls.first = notify(cls.bob, kind=TASK, title="Call Ada", url=f"/deals/{cls.deal.pk}/", actor=cls.carol)
        cls.second = notify(cls.bob, kind=MENTION, title="Carol mentioned you", body="@Bob look", actor=cls.carol)
        cls.carols = notify(cls.carol, kind=TASK, title="Carol's own", actor=cls.bob)

    def setUp(self):
        self.client.force_login(self.bob)

    def test_the_bell_shows_the_unread_count(self):
        response = self.client.get(reverse("notifications:bell"))
        self.assertContains(response, 'data-unread="2">2</span>')
        self.assertContains(response, 'aria-label="Notifications: 2 unread"')
        page = self.client.get(reverse("home")).content.decode()
        self.assertIn(f'hx-get="{reverse("notifications:bell")}" hx-trigger="load"', page)

    def test_the_bell_caps_its_count(self):
        Notification.objects.bulk_create([Notification(user=self.bob, kind=TASK, title=f"n{i}") for i in range(120)])
        with self.assertNumQueries(3):  # session, user, the capped count
            response = self.client.get(reverse("notifications:bell"))
        self.assertContains(response, ">99+</span>")

    def test_the_list_shows_only_my_notifications_with_words_in_constant_queries(self):
        with self.assertNumQueries(5):  # session, user, the page, the unread count, the sidebar's team
            response = self.client.get(reverse("notifications:list"))
        self.assertContains(response, "Call Ada")
        self.assertContains(response, "A colleague mentions me in a note")  # the kind's label, not its key
        self.assertNotContains(response, "Carol's own")
        Notification.objects.bulk_create([Notification(user=self.bob, kind=TASK, title=f"n{i}") for i in range(40)])
        with self.assertNumQueries(5):
            response = self.client.get(reverse("notifications:list"))
        self.assertContains(response, "Older notifications")

    def test_mark_read_with_htmx_swaps_the_item_and_the_bell(self):
        response = self.client.post(reverse("notifications:read", args=[self.first.pk]), headers={"HX-Request": "true"})
        html = response.content.decode()
        self.assertIn(f'id="notification-{self.first.pk}"', html)
        self.assertNotIn(">Mark read<", html.split('id="notification-bell"')[0])
        self.assertIn('id="notification-bell"', html)
        self.assertIn('hx-swap-oob="true"', html)
        self.assertIn('data-unread="1"', html)
        self.first.refresh_from_db()
        self.assertIsNotNone(self.first.read_at)

    def test_someone_elses_notification_is_not_found_and_get_is_refused(self):
        self.assertEqual(self.client.post(reverse("notifications:read", args=[self.carols.pk])).status_code, 404)
        self.assertEqual(self.client.post(reverse("notifications:open", args=[self.carols.pk])).status_code, 404)
        self.assertEqual(self.client.get(reverse("notifications:read", args=[self.first.pk])).status_code, 405)
        self.carols.refresh_from_db()
        self.assertIsNone(self.carols.read_at)

    def test_open_marks_read_and_follows_the_link(self):
        response = self.client.post(reverse("notifications:open", args=[self.first.pk]))
        self.assertRedirects(response, f"/deals/{self.deal.pk}/", fetch_redirect_response=False)
        self.first.refresh_from_db()
        self.assertIsNotNone(self.first.read_at)

    def test_mark_all_read(self):
        response = self.client.post(reverse("notifications:read_all"), follow=True)
        self.assertContains(response, "Marked 2 notifications read.")
        self.assertContains(response, "All caught up")
        self.assertFalse(Notification.objects.filter(user=self.bob, read_at__isnull=True).exists())
        self.assertIsNone(Notification.objects.get(pk=self.carols.pk).read_at)

    def test_empty_center_says_what_will_come_and_links_to_settings(self):
        self.client.force_login(make_cast_user())
        response = self.client.get(reverse("notifications:list"))
        self.assertContains(response, "No notifications yet")
        self.assertContains(response, reverse("notifications:preferences"))

    def test_preferences_are_saved_audited_and_bad_input_is_refused(self):
        page = self.client.get(reverse("notifications:preferences"))
        self.assertContains(page, "A colleague assigns me a task")
        self.assertContains(page, f'name="kind-{TASK}" value="email" checked')
        response = self.client.post(
            reverse("notifications:preferences"), {f"kind-{TASK}": "app", f"kind-{MENTION}": "email"}
        )
        self.assertRedirects(response, reverse("notifications:preferences"))
        self.assertEqual(Preference.objects.get(user=self.bob, kind=TASK).email, False)
        entry = AuditEntry.objects.get(object_type="accounts.user", object_id=str(self.bob.pk))
        self.assertEqual(entry.changes, {f"notify_by_email.{TASK}": [True, False]})
        bad = self.client.post(reverse("notifications:preferences"), {f"kind-{TASK}": "sms"})
        self.assertEqual(bad.status_code, 400)
        self.assertContains(bad, "Choose", status_code=400)
        self.assertEqual(Preference.objects.get(user=self.bob, kind=TASK).email, False, "nothing lost, nothing changed")

    def test_nobody_changes_someone_elses_preferences(self):
        with self.assertRaises(PermissionDenied):
            set_preferences(self.bob, actor=self.carol, email_by_kind={TASK: False})


def make_cast_user():
    from smarketing.testing import make_user

    return make_user("newbie@example.com")


class ProducerTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.bob, cls.carol, cls.mia, cls.rory = cast["bob"], cast["carol"], cast["mia"], cast["rory"]
        cls.contact = make_contact(None, first_name="Ada", last_name="Lovelace", owner=cls.bob)

    def test_a_task_assigned_to_someone_else_notifies_them(self):
        services.create_task(actor=self.carol, title="Call Ada", owner=self.bob, contact=self.contact)
        n = Notification.objects.get(user=self.bob)
        self.assertEqual(n.kind, TASK)
        self.assertEqual(n.title, "Carol Manager assigned you a task: Call Ada")
        self.assertEqual(n.url, reverse("contact_detail", args=[self.contact.pk]))
        self.assertEqual((n.object_type, n.object_id), ("crm.contact", str(self.contact.pk)))
        self.assertEqual(n.actor, self.carol)

    def test_my_own_task_notifies_nobody_and_handing_it_over_notifies_the_new_owner(self):
        task = services.create_task(actor=self.bob, title="Mine")
        self.assertFalse(Notification.objects.exists())
        services.update_task(task, actor=self.bob, data={"owner": self.carol})
        n = Notification.objects.get()
        self.assertEqual((n.user, n.url), (self.carol, reverse("task_list")))

    def test_a_note_mentioning_people_notifies_each_once(self):
        body = "<p>@Bob Seller and @mia@example.com please look; @nobody@example.com too. @Carol Manager (me)</p>"
        services.add_note(self.contact, body_html=body, actor=self.carol)
        told = dict(Notification.objects.values_list("user__email", "kind"))
        self.assertEqual(told, {"bob@example.com": MENTION, "mia@example.com": MENTION})
        n = Notification.objects.get(user=self.bob)
        self.assertEqual(n.title, "Carol Manager mentioned you in a note on Ada Lovelace")
        self.assertIn("please look", n.body)

    def test_a_first_name_mention_works_when_it_is_unique_and_an_edit_tells_only_the_newly_mentioned(self):
        note = services.add_note(self.contact, body_html="<p>@Bob can you call?</p>", actor=self.carol)
        self.assertEqual(list(Notification.objects.values_list("user", flat=True)), [self.bob.pk])
        services.update_note(note, actor=self.carol, body_html="<p>@Bob can you call? cc @Mia</p>")
        self.assertEqual(
            sorted(Notification.objects.values_list("user", flat=True)), sorted([self.bob.pk, self.mia.pk])
        )

    def test_a_plain_email_address_is_not_a_mention(self):
        services.add_note(self.contact, body_html="<p>Write to bob@example.com</p>", actor=self.carol)
        self.assertFalse(Notification.objects.exists())


class PrivacyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cast = make_cast()
        cls.alice, cls.bob, cls.carol = cast["alice"], cast["bob"], cast["carol"]
        cls.ada = make_contact(None, first_name="Ada", last_name="Lovelace", email="ada@example.com")
        cls.deal = make_deal(None, name="Pilot", contacts=[cls.ada], owner=cls.bob)
        services.add_note(cls.ada, body_html="<p>@Bob Seller Ada Lovelace wants a call</p>", actor=cls.carol)
        services.add_note(cls.deal, body_html="<p>@Bob Seller ask ada@example.com</p>", actor=cls.carol)
        cls.other = notify(cls.bob, kind=TASK, title="Unrelated", actor=cls.carol)

    def test_export_lists_what_colleagues_were_told_about_the_person(self):
        from smarketing.notifications import privacy
        from smarketing.privacy.hooks import Subject

        rows = list(privacy.export(Subject(contact=self.ada, object_ids=[str(self.ada.pk)]))["notifications"])
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["kind"], "A colleague mentions me in a note")
        self.assertIn("Ada Lovelace", rows[0]["title"])
        self.assertEqual(rows[0]["to"], "Bob Seller")

    def test_erasure_blanks_the_persons_notifications_and_their_quotes_on_deals(self):
        from django.utils import timezone

        from smarketing.notifications import privacy
        from smarketing.privacy.hooks import ERASED, Erasure

        erasure = Erasure(
            contact=self.ada,
            object_ids=[str(self.ada.pk)],
            at=timezone.now(),
            actor=self.alice,
            identifiers=["ada@example.com", "ada lovelace", "ada", "lovelace"],
            deal_ids=[self.deal.pk],
        )
        self.assertEqual(privacy.erase(erasure), {"scrub_notifications": 2})
        about = Notification.objects.get(object_type="crm.contact")
        self.assertEqual((about.title, about.body), (ERASED, ""))
        on_deal = Notification.objects.get(object_type="crm.deal")
        self.assertNotIn("ada@example.com", on_deal.body)
        self.assertIn(ERASED, on_deal.body)
        self.assertEqual(Notification.objects.get(pk=self.other.pk).title, "Unrelated")

    def test_the_privacy_service_finds_the_hook(self):
        from smarketing.privacy.hooks import hook_modules

        self.assertIn("smarketing.notifications.privacy", [m.__name__ for m in hook_modules()])
