"""Fan-out and delivery against a real HTTP server on 127.0.0.1 (allow-listed for these tests)."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, connections
from django.db.models import Max
from django.test import TestCase, TransactionTestCase, override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from smarketing.core.events import publish
from smarketing.core.models import Event
from smarketing.jobs import outbox
from smarketing.jobs.models import OutboxCursor
from smarketing.jobs.tasks import run_outbox_consumer
from smarketing.testing import make_cast, make_contact
from smarketing.webhooks import sender, services
from smarketing.webhooks.models import Delivery, Endpoint
from smarketing.webhooks.tasks import deliver, dispatch_events
from smarketing.webhooks.tests.receiver import Receiver

LOCAL = override_settings(WEBHOOK_ALLOWED_ADDRESSES=["127.0.0.1/32"])
Status = Delivery.Status


def fan_out_jobs() -> list[DBTaskResult]:
    """Runs of the webhooks' outbox consumer."""
    jobs = DBTaskResult.objects.filter(task_path=run_outbox_consumer.module_path)
    return [j for j in jobs if j.args_kwargs["args"] == ["webhooks"]]


def delivery_jobs() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=deliver.module_path).order_by("enqueued_at"))


def verify_like_the_docs(secret: str, headers: dict, body: bytes) -> bool:
    """The receiver's recipe from docs/webhooks.md, verbatim."""
    timestamp = headers["x-smarketing-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    ok = any(hmac.compare_digest(f"v1={expected}", s.strip()) for s in headers["x-smarketing-signature"].split(","))
    return ok and abs(time.time() - int(timestamp)) <= 300


class ReceiverTestCase(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.receiver.close()
        super().tearDownClass()

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def setUp(self):
        LOCAL.enable()
        self.addCleanup(LOCAL.disable)
        self.receiver.received.clear()

    def endpoint(self, path="/hook", events=("contact.created",), **fields) -> Endpoint:
        return Endpoint.objects.create(
            url=self.receiver.url(path), events=list(events), created_by=self.cast["alice"], **fields
        )

    def delivery(self, endpoint, name="contact.created", data=None) -> Delivery:
        event = Event.objects.create(name=name, object_type="crm.contact", object_id="1", payload=data or {"id": 1})
        return Delivery.objects.create(
            endpoint=endpoint,
            event=event,
            event_name=name,
            request_body=services.payload_body(
                event_id=str(event.id), name=name, occurred_at=event.occurred_at, data=event.payload
            ),
        )


class FanOutTests(ReceiverTestCase):
    def test_events_become_one_delivery_per_subscribed_active_endpoint(self):
        contacts = self.endpoint("/contacts", events=["contact.created", "contact.updated"])
        everything = self.endpoint("/all", events=["*"])
        self.endpoint("/deals", events=["deal.won"])
        self.endpoint("/off", events=["*"], active=False)
        Event.objects.create(
            name="contact.created",
            object_type="crm.contact",
            object_id="0",
            payload={},
            occurred_at=timezone.now() - timedelta(days=1),
        )  # before any endpoint existed: history is not sent
        with self.captureOnCommitCallbacks(execute=True):
            alice_contact = make_contact(email="ann@example.com")
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(services.fan_out_events(), 2)

        got = Delivery.objects.order_by("endpoint_id")
        self.assertEqual(
            [(d.endpoint_id, d.event_name) for d in got],
            [(contacts.id, "contact.created"), (everything.id, "contact.created")],
        )
        body = json.loads(got[0].request_body)
        self.assertEqual(set(body), {"id", "event", "occurred_at", "data"})
        self.assertEqual(body["event"], "contact.created")
        self.assertEqual(body["data"]["email"], "ann@example.com")
        self.assertEqual(body["id"], str(Event.objects.get(object_id=str(alice_contact.pk)).id))
        # Every event is behind the webhooks' outbox cursor.
        self.assertFalse(Event.objects.filter(seq__isnull=True).exists())
        self.assertEqual(OutboxCursor.objects.get(name="webhooks").position, Event.objects.aggregate(s=Max("seq"))["s"])
        self.assertEqual(len(delivery_jobs()), 2)

        # A second fan-out finds nothing new.
        self.assertEqual(services.fan_out_events(), 0)
        self.assertEqual(Delivery.objects.count(), 2)

    def test_fan_out_works_in_batches(self):
        self.endpoint("/all", events=["*"])
        for n in range(7):
            Event.objects.create(name="contact.updated", object_type="crm.contact", object_id=str(n), payload={})
        self.assertEqual(services.fan_out_events(batch_size=3), 7)
        self.assertEqual(Delivery.objects.values("event_id").distinct().count(), 7)

    def test_publishing_enqueues_the_fan_out_once_per_burst(self):
        self.endpoint("/all", events=["*"])
        with mock.patch.dict(outbox._pending_until, clear=True):
            with self.captureOnCommitCallbacks(execute=True):
                for _ in range(5):
                    make_contact()
            with self.captureOnCommitCallbacks(execute=True):
                make_contact()
            jobs = fan_out_jobs()
            self.assertEqual(len(jobs), 1, "debounced")
            self.assertGreater(jobs[0].run_after, timezone.now())

    def test_no_fan_out_job_without_active_endpoints(self):
        with mock.patch.dict(outbox._pending_until, clear=True):
            with self.captureOnCommitCallbacks(execute=True):
                make_contact()
        self.assertEqual(fan_out_jobs(), [])

    def test_the_sweep_requeues_stalled_deliveries(self):
        endpoint = self.endpoint()
        stalled = self.delivery(endpoint)
        fresh = self.delivery(endpoint)
        leased = self.delivery(endpoint)
        old = timezone.now() - timedelta(minutes=10)
        Delivery.objects.filter(id__in=[stalled.id, leased.id]).update(next_attempt_at=old)
        Delivery.objects.filter(id=leased.id).update(locked_until=timezone.now() + timedelta(minutes=1))
        result = dispatch_events.call()
        self.assertEqual(result["requeued"], 1)
        self.assertEqual([j.args_kwargs["args"] for j in delivery_jobs()], [[stalled.id]])
        self.assertEqual(dispatch_events.call()["requeued"], 0, "not again at once")
        fresh.refresh_from_db()
        self.assertEqual(fresh.status, Status.PENDING)


class DeliveryTests(ReceiverTestCase):
    def test_a_delivery_is_signed_and_verifies_with_the_documented_recipe(self):
        endpoint = self.endpoint()
        d = self.delivery(endpoint, data={"email": "ann@example.com", "name": "Ann"})
        self.assertEqual(deliver.call(d.id), Status.SUCCEEDED)

        [request] = self.receiver.requests_to("/hook")
        self.assertTrue(verify_like_the_docs(endpoint.secret, request.headers, request.body))
        self.assertFalse(verify_like_the_docs("whsec_other", request.headers, request.body))
        tampered = request.body.replace(b"Ann", b"Bob")
        self.assertFalse(verify_like_the_docs(endpoint.secret, request.headers, tampered))
        self.assertEqual(request.headers["x-smarketing-event"], "contact.created")
        self.assertEqual(request.headers["x-smarketing-delivery"], str(d.id))
        self.assertEqual(request.headers["content-type"], "application/json")
        self.assertEqual(request.headers["host"], f"127.0.0.1:{self.receiver.port}")
        self.assertEqual(request.body, d.request_body.encode())
        payload = json.loads(request.body)
        self.assertEqual(payload["data"], {"email": "ann@example.com", "name": "Ann"})
        self.assertEqual(payload["id"], str(d.event_id))

        d.refresh_from_db()
        self.assertEqual((d.status, d.attempts, d.response_status, d.response_body), (Status.SUCCEEDED, 1, 200, "ok"))
        self.assertIsNotNone(d.delivered_at)
        self.assertIsNotNone(d.duration_ms)
        self.assertIsNone(d.locked_until)
        self.assertEqual(deliver.call(d.id), "skipped", "a finished delivery is never sent again by a stray job")
        self.assertEqual(len(self.receiver.requests_to("/hook")), 1)

    def test_a_5xx_is_retried_with_backoff_then_succeeds(self):
        self.receiver.script("/flaky", (500, b"down", {}), (503, b"still down", {}), (200, b"thanks", {}))
        d = self.delivery(self.endpoint("/flaky"))
        before = timezone.now()
        self.assertEqual(deliver.call(d.id), Status.RETRYING)
        d.refresh_from_db()
        self.assertEqual((d.status, d.attempts, d.response_status, d.error), (Status.RETRYING, 1, 500, "HTTP 500"))
        wait = (d.next_attempt_at - before).total_seconds()
        self.assertTrue(26 <= wait <= 34, wait)  # 30 s ± jitter
        [job] = delivery_jobs()
        self.assertEqual(job.args_kwargs["args"], [d.id])
        self.assertAlmostEqual(job.run_after.timestamp(), d.next_attempt_at.timestamp(), delta=0.01)

        self.assertEqual(deliver.call(d.id), "skipped", "not before its time")
        Delivery.objects.filter(id=d.id).update(next_attempt_at=timezone.now())
        before = timezone.now()
        self.assertEqual(deliver.call(d.id), Status.RETRYING)
        d.refresh_from_db()
        wait = (d.next_attempt_at - before).total_seconds()
        self.assertTrue(80 <= wait <= 100, wait)  # 90 s: the backoff grows

        Delivery.objects.filter(id=d.id).update(next_attempt_at=timezone.now())
        self.assertEqual(deliver.call(d.id), Status.SUCCEEDED)
        d.refresh_from_db()
        self.assertEqual((d.attempts, d.response_status, d.response_body, d.error), (3, 200, "thanks", ""))
        self.assertEqual(len(self.receiver.requests_to("/flaky")), 3)
        bodies = {r.body for r in self.receiver.requests_to("/flaky")}
        self.assertEqual(len(bodies), 1, "every attempt sends the same body")

    def test_a_4xx_is_not_retried(self):
        self.receiver.script("/bad", (400, b'{"error": "unknown field"}', {}))
        d = self.delivery(self.endpoint("/bad"))
        self.assertEqual(deliver.call(d.id), Status.FAILED)
        d.refresh_from_db()
        self.assertEqual((d.status, d.response_status), (Status.FAILED, 400))
        self.assertIn("not retried", d.error)
        self.assertEqual(delivery_jobs(), [])

    def test_a_redirect_is_not_followed(self):
        self.receiver.script("/moved", (302, b"", {"Location": self.receiver.url("/hook")}))
        d = self.delivery(self.endpoint("/moved"))
        self.assertEqual(deliver.call(d.id), Status.FAILED)
        d.refresh_from_db()
        self.assertEqual(d.response_status, 302)
        self.assertIn("not followed", d.error)
        self.assertIn("/hook", d.error)
        self.assertEqual(len(self.receiver.requests_to("/moved")), 1)
        self.assertEqual(self.receiver.requests_to("/hook"), [])
        self.assertEqual(delivery_jobs(), [])

    def test_timeouts_and_refused_connections_are_retried(self):
        self.receiver.script("/slow", ("sleep", 1.5, {}))
        d = self.delivery(self.endpoint("/slow"))
        with mock.patch.object(sender, "TIMEOUT", 0.3):
            self.assertEqual(deliver.call(d.id), Status.RETRYING)
        d.refresh_from_db()
        self.assertEqual(d.error, "timed out")
        self.assertIsNone(d.response_status)

        closed = Receiver()
        url = closed.url("/gone")
        closed.close()
        d2 = self.delivery(Endpoint.objects.create(url=url, events=["*"]))
        self.assertEqual(deliver.call(d2.id), Status.RETRYING)
        d2.refresh_from_db()
        self.assertIn("connection refused", d2.error)

    def test_it_gives_up_after_the_last_attempt(self):
        self.receiver.script("/down", (502, b"bad gateway", {}))
        d = self.delivery(self.endpoint("/down"))
        Delivery.objects.filter(id=d.id).update(attempts=services.MAX_ATTEMPTS - 1)
        self.assertEqual(deliver.call(d.id), Status.FAILED)
        d.refresh_from_db()
        self.assertEqual(d.attempts, services.MAX_ATTEMPTS)
        self.assertIn("gave up after 8 attempts", d.error)
        self.assertEqual(delivery_jobs(), [])

    def test_unsafe_targets_are_refused_at_delivery_time(self):
        d = self.delivery(self.endpoint())
        LOCAL.disable()
        try:
            self.assertEqual(deliver.call(d.id), Status.FAILED)
        finally:
            LOCAL.enable()
        d.refresh_from_db()
        self.assertIn("Refused: Webhooks cannot be sent to 127.0.0.1", d.error)
        self.assertEqual(self.receiver.received, [])

    def test_dns_is_checked_again_and_the_connection_goes_to_the_vetted_address(self):
        # The name resolves to the allow-listed 127.0.0.1 at delivery time; the request keeps the name as Host.
        endpoint = Endpoint.objects.create(url=f"http://hooks.example:{self.receiver.port}/named", events=["*"])
        d = self.delivery(endpoint)
        fake = [(2, 1, 6, "", ("127.0.0.1", self.receiver.port))]
        with mock.patch("smarketing.webhooks.targets.socket.getaddrinfo", return_value=fake):
            self.assertEqual(deliver.call(d.id), Status.SUCCEEDED)
        [request] = self.receiver.requests_to("/named")
        self.assertEqual(request.headers["host"], f"hooks.example:{self.receiver.port}")
        # Rebound to a private address: refused, nothing sent.
        d2 = self.delivery(endpoint)
        rebound = [(2, 1, 6, "", ("10.0.0.5", self.receiver.port))]
        with mock.patch("smarketing.webhooks.targets.socket.getaddrinfo", return_value=rebound):
            self.assertEqual(deliver.call(d2.id), Status.FAILED)
        self.assertEqual(len(self.receiver.requests_to("/named")), 1)

    def test_inactive_endpoints_receive_nothing(self):
        d = self.delivery(self.endpoint(active=False))
        self.assertEqual(deliver.call(d.id), Status.FAILED)
        d.refresh_from_db()
        self.assertEqual(d.error, "The endpoint is disabled.")
        self.assertEqual(self.receiver.received, [])

    def test_a_leased_delivery_is_not_sent_twice_until_the_lease_expires(self):
        d = self.delivery(self.endpoint())
        now = timezone.now()
        token = services._claim(d.id, now)
        self.assertIsNotNone(token)
        self.assertEqual(deliver.call(d.id), "skipped", "another worker holds it")
        self.assertEqual(self.receiver.received, [])
        # That worker died: once its lease has expired the delivery is claimed again.
        Delivery.objects.filter(id=d.id).update(locked_until=timezone.now() - timedelta(seconds=1))
        self.assertEqual(deliver.call(d.id), Status.SUCCEEDED)
        d.refresh_from_db()
        self.assertEqual(d.attempts, 2)
        # The dead worker's late write cannot overwrite the outcome.
        services._finish(d, token, Status.FAILED, error="late")
        d.refresh_from_db()
        self.assertEqual(d.status, Status.SUCCEEDED)

    def test_old_finished_deliveries_are_pruned(self):
        endpoint = self.endpoint()
        old, recent, waiting = self.delivery(endpoint), self.delivery(endpoint), self.delivery(endpoint)
        long_ago = timezone.now() - services.LOG_RETENTION - timedelta(days=1)
        Delivery.objects.filter(id__in=[old.id, recent.id]).update(status=Status.SUCCEEDED)
        Delivery.objects.filter(id__in=[old.id, waiting.id]).update(created_at=long_ago)
        self.assertEqual(services.prune_deliveries(), 1)
        self.assertEqual(set(Delivery.objects.values_list("id", flat=True)), {recent.id, waiting.id})

    def test_erasing_a_record_forgets_its_deliveries(self):
        endpoint = self.endpoint()
        mine, other = self.delivery(endpoint), self.delivery(endpoint)
        Event.objects.filter(id=other.event_id).update(object_id="2")
        self.assertEqual(services.forget_object("crm.contact", 1), 1)
        self.assertEqual(list(Delivery.objects.values_list("id", flat=True)), [other.id])
        self.assertTrue(Event.objects.filter(id=mine.event_id).exists(), "the outbox is not the log's to delete")

    def test_test_events_and_redelivery(self):
        endpoint = self.endpoint()
        with self.captureOnCommitCallbacks(execute=True):
            ping = services.send_test_event(endpoint, actor=self.cast["alice"])
        self.assertEqual(len(delivery_jobs()), 1)
        self.assertEqual(deliver.call(ping.id), Status.SUCCEEDED)
        [request] = self.receiver.requests_to("/hook")
        self.assertEqual(request.headers["x-smarketing-event"], "webhook.test")
        self.assertEqual(json.loads(request.body)["event"], "webhook.test")

        with self.captureOnCommitCallbacks(execute=True):
            self.assertTrue(services.redeliver(ping, actor=self.cast["alice"]))
        ping.refresh_from_db()
        self.assertEqual((ping.status, ping.attempts), (Status.PENDING, 0))
        self.assertEqual(deliver.call(ping.id), Status.SUCCEEDED)
        self.assertEqual(len(self.receiver.requests_to("/hook")), 2)
        # In flight: no redelivery.
        Delivery.objects.filter(id=ping.id).update(status=Status.RETRYING)
        self.assertFalse(services.redeliver(ping, actor=self.cast["alice"]))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent fan-outs need PostgreSQL row locks")
class ConcurrentFanOutTests(TransactionTestCase):
    def test_two_fan_outs_at_once_deliver_each_event_once_per_endpoint(self):
        a = Endpoint.objects.create(url="https://a.example/hook", events=["*"])
        b = Endpoint.objects.create(url="https://b.example/hook", events=["contact.updated"])
        for n in range(300):
            publish("contact.updated", a, {"n": n})
        barrier = threading.Barrier(2)
        created = []

        def fan_out():
            try:
                barrier.wait()
                created.append(services.fan_out_events(batch_size=20))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=fan_out) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sum(created), 600)
        self.assertTrue(all(created), f"both fan-outs took part: {created}")
        self.assertEqual(Delivery.objects.filter(endpoint=a).count(), 300)
        self.assertEqual(Delivery.objects.filter(endpoint=b).count(), 300)
        self.assertEqual(DBTaskResult.objects.filter(task_path=deliver.module_path).count(), 600)
