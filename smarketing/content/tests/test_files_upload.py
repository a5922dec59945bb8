"""files.upload_view through HTTP: the size limit before the body is read (413, nothing in the storage or the temp
folder), a body larger than its Content-Length let through stopped at the limit, CSRF still enforced, and
hostile files refused end to end. A test-only view stands in for the library's upload pages."""

import os
import shutil
import tempfile
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from django.http import JsonResponse
from django.test import Client, TestCase, override_settings
from django.urls import path

import smarketing.urls
from smarketing.content import files
from smarketing.content.tests.files_fixtures import ContentStorageMixin, make_pdf
from smarketing.testing import make_cast

CSRF_SECRET = "a" * 32  # an unmasked token, accepted as cookie and form value alike


@files.upload_view
def receive_upload(request):
    """What a library view does with an upload: store_upload, and the refusal's message for the person."""
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": "no file"}, status=400)
    try:
        stored = files.store_upload(upload, upload.name)
    except files.UploadRefused as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"name": stored.name, "original_name": stored.original_name, "mime": stored.mime_type})


def _file(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


urlpatterns = [path("test-upload/", receive_upload), *smarketing.urls.urlpatterns]


@override_settings(ROOT_URLCONF=__name__, CONTENT_MAX_UPLOAD_MB=1)
class UploadViewTests(ContentStorageMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def setUp(self):
        self.temp_dir = tempfile.mkdtemp(prefix="smk-upload-tmp-")
        self.addCleanup(shutil.rmtree, self.temp_dir, True)
        # Small in-memory limit: uploads go to temporary files, so the test sees they are removed.
        settings = override_settings(FILE_UPLOAD_TEMP_DIR=self.temp_dir, FILE_UPLOAD_MAX_MEMORY_SIZE=1024)
        settings.enable()
        self.addCleanup(settings.disable)
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(self.cast["mia"])
        self.client.cookies["csrftoken"] = CSRF_SECRET

    def post(self, data: bytes, name: str):
        return self.client.post("/test-upload/", {"file": _file(data, name), "csrfmiddlewaretoken": CSRF_SECRET})

    def test_a_pdf_is_stored(self):
        response = self.post(make_pdf(), "Case study.pdf")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["mime"], "application/pdf")
        self.assertIn(response.json()["name"], self.stored_names())

    def test_over_the_limit_by_content_length_is_413_before_reading(self):
        before = self.stored_names()
        response = self.post(b"%PDF-" + b"0" * (1024 * 1024 + files.FORM_SLACK), "huge.pdf")
        self.assertEqual(response.status_code, 413)
        self.assertContains(response, "larger than 1 MB", status_code=413)
        self.assertEqual(self.stored_names(), before)
        self.assertEqual(os.listdir(self.temp_dir), [])

    def test_over_the_limit_within_the_slack_is_stopped_by_the_handler(self):
        """The Content-Length passes (the form could have been mostly other fields); the file's bytes do not."""
        before = self.stored_names()
        stops = []
        original = files.LimitedUploadHandler.receive_data_chunk

        def spy(handler, raw_data, start):
            try:
                return original(handler, raw_data, start)
            except StopUpload:
                stops.append(handler.received)
                raise

        with mock.patch.object(files.LimitedUploadHandler, "receive_data_chunk", spy):
            response = self.post(b"%PDF-" + b"0" * (1024 * 1024 + 10), "huge.pdf")
        self.assertEqual(response.status_code, 413)
        self.assertEqual(len(stops), 1)  # stopped by the handler, not by the Content-Length check
        self.assertLess(stops[0], 1024 * 1024 + 70 * 1024)
        self.assertContains(response, "The file is too large", status_code=413)
        self.assertEqual(self.stored_names(), before)
        self.assertEqual(os.listdir(self.temp_dir), [])  # the temporary upload file is gone too

    def test_htmx_gets_the_message_as_text(self):
        response = self.client.post(
            "/test-upload/",
            {"file": _file(b"0" * (2 * 1024 * 1024), "big.pdf"), "csrfmiddlewaretoken": CSRF_SECRET},
            headers={"HX-Request": "true"},
        )
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response["Content-Type"], "text/plain; charset=utf-8")
        self.assertIn("larger than 1 MB", response.content.decode())

    def test_csrf_is_still_checked(self):
        before = self.stored_names()
        response = self.client.post("/test-upload/", {"file": _file(make_pdf(), "a.pdf")})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.stored_names(), before)

    def test_csrf_token_in_the_header_works_too(self):
        response = self.client.post(
            "/test-upload/", {"file": _file(make_pdf(), "a.pdf")}, headers={"X-CSRFToken": CSRF_SECRET}
        )
        self.assertEqual(response.status_code, 200)

    def test_anonymous_is_sent_to_sign_in(self):
        self.client.logout()
        response = self.client.post("/test-upload/", {"file": _file(make_pdf(), "a.pdf")})
        self.assertEqual(response.status_code, 302)
        self.assertIn("/login/", response["Location"])

    def test_html_renamed_pdf_is_refused(self):
        html = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
        before = self.stored_names()
        response = self.post(html, "invoice.pdf")
        self.assertEqual(response.status_code, 400)
        self.assertIn("HTML, SVG and XML files are not accepted", response.json()["error"])
        self.assertEqual(self.stored_names(), before)

    def test_svg_with_script_is_refused(self):
        svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        response = self.post(svg, "logo.svg")
        self.assertEqual(response.status_code, 400)
        self.assertIn("SVG", response.json()["error"])

    def test_path_traversal_and_null_bytes_in_the_file_name(self):
        response = self.post(make_pdf(), "../../../etc/cron.d/x\x00.pdf")
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertRegex(body["name"], r"^files/[0-9a-f]{32}$")
        self.assertNotIn("/", body["original_name"])
        self.assertNotIn("\x00", body["original_name"])
        self.assertTrue(body["original_name"].endswith(".pdf"))
        outside = [n for n in self.stored_names() if not n.startswith("files/")]
        self.assertEqual(outside, [])
