"""Two (and more) first openings of one link at the same moment on PostgreSQL: every opening counts, the rep is
notified exactly once (the conditional UPDATE of first_viewed_at), nothing fails.

Real threads, each with its own database connection and transaction, released together by a barrier. SQLite runs
every write transaction as BEGIN IMMEDIATE, so it cannot race this way; the single-connection tests in
test_sharing.py cover it there.
"""

import threading
import unittest

from django.db import close_old_connections, connection
from django.test import TransactionTestCase

from smarketing.content import kinds, sharing
from smarketing.content.models import Share, ShareView
from smarketing.content.tests.test_sharing import make_asset, pdf_asset
from smarketing.notifications.models import Notification
from smarketing.testing import ensure_defaults, make_cast, make_contact
from smarketing.timeline.models import Touchpoint


def race(target, count: int) -> list[BaseException]:
    """`count` threads run `target()` released together; every thread joined; their exceptions returned."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one():
        try:
            barrier.wait(timeout=30)
            target()
        except BaseException as exc:  # reported to the test, not lost in the thread
            with lock:
                errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a racer hung"
    return errors


@unittest.skipUnless(connection.vendor == "postgresql", "concurrent transactions need PostgreSQL")
class FirstViewRaceTests(TransactionTestCase):
    def setUp(self):
        ensure_defaults()
        cast = make_cast()
        self.bob = cast["bob"]
        self.contact = make_contact(first_name="Dana", last_name="Buyer")
        self.share = sharing.share_asset(make_asset(cast["mia"]), self.contact, self.bob)

    def test_concurrent_first_openings_notify_once(self):
        for count in (2, 8):
            with self.subTest(count=count):
                Share.objects.filter(pk=self.share.pk).update(first_viewed_at=None, view_count=0)
                Notification.objects.all().delete()
                ShareView.objects.all().delete()

                def open_link():
                    sharing.record_open(sharing.live_share(self.share.token))

                self.assertEqual(race(open_link, count), [])
                self.share.refresh_from_db()
                self.assertEqual(self.share.view_count, count)
                self.assertIsNotNone(self.share.first_viewed_at)
                self.assertEqual(ShareView.objects.filter(share=self.share).count(), count)
                self.assertEqual(Notification.objects.filter(kind=kinds.NOTIFY_FIRST_VIEW, user=self.bob).count(), 1)
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.CONTENT_VIEWED).count(), 10)

    def test_concurrent_beats_of_one_opening_lose_no_pages(self):
        share = sharing.share_asset(pdf_asset(self.bob, pages=8), self.contact, self.bob)
        view = sharing.record_open(share)
        pages = iter(range(1, 9))
        lock = threading.Lock()

        def beat():
            with lock:
                page = next(pages)
            sharing.record_heartbeat(ShareView.objects.select_related("version").get(pk=view.pk), 1, pages=[page])

        self.assertEqual(race(beat, 8), [])
        view.refresh_from_db()
        self.assertEqual(view.pages_seen, list(range(1, 9)))
        self.assertEqual(view.max_page, 8)

    def test_concurrent_downloads_of_one_opening_make_one_touch(self):
        view = sharing.record_open(self.share)

        def download():
            opening = ShareView.objects.select_related("share__asset__published_version", "share__contact").get(
                pk=view.pk
            )
            sharing.record_download(opening)

        self.assertEqual(race(download, 6), [])
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.CONTENT_DOWNLOADED).count(), 1)
