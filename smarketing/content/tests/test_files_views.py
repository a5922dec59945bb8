"""Downloads, thumbnails and page images: signed-in people only, attachments with a safe type and sandboxing
headers, pictures rendered from a real PDF and a real PNG, bounded and cached."""

import io
from unittest import mock

from django.conf import settings
from django.test import TestCase
from django.urls import reverse
from PIL import Image

from smarketing.content import files, previews
from smarketing.content.models import AssetVersion, VersionStatus
from smarketing.content.tests.files_fixtures import (
    ContentStorageMixin,
    make_asset,
    make_file_version,
    make_image,
    make_mp4,
    make_pdf,
)
from smarketing.content.views_files import attachment_header, file_response
from smarketing.testing import make_cast


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"
        return img.size


def centre_colour(data: bytes) -> str:
    """The colour in the middle of a picture, by name (Pillow's PDFs hold JPEGs: close, not exact)."""
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB").getpixel((img.width // 2, img.height // 2))
    names = {"red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255), "white": (255, 255, 255)}
    for name, expected in names.items():
        if all(abs(a - b) <= 8 for a, b in zip(rgb, expected, strict=True)):
            return name
    return str(rgb)


class DownloadTests(ContentStorageMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.asset = make_asset(cls.cast["mia"])
        cls.pdf = make_pdf()
        cls.version = make_file_version(cls.asset, cls.pdf, "Étude de cas – Q3.pdf")

    def url(self, version=None):
        return reverse("content:version_download", args=[(version or self.version).pk])

    def test_anonymous_is_sent_to_sign_in(self):
        response = self.client.get(self.url())
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(reverse(settings.LOGIN_URL)))

    def test_a_read_only_user_downloads_an_attachment(self):
        self.client.force_login(self.cast["rory"])
        response = self.client.get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertEqual(b"".join(response.streaming_content), self.pdf)
        self.assertEqual(response["Content-Type"], "application/pdf")
        self.assertEqual(
            response["Content-Disposition"],
            'attachment; filename="Etude de cas _ Q3.pdf"; '
            "filename*=UTF-8''%C3%89tude%20de%20cas%20%E2%80%93%20Q3.pdf",
        )
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        self.assertEqual(response["Content-Security-Policy"], "sandbox; default-src 'none'")
        self.assertIn("private", response["Cache-Control"])
        self.assertEqual(int(response["Content-Length"]), len(self.pdf))

    def test_a_type_off_the_allow_list_is_served_as_octet_stream(self):
        """A row written some other way (an old import, a bug) still never reaches the browser as HTML."""
        stored = files.store_upload(io.BytesIO(b"hello\n"), "x.txt")
        version = AssetVersion.objects.create(
            asset=self.asset,
            number=2,
            file_name=stored.name,
            original_name="page.html",
            mime_type="text/html",
            size=stored.size,
        )
        self.client.force_login(self.cast["bob"])
        response = self.client.get(self.url(version))
        self.assertEqual(response["Content-Type"], "application/octet-stream")
        self.assertTrue(response["Content-Disposition"].startswith('attachment; filename="page.html"'))
        self.assertEqual(response["Content-Security-Policy"], "sandbox; default-src 'none'")

    def test_a_url_version_or_a_missing_file_is_404(self):
        url_version = AssetVersion.objects.create(asset=self.asset, number=3, url="https://example.com/blog")
        gone = AssetVersion.objects.create(
            asset=self.asset, number=4, file_name="files/" + "0" * 32, mime_type="application/pdf"
        )
        self.client.force_login(self.cast["bob"])
        self.assertEqual(self.client.get(self.url(url_version)).status_code, 404)
        with self.assertLogs("smarketing.content.views_files", "ERROR"):
            self.assertEqual(self.client.get(self.url(gone)).status_code, 404)
        self.assertEqual(self.client.get(reverse("content:version_download", args=[999999])).status_code, 404)

    def test_post_is_not_allowed(self):
        self.client.force_login(self.cast["alice"])
        self.assertEqual(self.client.post(self.url()).status_code, 405)

    def test_attachment_header(self):
        self.assertEqual(attachment_header("deck.pdf"), "attachment; filename=\"deck.pdf\"; filename*=UTF-8''deck.pdf")
        self.assertEqual(
            attachment_header('a"b\\c;.pdf'), "attachment; filename=\"a_b_c.pdf\"; filename*=UTF-8''a%22b%5Cc%3B.pdf"
        )
        self.assertEqual(
            attachment_header("日本.pdf"),
            "attachment; filename=\"download.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf",
        )

    def test_file_response_under_another_name(self):
        """The share viewer offers the asset's title as the name: slashes are kept as dashes, the type's extension
        is added."""
        response = file_response(self.version, filename="Our story / 2025")
        self.assertIn('filename="Our story - 2025.pdf"', response["Content-Disposition"])
        response.file_to_stream.close()  # not response.close(): outside a request it would close the database


class PictureTests(ContentStorageMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.asset = make_asset(cls.cast["mia"])
        cls.pdf_version = make_file_version(cls.asset, make_pdf(colors=("red", "blue")), "deck.pdf")
        cls.image_asset = make_asset(cls.cast["mia"], title="Logo", asset_type="one_pager")
        cls.png_version = make_file_version(cls.image_asset, make_image("PNG", size=(2000, 1000)), "logo.png")

    def setUp(self):
        self.client.force_login(self.cast["rory"])

    def test_pdf_thumbnail(self):
        previews.after_store(self.pdf_version)
        self.pdf_version.refresh_from_db()
        self.assertRegex(self.pdf_version.thumbnail_name, r"^thumbs/[0-9a-f]{32}\.png$")
        with files.open_file(self.pdf_version.thumbnail_name) as fh:
            data = fh.read()
        self.assertEqual(png_size(data), (267, 400))  # a 200 × 300 pt page fitted in 400 × 400
        self.assertEqual(centre_colour(data), "red")  # the first page
        self.assertEqual(previews.ensure_thumbnail(self.pdf_version), self.pdf_version.thumbnail_name)  # kept

    def test_png_thumbnail(self):
        name = previews.ensure_thumbnail(self.png_version)
        with files.open_file(name) as fh:
            self.assertEqual(png_size(fh.read()), (400, 200))

    def test_no_thumbnail_for_video_or_url(self):
        video = make_file_version(make_asset(self.cast["mia"]), make_mp4(), "demo.mp4")
        link = AssetVersion.objects.create(asset=self.asset, number=9, url="https://example.com/")
        self.assertIsNone(previews.ensure_thumbnail(video))
        self.assertIsNone(previews.ensure_thumbnail(link))

    def test_a_failing_thumbnail_is_logged_not_raised(self):
        with mock.patch.object(previews, "render_pdf_page", side_effect=RuntimeError("PDFium broke")):
            with self.assertLogs("smarketing.content.previews", "WARNING"):
                previews.after_store(self.pdf_version)
            self.assertIsNone(previews.ensure_thumbnail(self.pdf_version))  # not retried at once
        self.pdf_version.refresh_from_db()
        self.assertEqual(self.pdf_version.thumbnail_name, "")

    def test_pdf_pages(self):
        first, second = previews.page_png(self.pdf_version, 1), previews.page_png(self.pdf_version, 2)
        self.assertEqual(png_size(first), (1200, 1800))
        self.assertEqual(centre_colour(first), "red")
        self.assertEqual(centre_colour(second), "blue")
        self.assertIn(f"pages/{self.pdf_version.pk}/2.png", self.stored_names())
        with mock.patch.object(previews, "render_pdf_page", side_effect=AssertionError("rendered again")):
            self.assertEqual(previews.page_png(self.pdf_version, 2), second)  # from the storage
        for n in (0, 3, -1):
            with self.subTest(n=n), self.assertRaises(ValueError):
                previews.page_png(self.pdf_version, n)

    def test_a_tall_page_is_fitted_not_stretched(self):
        tall = make_file_version(make_asset(self.cast["mia"]), make_pdf(colors=("white",), size=(100, 2000)), "t.pdf")
        self.assertEqual(png_size(previews.page_png(tall, 1)), (240, 4800))

    def test_image_page(self):
        self.assertEqual(png_size(previews.page_png(self.png_version, 1)), (1200, 600))
        with self.assertRaises(ValueError):
            previews.page_png(self.png_version, 2)

    def test_an_image_over_the_pixel_limit_is_not_rendered(self):
        with mock.patch.object(Image, "MAX_IMAGE_PIXELS", 1000), self.assertWarns(Image.DecompressionBombWarning):
            with self.assertRaises(ValueError):
                previews.render_image(io.BytesIO(make_image("PNG", size=(40, 40))), "PNG", previews.THUMB_BOX)

    def test_version_page_view(self):
        response = self.client.get(reverse("content:version_page", args=[self.pdf_version.pk, 2]))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "image/png")
        self.assertEqual(centre_colour(response.content), "blue")
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        self.assertIn("private", response["Cache-Control"])
        self.assertEqual(
            self.client.get(reverse("content:version_page", args=[self.pdf_version.pk, 3])).status_code, 404
        )

    def test_asset_thumb_view_prefers_the_published_version(self):
        newer = make_file_version(self.asset, make_pdf(colors=("green",)), "deck-v2.pdf", number=2)
        url = reverse("content:asset_thumb", args=[self.asset.pk])
        # Nothing published: the latest version's (made on first request if the upload did not).
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(centre_colour(b"".join(response.streaming_content)), "green")
        self.assertNotIn("Content-Disposition", response)
        self.pdf_version.status = VersionStatus.APPROVED
        self.pdf_version.save()
        self.asset.published_version = self.pdf_version
        self.asset.save()
        response = self.client.get(url)
        self.assertEqual(centre_colour(b"".join(response.streaming_content)), "red")
        self.assertIn("private", response["Cache-Control"])
        newer.refresh_from_db()
        self.assertTrue(newer.thumbnail_name)

    def test_asset_thumb_placeholder(self):
        empty = make_asset(self.cast["mia"], title="Nothing yet")
        video = make_asset(self.cast["mia"], title="Video")
        make_file_version(video, make_mp4(), "demo.mp4")
        for asset in (empty, video):
            with self.subTest(asset=asset.title):
                response = self.client.get(reverse("content:asset_thumb", args=[asset.pk]))
                self.assertEqual(response.status_code, 404)
                self.assertEqual(response["Content-Type"], "image/png")
                self.assertEqual(png_size(response.content), (160, 120))

    def test_anonymous_gets_no_pictures(self):
        self.client.logout()
        for url in (
            reverse("content:asset_thumb", args=[self.asset.pk]),
            reverse("content:version_page", args=[self.pdf_version.pk, 1]),
        ):
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).status_code, 302)

    def test_asset_thumb_queries(self):
        previews.ensure_thumbnail(self.pdf_version)
        url = reverse("content:asset_thumb", args=[self.asset.pk])
        self.client.get(url)
        # The session, the user, the asset with its published version, its latest version.
        with self.assertNumQueries(4):
            self.client.get(url)

    def test_delete_pictures(self):
        previews.ensure_thumbnail(self.png_version)
        previews.page_png(self.png_version, 1)
        previews.delete_pictures(self.png_version)
        leftovers = [n for n in self.stored_names() if n.startswith(f"pages/{self.png_version.pk}/")]
        self.assertEqual(leftovers, [])
        self.assertNotIn(self.png_version.thumbnail_name, self.stored_names())
