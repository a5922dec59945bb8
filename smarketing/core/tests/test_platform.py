import subprocess
import sys
from datetime import timedelta

from django.core.management import call_command
from django.test import TestCase, override_settings
from django.utils import timezone

from smarketing.accounts.models import User
from smarketing.core.middleware import CSP
from smarketing.core.models import WorkerHeartbeat
from smarketing.jobs.worker import beat
from smarketing.testing import make_cast


class HealthzTests(TestCase):
    def test_no_worker_is_unhealthy(self):
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"]["database"], "ok")
        self.assertIn("no worker", response.json()["checks"]["worker"])

    def test_recent_heartbeat_is_healthy(self):
        beat("w1", timezone.now())
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200, response.json())
        self.assertEqual(response.json()["status"], "ok")

    @override_settings(WORKER_HEARTBEAT_MAX_AGE=60)
    def test_stale_heartbeat_is_unhealthy(self):
        beat("w1", timezone.now())
        WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(minutes=5))
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 503)
        self.assertIn("last heartbeat", response.json()["checks"]["worker"])


class SecurityHeaderTests(TestCase):
    def test_login_page_has_csp_without_inline_scripts_and_frame_denial(self):
        response = self.client.get("/accounts/login/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Security-Policy"], CSP)
        self.assertNotIn("unsafe-inline", CSP)
        self.assertEqual(response["X-Frame-Options"], "DENY")
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        self.assertNotIn(b"<script>", response.content)
        self.assertNotIn(b" style=", response.content)

    def test_anonymous_is_sent_to_login(self):
        response = self.client.get("/contacts/")
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith("/accounts/login/"))

    def test_login_with_email_and_password(self):
        make_cast()
        response = self.client.post("/accounts/login/", {"username": "bob@example.com", "password": "correct-horse-42"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Location"], "/")
        self.client.logout()
        bad = self.client.post("/accounts/login/", {"username": "bob@example.com", "password": "nope"})
        self.assertEqual(bad.status_code, 200)
        self.assertContains(bad, "correct email")


class TimezoneTests(TestCase):
    def test_users_time_zone_is_activated_per_request(self):
        cast = make_cast()
        User.objects.filter(pk=cast["bob"].pk).update(time_zone="Asia/Tokyo")
        self.client.force_login(cast["bob"])
        from django.utils import timezone as tz

        seen = {}

        def spy(request):
            seen["tz"] = tz.get_current_timezone_name()
            from django.http import HttpResponse

            return HttpResponse("ok")

        from smarketing.core.middleware import UserTimezoneMiddleware

        request = self.client.get("/accounts/profile/").wsgi_request
        UserTimezoneMiddleware(spy)(request)
        self.assertEqual(seen["tz"], "Asia/Tokyo")


class CommandTests(TestCase):
    def test_createuser_creates_user_in_team_with_role(self):
        call_command("createuser", email="New@Example.com", team="sales", role="manager", password="a-long-password-1")
        user = User.objects.get(email="new@example.com")
        self.assertEqual((user.team.name, user.role), ("Sales", "manager"))
        self.assertTrue(user.check_password("a-long-password-1"))

    def test_createuser_rejects_unknown_team(self):
        from django.core.management.base import CommandError

        with self.assertRaisesMessage(CommandError, "No team called"):
            call_command("createuser", email="x@example.com", team="Finance", role="member", password="long-pass-123")


def test_cli_help_lists_own_commands():
    out = subprocess.run([sys.executable, "-m", "smarketing", "--help"], capture_output=True, text=True, check=True)
    for name in ("demo", "serve", "worker", "migrate", "createuser", "seed"):
        assert name in out.stdout


def test_each_command_has_help():
    for name in ("demo", "serve", "worker", "createuser"):
        out = subprocess.run(
            [sys.executable, "-m", "smarketing", name, "--help"], capture_output=True, text=True, check=True
        )
        assert "usage:" in out.stdout
