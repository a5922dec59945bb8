"""Guessing API tokens is throttled per address (api/authentication.py on accounts/throttle.py)."""

import time
from unittest import mock

from django.test import override_settings

from smarketing.api.tests.helpers import ApiTestCase


class BadTokenThrottleTests(ApiTestCase):
    def list_from(self, ip: str, token: str):
        return self.client.get("/api/v1/contacts", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR=ip)

    def guess(self, n: int, ip: str = "10.1.0.1"):
        return self.list_from(ip, f"smk_guess{n:04d}")

    def test_bad_tokens_are_throttled_with_retry_after(self):
        for n in range(20):
            self.assertProblem(self.guess(n), 401)
        response = self.guess(99)
        body = self.assertProblem(response, 429)
        self.assertIn("Too many requests with unknown API tokens", body["detail"])
        self.assertEqual(int(response["Retry-After"]), 15 * 60)
        # While the address is locked even a good token from it waits (the lock is checked before the lookup)...
        self.assertProblem(self.list_from("10.1.0.1", self.tokens["bob"]), 429)
        # ...but other addresses are served as usual.
        self.assertEqual(self.list_from("10.1.0.2", self.tokens["bob"]).status_code, 200)
        with mock.patch("time.time", return_value=time.time() + 15 * 60 + 1):
            self.assertEqual(self.list_from("10.1.0.1", self.tokens["bob"]).status_code, 200)

    def test_good_tokens_do_not_count(self):
        for _ in range(30):
            self.assertEqual(self.list_from("10.1.0.3", self.tokens["rory"]).status_code, 200)
        self.assertProblem(self.guess(1, ip="10.1.0.3"), 401)

    @override_settings(API_MAX_BAD_TOKENS_PER_IP=2)
    def test_the_limit_comes_from_settings(self):
        self.assertProblem(self.guess(1), 401)
        self.assertProblem(self.guess(2), 401)
        self.assertProblem(self.guess(3), 429)
