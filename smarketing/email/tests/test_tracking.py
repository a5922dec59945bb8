"""The pixel and the click redirect (through HTTP), and the job that turns their hits into facts."""

import threading
from datetime import timedelta
from unittest import mock, skipUnless

from django.core.cache import cache
from django.db import connection
from django.test import TestCase, TransactionTestCase, override_settings
from django.utils import timezone

from smarketing.core.models import Event
from smarketing.email import kinds, links, tokens, tracking
from smarketing.email.models import EmailLink, EmailSend, TrackingHit
from smarketing.email.tests.tracking_fixtures import make_email_campaign, make_link, make_send
from smarketing.email.views.public import PIXEL
from smarketing.forms.tracking import current_settings
from smarketing.jobs.periodic import discover
from smarketing.timeline.models import Touchpoint

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def pixel_path(send):
    return links.OPEN_PATH.format(tokens.sign(send.token))


def click_path(send, position):
    return links.CLICK_PATH.format(tokens.sign(send.token), position)


class PixelTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.ec = make_email_campaign()
        cls.send = make_send(cls.ec)

    def setUp(self):
        cache.clear()

    def test_an_open_is_one_insert_and_the_gif(self):
        with self.assertNumQueries(1):
            response = self.client.get(pixel_path(self.send), HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.9")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "image/gif")
        self.assertEqual(response.content, PIXEL)
        self.assertEqual(len(PIXEL), 43)
        self.assertIn("no-store", response["Cache-Control"])
        self.assertEqual(dict(response.cookies), {})  # no session, no CSRF cookie
        hit = TrackingHit.objects.get()
        self.assertEqual((hit.send_id, hit.kind, hit.link_id), (self.send.pk, "open", None))
        self.assertEqual((hit.user_agent, hit.ip, hit.machine, hit.processed), (BROWSER, "203.0.113.9", False, False))

    def test_tampered_and_unknown_tokens_get_the_same_gif_and_record_nothing(self):
        signed = tokens.sign(self.send.token)
        unknown = tokens.sign(tokens.new_send_token())
        tampered = signed[:-2] + ("xx" if signed[-2:] != "xx" else "yy")
        for value in [tampered, unknown, "x" * 54, "short"]:
            with self.subTest(value=value):
                response = self.client.get(f"/e/o/{value}.gif")
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.content, PIXEL)
        self.assertFalse(TrackingHit.objects.exists())

    def test_head_and_prefetch_are_recorded_as_machines(self):
        self.client.head(pixel_path(self.send))
        self.client.get(pixel_path(self.send), HTTP_SEC_PURPOSE="prefetch")
        self.assertEqual(list(TrackingHit.objects.values_list("machine", flat=True)), [True, True])

    @override_settings(EMAIL_TRACKING_RATE_PER_MINUTE=3)
    def test_an_address_over_the_rate_limit_is_not_recorded(self):
        for _ in range(5):
            self.assertEqual(self.client.get(pixel_path(self.send)).status_code, 200)
        self.assertEqual(TrackingHit.objects.count(), 3)


class ClickTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.ec = make_email_campaign()
        cls.send = make_send(cls.ec)
        cls.link = make_link(cls.ec, 1, "https://example.com/spring?utm_content=link-1")
        other = make_email_campaign("Other")
        cls.foreign = make_link(other, 2, "https://evil.example/")

    def setUp(self):
        cache.clear()

    def test_a_click_redirects_to_the_stored_url_only(self):
        current_settings()  # web tracking's settings, cached per process (forms/tracking/config.py)
        with self.assertNumQueries(2):  # the lookup, the insert
            response = self.client.get(click_path(self.send, 1) + "?url=https://evil.example/&next=//evil.example")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Location"], self.link.url)
        self.assertEqual(dict(response.cookies), {})  # no session, no CSRF cookie
        hit = TrackingHit.objects.get()
        self.assertEqual((hit.send_id, hit.kind, hit.link_id), (self.send.pk, "click", self.link.pk))

    def test_a_link_of_another_campaign_or_an_unknown_one_is_a_friendly_404(self):
        for path in [click_path(self.send, 2), click_path(self.send, 9), click_path(self.send, 99999)]:
            with self.subTest(path=path):
                response = self.client.get(path)
                self.assertEqual(response.status_code, 404)
                self.assertContains(response, "This link does not work", status_code=404)
                self.assertNotContains(response, "evil.example", status_code=404)
        self.assertFalse(TrackingHit.objects.exists())

    def test_tampered_token_is_the_same_friendly_404_without_a_query(self):
        signed = tokens.sign(self.send.token)
        with self.assertNumQueries(0):
            response = self.client.get(f"/e/c/{signed[:-1]}{'A' if signed[-1] != 'A' else 'B'}/1")
        self.assertContains(response, "This link does not work", status_code=404)
        self.assertNotContains(response, self.send.email, status_code=404)

    def test_a_stored_url_that_is_not_http_is_never_redirected_to(self):
        EmailLink.objects.filter(pk=self.link.pk).update(url="javascript:alert(1)")
        self.assertEqual(self.client.get(click_path(self.send, 1)).status_code, 404)

    @override_settings(EMAIL_TRACKING_RATE_PER_MINUTE=2)
    def test_an_address_over_the_rate_limit_gets_429(self):
        codes = [self.client.get(click_path(self.send, 1)).status_code for _ in range(3)]
        self.assertEqual(codes, [302, 302, 429])
        self.assertEqual(TrackingHit.objects.count(), 2)


class ProcessorTests(TestCase):
    def setUp(self):
        self.ec = make_email_campaign(subject="Spring is here")
        self.sent_at = timezone.now() - timedelta(hours=2)
        self.send = make_send(self.ec, sent_at=self.sent_at)
        self.link1 = make_link(self.ec, 1, "https://example.com/a")
        self.link2 = make_link(self.ec, 2, "https://example.com/b")

    def hit(self, kind, after, link=None, ua=BROWSER, ip="198.51.100.7", send=None, machine=False):
        return TrackingHit.objects.create(
            send=send or self.send,
            kind=kind,
            link=link,
            at=self.sent_at + after,
            user_agent=ua,
            ip=ip,
            machine=machine,
        )

    def test_human_and_machine_opens_and_clicks_are_counted_apart(self):
        self.hit("open", timedelta(seconds=1), ua="Mozilla/5.0", ip="17.58.100.1")  # Apple MPP
        self.hit("open", timedelta(minutes=5))
        self.hit("open", timedelta(minutes=9))
        self.hit("click", timedelta(seconds=1), link=self.link1)  # scanner: within 2 s of the send
        self.hit("click", timedelta(minutes=6), link=self.link1)
        self.hit("click", timedelta(minutes=7), link=self.link2, ua="Mimecast URL protection")
        self.hit("open", timedelta(minutes=8), machine=True)  # HEAD, flagged when recorded
        self.assertEqual(tracking.process_pending(), 7)

        send = EmailSend.objects.get(pk=self.send.pk)
        self.assertEqual((send.opens, send.machine_opens), (2, 2))
        self.assertEqual((send.clicks, send.machine_clicks), (1, 2))
        self.assertEqual(send.first_opened_at, self.sent_at + timedelta(minutes=5))
        self.assertEqual(send.first_clicked_at, self.sent_at + timedelta(minutes=6))
        link1, link2 = EmailLink.objects.order_by("position")
        self.assertEqual((link1.clicks, link1.machine_clicks), (1, 1))
        self.assertEqual((link2.clicks, link2.machine_clicks), (0, 1))
        self.assertEqual(TrackingHit.objects.filter(machine=True).count(), 4)
        self.assertFalse(TrackingHit.objects.filter(processed=False).exists())

        opened = Touchpoint.objects.get(kind=kinds.EMAIL_OPENED)
        self.assertEqual(opened.contact_id, self.send.contact_id)
        self.assertEqual(opened.campaign_id, self.ec.campaign_id)
        self.assertEqual(opened.occurred_at, self.sent_at + timedelta(minutes=5))
        self.assertIn("Spring is here", opened.summary)
        clicked = Touchpoint.objects.get(kind=kinds.EMAIL_CLICKED)
        self.assertEqual(clicked.details["url"], "https://example.com/a")
        self.assertEqual(clicked.campaign_id, self.ec.campaign_id)
        self.assertEqual(
            sorted(Event.objects.filter(name__startswith="email.").values_list("name", flat=True)),
            ["email.clicked", "email.opened"],
        )
        event = Event.objects.get(name="email.clicked")
        self.assertEqual(event.payload["url"], "https://example.com/a")
        self.assertEqual(event.object_id, str(self.send.pk))

    def test_the_first_open_is_one_touch_whatever_the_batches(self):
        self.hit("open", timedelta(minutes=5))
        tracking.process_pending()
        self.hit("open", timedelta(minutes=50))
        tracking.process_pending()
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.EMAIL_OPENED).count(), 1)
        self.assertEqual(EmailSend.objects.get(pk=self.send.pk).opens, 2)
        self.assertEqual(Event.objects.filter(name="email.opened").count(), 1)

    def test_a_click_without_a_pixel_counts_as_an_open(self):
        self.hit("click", timedelta(minutes=3), link=self.link1)
        tracking.process_pending()
        send = EmailSend.objects.get(pk=self.send.pk)
        self.assertEqual(send.first_opened_at, self.sent_at + timedelta(minutes=3))
        self.assertEqual(send.opens, 0)  # no pixel was loaded; the open is implied, not counted as a pixel hit
        self.assertTrue(Touchpoint.objects.get(kind=kinds.EMAIL_OPENED).details["implied_by_click"])

    def test_several_links_clicked_within_a_second_are_a_scanner(self):
        self.hit("click", timedelta(minutes=1), link=self.link1)
        self.hit("click", timedelta(minutes=1, milliseconds=300), link=self.link2)
        tracking.process_pending(limit=1)  # a burst split over two batches is still seen whole
        send = EmailSend.objects.get(pk=self.send.pk)
        self.assertEqual((send.clicks, send.machine_clicks), (0, 2))
        self.assertFalse(Touchpoint.objects.filter(kind=kinds.EMAIL_CLICKED).exists())

    def test_the_same_link_clicked_twice_quickly_is_a_person(self):
        self.hit("click", timedelta(minutes=1), link=self.link1)
        self.hit("click", timedelta(minutes=1, milliseconds=300), link=self.link1)
        tracking.process_pending()
        self.assertEqual(EmailSend.objects.get(pk=self.send.pk).clicks, 2)
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.EMAIL_CLICKED).count(), 2)

    def test_hits_younger_than_the_hold_back_wait_for_the_next_run(self):
        TrackingHit.objects.create(send=self.send, kind="open", user_agent=BROWSER)
        self.assertEqual(tracking.process_pending(), 0)
        TrackingHit.objects.update(at=timezone.now() - tracking.HOLD_BACK - timedelta(seconds=1))
        self.assertEqual(tracking.process_pending(), 1)
        TrackingHit.objects.create(send=self.send, kind="open", user_agent=BROWSER)
        self.assertEqual(tracking.process_pending(hold_back=timedelta(0)), 1)  # a test or demo that cannot wait

    def test_a_crash_in_a_batch_loses_nothing_and_counts_nothing_twice(self):
        self.hit("open", timedelta(minutes=5))
        self.hit("click", timedelta(minutes=6), link=self.link1)
        with mock.patch.object(tracking, "record_touches", side_effect=RuntimeError("boom")):
            with self.assertRaises(RuntimeError):
                tracking.process_pending()
        self.assertEqual(TrackingHit.objects.filter(processed=False).count(), 2)
        self.assertEqual(EmailSend.objects.get(pk=self.send.pk).opens, 0)
        self.assertEqual(tracking.process_pending(), 2)
        self.assertEqual(tracking.process_pending(), 0)
        send = EmailSend.objects.get(pk=self.send.pk)
        self.assertEqual((send.opens, send.clicks), (1, 1))
        self.assertEqual(Touchpoint.objects.filter(kind__in=[kinds.EMAIL_OPENED, kinds.EMAIL_CLICKED]).count(), 2)

    def test_a_batch_costs_a_constant_number_of_queries(self):
        for i in range(30):
            send = make_send(self.ec, sent_at=self.sent_at)
            self.hit("open", timedelta(minutes=5 + i), send=send)
            self.hit("click", timedelta(minutes=6 + i), link=self.link1, send=send)
        # savepoint, claim, mark processed, sends, campaigns, links, bursts, send and link counters (one
        # statement each, many parameter sets), touches, events, release (no machine hits here).
        with self.assertNumQueries(12):
            self.assertEqual(tracking.process_batch(), 60)
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.EMAIL_CLICKED).count(), 30)
        self.assertEqual(EmailLink.objects.get(pk=self.link1.pk).clicks, 30)

    def test_the_periodic_job_is_registered_and_runs(self):
        self.assertIn("smarketing.email.tracking.process_tracking_hits", discover())
        self.hit("open", timedelta(minutes=5))
        self.assertEqual(tracking.process_tracking_hits.call(), 1)

    def test_old_processed_hits_are_pruned(self):
        old = self.hit("open", -tracking.HIT_RETENTION - timedelta(days=1))
        TrackingHit.objects.filter(pk=old.pk).update(at=timezone.now() - tracking.HIT_RETENTION - timedelta(days=1))
        unprocessed = self.hit("open", timedelta(minutes=1))
        TrackingHit.objects.filter(pk=unprocessed.pk).update(at=old.at)
        TrackingHit.objects.filter(pk=old.pk).update(processed=True)
        recent = self.hit("open", timedelta(minutes=5))
        TrackingHit.objects.filter(pk=recent.pk).update(processed=True)
        self.assertEqual(tracking.prune_tracking_hits.call(), 1)
        self.assertEqual(set(TrackingHit.objects.values_list("id", flat=True)), {unprocessed.pk, recent.pk})


@skipUnless(connection.vendor == "postgresql", "concurrent claims need PostgreSQL's row locks")
class ConcurrentProcessorTests(TransactionTestCase):
    def test_two_processors_at_once_count_every_hit_once(self):
        ec = make_email_campaign()
        sent_at = timezone.now() - timedelta(hours=1)
        sends = [make_send(ec, sent_at=sent_at) for _ in range(40)]
        TrackingHit.objects.bulk_create(
            [
                TrackingHit(send=s, kind="open", at=sent_at + timedelta(minutes=1 + i), user_agent=BROWSER)
                for s in sends
                for i in range(10)
            ]
        )
        errors = []

        def run():
            try:
                tracking.process_pending(limit=25)
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertFalse(TrackingHit.objects.filter(processed=False).exists())
        self.assertEqual(sum(EmailSend.objects.values_list("opens", flat=True)), 400)
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.EMAIL_OPENED).count(), 40)
