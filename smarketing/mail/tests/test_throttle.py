"""Throttle: per-second and per-hour limits kept in the database, shared by every worker process."""

import threading
import unittest

from django.db import connection
from django.test import TestCase, TransactionTestCase

from smarketing.mail.models import SenderIdentity, ThrottleWindow
from smarketing.mail.throttle import Throttle


class Clock:
    def __init__(self, now: float = 1_800_000_000.25):
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class ThrottleTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.identity = SenderIdentity.objects.create(
            name="News", from_name="Acme", from_email="news@acme.example", per_second=10, per_hour=25
        )

    def test_per_second_limit_then_the_next_second(self):
        clock = Clock()
        throttle = Throttle(self.identity, clock=clock, sleep=clock.sleep)
        self.assertEqual(throttle.acquire(6), 0.0)
        self.assertEqual(throttle.acquire(4), 0.0)
        delay = throttle.acquire(1)
        self.assertAlmostEqual(delay, 0.75)  # until the next whole second
        self.assertEqual(throttle.usage(), {"second": 10, "hour": 10})
        clock.now += delay
        self.assertEqual(throttle.acquire(1), 0.0)
        self.assertEqual(throttle.usage(), {"second": 1, "hour": 11})

    def test_per_hour_limit_and_all_or_nothing(self):
        clock = Clock()
        throttle = Throttle(self.identity, clock=clock, sleep=clock.sleep)
        for _ in range(2):
            self.assertEqual(throttle.acquire(10), 0.0)
            clock.now += 1
        self.assertEqual(throttle.usage()["hour"], 20)
        delay = throttle.acquire(6)  # this second has room, the hour has 5 left
        self.assertGreater(delay, 3000)
        self.assertEqual(throttle.usage(), {"second": 0, "hour": 20}, "the second's share was not kept")
        self.assertEqual(throttle.acquire(5), 0.0)

    def test_wait_splits_and_sleeps_to_the_window_end(self):
        clock = Clock()
        throttle = Throttle(key="transactional", per_second=10, per_hour=1000, clock=clock, sleep=clock.sleep)
        slept = throttle.wait(35)
        self.assertEqual(len(clock.slept), 3)
        self.assertAlmostEqual(slept, 0.75 + 1 + 1)
        self.assertEqual(throttle.usage(), {"second": 5, "hour": 35})
        with self.assertRaises(ValueError):
            throttle.acquire(11)

    def test_identities_are_throttled_separately(self):
        other = SenderIdentity.objects.create(name="Other", from_name="B", from_email="b@acme.example", per_second=10)
        clock = Clock()
        self.assertEqual(Throttle(self.identity, clock=clock).acquire(10), 0.0)
        self.assertEqual(Throttle(other, clock=clock).acquire(10), 0.0)
        self.assertGreater(Throttle(self.identity, clock=clock).acquire(1), 0)

    def test_one_acquire_is_a_few_queries(self):
        throttle = Throttle(self.identity, clock=Clock())
        throttle.acquire(1)
        with self.assertNumQueries(4):  # savepoint, two conditional updates, release
            throttle.acquire(1)


class SharedThrottleTests(TransactionTestCase):
    """Threads with their own database connections race for the same second: exactly the limit is granted."""

    # SQLite's in-memory test database is shared between threads through shared-cache mode, whose table locks
    # fail at once instead of waiting; a real SQLite file has one writer at a time (IMMEDIATE transactions).
    @unittest.skipIf(connection.vendor == "sqlite", "needs a database that threads can write at once")
    def test_concurrent_takers_never_exceed_the_limit(self):
        identity = SenderIdentity.objects.create(
            name="News", from_name="Acme", from_email="news@acme.example", per_second=37, per_hour=10_000
        )
        clock = Clock()  # frozen: every attempt lands in the same second
        granted = []
        errors = []
        start = threading.Barrier(4)

        def take():
            try:
                throttle = Throttle(identity, clock=clock)
                start.wait()
                mine = 0
                for _ in range(30):
                    if throttle.acquire(1) == 0.0:
                        mine += 1
                granted.append(mine)
            except Exception as exc:  # reported below: a thread's failure must fail the test
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=take) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(sum(granted), 37)
        self.assertEqual(ThrottleWindow.objects.get(key=f"identity:{identity.pk}", scope="second").used, 37)
        self.assertEqual(ThrottleWindow.objects.get(key=f"identity:{identity.pk}", scope="hour").used, 37)


class CrossProcessThrottleTests(TransactionTestCase):
    """Two real processes on the test database (a file copy on SQLite) take from one window."""

    SCRIPT = (
        "import django, sys; django.setup()\n"
        "from smarketing.mail.throttle import Throttle\n"
        "t = Throttle(key='shared', per_second=37, per_hour=10000, clock=lambda: 1800000000.5)\n"
        "print(sum(1 for _ in range(40) if t.acquire(1) == 0.0))\n"
    )

    def test_two_processes_share_the_limit(self):
        import subprocess

        from smarketing.jobs.testing import PYTHON, WorkerPool

        with WorkerPool(0) as pool:  # no workers: only its database plumbing (PostgreSQL URL or SQLite file)
            env = pool._environment()
            children = [
                subprocess.Popen([PYTHON, "-c", self.SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(2)
            ]
            outputs = [child.communicate(timeout=120) for child in children]
            for child, (_out, err) in zip(children, outputs, strict=True):
                self.assertEqual(child.returncode, 0, err.decode()[-2000:])
            granted = [int(out) for out, _ in outputs]
            pool.sync()
        self.assertEqual(sum(granted), 37, granted)
        self.assertEqual(ThrottleWindow.objects.get(key="shared", scope="second").used, 37)
