"""External busy calendars against a real local HTTP server: recurrence with an exception, free and cancelled
events skipped, all-day events in the host's zone, titles never kept; every failure keeps the old blocks."""

import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from django.test import TestCase, override_settings
from django.utils import timezone

from smarketing.jobs.periodic import discover
from smarketing.scheduling import external
from smarketing.scheduling.models import BusyBlock, Schedule
from smarketing.testing import make_user
from smarketing.webhooks.sender import Fetched

LOCAL = override_settings(WEBHOOK_ALLOWED_ADDRESSES=["127.0.0.1/32"])
NOW = datetime(2027, 3, 1, tzinfo=UTC)

FEED = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:weekly@test\r
SUMMARY:Secret board meeting\r
DTSTART:20270301T100000Z\r
DTEND:20270301T110000Z\r
RRULE:FREQ=WEEKLY;COUNT=4\r
EXDATE:20270308T100000Z\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:free@test\r
SUMMARY:Focus (show as free)\r
DTSTART:20270302T120000Z\r
DTEND:20270302T130000Z\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:cancelled@test\r
SUMMARY:Called off\r
DTSTART:20270303T120000Z\r
DTEND:20270303T130000Z\r
STATUS:CANCELLED\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:allday@test\r
SUMMARY:Offsite\r
DTSTART;VALUE=DATE:20270305\r
DTEND;VALUE=DATE:20270306\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:past@test\r
DTSTART:20270201T100000Z\r
DTEND:20270201T110000Z\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:straddles@test\r
DTSTART:20270228T230000Z\r
DTEND:20270301T010000Z\r
END:VEVENT\r
END:VCALENDAR\r
"""
BIG = b"X" * (2 * 1024 * 1024 + 1)


class Handler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        Handler.hits.append(self.path)
        if self.path == "/cal.ics":
            self.reply(200, FEED, length=True)
        elif self.path == "/big.ics":
            self.reply(200, BIG, length=True)
        elif self.path == "/big-stream.ics":
            self.reply(200, BIG, length=False)  # no Content-Length: the limit must hold while reading
        elif self.path == "/junk.ics":
            self.reply(200, b"<html>Not a calendar</html>", length=True)
        elif self.path == "/moved.ics":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1/elsewhere.ics")
            self.end_headers()
        elif self.path == "/slow.ics":
            time.sleep(1.5)
            self.reply(200, FEED, length=True)
        else:
            self.reply(404, b"no", length=True)

    def reply(self, status, body, *, length):
        self.send_response(status)
        self.send_header("Content-Type", "text/calendar")
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading at the limit

    def log_message(self, *args):
        pass


class ServerTestCase(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        cls.server.daemon_threads = True
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.base = f"http://127.0.0.1:{cls.server.server_address[1]}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.thread.join(timeout=5)
        super().tearDownClass()

    @classmethod
    def setUpTestData(cls):
        cls.bob = make_user("bob@example.com")
        cls.bob.time_zone = "Europe/Berlin"
        cls.bob.save(update_fields=["time_zone"])

    def setUp(self):
        Handler.hits.clear()
        self.old = BusyBlock.objects.create(
            user=self.bob,
            starts_at=NOW + timedelta(days=2),
            ends_at=NOW + timedelta(days=2, hours=1),
            title="Busy",
            source=BusyBlock.Source.EXTERNAL,
        )
        self.manual = BusyBlock.objects.create(
            user=self.bob, starts_at=NOW + timedelta(days=3), ends_at=NOW + timedelta(days=3, hours=1), title="Dentist"
        )

    def schedule(self, path, **fields) -> Schedule:
        url = path if "://" in path else self.base + path
        return Schedule.objects.create(user=self.bob, external_calendar_url=url, **fields)

    def external_blocks(self):
        return list(
            BusyBlock.objects.filter(user=self.bob, source=BusyBlock.Source.EXTERNAL)
            .order_by("starts_at")
            .values_list("starts_at", "ends_at", "title")
        )

    def assert_failed(self, schedule, words):
        schedule.refresh_from_db()
        self.assertIn(words, schedule.external_error)
        self.assertLessEqual(len(schedule.external_error), 500)
        self.assertIsNone(schedule.external_fetched_at)
        self.assertEqual(self.external_blocks(), [(self.old.starts_at, self.old.ends_at, "Busy")])
        self.assertTrue(BusyBlock.objects.filter(pk=self.manual.pk).exists())


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@LOCAL
class RefreshTests(ServerTestCase):
    def test_reads_recurrence_skips_free_and_cancelled_and_keeps_no_titles(self):
        schedule = self.schedule("/cal.ics", external_error="old error")
        self.assertEqual(external.refresh(schedule, now=NOW), 5)
        self.assertEqual(
            self.external_blocks(),
            [
                (at("2027-03-01 00:00"), at("2027-03-01 01:00"), "Busy"),  # clipped to now
                (at("2027-03-01 10:00"), at("2027-03-01 11:00"), "Busy"),
                # All day on the 5th in Berlin (UTC+1); 8 March is the EXDATE; the free and cancelled events
                # and the past one are not there.
                (at("2027-03-04 23:00"), at("2027-03-05 23:00"), "Busy"),
                (at("2027-03-15 10:00"), at("2027-03-15 11:00"), "Busy"),
                (at("2027-03-22 10:00"), at("2027-03-22 11:00"), "Busy"),
            ],
        )
        schedule.refresh_from_db()
        self.assertEqual(schedule.external_fetched_at, NOW)
        self.assertEqual(schedule.external_error, "")
        self.assertEqual(BusyBlock.objects.get(pk=self.manual.pk).title, "Dentist")  # typed-in blocks untouched
        self.assertEqual(Handler.hits, ["/cal.ics"])

    def test_a_refresh_is_idempotent(self):
        schedule = self.schedule("/cal.ics")
        external.refresh(schedule, now=NOW)
        first = self.external_blocks()
        external.refresh(schedule, now=NOW)
        self.assertEqual(self.external_blocks(), first)

    def test_too_big_with_a_length(self):
        schedule = self.schedule("/big.ics")
        self.assertEqual(external.refresh(schedule, now=NOW), 0)
        self.assert_failed(schedule, "larger than 2048 KB")

    def test_too_big_without_a_length(self):
        schedule = self.schedule("/big-stream.ics")
        external.refresh(schedule, now=NOW)
        self.assert_failed(schedule, "larger than 2048 KB")

    def test_unparsable_keeps_the_old_blocks(self):
        schedule = self.schedule("/junk.ics")
        external.refresh(schedule, now=NOW)
        self.assert_failed(schedule, "does not serve an iCalendar")

    def test_http_error(self):
        schedule = self.schedule("/missing.ics")
        external.refresh(schedule, now=NOW)
        self.assert_failed(schedule, "answered HTTP 404")

    def test_redirect_is_not_followed(self):
        schedule = self.schedule("/moved.ics")
        external.refresh(schedule, now=NOW)
        self.assert_failed(schedule, "redirects to http://127.0.0.1/elsewhere.ics")
        self.assertEqual(Handler.hits, ["/moved.ics"])

    def test_timeout(self):
        schedule = self.schedule("/slow.ics")
        with mock.patch.object(external, "TIMEOUT", 0.3):
            external.refresh(schedule, now=NOW)
        self.assert_failed(schedule, "timed out")

    def test_unreachable_port(self):
        schedule = self.schedule("http://127.0.0.1:1/cal.ics")
        external.refresh(schedule, now=NOW)
        self.assert_failed(schedule, "could not be fetched")

    def test_webcal_means_https(self):
        self.assertEqual(external.calendar_url(" webcal://cal.example/a.ics?x=1"), "https://cal.example/a.ics?x=1")
        self.assertEqual(external.calendar_url("WEBCAL://cal.example/a.ics"), "https://cal.example/a.ics")
        schedule = self.schedule("webcal://127.0.0.1/cal.ics")
        seen = []

        def fake_get(target, headers, timeout=None, max_bytes=None):
            seen.append((target.scheme, target.port, target.path, target.addresses, max_bytes))
            return Fetched(status=200, body=FEED, error="", duration_ms=1)

        with mock.patch.object(external.sender, "get", fake_get):
            self.assertEqual(external.refresh(schedule, now=NOW), 5)
        self.assertEqual(seen, [("https", 443, "/cal.ics", ("127.0.0.1",), 2 * 1024 * 1024)])

    def test_webcal_really_speaks_tls(self):
        # The test server speaks plain HTTP, so a webcal:// URL to it fails in the TLS handshake: proof it was
        # fetched as https://, not http://.
        schedule = self.schedule(self.base.replace("http://", "webcal://") + "/cal.ics")
        external.refresh(schedule, now=NOW)
        self.assert_failed(schedule, "could not be fetched")

    def test_an_unexpected_error_is_recorded_not_raised(self):
        schedule = self.schedule("/cal.ics")
        with (
            mock.patch.object(external, "busy_periods", side_effect=RuntimeError("bug")),
            self.assertLogs("smarketing.scheduling.external", "ERROR"),
        ):
            self.assertEqual(external.refresh(schedule, now=NOW), 0)
        self.assert_failed(schedule, "The calendar could not be read.")

    def test_no_url_does_nothing(self):
        schedule = Schedule.objects.create(user=self.bob)
        with self.assertNumQueries(0):
            self.assertEqual(external.refresh(schedule, now=NOW), 0)


@override_settings(WEBHOOK_ALLOWED_ADDRESSES=[])
class RefusedTests(ServerTestCase):
    def test_loopback_is_refused_when_not_allowed(self):
        schedule = self.schedule("/cal.ics")
        self.assertEqual(external.refresh(schedule, now=NOW), 0)
        self.assert_failed(schedule, "does not read calendars from 127.0.0.1: it is a loopback address")
        self.assertEqual(Handler.hits, [])  # no request left

    def test_other_schemes_are_refused(self):
        schedule = self.schedule("ftp://cal.example/a.ics")
        external.refresh(schedule, now=NOW)
        self.assert_failed(schedule, "Only http:// and https:// URLs can be read")


@LOCAL
class PeriodicJobTests(ServerTestCase):
    def test_registered_every_15_minutes(self):
        job = discover()[external.refresh_external_calendars.module_path]
        self.assertEqual(job.every, timedelta(minutes=15))

    def test_refreshes_stale_schedules_each_on_its_own(self):
        carol = make_user("carol@example.com")
        dan = make_user("dan@example.com")
        erin = make_user("erin@example.com", name="Erin")
        now = timezone.now()
        broken = Schedule.objects.create(user=self.bob, external_calendar_url=self.base + "/junk.ics")
        stale = Schedule.objects.create(
            user=carol, external_calendar_url=self.base + "/cal.ics", external_fetched_at=now - timedelta(hours=1)
        )
        fresh = Schedule.objects.create(
            user=dan, external_calendar_url=self.base + "/cal.ics", external_fetched_at=now - timedelta(minutes=5)
        )
        Schedule.objects.create(user=erin)  # no URL

        result = external.refresh_external_calendars.call()

        self.assertEqual(result, {"refreshed": 1, "failed": 1})
        broken.refresh_from_db()
        stale.refresh_from_db()
        fresh.refresh_from_db()
        self.assertIn("does not serve an iCalendar", broken.external_error)
        self.assertEqual(stale.external_error, "")
        self.assertGreater(stale.external_fetched_at, now - timedelta(minutes=1))
        self.assertEqual(fresh.external_fetched_at, now - timedelta(minutes=5))
        self.assertEqual(sorted(Handler.hits), ["/cal.ics", "/junk.ics"])

    def test_one_crashing_refresh_does_not_stop_the_others(self):
        carol = make_user("carol@example.com")
        Schedule.objects.create(user=self.bob, external_calendar_url=self.base + "/cal.ics")
        other = Schedule.objects.create(user=carol, external_calendar_url=self.base + "/cal.ics")
        real = external.refresh

        def flaky(schedule, now=None):
            if schedule.user_id == self.bob.pk:
                raise RuntimeError("boom")
            return real(schedule, now=now)

        with mock.patch.object(external, "refresh", flaky), self.assertLogs("smarketing.scheduling.external"):
            result = external.refresh_external_calendars.call()
        self.assertEqual(result, {"refreshed": 1, "failed": 1})
        other.refresh_from_db()
        self.assertIsNotNone(other.external_fetched_at)
