"""The WSGI fast path (core/fastpath.py): the hit endpoints answer and record exactly what Django's full stack
would, without its session, CSRF, authentication and other middleware; every other path goes to Django untouched."""

import io
from unittest import mock

from django.contrib.sessions.middleware import SessionMiddleware
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import TestCase, override_settings

from smarketing.core import fastpath, ingest
from smarketing.core.tests import fastpath_urls
from smarketing.wsgi import application as production_application

HIT_BODY = b"vid=AbCdEfGhIjKlMnOpQr&url=https%3A%2F%2Fwww.example.com%2Fpricing%3Futm_source%3Dnews&title=Pricing"


def environ(method: str, path: str, *, query: str = "", body: bytes = b"", headers: dict | None = None) -> dict:
    """A request as gunicorn hands it to the application."""
    env = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
        env["CONTENT_TYPE"] = "text/plain;charset=UTF-8"
    for name, value in (headers or {}).items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def call(app, env: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, headers

    # As Django's test client does: the request signals must not close the test's connection (its transaction).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        result = app(env, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], body


class Captured:
    """Wraps the page_view stream's handler (the real one when web tracking is installed) to see its records."""

    def __init__(self, handler):
        self.handler = handler
        self.records: list[dict] = []

    def __call__(self, records):
        self.records.extend(dict(r) for r in records)
        if self.handler is not None:
            self.handler(records)


def without_vary_cookie(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The one difference allowed: Django's whole stack adds `Vary: Cookie` to every answer because its time zone
    middleware reads the session (to know the user); the fast path reads no cookie, so its answer does not vary
    by one. Both answers are no-store anyway."""
    out = []
    for name, value in headers:
        if name.lower() == "vary":
            value = ", ".join(v for v in value.split(", ") if v.lower() != "cookie")
            if not value:
                continue
        out.append((name, value))
    return out


def comparable(records: list[dict]) -> list[dict]:
    # Each hit has its own id and time; the rest must be the same.
    return [{k: v for k, v in r.items() if k not in ("hit_id", "occurred_at")} for r in records]


@override_settings(ROOT_URLCONF="smarketing.core.tests.fastpath_urls", ALLOWED_HOSTS=["127.0.0.1"])
class SameAnswerTests(TestCase):
    def setUp(self):
        self.django = get_wsgi_application()
        self.fast = fastpath.FastPath(self.django)
        self.captured = Captured(ingest._STREAMS.get("page_view"))
        streams = mock.patch.dict(ingest._STREAMS, {"page_view": self.captured})
        streams.start()
        self.addCleanup(streams.stop)

    def both(self, *args, **kwargs):
        """The same request through Django's whole stack and through the fast path: (full, fast) answers and the
        records each made."""
        answers, records = [], []
        for app in (self.django, self.fast):
            self.captured.records = []
            status, headers, body = call(app, environ(*args, **kwargs))
            headers = sorted((k, v) for k, v in without_vary_cookie(headers) if k.lower() != "date")
            answers.append((status, headers, body))
            records.append(comparable(self.captured.records))
        return answers, records

    def assertSame(self, *args, **kwargs):
        (full, fast), (full_records, fast_records) = self.both(*args, **kwargs)
        self.assertEqual(fast, full)
        self.assertEqual(fast_records, full_records)
        return full, full_records

    def test_the_beacon_gets_the_same_204_and_records_the_same_page_view(self):
        (status, headers, body), records = self.assertSame(
            "POST", "/t/hit", body=HIT_BODY, headers={"Origin": "https://www.example.com", "User-Agent": "Firefox"}
        )
        self.assertEqual(status, "204 No Content")
        self.assertEqual(body, b"")
        self.assertIn(("Access-Control-Allow-Origin", "https://www.example.com"), headers)
        self.assertIn(("X-Content-Type-Options", "nosniff"), headers, "the security middleware still runs")
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0]["url"], "https://www.example.com/pricing?utm_source=news")
        self.assertEqual(records[0]["title"], "Pricing")

    def test_the_pixel_gets_the_same_gif_and_records_the_same_page_view(self):
        query = "vid=AbCdEfGhIjKlMnOpQr&url=https%3A%2F%2Fwww.example.com%2Fdocs&title=Docs"
        (status, headers, body), records = self.assertSame("GET", "/t/p.gif", query=query)
        self.assertEqual(status, "200 OK")
        self.assertTrue(body.startswith(b"GIF89a"))
        self.assertEqual(len(records), 1)

    def test_refusals_are_the_same(self):
        self.assertSame("GET", "/t/hit")  # 405
        self.assertSame("HEAD", "/t/p.gif", query="url=https%3A%2F%2Fwww.example.com%2F")
        (status, _, _), records = self.assertSame("POST", "/t/hit", body=HIT_BODY, headers={"DNT": "1"})
        self.assertEqual(records, [], "Do-Not-Track honoured on both ways" if status.startswith("204") else status)
        self.assertSame("POST", "/t/hit", body=b"url=javascript%3Aalert(1)")

    def test_a_host_not_allowed_is_refused_on_both_ways(self):
        (status, _, _), records = self.assertSame("POST", "/t/hit", body=HIT_BODY, headers={"Host": "evil.example"})
        self.assertEqual(status[:3], "400")
        self.assertEqual(records, [])

    def test_the_fast_path_skips_the_session_and_the_rest_of_the_stack(self):
        original = SessionMiddleware.process_request
        with mock.patch.object(SessionMiddleware, "process_request", autospec=True, side_effect=original) as sessions:
            call(self.fast, environ("POST", "/t/hit", body=HIT_BODY))
            self.assertEqual(sessions.call_count, 0)
            call(self.django, environ("POST", "/t/hit", body=HIT_BODY))
            self.assertEqual(sessions.call_count, 1)

    def test_other_paths_go_to_django_untouched(self):
        with mock.patch.object(fastpath.FastHandler, "__call__") as fast_handler:
            for path in ("/healthz", "/t/hit/", "/e/u/not-a-token", "/accounts/login/", "/e/o/"):
                (full, fast), _ = self.both("GET", path)
                self.assertEqual(fast[0], full[0], path)
            fast_handler.assert_not_called()
        status, headers, _ = call(self.fast, environ("GET", "/accounts/login/"))
        self.assertEqual(status, "200 OK")
        self.assertIn("csrftoken", dict(headers).get("Set-Cookie", ""), "the whole stack ran (CSRF cookie)")

    def test_the_email_open_pixel_is_the_same_gif_on_both_ways(self):
        (status, headers, body), _ = self.assertSame("GET", "/e/o/not-a-valid-token.gif")
        self.assertEqual(status, "200 OK")
        self.assertTrue(body.startswith(b"GIF89a"))

    def test_production_wraps_django_in_the_fast_path(self):
        self.assertIsInstance(production_application, fastpath.FastPath)


@override_settings(ROOT_URLCONF="smarketing.urls")
class NotInstalledTests(TestCase):
    def test_a_fast_path_whose_view_is_not_installed_is_answered_by_django(self):
        fast = fastpath.FastPath(get_wsgi_application(), paths=("/t/nothing-here",))
        status, _, _ = call(fast, environ("GET", "/t/nothing-here"))
        self.assertEqual(status[:3], "404")


def test_standins_are_used_only_while_web_tracking_is_not_installed():
    from django.urls import get_resolver

    installed = get_resolver("smarketing.urls").resolve("/t/hit") if not fastpath_urls.STANDING_IN else None
    assert fastpath_urls.STANDING_IN or installed.view_name == "tracking:hit"
