"""`smarketing createtoken`: a working token printed once, the scope it was given, and clear refusals."""

import io

from django.core.management import CommandError, call_command
from django.test import TestCase

from smarketing.api.models import ApiToken
from smarketing.core.models import AuditEntry
from smarketing.testing import make_cast


class CreateTokenTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def run_command(self, *args) -> tuple[str, str]:
        out, err = io.StringIO(), io.StringIO()
        call_command("createtoken", *args, stdout=out, stderr=err)
        return out.getvalue().strip(), err.getvalue()

    def test_prints_a_token_that_works_with_its_scope(self):
        secret, note = self.run_command("--email", "MIA@example.com", "--scope", "read")
        self.assertTrue(secret.startswith("smk_"))
        self.assertEqual(len(secret.splitlines()), 1)  # only the secret on stdout
        self.assertIn("for mia@example.com", note)
        token = ApiToken.objects.get(user=self.cast["mia"])
        self.assertEqual((token.scope, token.name), ("read", "Command line"))
        self.assertNotIn(secret, token.key_hash)  # stored hashed
        auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
        self.assertEqual(self.client.get("/api/v1/contacts", **auth).status_code, 200)
        # A read token cannot write.
        response = self.client.post(
            "/api/v1/contacts", {"email": "x@example.com"}, content_type="application/json", **auth
        )
        self.assertEqual(response.status_code, 403)
        entry = AuditEntry.objects.get(action="token_create")
        self.assertEqual(entry.origin, "system")

    def test_a_read_write_token_writes(self):
        secret, _ = self.run_command("--email", "mia@example.com", "--scope", "read_write", "--name", "nightly sync")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
        response = self.client.post(
            "/api/v1/contacts", {"email": "new@example.com"}, content_type="application/json", **auth
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(ApiToken.objects.get(user=self.cast["mia"]).name, "nightly sync")

    def test_refusals(self):
        with self.assertRaisesMessage(CommandError, "No active user with the email 'nobody@example.com'"):
            self.run_command("--email", "nobody@example.com", "--scope", "read")
        self.cast["bob"].is_active = False
        self.cast["bob"].save()
        with self.assertRaises(CommandError):
            self.run_command("--email", "bob@example.com", "--scope", "read")
        with self.assertRaises(CommandError):  # argparse refuses an unknown scope
            self.run_command("--email", "mia@example.com", "--scope", "admin")
        self.assertFalse(ApiToken.objects.exists())
