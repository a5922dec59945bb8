"""The issue's "done means": many real, concurrent HTTP bookings of one slot on PostgreSQL → exactly one wins (one
per host for round robin), the others hear "just taken", nobody gets a 500.

A live server (Django's threaded one: a thread and a database connection per request) and real sockets, so the
requests race through the whole stack: the rate limit, the service, the transaction, the exclusion constraint.
"""

import json
import threading
import unittest
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta

from django.db import connection
from django.test import LiveServerTestCase, override_settings
from django.utils import timezone

from smarketing.accounts.models import Team
from smarketing.scheduling import availability
from smarketing.scheduling.models import Assignment, HostHold, Meeting
from smarketing.scheduling.tests.test_services import open_hours, personal_type, team_type
from smarketing.testing import ensure_defaults, make_cast, make_user

TAKEN = "That time was just taken. Pick another."


def post_json(url: str, body: dict, timeout: float = 60) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - our own live server
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own live server
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"{}")
        except ValueError:
            return exc.code, {"raw": raw[:200].decode(errors="replace")}


def race(url: str, start, count: int, *, at_once: int = 20) -> list[tuple[int, dict]]:
    """`count` bookings of one start, `at_once` threads released together per wave; every thread joined."""
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def one(n: int, barrier: threading.Barrier):
        barrier.wait(timeout=30)
        body = {"name": f"Racer {n}", "email": f"racer{n}@visitor.example", "start": start.isoformat(), "tz": "UTC"}
        try:
            outcome = post_json(url, body)
        except Exception as exc:  # a refused connection or a timeout counts as a failure, not a crash
            outcome = (0, {"exception": repr(exc)})
        with lock:
            results.append(outcome)

    for wave in range(0, count, at_once):
        size = min(at_once, count - wave)
        barrier = threading.Barrier(size)
        threads = [threading.Thread(target=one, args=(wave + i, barrier)) for i in range(size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
            assert not thread.is_alive(), "a racer hung"
    return results


@unittest.skipUnless(connection.vendor == "postgresql", "the exclusion constraint and row races need PostgreSQL")
@override_settings(SCHEDULING_BOOK_RATE_PER_IP=100_000)  # every racer comes from 127.0.0.1: the limit must not decide
class BookingRaceTests(LiveServerTestCase):
    def setUp(self):
        ensure_defaults()
        self.cast = make_cast()
        open_hours(self.cast["bob"], self.cast["carol"], self.cast["alice"])

    def _slot(self, mt):
        day = (timezone.now() + timedelta(days=2)).date()
        return availability.free_slots(mt, start=day, end=day)[0].starts_at

    def test_100_concurrent_bookings_of_one_slot_exactly_one_wins(self):
        mt = personal_type(self.cast["bob"], slug="race")
        start = self._slot(mt)
        results = race(f"{self.live_server_url}/meet/race/book.json", start, 100)
        codes = Counter(code for code, _ in results)
        self.assertEqual(codes[201], 1, codes)
        self.assertEqual(codes[409], 99, [r for r in results if r[0] not in (201, 409)][:3])
        self.assertTrue(all(body["error"] == TAKEN for code, body in results if code == 409))
        self.assertEqual(Meeting.objects.filter(meeting_type=mt).count(), 1)
        self.assertEqual(HostHold.objects.filter(active=True, meeting__meeting_type=mt).count(), 1)

    def test_round_robin_with_three_hosts_books_each_host_once(self):
        sales = Team.objects.get(kind="sales")
        dave = make_user("dave@example.com", team_kind="sales", name="Dave Seller")
        hosts = [self.cast["bob"], self.cast["carol"], dave]
        open_hours(dave)
        mt = team_type(sales, [(u, 1) for u in hosts], slug="race-team", assignment=Assignment.ROUND_ROBIN)
        start = self._slot(mt)
        free = availability.check_slot(mt, start)
        self.assertEqual(len(free), 3)
        results = race(f"{self.live_server_url}/meet/race-team/book.json", start, 10, at_once=10)
        codes = Counter(code for code, _ in results)
        booked = len(free)
        self.assertEqual(codes[201], booked, results)
        self.assertEqual(codes[409], 10 - booked, results)
        per_host = Counter(Meeting.objects.filter(meeting_type=mt).values_list("host_id", flat=True))
        self.assertEqual(set(per_host.values()), {1})
        self.assertEqual(set(per_host), set(free))
        self.assertEqual(HostHold.objects.filter(active=True, meeting__meeting_type=mt).count(), booked)
