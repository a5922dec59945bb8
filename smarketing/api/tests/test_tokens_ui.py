from smarketing.api.models import ApiToken
from smarketing.api.tests.helpers import ApiTestCase
from smarketing.core.models import AuditEntry


class TokenPageTests(ApiTestCase):
    def test_login_required(self):
        response = self.client.get("/api/tokens/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])

    def test_create_shows_the_secret_once_and_stores_only_its_hash(self):
        self.client.force_login(self.cast["mia"])
        response = self.client.post("/api/tokens/", {"name": "Zapier", "scope": "read"})
        self.assertEqual(response.status_code, 201)
        self.assertEqual(response["Cache-Control"], "no-store")
        secret = response.context["created_secret"]
        self.assertTrue(secret.startswith("smk_"))
        self.assertContains(response, secret, status_code=201)
        token = ApiToken.objects.get(user=self.cast["mia"], name="Zapier")
        self.assertEqual((token.scope, token.prefix), ("read", secret[:12]))
        self.assertNotEqual(token.key_hash, secret)
        # The token works, and the page never shows the secret again.
        self.assertEqual(self.get("/api/v1/teams", token=secret).status_code, 200)
        page = self.client.get("/api/tokens/")
        self.assertNotContains(page, secret)
        self.assertContains(page, token.prefix)
        self.assertContains(page, "Zapier")
        self.assertTrue(AuditEntry.objects.filter(action="token_create", actor=self.cast["mia"]).exists())

    def test_lists_only_own_tokens_with_last_use(self):
        self.get("/api/v1/teams", token=self.tokens["mia"])
        self.client.force_login(self.cast["mia"])
        page = self.client.get("/api/tokens/")
        self.assertEqual([t.user for t in page.context["tokens"]], [self.cast["mia"]])
        self.assertContains(page, "ago")
        self.assertContains(page, "data-confirm=")

    def test_revoke(self):
        self.client.force_login(self.cast["mia"])
        token = ApiToken.objects.get(user=self.cast["mia"])
        response = self.client.post(f"/api/tokens/{token.pk}/revoke/")
        self.assertRedirects(response, "/api/tokens/")
        token.refresh_from_db()
        self.assertIsNotNone(token.revoked_at)
        self.assertProblem(self.get("/api/v1/teams", token=self.tokens["mia"]), 401)
        # Another user's token cannot be revoked (or even seen) from here.
        other = ApiToken.objects.get(user=self.cast["bob"])
        self.assertEqual(self.client.post(f"/api/tokens/{other.pk}/revoke/").status_code, 404)
        self.assertEqual(self.client.get(f"/api/tokens/{token.pk}/revoke/").status_code, 405)

    def test_form_errors(self):
        self.client.force_login(self.cast["mia"])
        response = self.client.post("/api/tokens/", {"name": "", "scope": "admin"})
        self.assertEqual(response.status_code, 200)
        self.assertIsNone(response.context["created_secret"])
        self.assertTrue(response.context["form"].errors)
