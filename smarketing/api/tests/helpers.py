"""The API tests' base: the named cast, a token per person, and a JSON client."""

import json

from django.core.cache import cache
from django.test import TestCase

from smarketing.api import tokens
from smarketing.testing import make_cast

PROBLEM = "application/problem+json"


class ApiClientMixin:
    """Requests with a bearer token (or the session when token=None and the client is logged in)."""

    def call(self, method: str, path: str, data=None, *, token=None, raw: bytes | str | None = None, **headers):
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        if token is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        body = raw if raw is not None else (json.dumps(data) if data is not None else "")
        return self.client.generic(method, path, body, content_type="application/json", **extra)

    def get(self, path, token=None, **headers):
        return self.call("GET", path, token=token, **headers)

    def post(self, path, data=None, token=None, **headers):
        return self.call("POST", path, data, token=token, **headers)

    def patch(self, path, data=None, token=None, **headers):
        return self.call("PATCH", path, data, token=token, **headers)

    def delete(self, path, token=None, **headers):
        return self.call("DELETE", path, token=token, **headers)

    def assertProblem(self, response, status: int, field: str | None = None):
        self.assertEqual(response.status_code, status, response.content[:500])
        self.assertEqual(response["Content-Type"], PROBLEM)
        body = response.json()
        self.assertEqual(set(body), {"type", "title", "status", "detail", "errors"})
        self.assertEqual(body["status"], status)
        self.assertTrue(body["type"].startswith("/api/docs/#problem-"))
        if field is not None:
            self.assertIn(field, body["errors"], body)
        return body


class ApiTestCase(ApiClientMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        for name, user in cls.cast.items():
            setattr(cls, name, user)
        # A read_write token for everyone; their role still limits what it may do.
        cls.tokens = {
            name: tokens.create_token(user, name="tests", scope="read_write")[1] for name, user in cls.cast.items()
        }

    def setUp(self):
        cache.clear()  # rate-limit counters
