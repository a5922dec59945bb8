"""API token service: the secret's format, its hash, name and count limits, lookup bounds, last-use throttle."""

import hashlib
from datetime import timedelta
from unittest import mock

from django.core.exceptions import ValidationError
from django.test import TestCase
from django.utils import timezone

from smarketing.api import tokens
from smarketing.api.models import ApiToken
from smarketing.core.models import AuditEntry
from smarketing.testing import make_cast

SECRET_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class CreateTokenTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob = cls.cast["bob"]

    def test_the_secret_format_prefix_and_hash(self):
        token, raw = tokens.create_token(self.bob, name="  Zapier  ", scope="read_write")
        self.assertTrue(raw.startswith("smk_"))
        self.assertEqual(len(raw), 4 + 43)  # 32 random bytes in URL-safe base64
        self.assertLessEqual(set(raw[4:]), SECRET_ALPHABET)
        token.refresh_from_db()
        self.assertEqual(token.name, "Zapier")
        self.assertEqual(token.scope, "read_write")
        self.assertEqual(token.prefix, raw[:12])
        self.assertEqual(len(token.prefix), 12)
        self.assertEqual(token.key_hash, hashlib.sha256(raw.encode()).hexdigest())
        self.assertIsNone(token.revoked_at)
        self.assertNotEqual(tokens.create_token(self.bob, name="b", scope="read")[1], raw)

    def test_creation_is_audited(self):
        token, _raw = tokens.create_token(self.bob, name="ci", scope="read")
        entry = AuditEntry.objects.get(action="token_create")
        self.assertEqual((entry.actor, entry.origin, entry.object_id), (self.bob, "ui", str(token.pk)))
        self.assertEqual(entry.changes, {"scope": [None, "read"]})

    def test_name_length_boundary(self):
        tokens.create_token(self.bob, name="n" * 100, scope="read")
        with self.assertRaises(ValidationError) as caught:
            tokens.create_token(self.bob, name="n" * 101, scope="read")
        self.assertEqual(caught.exception.message_dict, {"name": ["At most 100 characters."]})
        # Surrounding spaces do not count toward the limit.
        tokens.create_token(self.bob, name=" " + "n" * 100 + " ", scope="read")

    def test_missing_name_and_bad_scope_are_reported_together(self):
        for name in ["", "   ", None]:
            with self.subTest(name=name), self.assertRaises(ValidationError) as caught:
                tokens.create_token(self.bob, name=name, scope="admin")
            self.assertEqual(
                caught.exception.message_dict,
                {
                    "name": ["Give the token a name, such as the tool that will use it."],
                    "scope": ["Choose read or read_write."],
                },
            )
        with self.assertRaises(ValidationError) as caught:
            tokens.create_token(self.bob, name="ok", scope="")
        self.assertEqual(set(caught.exception.message_dict), {"scope"})
        self.assertFalse(ApiToken.objects.exists())
        self.assertFalse(AuditEntry.objects.filter(action="token_create").exists())

    def test_at_most_fifty_active_tokens_and_revoked_ones_do_not_count(self):
        self.assertEqual(tokens.MAX_ACTIVE_TOKENS, 50)
        made = [tokens.create_token(self.bob, name=f"t{i}", scope="read")[0] for i in range(49)]
        tokens.create_token(self.cast["mia"], name="other user", scope="read")  # counted per user
        tokens.create_token(self.bob, name="fiftieth", scope="read")
        with self.assertRaisesMessage(ValidationError, "You already have 50 active tokens"):
            tokens.create_token(self.bob, name="fifty-first", scope="read")
        tokens.revoke_token(made[0], actor=self.bob)
        tokens.create_token(self.bob, name="after a revoke", scope="read")
        self.assertEqual(ApiToken.objects.filter(user=self.bob, revoked_at__isnull=True).count(), 50)


class RevokeTokenTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_revoke_once(self):
        token, raw = tokens.create_token(self.cast["bob"], name="ci", scope="read")
        self.assertIs(tokens.revoke_token(token, actor=self.cast["alice"]), True)
        self.assertIsNotNone(token.revoked_at)  # refreshed in place
        self.assertEqual(AuditEntry.objects.filter(action="token_revoke").count(), 1)
        first = token.revoked_at
        self.assertIs(tokens.revoke_token(token, actor=self.cast["alice"]), False)
        self.assertEqual(token.revoked_at, first)
        entries = AuditEntry.objects.filter(action="token_revoke")
        self.assertEqual([(e.actor, e.origin) for e in entries], [(self.cast["alice"], "ui")])
        self.assertIsNone(tokens.find_token(raw))


class FindTokenTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.token, cls.raw = tokens.create_token(cls.cast["bob"], name="ci", scope="read")

    def test_the_right_secret_finds_its_token_and_user_in_one_query(self):
        with self.assertNumQueries(1):
            found = tokens.find_token(self.raw)
            self.assertEqual(found, self.token)
            self.assertEqual(found.user.team.kind, "sales")  # joined, not a second query

    def test_near_misses_find_nothing(self):
        for raw in [self.raw[:-1], self.raw + "x", self.raw.upper(), "SMK_" + self.raw[4:], self.raw[4:], ""]:
            with self.subTest(raw=raw):
                self.assertIsNone(tokens.find_token(raw))

    def test_keys_without_the_prefix_or_too_long_are_refused_without_a_query(self):
        with self.assertNumQueries(0):
            self.assertIsNone(tokens.find_token("abc_" + self.raw[4:]))
            self.assertIsNone(tokens.find_token("smk_" + "a" * 197))  # 201 characters
        with self.assertNumQueries(1):
            self.assertIsNone(tokens.find_token("smk_" + "a" * 196))  # 200 characters: still looked up

    def test_the_longest_accepted_key_can_match(self):
        raw = "smk_" + "a" * 196
        ApiToken.objects.filter(pk=self.token.pk).update(key_hash=tokens.hash_key(raw))
        self.assertEqual(tokens.find_token(raw), self.token)

    def test_unencodable_keys_do_not_crash(self):
        # A lone surrogate can reach here from a decoded header; it must hash, not raise.
        self.assertIsNone(tokens.find_token("smk_\ud800"))
        self.assertEqual(len(tokens.hash_key("smk_\ud800")), 64)
        self.assertEqual(tokens.hash_key("smk_é"), hashlib.sha256("smk_é".encode()).hexdigest())

    def test_revoked_tokens_and_deactivated_users_find_nothing(self):
        user = self.cast["bob"]
        user.is_active = False
        user.save(update_fields=["is_active"])
        self.assertIsNone(tokens.find_token(self.raw))
        user.is_active = True
        user.save(update_fields=["is_active"])
        self.assertEqual(tokens.find_token(self.raw), self.token)
        ApiToken.objects.filter(pk=self.token.pk).update(revoked_at=timezone.now())
        self.assertIsNone(tokens.find_token(self.raw))


class MarkUsedTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.token, _raw = tokens.create_token(cls.cast["bob"], name="ci", scope="read")

    def stored(self):
        return ApiToken.objects.values_list("last_used_at", flat=True).get(pk=self.token.pk)

    def test_first_use_is_written(self):
        at = timezone.now()
        with mock.patch("smarketing.api.tokens.timezone.now", return_value=at):
            tokens.mark_used(self.token)
        self.assertEqual((self.token.last_used_at, self.stored()), (at, at))

    def test_written_at_most_once_a_minute_with_the_boundary_written(self):
        self.assertEqual(tokens.LAST_USED_RESOLUTION, timedelta(minutes=1))
        start = timezone.now()
        ApiToken.objects.filter(pk=self.token.pk).update(last_used_at=start)
        self.token.last_used_at = start
        for delay, written in [(timedelta(seconds=59), False), (timedelta(seconds=60), True)]:
            with self.subTest(delay=delay):
                at = start + delay
                with mock.patch("smarketing.api.tokens.timezone.now", return_value=at):
                    if written:
                        tokens.mark_used(self.token)
                    else:
                        with self.assertNumQueries(0):
                            tokens.mark_used(self.token)
                self.assertEqual(self.stored(), at if written else start)
                self.assertEqual(self.token.last_used_at, at if written else start)

    def test_a_stale_copy_does_not_write_over_a_recent_use(self):
        # Another process wrote last_used_at 10 s ago; this one still holds a value from 5 minutes ago.
        now = timezone.now()
        ApiToken.objects.filter(pk=self.token.pk).update(last_used_at=now - timedelta(seconds=10))
        self.token.last_used_at = now - timedelta(minutes=5)
        with mock.patch("smarketing.api.tokens.timezone.now", return_value=now):
            tokens.mark_used(self.token)
        self.assertEqual(self.stored(), now - timedelta(seconds=10))
        # Exactly a minute old in the database is old enough, as it is in memory.
        ApiToken.objects.filter(pk=self.token.pk).update(last_used_at=now - timedelta(minutes=1))
        self.token.last_used_at = None
        with mock.patch("smarketing.api.tokens.timezone.now", return_value=now):
            tokens.mark_used(self.token)
        self.assertEqual(self.stored(), now)
