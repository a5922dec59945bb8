"""Brute-force protection on the login form (accounts/throttle.py), through HTTP."""

import time
from unittest import mock

from django.test import TestCase, override_settings
from django.urls import reverse

from smarketing.testing import PASSWORD, make_cast

LOCKED = "Too many failed attempts; try again in"


class LoginLockoutTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def login(self, email: str, password: str, ip: str = "10.0.0.1", **extra):
        return self.client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip, **extra)

    def assertLoggedIn(self, response, yes: bool = True):
        self.assertEqual(response.status_code == 302, yes, response.content[:300])
        self.assertEqual("_auth_user_id" in self.client.session, yes)

    def test_twenty_wrong_passwords_lock_the_account_even_for_the_right_password(self):
        statuses = [self.login("alice@example.com", f"wrong-{n}").status_code for n in range(20)]
        # The tenth failure locks the account; the ten attempts after it are refused unchecked.
        self.assertEqual(statuses[:9], [200] * 9)
        self.assertEqual(statuses[10:], [429] * 10)
        response = self.login("alice@example.com", PASSWORD)
        self.assertLoggedIn(response, False)
        self.assertContains(response, f"{LOCKED} 15 minutes.", status_code=429)
        # The lock holds for the account from any address, and the email's case does not matter.
        self.assertLoggedIn(self.login("ALICE@example.com", PASSWORD, ip="10.9.9.9"), False)
        # Once the window has passed, the right password works again.
        later = time.time() + 15 * 60 + 1
        with mock.patch("time.time", return_value=later):
            self.assertLoggedIn(self.login("alice@example.com", PASSWORD))

    def test_the_wait_counts_down_in_minutes(self):
        for n in range(10):
            self.login("alice@example.com", f"wrong-{n}")
        with mock.patch("time.time", return_value=time.time() + 14 * 60 + 30):
            self.assertContains(self.login("alice@example.com", PASSWORD), f"{LOCKED} 1 minute.", status_code=429)

    def test_another_account_from_another_address_is_unaffected(self):
        for n in range(20):
            self.login("alice@example.com", f"wrong-{n}")
        self.assertLoggedIn(self.login("bob@example.com", PASSWORD, ip="10.0.0.2"))
        # Twenty failures stay under the per-address limit: a colleague behind the same NAT still gets in.
        self.client.logout()
        self.assertLoggedIn(self.login("carol@example.com", PASSWORD, ip="10.0.0.1"))

    def test_a_successful_login_resets_the_account_counter(self):
        for n in range(9):
            self.login("bob@example.com", f"wrong-{n}")
        self.assertLoggedIn(self.login("bob@example.com", PASSWORD))
        self.client.logout()
        for n in range(9):
            self.assertEqual(self.login("bob@example.com", f"again-{n}").status_code, 200)
        self.assertLoggedIn(self.login("bob@example.com", PASSWORD))

    @override_settings(LOGIN_MAX_FAILURES_PER_IP=5)
    def test_one_address_trying_many_accounts_is_locked(self):
        for n in range(5):
            self.login(f"nobody{n}@example.com", "guess")
        response = self.login("carol@example.com", PASSWORD)
        self.assertLoggedIn(response, False)
        self.assertContains(response, LOCKED, status_code=429)
        self.assertLoggedIn(self.login("carol@example.com", PASSWORD, ip="10.0.0.3"))

    @override_settings(LOGIN_MAX_FAILURES_PER_ACCOUNT=3, LOGIN_LOCKOUT_MINUTES=2)
    def test_limits_come_from_settings(self):
        for n in range(3):
            self.login("mia@example.com", f"wrong-{n}")
        self.assertContains(self.login("mia@example.com", PASSWORD), f"{LOCKED} 2 minutes.", status_code=429)

    @override_settings(BEHIND_PROXY=True)
    def test_behind_a_proxy_the_address_is_the_one_the_proxy_appended(self):
        for n in range(50):
            # The client forges a different first entry each time; the proxy's entry (last) is what counts.
            self.login(f"nobody{n}@example.com", "guess", ip="10.0.0.254", HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 192.0.2.7")
        self.assertContains(
            self.login("bob@example.com", PASSWORD, ip="10.0.0.254", HTTP_X_FORWARDED_FOR="192.0.2.7"),
            LOCKED,
            status_code=429,
        )
        self.assertLoggedIn(self.login("bob@example.com", PASSWORD, ip="10.0.0.254", HTTP_X_FORWARDED_FOR="192.0.2.8"))
