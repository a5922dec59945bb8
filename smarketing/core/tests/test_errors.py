"""The styled 403, 404 and 500 pages (core/errors.py), as production serves them (DEBUG off)."""

from django.db import connection
from django.test import RequestFactory, TestCase, override_settings
from django.urls import reverse

from smarketing.core import errors
from smarketing.testing import make_cast


def no_database(execute, sql, params, many, context):
    raise AssertionError(f"the 500 page must not query the database: {sql}")


@override_settings(DEBUG=False)
class ErrorPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_missing_page_is_styled_inside_the_layout_with_navigation(self):
        self.client.force_login(self.cast["bob"])
        response = self.client.get("/no-such-page/")
        self.assertEqual(response.status_code, 404)
        self.assertTemplateUsed(response, "404.html")
        self.assertContains(response, '<h1 id="error-heading">Page not found</h1>', status_code=404, html=False)
        self.assertContains(response, 'aria-label="Main"', status_code=404)  # the sidebar navigation
        self.assertContains(response, f'href="{reverse("contact_list")}"', status_code=404)
        self.assertContains(response, "Skip to main content", status_code=404)
        self.assertContains(response, "Log out", status_code=404)
        self.assertNotContains(response, "Not Found</h1>", status_code=404)

    def test_missing_record_gets_the_same_page(self):
        self.client.force_login(self.cast["bob"])
        response = self.client.get(reverse("contact_detail", args=[999999]))
        self.assertEqual(response.status_code, 404)
        self.assertContains(response, errors.NOT_FOUND, status_code=404)

    def test_missing_page_for_a_visitor_offers_the_way_in_without_the_navigation(self):
        response = self.client.get("/no-such-page/")
        self.assertEqual(response.status_code, 404)
        self.assertContains(response, "Page not found", status_code=404)
        self.assertNotContains(response, 'aria-label="Main"', status_code=404)

    def test_missing_page_answers_htmx_with_text_for_the_toast(self):
        self.client.force_login(self.cast["bob"])
        response = self.client.get("/no-such-page/", headers={"HX-Request": "true"})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["Content-Type"], "text/plain; charset=utf-8")
        self.assertEqual(response.content.decode(), errors.NOT_FOUND)

    def test_missing_api_path_stays_a_problem_document(self):
        response = self.client.get("/api/v1/nothing-here")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["Content-Type"], "application/problem+json")

    def test_refused_action_is_the_styled_403_page(self):
        self.client.force_login(self.cast["bob"])
        response = self.client.get(reverse("audit_log"))
        self.assertEqual(response.status_code, 403)
        self.assertContains(response, "You can't do that", status_code=403)
        self.assertContains(response, 'aria-label="Main"', status_code=403)

    def test_server_error_renders_without_a_request_context_or_the_database(self):
        request = RequestFactory().get("/anything/")  # no user, no session, no middleware ran
        with connection.execute_wrapper(no_database), self.assertNumQueries(0):
            response = errors.server_error(request)
        self.assertEqual(response.status_code, 500)
        html = response.content.decode()
        self.assertIn("Server error", html)
        self.assertIn(errors.SERVER_ERROR, html)
        self.assertIn('aria-label="Main"', html)  # the layout and its navigation, without a user
        self.assertIn(f'href="{reverse("contact_list")}"', html)
        self.assertNotIn("Log out", html)

    def test_server_error_falls_back_to_a_bare_page_when_its_template_breaks(self):
        with override_settings(TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": []}]):
            with self.assertLogs("smarketing.core.errors", "ERROR"):
                response = errors.server_error(RequestFactory().get("/"))
        self.assertEqual(response.status_code, 500)
        self.assertIn(errors.SERVER_ERROR, response.content.decode())

    def test_a_crashing_view_answers_the_styled_500_page(self):
        self.client.force_login(self.cast["bob"])
        self.client.raise_request_exception = False
        with override_settings(ROOT_URLCONF="smarketing.core.tests.crash_urls"):
            response = self.client.get("/crash/")
        self.assertEqual(response.status_code, 500)
        self.assertContains(response, "Server error", status_code=500)
        self.assertContains(response, 'aria-label="Main"', status_code=500)
