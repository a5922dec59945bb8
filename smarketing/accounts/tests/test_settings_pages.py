"""Users and teams settings, invitations and password reset, through HTTP.

The cast: alice admin, carol manager, bob and mia members, rory read-only.
"""

import re
import smtplib
from datetime import datetime, timedelta
from unittest import mock

from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.urls import reverse

from smarketing.accounts import services
from smarketing.accounts.access import system_actor
from smarketing.accounts.models import Role, Team, User
from smarketing.accounts.tokens import InviteTokens, ResetTokens
from smarketing.core.models import AuditEntry
from smarketing.testing import PASSWORD, make_cast, make_user

NEW_PASSWORD = "a-long-new-passphrase-17"


def link_in(message) -> str:
    """The path of the one link in an email (SITE_URL stripped, so the test client can open it)."""
    url = re.search(r"https?://\S+/accounts/\S+", message.body).group(0)
    return url.removeprefix(settings.SITE_URL)


class SettingsAccessTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_admins_change_managers_look_others_are_refused(self):
        team = Team.objects.get(name="Sales")
        pages = [
            reverse("settings_users"),
            reverse("settings_user", args=[self.cast["bob"].pk]),
            reverse("settings_teams"),
            reverse("settings_team", args=[team.pk]),
        ]
        for name, expected in (("alice", 200), ("carol", 200), ("bob", 403), ("mia", 403), ("rory", 403)):
            self.client.force_login(self.cast[name])
            for url in pages:
                with self.subTest(name=name, url=url):
                    self.assertEqual(self.client.get(url).status_code, expected)
        self.client.force_login(self.cast["carol"])
        self.assertEqual(self.client.get(reverse("settings_user_invite")).status_code, 403)
        response = self.client.post(reverse("settings_user", args=[self.cast["bob"].pk]), {"role": "admin"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(User.objects.get(pk=self.cast["bob"].pk).role, Role.MEMBER)
        response = self.client.post(reverse("settings_teams"), {"name": "Growth", "kind": "marketing"})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Team.objects.filter(name="Growth").exists())
        # A manager sees the pages read-only: no invite button, disabled fields, no save.
        body = self.client.get(reverse("settings_user", args=[self.cast["bob"].pk])).content.decode()
        self.assertIn("disabled", body)
        self.assertNotIn(">Save<", body)
        self.assertNotContains(self.client.get(reverse("settings_users")), "Invite a user")

    def test_user_list_shows_words_and_a_constant_number_of_queries(self):
        self.client.force_login(self.cast["alice"])
        self.client.get(reverse("settings_users"))
        with self.assertNumQueries(4):  # session, user, the users with their teams, (savepoint-free) messages
            response = self.client.get(reverse("settings_users"))
        for i in range(5):
            make_user(f"extra{i}@example.com")
        with self.assertNumQueries(4):
            self.client.get(reverse("settings_users"))
        self.assertContains(response, "Read-only")
        self.assertContains(response, "Carol Manager")
        self.assertNotContains(response, ">readonly<")


class InvitationTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def invite(self, email="newrep@example.com", **extra):
        data = {"email": email, "full_name": "New Rep", "role": "member", "team": Team.objects.get(name="Sales").pk}
        return self.client.post(reverse("settings_user_invite"), {**data, **extra})

    def test_invite_sends_a_single_use_link_that_sets_the_password_and_logs_in(self):
        response = self.invite()
        self.assertRedirects(response, reverse("settings_users"))
        user = User.objects.get(email="newrep@example.com")
        self.assertFalse(user.has_usable_password())
        self.assertTrue(user.is_invited)
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["newrep@example.com"])
        self.assertIn("Alice Admin invited you", mail.outbox[0].subject)
        entry = AuditEntry.objects.get(action="invite", object_id=str(user.pk))
        self.assertEqual(entry.actor, self.cast["alice"])
        self.assertEqual(entry.changes["role"], [None, "Member"])
        self.assertContains(self.client.get(reverse("settings_users")), "Invited")

        link = link_in(mail.outbox[0])
        self.client.logout()
        form_page = self.client.get(link, follow=True)
        self.assertContains(form_page, "Welcome to Smarketing")
        self.assertContains(form_page, "newrep@example.com")
        set_url = form_page.redirect_chain[-1][0]
        response = self.client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        self.assertRedirects(response, reverse("home"), fetch_redirect_response=False)
        self.assertEqual(int(self.client.session["_auth_user_id"]), user.pk)
        user.refresh_from_db()
        self.assertTrue(user.check_password(NEW_PASSWORD))
        self.assertTrue(AuditEntry.objects.filter(action="invite_accepted", actor=user).exists())

        # Used once: the same link no longer works, even logged out.
        self.client.logout()
        again = self.client.get(link, follow=True)
        self.assertContains(again, "This invitation no longer works")
        self.assertTrue(self.client.login(email="newrep@example.com", password=NEW_PASSWORD))

    def test_an_invitation_expires(self):
        self.invite()
        link = link_in(mail.outbox[0])
        self.client.logout()
        later = datetime.now() + timedelta(seconds=settings.INVITE_TIMEOUT + 60)
        with mock.patch.object(InviteTokens, "_now", return_value=later):
            self.assertContains(self.client.get(link, follow=True), "This invitation no longer works")
        just_in_time = datetime.now() + timedelta(seconds=settings.INVITE_TIMEOUT - 60)
        with mock.patch.object(InviteTokens, "_now", return_value=just_in_time):
            self.assertContains(self.client.get(link, follow=True), "Welcome to Smarketing")

    def test_resending_voids_the_earlier_link_and_deactivation_voids_every_link(self):
        self.invite()
        user = User.objects.get(email="newrep@example.com")
        first = link_in(mail.outbox[0])
        response = self.client.post(reverse("settings_user_resend", args=[user.pk]))
        self.assertRedirects(response, reverse("settings_users"))
        second = link_in(mail.outbox[1])
        self.assertTrue(AuditEntry.objects.filter(action="invite_resent", object_id=str(user.pk)).exists())
        self.client.logout()
        self.assertContains(self.client.get(first, follow=True), "no longer works")
        self.assertContains(self.client.get(second, follow=True), "Welcome")
        services.deactivate_user(user, actor=self.cast["alice"])
        self.assertContains(self.client.get(second, follow=True), "no longer works")

    def test_an_invitation_link_is_not_a_password_reset_link(self):
        self.invite()
        user = User.objects.get(email="newrep@example.com")
        invite_path = link_in(mail.outbox[0])
        uid, token = invite_path.rstrip("/").split("/")[-2:]
        self.client.logout()
        reset = self.client.get(reverse("password_reset_confirm", args=[uid, token]), follow=True)
        self.assertContains(reset, "This link no longer works")
        self.assertFalse(ResetTokens().check_token(user, token))

    def test_bad_input_gets_a_clear_error_and_saves_nothing(self):
        response = self.invite(email=self.cast["bob"].email)
        self.assertContains(response, "already exists", status_code=200)
        response = self.invite(email="not-an-email")
        self.assertContains(response, "Enter a valid email address")
        self.assertEqual(len(mail.outbox), 0)
        with mock.patch("smarketing.accounts.services.send_mail", side_effect=smtplib.SMTPException("refused")):
            response = self.invite(email="unlucky@example.com")
        self.assertContains(response, "could not be sent")
        self.assertFalse(User.objects.filter(email="unlucky@example.com").exists())
        self.assertFalse(AuditEntry.objects.filter(action="invite").exists())


class PasswordResetTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_login_page_links_to_it_and_the_link_works_once(self):
        login = self.client.get(reverse("login"))
        self.assertContains(login, f'href="{reverse("password_reset")}"')
        self.assertContains(login, "Forgot password?")
        response = self.client.post(reverse("password_reset"), {"email": "BOB@example.com"})
        self.assertRedirects(response, reverse("password_reset_done"))
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["bob@example.com"])
        link = link_in(mail.outbox[0])
        page = self.client.get(link, follow=True)
        self.assertContains(page, "Choose a new password")
        set_url = page.redirect_chain[-1][0]
        mismatch = self.client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": "other-pass-99"})
        self.assertContains(mismatch, "didn’t match")
        response = self.client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        self.assertRedirects(response, reverse("password_reset_complete"))
        bob = User.objects.get(pk=self.cast["bob"].pk)
        self.assertTrue(bob.check_password(NEW_PASSWORD))
        self.assertTrue(AuditEntry.objects.filter(action="password_reset", actor=bob).exists())
        self.assertContains(self.client.get(link, follow=True), "This link no longer works")

    def test_unknown_and_deactivated_addresses_answer_the_same_and_send_nothing(self):
        services.deactivate_user(self.cast["mia"], actor=self.cast["alice"])
        for email in ("nobody@example.com", "mia@example.com"):
            response = self.client.post(reverse("password_reset"), {"email": email})
            self.assertRedirects(response, reverse("password_reset_done"))
        self.assertEqual(len(mail.outbox), 0)

    def test_a_reset_link_expires(self):
        self.client.post(reverse("password_reset"), {"email": "bob@example.com"})
        link = link_in(mail.outbox[0])
        later = datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
        with mock.patch.object(ResetTokens, "_now", return_value=later):
            self.assertContains(self.client.get(link, follow=True), "This link no longer works")
        self.assertTrue(User.objects.get(pk=self.cast["bob"].pk).check_password(PASSWORD))


class UserEditTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def post(self, user, **data):
        form = {
            "full_name": user.full_name,
            "role": user.role,
            "team": user.team_id or "",
            "time_zone": user.time_zone,
        }
        return self.client.post(reverse("settings_user", args=[user.pk]), {**form, **data})

    def test_role_team_time_zone_and_working_hours_are_saved_and_audited_in_words(self):
        bob = self.cast["bob"]
        marketing = Team.objects.get(name="Marketing")
        response = self.post(
            bob,
            role="manager",
            team=marketing.pk,
            time_zone="Europe/Berlin",
            hours_mon="9:00-12:00, 13:00-17:30",
            hours_fri="09:00-15:00",
        )
        self.assertRedirects(response, reverse("settings_users"))
        bob.refresh_from_db()
        self.assertEqual((bob.role, bob.team, bob.time_zone), ("manager", marketing, "Europe/Berlin"))
        self.assertEqual(
            bob.working_hours, {"mon": [["09:00", "12:00"], ["13:00", "17:30"]], "fri": [["09:00", "15:00"]]}
        )
        entry = AuditEntry.objects.get(action="update", object_type="accounts.user", object_id=str(bob.pk))
        self.assertEqual(entry.changes["role"], ["Member", "Manager"])
        self.assertEqual(entry.changes["team"], ["Sales", "Marketing"])
        audit = self.client.get(reverse("audit_log") + "?type=accounts.user").content.decode()
        self.assertIn("Changed", audit)
        self.assertIn("Member", audit)
        self.assertIn("Mon 09:00-12:00, 13:00-17:30", self.client.get(reverse("settings_users")).content.decode())

    def test_bad_working_hours_are_refused_with_the_typed_values_kept(self):
        bob = self.cast["bob"]
        response = self.post(bob, role="manager", hours_tue="17:00-09:00", hours_wed="lunchtime")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "the end must be after the start", status_code=400)
        self.assertContains(response, "is not a time range", status_code=400)
        self.assertContains(response, 'value="lunchtime"', status_code=400)
        bob.refresh_from_db()
        self.assertEqual((bob.role, bob.working_hours), ("member", {}))

    def test_the_last_active_admin_cannot_be_demoted_or_deactivated(self):
        alice = self.cast["alice"]
        response = self.post(alice, role="manager")
        self.assertContains(response, "last active admin", status_code=400)
        self.assertEqual(User.objects.get(pk=alice.pk).role, Role.ADMIN)
        with self.assertRaisesMessage(ValidationError, "last active admin"):
            services.deactivate_user(alice, actor=system_actor())
        with self.assertRaisesMessage(ValidationError, "cannot deactivate yourself"):
            services.deactivate_user(alice, actor=alice)
        # A deactivated second admin does not count; an active one does.
        other = make_user("second@example.com", role=Role.ADMIN)
        services.deactivate_user(other, actor=alice)
        self.assertContains(self.post(alice, role="manager"), "last active admin", status_code=400)
        services.reactivate_user(other, actor=alice)
        self.assertRedirects(self.post(alice, role="manager"), reverse("settings_users"))
        self.assertEqual(User.objects.get(pk=alice.pk).role, Role.MANAGER)

    def test_reactivate(self):
        mia = self.cast["mia"]
        services.deactivate_user(mia, actor=self.cast["alice"])
        self.assertContains(self.client.get(reverse("settings_users")), "Deactivated")
        response = self.client.post(reverse("settings_user_reactivate", args=[mia.pk]))
        self.assertRedirects(response, reverse("settings_user", args=[mia.pk]))
        self.assertTrue(User.objects.get(pk=mia.pk).is_active)
        self.assertEqual(
            list(AuditEntry.objects.filter(object_id=str(mia.pk)).values_list("action", flat=True)),
            ["reactivate", "deactivate"],
        )


class TeamTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def test_create_rename_change_kind_and_members(self):
        response = self.client.post(reverse("settings_teams"), {"name": "Growth", "kind": "marketing"})
        team = Team.objects.get(name="Growth")
        self.assertRedirects(response, reverse("settings_team", args=[team.pk]))
        bob, mia = self.cast["bob"], self.cast["mia"]
        response = self.client.post(
            reverse("settings_team", args=[team.pk]),
            {"name": "Growth team", "kind": "sales", "members": [bob.pk, mia.pk]},
        )
        self.assertRedirects(response, reverse("settings_teams"))
        team.refresh_from_db()
        self.assertEqual((team.name, team.kind), ("Growth team", "sales"))
        self.assertEqual(set(team.members.all()), {bob, mia})
        entry = AuditEntry.objects.filter(object_type="accounts.team", action="update").get()
        self.assertEqual(entry.changes["kind"], ["Marketing", "Sales"])
        self.assertIn("Bob Seller", entry.changes["members added"][1])
        self.client.post(
            reverse("settings_team", args=[team.pk]), {"name": "Growth team", "kind": "sales", "members": [bob.pk]}
        )
        self.assertIsNone(User.objects.get(pk=mia.pk).team)
        page = self.client.get(reverse("settings_teams"))
        self.assertContains(page, "Growth team")
        self.assertContains(page, "RevOps / Admin")

    def test_duplicate_or_empty_names_are_refused(self):
        response = self.client.post(reverse("settings_teams"), {"name": "sales", "kind": "sales"})
        self.assertContains(response, "already a team called sales", status_code=400)
        sales = Team.objects.get(name="Sales")
        response = self.client.post(reverse("settings_team", args=[sales.pk]), {"name": "Marketing", "kind": "sales"})
        self.assertContains(response, "already a team called Marketing", status_code=400)
        self.assertEqual(Team.objects.get(pk=sales.pk).name, "Sales")

    def test_team_list_queries_are_constant(self):
        with self.assertNumQueries(4):
            self.client.get(reverse("settings_teams"))
