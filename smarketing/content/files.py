"""Storing uploaded asset files: streamed to the content storage under a random name, size-limited, and typed by
sniffing the bytes (never the extension or the browser's Content-Type); anything off the allow-list is refused.

    store_upload(fileobj, original_name) -> StoredFile   raises UploadRefused with a message for people
    open_file(name) -> File                              from the content storage
    delete_file(name)
    upload_view                                          decorator for a view that receives an asset upload

The allow-list (TYPES) is what a content library needs and what a browser can be handed safely as a download:
PDF, PNG, JPEG, GIF, WebP, MP4, WebM, Word/PowerPoint/Excel (OOXML, no macros), UTF-8 text and CSV. Each type
has its own structural check on top of the signature: the PDF must open in PDFium, the image in Pillow (within
its decompression-bomb limit), the zip must be an OOXML package with its main part. HTML, SVG, XML and scripts
are refused even when renamed, because a file we keep may one day be opened by someone's browser. `puremagic`
names what a refused file looks like, and vetoes "text" that is really a known format.

The storage name is `files/<32 hex>`: nothing in it comes from the person uploading. The original name is
sanitized (no path, no control or formatting characters, capped, given the sniffed type's extension) and used
only in Content-Disposition (views_files.py). Files are never at a URL: views stream them after a permission
or share-token check.
"""

import codecs
import contextlib
import dataclasses
import hashlib
import os
import re
import secrets
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from functools import wraps
from typing import IO

import puremagic
import pypdfium2 as pdfium
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpResponse, HttpResponseBadRequest
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from PIL import Image

STORAGE_ALIAS = "content"
CHUNK = 64 * 1024
HEAD = 8 * 1024  # what the signature checks look at
MAX_NAME = 150  # characters of a sanitized original name
FORM_SLACK = 64 * 1024  # the form's other fields and the multipart framing, on top of the file itself
# Storage names this module writes: files/<hex>, thumbs/<hex>.png, pages/<version pk>/<n>.png (previews.py).
STORAGE_NAME = re.compile(r"(files/[0-9a-f]{32}(_[A-Za-z0-9]{7})?|thumbs/[0-9a-f]{32}\.png|pages/\d+/\d+\.png)")

# PDFium is not thread-safe, not even across documents, and the web server runs threads (WEB_THREADS): every
# call into it, here and in previews.py, holds this lock.
PDFIUM_LOCK = threading.Lock()


class UploadRefused(ValueError):
    """The upload was refused; str(exc) says why, for the person who uploaded it."""


@dataclasses.dataclass(frozen=True)
class StoredFile:
    name: str  # the storage name ("files/<hex>"), random
    original_name: str  # sanitized
    mime_type: str  # sniffed
    size: int
    sha256: str
    page_count: int | None = None  # PDFs


@dataclasses.dataclass(frozen=True)
class FileType:
    """One entry of the allow-list: its MIME type, a word for people, and its extensions (the first is added to a
    name that has none of them)."""

    mime: str
    label: str
    extensions: tuple[str, ...]


PDF = FileType("application/pdf", "PDF", (".pdf",))
PNG = FileType("image/png", "PNG image", (".png",))
JPEG = FileType("image/jpeg", "JPEG image", (".jpg", ".jpeg", ".jpe", ".jfif"))
GIF = FileType("image/gif", "GIF image", (".gif",))
WEBP = FileType("image/webp", "WebP image", (".webp",))
MP4 = FileType("video/mp4", "MP4 video", (".mp4", ".m4v"))
WEBM = FileType("video/webm", "WebM video", (".webm",))
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word document", (".docx",))
PPTX = FileType(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint deck", (".pptx",)
)
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel workbook", (".xlsx",))
TEXT = FileType("text/plain", "text file", (".txt",))
CSV = FileType("text/csv", "CSV file", (".csv",))
TYPES = {t.mime: t for t in (PDF, PNG, JPEG, GIF, WEBP, MP4, WEBM, DOCX, PPTX, XLSX, TEXT, CSV)}
IMAGES = {PNG.mime: "PNG", JPEG.mime: "JPEG", GIF.mime: "GIF", WEBP.mime: "WEBP"}  # Pillow's format names

ACCEPTED = "PDF, PNG, JPEG, GIF, WebP, MP4, WebM, Word, PowerPoint or Excel (.docx, .pptx, .xlsx), text or CSV"
MARKUP = (
    "HTML, SVG and XML files are not accepted, whatever their name: a browser could run what they contain. "
    "Upload a PDF or an image of it instead."
)
NOT_OFFICE = f"Zip archives are not accepted, only Office documents (.docx, .pptx, .xlsx). Upload {ACCEPTED}."


def storage() -> Storage:
    """The content storage (settings.STORAGES["content"]): the data directory, or a private S3 bucket."""
    return storages[STORAGE_ALIAS]


def max_bytes() -> int:
    return settings.CONTENT_MAX_UPLOAD_MB * 1024 * 1024


def too_large_message() -> str:
    return (
        f"The file is larger than {settings.CONTENT_MAX_UPLOAD_MB} MB, the most the library accepts. Make it "
        "smaller (compress the PDF or the video, or link to it as a URL asset), or ask an admin to raise "
        "CONTENT_MAX_UPLOAD_MB."
    )


# ---------------------------------------------------------------------------------------------------------
# Storing


def store_upload(fileobj: IO[bytes], original_name: str) -> StoredFile:
    """Check `fileobj` (an UploadedFile or any binary file object) against the size limit and the allow-list, then
    write it to the content storage under a new random name. Raises UploadRefused; nothing is stored then."""
    with _seekable(fileobj) as fh:
        size, sha256 = _measure(fh)
        if size == 0:
            raise UploadRefused("The file is empty.")
        file_type, page_count = sniff(fh, original_name)
        name = _save(fh)
    return StoredFile(
        name=name,
        original_name=sanitize_name(original_name, file_type),
        mime_type=file_type.mime,
        size=size,
        sha256=sha256,
        page_count=page_count,
    )


def open_file(name: str) -> File:
    """A stored file, opened for reading (the caller closes it). Refuses names this module did not make."""
    _check_name(name)
    return storage().open(name, "rb")


def delete_file(name: str) -> None:
    """Remove a stored file; a file already gone is not an error."""
    _check_name(name)
    storage().delete(name)


def _check_name(name: str) -> None:
    # Names come from our own rows, but a row is data: never let one reach outside the library's folders.
    if not STORAGE_NAME.fullmatch(name or ""):
        raise ValueError(f"Not a content storage name: {name!r}")


@contextlib.contextmanager
def _seekable(fileobj: IO[bytes]) -> Iterator[IO[bytes]]:
    """The upload itself when it can seek (Django's uploads can), else a bounded temporary copy of it."""
    seekable = getattr(fileobj, "seekable", None)
    if seekable is not None and seekable():
        fileobj.seek(0)
        yield fileobj
        return
    limit = max_bytes()
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as copy:
        copied = 0
        while chunk := fileobj.read(CHUNK):
            copied += len(chunk)
            if copied > limit:
                raise UploadRefused(too_large_message())
            copy.write(chunk)
        copy.seek(0)
        yield copy


def _measure(fh: IO[bytes]) -> tuple[int, str]:
    """Size and sha256 in one pass, stopping as soon as the file passes the limit."""
    limit = max_bytes()
    digest = hashlib.sha256()
    size = 0
    fh.seek(0)
    while chunk := fh.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise UploadRefused(too_large_message())
        digest.update(chunk)
    fh.seek(0)
    return size, digest.hexdigest()


def _save(fh: IO[bytes]) -> str:
    name = f"files/{secrets.token_hex(16)}"
    target = storage()
    fh.seek(0)
    try:
        return target.save(name, File(fh, name=name))
    except BaseException:
        # A half-written file (disk full, S3 gone) must not stay behind under a name no row knows.
        with contextlib.suppress(Exception):
            target.delete(name)
        raise


# ---------------------------------------------------------------------------------------------------------
# Sniffing


def sniff(fh: IO[bytes], original_name: str = "") -> tuple[FileType, int | None]:
    """The allow-listed type of a seekable file and, for a PDF, its page count; raises UploadRefused.

    The bytes decide. The name only matters for text, which has no signature: a text file must be named .txt or
    .csv, so a script or a page keeps its refusal when it is plain text underneath."""
    fh.seek(0)
    head = fh.read(HEAD)
    fh.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF, _pdf_page_count(fh)
    image = _image_type(head)
    if image is not None:
        _check_image(fh, image)
        return image, None
    if _is_mp4(head):
        return MP4, None
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"\x42\x82\x84webm" in head[:64]:  # EBML with DocType "webm"
        return WEBM, None
    if head.startswith(b"PK\x03\x04"):
        return _office_type(fh), None
    text = _text_type(fh, head, original_name)
    if text is not None:
        return text, None
    raise UploadRefused(_refusal(head))


def _pdf_page_count(fh: IO[bytes]) -> int:
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(fh, autoclose=False)
        except pdfium.PdfiumError:
            # Also the "polyglot": a file that starts like a PDF to pass a signature check but is something else.
            raise UploadRefused(
                "This PDF could not be opened: it is damaged, password-protected, or not really a PDF. Export it "
                "again from the program that made it."
            )
        try:
            pages = len(pdf)
        finally:
            pdf.close()
    fh.seek(0)
    if pages < 1:
        raise UploadRefused("This PDF has no pages.")
    return pages


def _image_type(head: bytes) -> FileType | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    return None


def _check_image(fh: IO[bytes], file_type: FileType) -> None:
    """Pillow must read the header as that format (and only that parser is tried), within its pixel limit."""
    damaged = f"This {file_type.label} could not be read: it is damaged or not really an image."
    try:
        with Image.open(fh, formats=[IMAGES[file_type.mime]]) as img:
            if over_pixel_limit(img):
                raise UploadRefused(too_many_pixels(img.width, img.height))
            img.verify()
    except Image.DecompressionBombError:
        raise UploadRefused(f"This {file_type.label} has too many pixels to be processed safely.")
    except UploadRefused:
        raise
    except Exception:  # Pillow raises many kinds (OSError, SyntaxError, ValueError...) for a broken file
        raise UploadRefused(damaged)
    finally:
        fh.seek(0)


def over_pixel_limit(img: Image.Image) -> bool:
    """Pillow's decompression-bomb limit, which Image.open only enforces at twice the value (it warns in between)."""
    limit = Image.MAX_IMAGE_PIXELS
    return limit is not None and img.width * img.height > limit


def too_many_pixels(width: int, height: int) -> str:
    return (
        f"The image is {width} × {height} pixels, more than the {Image.MAX_IMAGE_PIXELS:,} the library processes. "
        "Scale it down and upload it again."
    )


# MP4's major brands ("ftyp" box); QuickTime (.mov), audio-only and HEIF/AVIF images share the box and are not video.
MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}
NOT_MP4 = {b"qt  ", b"M4A ", b"M4B ", b"M4P ", b"heic", b"heix", b"mif1", b"msf1", b"avif", b"crx "}


def _is_mp4(head: bytes) -> bool:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    major = head[8:12]
    if major in MP4_BRANDS:
        return True
    box = int.from_bytes(head[:4], "big")
    compatible = {head[i : i + 4] for i in range(16, min(box, len(head)) - 3, 4)}
    return major not in NOT_MP4 and bool(compatible & {b"isom", b"iso2", b"mp41", b"mp42"})


# An OOXML package's main part, and the content type [Content_Types].xml must give it.
OFFICE_PARTS = [
    ("word/document.xml", b"wordprocessingml.document.main+xml", DOCX),
    ("ppt/presentation.xml", b"presentationml.presentation.main+xml", PPTX),
    ("xl/workbook.xml", b"spreadsheetml.sheet.main+xml", XLSX),
]


def _office_type(fh: IO[bytes]) -> FileType:
    """A zip is only accepted as a Word, PowerPoint or Excel package, and never with macros."""
    try:
        with zipfile.ZipFile(fh) as package:
            names = set(package.namelist())
            if "[Content_Types].xml" not in names:
                raise UploadRefused(NOT_OFFICE)
            if package.getinfo("[Content_Types].xml").file_size > 1024 * 1024:
                raise UploadRefused(NOT_OFFICE)  # a real one is a few kB; this one would be a zip bomb's lure
            content_types = package.read("[Content_Types].xml")
    except UploadRefused:
        raise
    except Exception:  # zipfile raises BadZipFile, RuntimeError (encrypted), NotImplementedError, zlib.error...
        raise UploadRefused("This file could not be read: it looks like a damaged zip or Office document.")
    finally:
        fh.seek(0)
    if b"macroEnabled" in content_types or any(n.lower().endswith("vbaproject.bin") for n in names):
        raise UploadRefused("Office documents with macros are not accepted. Save it as .docx, .pptx or .xlsx.")
    for part, main_type, file_type in OFFICE_PARTS:
        if part in names and main_type in content_types:
            return file_type
    raise UploadRefused(NOT_OFFICE)


MARKUP_SIGNS = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<iframe", b"<object")
SCRIPT_MIMES = ("html", "xml", "svg", "javascript", "ecmascript", "x-sh", "x-php", "x-python", "x-perl")
CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # binary data; text keeps \t \n \f \r


def _text_type(fh: IO[bytes], head: bytes, original_name: str) -> FileType | None:
    """TEXT or CSV for UTF-8 text named .txt/.csv; None for binary data; UploadRefused for markup and scripts."""
    if CONTROL.search(head):
        return None
    lowered = head[:4096].lower()
    if lowered.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") or any(sign in lowered for sign in MARKUP_SIGNS):
        raise UploadRefused(MARKUP)
    if lowered.startswith(b"#!") or _puremagic_says(head, SCRIPT_MIMES):
        raise UploadRefused(f"Scripts and code are not accepted. Upload {ACCEPTED}.")
    extension = os.path.splitext(sanitize_name(original_name))[1].lower()
    if extension not in (".txt", ".csv"):
        raise UploadRefused(f"Text files are accepted as .txt or .csv only. Upload {ACCEPTED}.")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := fh.read(CHUNK):
            if CONTROL.search(chunk):
                raise UploadRefused("This text file contains binary data. Save it as plain UTF-8 text.")
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UploadRefused("This text file is not UTF-8. Save it as UTF-8 and upload it again.")
    finally:
        fh.seek(0)
    return CSV if extension == ".csv" else TEXT


def _puremagic_says(head: bytes, mime_words: tuple[str, ...]) -> bool:
    try:
        guesses = puremagic.magic_string(head)
    except puremagic.PureError:
        return False
    return any(word in (guess.mime_type or "") for guess in guesses[:3] for word in mime_words)


def _refusal(head: bytes) -> str:
    """Why a file off the allow-list is refused, naming what it looks like when puremagic knows."""
    try:
        guesses = puremagic.magic_string(head)
    except puremagic.PureError:
        guesses = []
    if any(word in (g.mime_type or "") for g in guesses[:3] for word in ("html", "xml", "svg")):
        return MARKUP
    if head.startswith((b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xca\xfe\xba\xbe")):
        return f"Programs are not accepted. Upload {ACCEPTED}."
    if guesses:
        guess = guesses[0]
        what = guess.name + (f" ({guess.extension})" if guess.extension else "")
        return f"This file was recognised as {what}, which the library does not accept. Upload {ACCEPTED}."
    return f"The type of this file could not be recognised from its contents. Upload {ACCEPTED}."


# ---------------------------------------------------------------------------------------------------------
# Names


WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')


def sanitize_name(name: str, file_type: FileType | None = None) -> str:
    """A file name safe to offer in Content-Disposition: no folders, no control or invisible formatting characters
    (a right-to-left override can make "fdp.exe" read as "exe.pdf"), capped at MAX_NAME characters, and, given the
    sniffed type, ending with one of its extensions ("page.html" holding a PDF becomes "page.html.pdf")."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[/\\]", name)[-1]
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if category.startswith("Z") or ch.isspace():
            kept.append(" ")
        elif not category.startswith("C"):
            kept.append(ch)
    name = WINDOWS_RESERVED.sub("_", " ".join("".join(kept).split())).strip(" .")
    stem, extension = os.path.splitext(name)
    if len(extension) > 16 or extension == ".":
        stem, extension = name, ""
    if file_type is not None and extension.lower() not in file_type.extensions:
        stem, extension = name, file_type.extensions[0]
    stem = stem[: MAX_NAME - len(extension)].rstrip(" .") or "file"
    return stem + extension


# ---------------------------------------------------------------------------------------------------------
# Receiving an upload over HTTP


class LimitedUploadHandler(FileUploadHandler):
    """Counts the bytes of the request's files and stops reading at the limit, before Django's own handlers (memory,
    then a temporary file, which StopUpload closes and so deletes) keep more. The view sees `too_large`."""

    def __init__(self, request=None, limit: int = 0):
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.too_large = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            # The client sent more than its Content-Length let through (checked first): stop reading at once.
            raise StopUpload(connection_reset=True)
        return raw_data  # passed on to the next handler

    def file_complete(self, file_size):
        return None  # the next handler makes the UploadedFile


def upload_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a view that receives an asset upload (`request.FILES`), on top of its other decorators.

    A POST whose Content-Length is over the limit gets the 413 page before a byte of the body is read; a body that
    turns out larger is stopped at the limit with the same page, its partial file deleted. CSRF is still checked:
    the upload handler has to be installed before anything reads the body, which the CSRF check would do, so the
    outer function is csrf_exempt and the view itself csrf_protect (Django's "modifying upload handlers on the
    fly"). The view then calls store_upload(), which checks the size again and the type.
    """
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            limit = max_bytes()
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit + FORM_SLACK:
                return too_large_response(request)
            handler = LimitedUploadHandler(request, limit)
            request.upload_handlers.insert(0, handler)
            try:
                request.FILES  # noqa: B018 - reads the body now, through the handler, before the CSRF check
            except MultiPartParserError:
                return HttpResponseBadRequest("The upload could not be read. Try again.")
            if handler.too_large:
                return too_large_response(request)
        return protected(request, *args, **kwargs)

    return wrapper


def too_large_response(request) -> HttpResponse:
    """413: plain text for htmx (shown in a toast), else a page that says the limit."""
    message = too_large_message()
    if getattr(request, "htmx", False):
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
    return render(request, "content/files_too_large.html", {"message": message}, status=413)
