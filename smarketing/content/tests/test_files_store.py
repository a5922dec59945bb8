"""files.store_upload: the allow-list of types sniffed from the bytes, hostile files refused with nothing left
behind, the size limit, random storage names, and sanitized original names."""

import hashlib
import io
import os
import re
from unittest import mock

from django.test import SimpleTestCase, override_settings
from PIL import Image

from smarketing.content import files
from smarketing.content.tests.files_fixtures import (
    ContentStorageMixin,
    make_image,
    make_mp4,
    make_office,
    make_pdf,
    make_webm,
    make_zip,
    upload,
)

SVG_WITH_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)">'
    b"<script>fetch('/api/v1/contacts').then(r => r.text()).then(alert)</script></svg>"
)


class Pipe(io.RawIOBase):
    """A file object that cannot seek, like a socket or a pipe."""

    def __init__(self, data: bytes):
        self.inner = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        return self.inner.readinto(buffer)


HTML = b"<!DOCTYPE html><html><body><script>alert(document.domain)</script></body></html>"


class AcceptedTypesTests(ContentStorageMixin, SimpleTestCase):
    def assert_stored(self, data: bytes, name: str, mime: str, **expected) -> files.StoredFile:
        stored = files.store_upload(upload(data, name), name)
        self.assertEqual(stored.mime_type, mime)
        self.assertEqual(stored.size, len(data))
        self.assertEqual(stored.sha256, hashlib.sha256(data).hexdigest())
        self.assertRegex(stored.name, r"^files/[0-9a-f]{32}$")
        with files.open_file(stored.name) as fh:
            self.assertEqual(fh.read(), data)
        for field, value in expected.items():
            self.assertEqual(getattr(stored, field), value)
        return stored

    def test_pdf_with_its_page_count(self):
        self.assert_stored(make_pdf(colors=("red", "blue", "green")), "deck.pdf", "application/pdf", page_count=3)

    def test_images(self):
        self.assert_stored(make_image("PNG"), "logo.png", "image/png", page_count=None)
        self.assert_stored(make_image("JPEG"), "photo.jpeg", "image/jpeg", original_name="photo.jpeg")
        self.assert_stored(make_image("GIF"), "anim.gif", "image/gif")
        self.assert_stored(make_image("WEBP"), "hero.webp", "image/webp")

    def test_videos(self):
        self.assert_stored(make_mp4(), "demo.mp4", "video/mp4")
        self.assert_stored(make_webm(), "demo.webm", "video/webm")

    def test_office_documents(self):
        self.assert_stored(make_office("docx"), "brief.docx", files.DOCX.mime)
        self.assert_stored(make_office("pptx"), "pitch.pptx", files.PPTX.mime)
        self.assert_stored(make_office("xlsx"), "roi.xlsx", files.XLSX.mime)

    def test_text_and_csv(self):
        self.assert_stored("Hello — plain text\n".encode(), "notes.txt", "text/plain")
        self.assert_stored(b"name,amount\nAcme,1000\n", "prices.csv", "text/csv")

    def test_the_bytes_decide_not_the_name(self):
        """A PNG named .pdf is a PNG, and the name it is offered under gets the PNG extension."""
        stored = self.assert_stored(make_image("PNG"), "report.pdf", "image/png")
        self.assertEqual(stored.original_name, "report.pdf.png")

    def test_a_stream_without_seek_is_copied_first(self):
        data = make_pdf()
        stored = files.store_upload(Pipe(data), "piped.pdf")
        self.assertEqual((stored.mime_type, stored.page_count, stored.size), ("application/pdf", 2, len(data)))

    def test_delete_file(self):
        stored = files.store_upload(upload(make_image("PNG"), "a.png"), "a.png")
        files.delete_file(stored.name)
        self.assertNotIn(stored.name, self.stored_names())
        files.delete_file(stored.name)  # already gone: no error

    def test_open_file_refuses_names_it_did_not_make(self):
        for name in ("../settings.py", "/etc/passwd", "files/../../x", "files/abc", ""):
            with self.subTest(name=name), self.assertRaises(ValueError):
                files.open_file(name)


class HostileFileTests(ContentStorageMixin, SimpleTestCase):
    """Each refused file leaves the storage as it was, with a message that says why."""

    def assert_refused(self, data: bytes, name: str, message: str) -> None:
        before = self.stored_names()
        with self.assertRaises(files.UploadRefused) as caught:
            files.store_upload(upload(data, name), name)
        self.assertIn(message, str(caught.exception))
        self.assertEqual(self.stored_names(), before)

    def test_html_renamed_pdf(self):
        self.assert_refused(HTML, "invoice.pdf", "HTML, SVG and XML files are not accepted")

    def test_html_with_leading_whitespace_and_bom(self):
        self.assert_refused(b"\xef\xbb\xbf\n\n  " + HTML, "notes.txt", "HTML, SVG and XML")

    def test_html_hidden_in_text(self):
        self.assert_refused(b"Dear customer,\n<script>alert(1)</script>\n", "letter.txt", "HTML, SVG and XML")

    def test_svg_with_script(self):
        self.assert_refused(SVG_WITH_SCRIPT, "logo.svg", "HTML, SVG and XML files are not accepted")

    def test_svg_renamed_png(self):
        self.assert_refused(SVG_WITH_SCRIPT, "logo.png", "HTML, SVG and XML files are not accepted")

    def test_svg_without_script(self):
        self.assert_refused(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "a.svg", "SVG")

    def test_xml(self):
        self.assert_refused(b'<?xml version="1.0"?><feed><entry/></feed>', "feed.xml", "XML files are not")

    def test_javascript(self):
        self.assert_refused(b"fetch('/api').then(r => alert(r))\n", "tracker.js", "accepted as .txt or .csv only")

    def test_shell_script_named_txt(self):
        self.assert_refused(b"#!/bin/sh\nrm -rf /\n", "readme.txt", "Scripts and code are not accepted")

    def test_executables(self):
        self.assert_refused(b"MZ\x90\x00\x03" + b"\x00" * 200, "setup.pdf", "Programs are not accepted")
        self.assert_refused(b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "tool.png", "Programs are not accepted")

    def test_a_polyglot_that_only_starts_like_a_pdf(self):
        polyglot = b"%PDF-1.7\n" + HTML + b"\n%%EOF\n"
        self.assert_refused(polyglot, "brochure.pdf", "This PDF could not be opened")

    def test_a_truncated_pdf(self):
        self.assert_refused(make_pdf()[:200], "cut.pdf", "This PDF could not be opened")

    def test_a_zip_that_is_not_office(self):
        self.assert_refused(make_zip(), "files.zip", "Zip archives are not accepted")
        self.assert_refused(make_zip(), "renamed.docx", "Zip archives are not accepted")

    def test_a_zip_with_content_types_but_no_main_part(self):
        self.assert_refused(make_office("docx", content_types=False), "brief.docx", "Zip archives are not accepted")

    def test_office_with_macros(self):
        self.assert_refused(make_office("docx", macros=True), "brief.docm", "macros are not accepted")

    def test_a_damaged_zip(self):
        self.assert_refused(make_office("docx")[:120], "brief.docx", "damaged zip")

    def test_an_image_whose_bytes_do_not_match_its_signature(self):
        self.assert_refused(b"\x89PNG\r\n\x1a\n" + HTML, "logo.png", "could not be read")

    def test_an_unknown_binary(self):
        self.assert_refused(bytes(range(256)) * 4, "data.pdf", "could not be recognised")

    def test_latin1_text(self):
        self.assert_refused("prix,€\ncafé,3\n".encode("cp1252"), "prices.csv", "not UTF-8")

    def test_empty_file(self):
        self.assert_refused(b"", "empty.pdf", "The file is empty")

    def test_an_image_over_pillows_pixel_limit(self):
        """Over the limit (Pillow only warns), and over twice the limit (Pillow refuses itself)."""
        with mock.patch.object(Image, "MAX_IMAGE_PIXELS", 1000):
            with self.assertWarns(Image.DecompressionBombWarning):
                self.assert_refused(make_image("PNG", size=(40, 40)), "big.png", "40 × 40 pixels, more than the 1,000")
            self.assert_refused(make_image("GIF", size=(100, 100)), "bomb.gif", "too many pixels")


class SizeLimitTests(ContentStorageMixin, SimpleTestCase):
    @override_settings(CONTENT_MAX_UPLOAD_MB=1)
    def test_over_the_limit_is_refused_and_nothing_stored(self):
        before = self.stored_names()
        data = b"a,b\n" * (1024 * 1024 // 4 + 1)
        with self.assertRaisesMessage(files.UploadRefused, "larger than 1 MB"):
            files.store_upload(upload(data, "big.csv"), "big.csv")
        with self.assertRaisesMessage(files.UploadRefused, "larger than 1 MB"):
            files.store_upload(Pipe(data), "big.csv")  # the copy stops at the limit too
        self.assertEqual(self.stored_names(), before)

    @override_settings(CONTENT_MAX_UPLOAD_MB=1)
    def test_exactly_the_limit_is_accepted(self):
        data = b"a,b\n" * (1024 * 1024 // 4)
        self.assertEqual(files.store_upload(upload(data, "ok.csv"), "ok.csv").size, 1024 * 1024)

    def test_a_failed_write_leaves_nothing(self):
        before = self.stored_names()

        def half_write(name, content):
            path = files.storage().path(name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(b"%PDF-1.4 half")
            raise OSError("disk full")

        with mock.patch.object(files.storage().__class__, "_save", side_effect=half_write):
            with self.assertRaises(OSError):
                files.store_upload(upload(make_pdf(), "a.pdf"), "a.pdf")
        self.assertEqual(self.stored_names(), before)  # the half-written file was removed


class NameTests(ContentStorageMixin, SimpleTestCase):
    def test_storage_name_never_comes_from_the_upload(self):
        for name in ("../../etc/passwd.pdf", "files/../../../x.pdf", "C:\\Windows\\evil.pdf", "a\x00b.pdf"):
            with self.subTest(name=name):
                stored = files.store_upload(upload(make_pdf(), "x.pdf"), name)
                self.assertRegex(stored.name, r"^files/[0-9a-f]{32}$")
        self.assertTrue(all(re.fullmatch(r"files/[0-9a-f]{32}", n) for n in self.stored_names()))

    def test_sanitize_name(self):
        cases = [
            ("../../etc/passwd.pdf", files.PDF, "passwd.pdf"),
            ("..\\..\\boot.ini", None, "boot.ini"),
            ("report\x00.exe.pdf", files.PDF, "report.exe.pdf"),
            ("line\r\nbreak.pdf", files.PDF, "line break.pdf"),
            ("invoice\u202efdp.exe", files.PDF, "invoicefdp.exe.pdf"),  # the right-to-left override is dropped
            ("page.html", files.PDF, "page.html.pdf"),
            ('what "is" <this>?.png', files.PNG, "what _is_ _this__.png"),
            ("..", files.PDF, "file.pdf"),
            ("", files.PNG, "file.png"),
            ("   .hidden.pdf  ", files.PDF, "hidden.pdf"),
            ("Straße – Übersicht.PDF", files.PDF, "Straße – Übersicht.PDF"),
        ]
        for raw, file_type, expected in cases:
            with self.subTest(raw=raw):
                self.assertEqual(files.sanitize_name(raw, file_type), expected)

    def test_long_names_are_capped_keeping_the_extension(self):
        name = files.sanitize_name("x" * 500 + ".pdf", files.PDF)
        self.assertEqual(len(name), files.MAX_NAME)
        self.assertTrue(name.endswith("x.pdf"))

    def test_the_original_name_is_kept_sanitized(self):
        stored = files.store_upload(upload(make_pdf(), "x.pdf"), "../../Q3\x07 results.pdf")
        self.assertEqual(stored.original_name, "Q3 results.pdf")
