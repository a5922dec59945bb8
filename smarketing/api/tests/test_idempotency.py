import threading
import unittest
from datetime import timedelta
from unittest import mock

from django.core.cache import cache
from django.db import connection, connections
from django.test import Client, TransactionTestCase
from django.utils import timezone
from rest_framework.response import Response

from smarketing.api import idempotency, tokens
from smarketing.api.models import IdempotencyKey
from smarketing.api.tasks import purge_idempotency_keys
from smarketing.api.tests.helpers import ApiClientMixin, ApiTestCase
from smarketing.crm import services
from smarketing.crm.api.views import ContactViewSet
from smarketing.crm.models import Contact
from smarketing.testing import make_cast, make_contact


class IdempotencyTests(ApiTestCase):
    def create(self, body, key, who="bob"):
        return self.post("/api/v1/contacts", body, token=self.tokens[who], idempotency_key=key)

    def test_replay_returns_the_stored_response_and_acts_once(self):
        first = self.create({"email": "once@example.com"}, "key-1")
        self.assertEqual(first.status_code, 201)
        self.assertNotIn("Idempotent-Replayed", first)
        second = self.create({"email": "once@example.com"}, "key-1")
        self.assertEqual(second.status_code, 201)
        self.assertEqual(second["Idempotent-Replayed"], "true")
        self.assertEqual(second.json(), first.json())
        self.assertEqual(Contact.objects.filter(email="once@example.com").count(), 1)
        row = IdempotencyKey.objects.get(key="key-1")
        self.assertEqual((row.status, row.response_status), ("done", 201))

    def test_same_key_with_another_request_is_refused(self):
        self.create({"email": "a@example.com"}, "key-2")
        self.assertProblem(self.create({"email": "b@example.com"}, "key-2"), 422)
        response = self.post(
            "/api/v1/companies", {"email": "a@example.com"}, token=self.tokens["bob"], idempotency_key="key-2"
        )
        self.assertProblem(response, 422)
        self.assertFalse(Contact.objects.filter(email="b@example.com").exists())

    def test_keys_belong_to_one_user(self):
        self.create({"email": "c@example.com"}, "shared")
        response = self.create({"email": "d@example.com"}, "shared", who="carol")
        self.assertEqual(response.status_code, 201)
        self.assertNotIn("Idempotent-Replayed", response)

    def test_an_error_releases_the_key(self):
        self.assertProblem(self.create({"email": "nope"}, "key-3"), 400, "email")
        self.assertFalse(IdempotencyKey.objects.filter(key="key-3").exists())
        self.assertEqual(self.create({"email": "fixed@example.com"}, "key-3").status_code, 201)

    def test_a_request_still_in_progress_gets_409(self):
        user = self.cast["bob"]
        body = b'{"email": "e@example.com"}'
        request = mock.Mock(method="POST", body=body, get_full_path=lambda: "/api/v1/contacts")
        IdempotencyKey.objects.create(user=user, key="busy", fingerprint=idempotency.fingerprint(request))
        response = self.call("POST", "/api/v1/contacts", raw=body, token=self.tokens["bob"], idempotency_key="busy")
        self.assertProblem(response, 409)
        self.assertEqual(response["Retry-After"], "1")
        # Abandoned by a process that died: taken over after 10 minutes.
        IdempotencyKey.objects.filter(key="busy").update(created_at=timezone.now() - timedelta(minutes=11))
        response = self.call("POST", "/api/v1/contacts", raw=body, token=self.tokens["bob"], idempotency_key="busy")
        self.assertEqual(response.status_code, 201, response.content)

    def test_keys_expire_after_24_hours(self):
        self.create({"email": "f@example.com"}, "old")
        IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
        response = self.create({"email": "g@example.com"}, "old")
        self.assertEqual(response.status_code, 201)
        self.assertNotIn("Idempotent-Replayed", response)
        self.assertEqual(IdempotencyKey.objects.filter(key="old").count(), 1)
        IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
        self.assertEqual(purge_idempotency_keys.call(), 1)
        self.assertFalse(IdempotencyKey.objects.exists())

    def test_invalid_keys_are_400(self):
        for key in ("x" * 256, "has space", ""):
            with self.subTest(key=key):
                self.assertProblem(self.create({"email": "h@example.com"}, key), 400, "Idempotency-Key")

    def test_batch_and_actions_replay_too(self):
        contact = make_contact(None, lifecycle_stage="lead")
        path = f"/api/v1/contacts/{contact.pk}/lifecycle"
        first = self.post(path, {"stage": "mql"}, token=self.tokens["bob"], idempotency_key="lc")
        second = self.post(path, {"stage": "mql"}, token=self.tokens["bob"], idempotency_key="lc")
        self.assertEqual(second["Idempotent-Replayed"], "true")
        self.assertEqual(first.json(), second.json())
        records = {"records": [{"email": "batch@example.com"}]}
        first = self.post("/api/v1/contacts/batch/upsert", records, token=self.tokens["bob"], idempotency_key="b")
        second = self.post("/api/v1/contacts/batch/upsert", records, token=self.tokens["bob"], idempotency_key="b")
        self.assertEqual(first.json()["results"][0]["status"], "created")
        self.assertEqual(second.json()["results"][0]["status"], "created")  # the stored answer, not a re-run


class IdempotencyBoundaryTests(ApiTestCase):
    """Headers kept on replay, what an error undoes, and the exact edges of keys, TTL and abandonment."""

    NOW = timezone.now()

    def create(self, body, key):
        return self.post("/api/v1/contacts", body, token=self.tokens["bob"], idempotency_key=key)

    def at(self, moment):
        return mock.patch("smarketing.api.idempotency.timezone.now", return_value=moment)

    def test_a_replay_keeps_location_and_etag(self):
        first = self.create({"email": "where@example.com"}, "loc")
        second = self.create({"email": "where@example.com"}, "loc")
        self.assertEqual(second["Idempotent-Replayed"], "true")
        self.assertEqual(second["Location"], first["Location"])
        self.assertEqual(second["ETag"], first["ETag"])
        contact = make_contact(None)
        path = f"/api/v1/contacts/{contact.pk}/lifecycle"
        first = self.post(path, {"stage": "mql"}, token=self.tokens["bob"], idempotency_key="lc-etag")
        second = self.post(path, {"stage": "mql"}, token=self.tokens["bob"], idempotency_key="lc-etag")
        self.assertEqual((second["ETag"], second.has_header("Location")), (first["ETag"], False))

    def test_an_error_response_rolls_the_request_back(self):
        """A view that wrote and then answered an error (without raising) keeps none of its writes."""

        def writes_then_answers(status):
            def create(view, request):
                services.create_contact(actor=request.user, data={"email": f"s{status}@example.com"})
                return Response({"detail": "x"}, status=status)

            return create

        for status, kept in ((200, True), (299, True), (300, False), (400, False), (409, False)):
            with self.subTest(status=status):
                with mock.patch.object(ContactViewSet, "create", writes_then_answers(status)):
                    response = self.create({"email": "ignored@example.com"}, f"err-{status}")
                self.assertEqual(response.status_code, status)
                self.assertEqual(Contact.objects.filter(email=f"s{status}@example.com").exists(), kept)
                self.assertEqual(IdempotencyKey.objects.filter(key=f"err-{status}").exists(), kept)

    def test_key_characters_and_length(self):
        accepted = ["!", "~", "a" * idempotency.MAX_KEY_LENGTH, "!~09AZaz-_.:/+=", "0" * 36]
        refused = ["", " ", "a b", "\x7f", "tab\there", "é", "a" * (idempotency.MAX_KEY_LENGTH + 1), "x\x00"]
        for n, key in enumerate(accepted):
            with self.subTest(key=key[:20]):
                response = self.create({"email": f"ok{n}@example.com"}, key)
                self.assertEqual(response.status_code, 201, response.content)
                self.assertTrue(IdempotencyKey.objects.filter(key=key).exists())
        for key in refused:
            with self.subTest(key=key[:20]):
                self.assertProblem(self.create({"email": "no@example.com"}, key), 400, "Idempotency-Key")
        self.assertFalse(Contact.objects.filter(email="no@example.com").exists())

    def test_a_key_replays_up_to_exactly_its_ttl(self):
        self.create({"email": "ttl@example.com"}, "ttl")
        IdempotencyKey.objects.filter(key="ttl").update(created_at=self.NOW - idempotency.TTL)
        with self.at(self.NOW):
            self.assertEqual(self.create({"email": "ttl@example.com"}, "ttl")["Idempotent-Replayed"], "true")
            self.assertEqual(idempotency.purge_expired(), 0)
        IdempotencyKey.objects.filter(key="ttl").update(
            created_at=self.NOW - idempotency.TTL - timedelta(microseconds=1)
        )
        with self.at(self.NOW):
            # Expired: the request runs again (a duplicate email is now refused by the service, not replayed).
            response = self.create({"email": "ttl@example.com"}, "ttl")
        self.assertNotIn("Idempotent-Replayed", response)
        self.assertEqual(response.status_code, 400)
        self.assertFalse(IdempotencyKey.objects.filter(key="ttl").exists())

    def test_purge_removes_only_keys_past_their_ttl(self):
        self.create({"email": "p1@example.com"}, "edge")
        self.create({"email": "p2@example.com"}, "past")
        IdempotencyKey.objects.filter(key="edge").update(created_at=self.NOW - idempotency.TTL)
        IdempotencyKey.objects.filter(key="past").update(
            created_at=self.NOW - idempotency.TTL - timedelta(microseconds=1)
        )
        with self.at(self.NOW):
            self.assertEqual(idempotency.purge_expired(), 1)
        self.assertEqual(list(IdempotencyKey.objects.values_list("key", flat=True)), ["edge"])

    def test_an_in_progress_key_is_taken_over_only_after_exactly_ten_minutes(self):
        body = b'{"email": "slow@example.com"}'
        request = mock.Mock(method="POST", body=body, get_full_path=lambda: "/api/v1/contacts")
        row = IdempotencyKey.objects.create(
            user=self.bob, key="slow", fingerprint=idempotency.fingerprint(request), created_at=self.NOW
        )

        def send():
            return self.call("POST", "/api/v1/contacts", raw=body, token=self.tokens["bob"], idempotency_key="slow")

        with self.at(self.NOW + idempotency.ABANDONED_AFTER):
            self.assertProblem(send(), 409)
        with self.at(self.NOW + idempotency.ABANDONED_AFTER + timedelta(microseconds=1)):
            response = send()
        self.assertEqual(response.status_code, 201, response.content)
        row.refresh_from_db()
        self.assertEqual(
            (row.status, row.created_at), ("done", self.NOW + idempotency.ABANDONED_AFTER + timedelta(microseconds=1))
        )


@unittest.skipUnless(connection.vendor == "postgresql", "concurrent requests need PostgreSQL")
class ConcurrentIdempotencyTests(ApiClientMixin, TransactionTestCase):
    """Two requests with one key at the same time: the first runs, the second is told it is in progress."""

    def setUp(self):
        cache.clear()
        from smarketing.accounts.models import Team
        from smarketing.crm.defaults import install_defaults
        from smarketing.crm.models import Pipeline, Stage

        install_defaults(Team, Pipeline, Stage)  # TransactionTestCase flushed the data migration's rows
        self.bob = make_cast()["bob"]
        self.token = tokens.create_token(self.bob, name="t", scope="read_write")[1]

    def test_one_key_executes_once(self):
        started, release = threading.Event(), threading.Event()
        original = services.create_contact

        def slow_create(**kwargs):
            started.set()
            release.wait(10)
            return original(**kwargs)

        results = {}

        def first():
            try:
                results["first"] = Client().post(
                    "/api/v1/contacts",
                    {"email": "race@example.com"},
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": "race"},
                )
            finally:
                connections.close_all()

        with mock.patch("smarketing.crm.api.views.services.create_contact", side_effect=slow_create):
            thread = threading.Thread(target=first)
            thread.start()
            self.assertTrue(started.wait(10))
            second = self.post(
                "/api/v1/contacts", {"email": "race@example.com"}, token=self.token, idempotency_key="race"
            )
            release.set()
            thread.join(10)
        self.assertProblem(second, 409)
        self.assertIn("in progress", second.json()["detail"])
        self.assertEqual(results["first"].status_code, 201, results["first"].content)
        self.assertEqual(Contact.objects.filter(email="race@example.com").count(), 1)
        third = self.post("/api/v1/contacts", {"email": "race@example.com"}, token=self.token, idempotency_key="race")
        self.assertEqual((third.status_code, third["Idempotent-Replayed"]), (201, "true"))
