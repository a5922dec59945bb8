"""Test helpers for content files: a private content storage per test class, and real files of each accepted type.

Other content tests may use them too: `ContentStorageMixin` keeps a class's files out of the data directory, and
`make_file_version` stores bytes through files.store_upload as an upload would.
"""

import io
import os
import shutil
import tempfile
import zipfile

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from smarketing.content import files
from smarketing.content.models import Asset, AssetVersion


class ContentStorageMixin:
    """Put first in a TestCase's bases: the "content" storage is an empty temporary folder for the whole class
    (setUpTestData included), removed afterwards."""

    @classmethod
    def setUpClass(cls):
        cls.content_dir = tempfile.mkdtemp(prefix="smk-content-test-")
        storages = {
            **settings.STORAGES,
            "content": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": cls.content_dir},
            },
        }
        override = override_settings(STORAGES=storages)
        override.enable()
        cls.addClassCleanup(shutil.rmtree, cls.content_dir, ignore_errors=True)
        cls.addClassCleanup(override.disable)
        super().setUpClass()

    def stored_names(self) -> set[str]:
        """Every file in the content storage, as storage names."""
        found = set()
        for folder, _dirs, names in os.walk(self.content_dir):
            for name in names:
                found.add(os.path.relpath(os.path.join(folder, name), self.content_dir))
        return found


def make_pdf(colors=("red", "blue"), size=(200, 300)) -> bytes:
    """A real PDF with one page per colour (Pillow writes each image as a page)."""
    pages = [Image.new("RGB", size, color) for color in colors]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:])
    return out.getvalue()


def make_image(fmt: str = "PNG", size=(64, 48), color="green") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def make_mp4() -> bytes:
    """The start of an MP4: an ftyp box (major brand isom) and an empty mdat box."""
    body = b"isom" + b"\x00\x00\x02\x00" + b"isomiso2avc1mp41"  # major brand, minor version, compatible brands
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08mdat" + b"\x00" * 64


def make_webm() -> bytes:
    """An EBML header with DocType "webm" and an empty segment."""
    header = b"\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04"
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header + b"\x18\x53\x80\x67\x80" + b"\x00" * 32


OFFICE_MAIN = {
    "docx": ("word/document.xml", "wordprocessingml.document.main+xml"),
    "pptx": ("ppt/presentation.xml", "presentationml.presentation.main+xml"),
    "xlsx": ("xl/workbook.xml", "spreadsheetml.sheet.main+xml"),
}


def make_office(kind: str = "docx", *, macros: bool = False, content_types: bool = True) -> bytes:
    """A minimal OOXML package: [Content_Types].xml naming the main part, and the part."""
    part, main = OFFICE_MAIN[kind]
    override_type = f"application/vnd.openxmlformats-officedocument.{main}"
    if macros:
        override_type = "application/vnd.ms-word.document.macroEnabled.main+xml"
    types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'content-types"><Override PartName="/{part}" ContentType="{override_type}"/></Types>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        if content_types:
            package.writestr("[Content_Types].xml", types)
        package.writestr(part, "<document/>")
        if macros:
            package.writestr("word/vbaProject.bin", b"\x00macro")
    return out.getvalue()


def make_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return out.getvalue()


def upload(data: bytes, name: str = "file.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def make_asset(owner, **extra) -> Asset:
    extra.setdefault("title", "Q3 case study")
    extra.setdefault("asset_type", "case_study")
    return Asset.objects.create(owner=owner, **extra)


def make_file_version(asset: Asset, data: bytes, name: str = "case-study.pdf", *, number: int = 1, **extra):
    """A version whose file went through store_upload, as the library's services store one."""
    stored = files.store_upload(upload(data, name), name)
    return AssetVersion.objects.create(
        asset=asset,
        number=number,
        file_name=stored.name,
        original_name=stored.original_name,
        mime_type=stored.mime_type,
        size=stored.size,
        sha256=stored.sha256,
        page_count=stored.page_count,
        created_by=asset.owner,
        **extra,
    )
