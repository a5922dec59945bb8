"""The webhook pages: endpoints CRUD, the delivery log, test events and redelivery, for admins only."""

from datetime import timedelta

from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from smarketing.core.models import AuditEntry, Event
from smarketing.testing import make_cast
from smarketing.webhooks.models import Delivery, Endpoint
from smarketing.webhooks.tasks import deliver

PUBLIC = "https://93.184.216.34/hooks/in"
Status = Delivery.Status


@override_settings(WEBHOOK_ALLOWED_ADDRESSES=[])
class EndpointPagesTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.endpoint = Endpoint.objects.create(
            url=PUBLIC, description="CRM sync", events=["contact.created"], created_by=cls.cast["alice"]
        )

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def test_only_admins_manage_webhooks(self):
        d = Delivery.objects.create(endpoint=self.endpoint, event_name="webhook.test", request_body="{}")
        gets = [
            reverse("webhooks:endpoint_list"),
            reverse("webhooks:endpoint_create"),
            reverse("webhooks:endpoint_detail", args=[self.endpoint.id]),
            reverse("webhooks:endpoint_edit", args=[self.endpoint.id]),
            reverse("webhooks:delivery_detail", args=[d.id]),
        ]
        posts = [
            reverse("webhooks:endpoint_create"),
            reverse("webhooks:endpoint_delete", args=[self.endpoint.id]),
            reverse("webhooks:endpoint_test", args=[self.endpoint.id]),
            reverse("webhooks:endpoint_rotate_secret", args=[self.endpoint.id]),
            reverse("webhooks:delivery_redeliver", args=[d.id]),
        ]
        for name in ("bob", "carol", "mia", "rory"):
            self.client.force_login(self.cast[name])
            for url in gets:
                self.assertEqual(self.client.get(url).status_code, 403, (name, url))
            for url in posts:
                self.assertEqual(self.client.post(url, {"url": PUBLIC, "all_events": "on"}).status_code, 403, url)
        self.assertEqual(Endpoint.objects.count(), 1)
        self.assertEqual(Delivery.objects.count(), 1)

    def test_create_an_endpoint(self):
        response = self.client.post(
            reverse("webhooks:endpoint_create"),
            {
                "url": "https://93.184.216.34:8443/in",
                "description": "Warehouse",
                "events": ["deal.won", "deal.lost"],
                "active": "on",
            },
        )
        endpoint = Endpoint.objects.get(description="Warehouse")
        self.assertRedirects(response, reverse("webhooks:endpoint_detail", args=[endpoint.id]))
        self.assertEqual(endpoint.events, ["deal.won", "deal.lost"])
        self.assertTrue(endpoint.secret.startswith("whsec_"))
        self.assertGreater(len(endpoint.secret), 40)
        self.assertEqual(endpoint.created_by, self.cast["alice"])
        self.assertTrue(AuditEntry.objects.filter(object_type="webhooks.endpoint", action="create").exists())
        page = self.client.get(response.url)
        self.assertContains(page, endpoint.secret)  # shown to the admin to configure the receiver

    def test_all_events_includes_future_ones(self):
        self.client.post(reverse("webhooks:endpoint_create"), {"url": PUBLIC, "all_events": "on", "active": "on"})
        self.assertEqual(Endpoint.objects.latest("id").events, ["*"])

    def test_unsafe_urls_get_a_clear_error(self):
        cases = {
            "http://127.0.0.1:8000/": "127.0.0.1: it is a loopback address",
            "http://0x7f.1/": "0x7f.1: it means 127.0.0.1, a loopback address",
            "http://169.254.169.254/latest/meta-data/": "cloud metadata",
            "http://[::ffff:10.0.0.1]/": "private address",
            "http://localhost/": "resolves to",
            "ftp://93.184.216.34/": "Only http:// and https://",
            "https://admin:pw@93.184.216.34/": "user name or password",
            "not a url": "spaces or control characters",
        }
        for url, message in cases.items():
            with self.subTest(url=url):
                response = self.client.post(reverse("webhooks:endpoint_create"), {"url": url, "all_events": "on"})
                self.assertEqual(response.status_code, 200)
                self.assertIn(message, " ".join(response.context["form"].errors["url"]))
        response = self.client.post(reverse("webhooks:endpoint_create"), {"url": PUBLIC})
        self.assertIn("Choose at least one event", str(response.context["form"].errors["events"]))
        response = self.client.post(reverse("webhooks:endpoint_create"), {"url": PUBLIC, "events": ["nope"]})
        self.assertIn("events", response.context["form"].errors)
        self.assertEqual(Endpoint.objects.count(), 1)

    def test_edit_and_delete(self):
        url = reverse("webhooks:endpoint_edit", args=[self.endpoint.id])
        form = self.client.get(url).context["form"]
        self.assertEqual(form.initial["events"], ["contact.created"])
        response = self.client.post(url, {"url": PUBLIC + "2", "description": "x", "events": ["contact.updated"]})
        self.assertRedirects(response, reverse("webhooks:endpoint_detail", args=[self.endpoint.id]))
        self.endpoint.refresh_from_db()
        self.assertEqual(
            (self.endpoint.url, self.endpoint.events, self.endpoint.active), (PUBLIC + "2", ["contact.updated"], False)
        )
        change = AuditEntry.objects.get(object_type="webhooks.endpoint", action="update")
        self.assertEqual(change.changes["events"], [["contact.created"], ["contact.updated"]])

        self.assertEqual(self.client.get(reverse("webhooks:endpoint_delete", args=[self.endpoint.id])).status_code, 405)
        response = self.client.post(reverse("webhooks:endpoint_delete", args=[self.endpoint.id]))
        self.assertRedirects(response, reverse("webhooks:endpoint_list"))
        self.assertFalse(Endpoint.objects.exists())

    def test_rotate_secret(self):
        old = self.endpoint.secret
        self.client.post(reverse("webhooks:endpoint_rotate_secret", args=[self.endpoint.id]))
        self.endpoint.refresh_from_db()
        self.assertNotEqual(self.endpoint.secret, old)
        self.assertTrue(AuditEntry.objects.filter(action="rotate_secret").exists())

    def test_send_test_event_button(self):
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("webhooks:endpoint_test", args=[self.endpoint.id]))
        self.assertRedirects(response, reverse("webhooks:endpoint_detail", args=[self.endpoint.id]))
        ping = Delivery.objects.get()
        self.assertEqual((ping.event_name, ping.status, ping.event_id), ("webhook.test", Status.PENDING, None))
        job = DBTaskResult.objects.get(task_path=deliver.module_path)
        self.assertEqual(job.args_kwargs["args"], [ping.id])

    def test_the_list_shows_endpoints_with_their_last_delivery_in_constant_queries(self):
        url = reverse("webhooks:endpoint_list")
        self.client.get(url)
        # session, user, the user's team (sidebar), endpoints (with creator and last delivery in the same query)
        with self.assertNumQueries(4):
            response = self.client.get(url)
        self.assertContains(response, PUBLIC)
        for n in range(10):
            e = Endpoint.objects.create(url=f"https://93.184.216.{n}/x", events=["*"], created_by=self.cast["carol"])
            Delivery.objects.create(endpoint=e, event_name="webhook.test", status=Status.FAILED)
        with self.assertNumQueries(4):
            response = self.client.get(url)
        self.assertContains(response, "Carol Manager", count=10)
        self.assertContains(response, "Failed", count=10)


@override_settings(WEBHOOK_ALLOWED_ADDRESSES=[], PAGE_SIZE=5)
class DeliveryLogTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.endpoint = Endpoint.objects.create(url=PUBLIC, events=["*"], created_by=cls.cast["alice"])

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def make(self, n=1, **fields):
        start = timezone.now() - timedelta(hours=1)
        made = []
        for i in range(n):
            event = Event.objects.create(name="contact.created", object_type="crm.contact", object_id=str(i))
            made.append(
                Delivery.objects.create(
                    endpoint=self.endpoint,
                    event=event,
                    event_name=event.name,
                    request_body='{"id": "1", "data": {"name": "<i>Ann</i>"}}',
                    created_at=start + timedelta(seconds=i // 2),  # pairs share a timestamp
                    **fields,
                )
            )
        return made

    def test_the_log_renders_response_bodies_escaped(self):
        [d] = self.make(
            status=Status.FAILED,
            attempts=3,
            response_status=500,
            response_body='<script>alert("pwned")</script><img src=x onerror=alert(1)>',
            error="HTTP 500 (gave up after 8 attempts)",
            duration_ms=1234,
        )
        html = self.client.get(reverse("webhooks:endpoint_detail", args=[self.endpoint.id])).content.decode()
        self.assertIn("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;", html)
        self.assertNotIn("<script>alert", html)
        self.assertNotIn("<img src=x", html)
        self.assertIn("HTTP 500", html)
        self.assertIn("1.2 s", html)
        detail = self.client.get(reverse("webhooks:delivery_detail", args=[d.id])).content.decode()
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", detail)
        self.assertIn("&lt;i&gt;Ann&lt;/i&gt;", detail)
        self.assertNotIn("<i>Ann</i>", detail)
        self.assertIn("Redeliver", detail)

    def test_redeliver_button(self):
        [d] = self.make(status=Status.FAILED, attempts=8)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("webhooks:delivery_redeliver", args=[d.id]))
        self.assertRedirects(response, reverse("webhooks:delivery_detail", args=[d.id]))
        d.refresh_from_db()
        self.assertEqual((d.status, d.attempts), (Status.PENDING, 0))
        self.assertTrue(DBTaskResult.objects.filter(task_path=deliver.module_path).exists())
        self.assertTrue(AuditEntry.objects.filter(action="redeliver").exists())
        response = self.client.post(reverse("webhooks:delivery_redeliver", args=[d.id]), follow=True)
        self.assertContains(response, "still being sent")

    def test_keyset_pagination_and_status_filter(self):
        made = self.make(12)
        Delivery.objects.filter(id__in=[d.id for d in made[:3]]).update(status=Status.SUCCEEDED)
        url = reverse("webhooks:endpoint_detail", args=[self.endpoint.id])
        seen, params = [], {}
        while True:
            page = self.client.get(url, params).context["page"]
            seen += [d.id for d in page.rows]
            if not page.next_cursor:
                break
            params = {"after": page.next_cursor}
        self.assertEqual(seen, [d.id for d in reversed(made)])
        succeeded = self.client.get(url, {"status": "succeeded"}).context["page"].rows
        self.assertEqual({d.id for d in succeeded}, {d.id for d in made[:3]})
        self.assertEqual(len(self.client.get(url, {"status": "bogus"}).context["page"].rows), 5)

    def test_the_log_page_query_count_does_not_grow(self):
        url = reverse("webhooks:endpoint_detail", args=[self.endpoint.id])
        self.make(1)
        self.client.get(url)
        with self.assertNumQueries(5):  # session, user, endpoint, one page of deliveries, the user's team (sidebar)
            self.client.get(url)
        self.make(20, status=Status.RETRYING, response_status=503)
        with self.assertNumQueries(5):
            self.client.get(url)
