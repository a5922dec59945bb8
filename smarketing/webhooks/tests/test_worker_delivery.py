"""End to end with real worker processes: CRM writes → outbox → fan-out → signed POSTs to a local server."""

import json
from collections import Counter

import pytest
from django.test import TransactionTestCase

from smarketing.jobs.testing import WorkerPool
from smarketing.testing import make_contact
from smarketing.webhooks.models import Delivery, Endpoint
from smarketing.webhooks.signing import verify
from smarketing.webhooks.tasks import dispatch_events
from smarketing.webhooks.tests.receiver import Receiver


@pytest.mark.worker
class WorkerDeliveryTests(TransactionTestCase):
    def setUp(self):
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)

    def test_every_event_reaches_every_subscribed_endpoint_exactly_once(self):
        a = Endpoint.objects.create(url=self.receiver.url("/a"), events=["*"])
        b = Endpoint.objects.create(url=self.receiver.url("/b"), events=["contact.created"])
        contacts = [make_contact() for _ in range(40)]  # each commit enqueues the (debounced) fan-out
        # Extra fan-outs racing the hook's and the workers' periodic sweep: none may deliver anything twice.
        dispatch_events.enqueue()
        dispatch_events.enqueue()

        with WorkerPool(2, batch=False, env={"WEBHOOK_ALLOWED_ADDRESSES": "127.0.0.1/32"}) as pool:
            pool.wait_until(
                lambda: (
                    len(self.receiver.received) >= 80
                    and not Delivery.objects.exclude(status=Delivery.Status.SUCCEEDED).exists()
                ),
                timeout=60,
            )

        seen = Counter((r.path, json.loads(r.body)["id"]) for r in self.receiver.received)
        self.assertEqual(len(seen), 80)
        self.assertEqual(max(seen.values()), 1, "no event was delivered twice to one endpoint")
        self.assertEqual(Delivery.objects.filter(endpoint=a).count(), 40)
        self.assertEqual(Delivery.objects.filter(endpoint=b).count(), 40)
        emails = {json.loads(r.body)["data"]["email"] for r in self.receiver.requests_to("/b")}
        self.assertEqual(emails, {c.email for c in contacts})
        for request in self.receiver.received:
            secret = a.secret if request.path == "/a" else b.secret
            self.assertTrue(
                verify(
                    secret,
                    request.headers["x-smarketing-timestamp"],
                    request.body,
                    request.headers["x-smarketing-signature"],
                )
            )
