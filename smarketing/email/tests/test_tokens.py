from django.db import connection
from django.test import TestCase, override_settings

from smarketing.email import tokens
from smarketing.email.models import EmailSend
from smarketing.email.tests.tracking_fixtures import make_email_campaign
from smarketing.testing import make_contact


class TokenTests(TestCase):
    def test_new_tokens_are_32_url_safe_random_characters(self):
        made = {tokens.new_send_token() for _ in range(200)}
        self.assertEqual(len(made), 200)
        for token in made:
            self.assertEqual(len(token), 32)
            self.assertRegex(token, r"^[A-Za-z0-9_-]{32}$")

    def test_sign_and_unsign_round_trip(self):
        token = tokens.new_send_token()
        signed = tokens.sign(token)
        self.assertEqual(len(signed), tokens.SIGNED_LENGTH)
        self.assertTrue(signed.startswith(token))
        self.assertEqual(tokens.unsign(signed), token)

    def test_tampered_values_are_refused(self):
        token = tokens.new_send_token()
        signed = tokens.sign(token)
        flipped = signed[:-1] + ("A" if signed[-1] != "A" else "B")
        other_token = ("x" if token[0] != "x" else "y") + signed[1:]
        for bad in [flipped, other_token, signed[:-1], signed + "A", "", "../../etc", token, "%" * 54, None, 42]:
            with self.subTest(bad=bad):
                self.assertIsNone(tokens.unsign(bad))

    def test_a_key_change_kills_links_and_a_fallback_keeps_them(self):
        token = tokens.new_send_token()
        signed = tokens.sign(token)
        with override_settings(SECRET_KEY="another-secret-key-" * 3):
            self.assertIsNone(tokens.unsign(signed))
        with override_settings(SECRET_KEY="another-secret-key-" * 3, SECRET_KEY_FALLBACKS=[self._key()]):
            self.assertEqual(tokens.unsign(signed), token)

    def _key(self):
        from django.conf import settings

        return settings.SECRET_KEY

    def test_the_salt_is_its_own(self):
        # A value signed for another purpose (Django's default signer) does not pass.
        from django.core import signing

        token = tokens.new_send_token()
        other = signing.Signer().sign(token).replace(":", "")[: tokens.SIGNED_LENGTH]
        self.assertIsNone(tokens.unsign(other))

    def test_token_sql_makes_distinct_tokens_the_signed_form_accepts(self):
        ec = make_email_campaign()
        contacts = [make_contact() for _ in range(5)]
        table = EmailSend._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (campaign_id, contact_id, email, token, variant, status, claimed_by, "
                "attempts, error, suppressed_reason, message_id, opens, machine_opens, clicks, machine_clicks, "
                f"bounce_kind) SELECT %s, id, email, {tokens.token_sql()}, '', 'queued', '', 0, '', '', '', 0, 0, "
                f"0, 0, '' FROM crm_contact WHERE id IN ({', '.join(['%s'] * 5)})",
                [ec.pk, *[c.pk for c in contacts]],
            )
        made = list(EmailSend.objects.values_list("token", flat=True))
        self.assertEqual(len(set(made)), 5)
        for token in made:
            self.assertEqual(len(token), 32)
            self.assertEqual(tokens.unsign(tokens.sign(token)), token)
