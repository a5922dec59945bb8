"""Pictures of asset versions: a thumbnail for the library, and page images for the in-browser viewers.

    after_store(version)                 the hook services call once a version's file is stored
    ensure_thumbnail(version) -> name    a PNG in the content storage (version.thumbnail_name), or None
    page_png(version, n) -> bytes        page n of a PDF (or the image, n=1), ~1200 px wide, cached in storage

Only PDFs (first page, through PDFium) and images (through Pillow) have pictures; video, Office documents and URL
assets do not. A viewer never gets the file itself: it gets these PNGs, so nothing an upload contains can run in
a page. Every size is bounded (a tall PDF page is fitted in a box, not just scaled to a width) and Pillow's
decompression-bomb limit holds. Rendering a first page takes tens of milliseconds for a normal PDF, so the
thumbnail is made in the request that stores the version; page images are made on first view and kept.
"""

import functools
import io
import logging
import secrets

import pypdfium2 as pdfium
from django.core.cache import cache
from django.core.files.base import ContentFile
from PIL import Image, ImageOps

from smarketing.content import files
from smarketing.content.models import AssetVersion

logger = logging.getLogger(__name__)

THUMB_BOX = (400, 400)
PAGE_BOX = (1200, 4800)  # the viewer's width; a page more than four times taller than wide is fitted, not cut
FAILED_FOR = 3600  # seconds a failed thumbnail is not tried again (the thumb URL is on every library row)


def can_preview(version: AssetVersion) -> bool:
    """A file version whose type has pictures: a PDF or an image."""
    return version.is_file and (version.mime_type == files.PDF.mime or version.mime_type in files.IMAGES)


def after_store(version: AssetVersion) -> None:
    """Make what a newly stored version shows in the library (its thumbnail). Never raises: a version without a
    picture is still a good version, so a failure is logged and the library shows the type's placeholder."""
    try:
        ensure_thumbnail(version)
    except Exception:  # ensure_thumbnail already catches rendering errors; this is for the storage or the database
        logger.exception("Could not make the thumbnail of asset version %s", version.pk)


def ensure_thumbnail(version: AssetVersion) -> str | None:
    """The storage name of the version's thumbnail, rendering and saving it (version.thumbnail_name) if it has none
    yet; None when the version has no picture or rendering failed (logged, and not retried for an hour)."""
    if version.thumbnail_name:
        return version.thumbnail_name
    if not can_preview(version):
        return None
    failed_key = f"content:thumb-failed:{version.pk}"
    if cache.get(failed_key):
        return None
    try:
        png = _png(_render(version, 1, THUMB_BOX))
    except Exception:  # a file that rendered at upload may not render later (a new PDFium); never fail the page
        logger.warning("Could not render the thumbnail of asset version %s", version.pk, exc_info=True)
        cache.set(failed_key, True, FAILED_FOR)
        return None
    name = files.storage().save(f"thumbs/{secrets.token_hex(16)}.png", ContentFile(png))
    # Two requests may render at once: the first name written wins, the other's file is removed.
    if AssetVersion.objects.filter(pk=version.pk, thumbnail_name="").update(thumbnail_name=name):
        version.thumbnail_name = name
    else:
        files.delete_file(name)
        version.thumbnail_name = AssetVersion.objects.values_list("thumbnail_name", flat=True).get(pk=version.pk)
    return version.thumbnail_name or None


def page_count(version: AssetVersion) -> int:
    """Pages the viewer can show: a PDF's pages, 1 for an image, 0 for anything else."""
    if not can_preview(version):
        return 0
    if version.mime_type != files.PDF.mime:
        return 1
    if version.page_count:
        return version.page_count
    with files.open_file(version.file_name) as fh, files.PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(fh, autoclose=False)
        try:
            return len(pdf)
        finally:
            pdf.close()


def page_png(version: AssetVersion, n: int) -> bytes:
    """Page `n` (from 1) as a PNG about 1200 px wide, kept in storage at pages/<version pk>/<n>.png after the first
    rendering (a version's file never changes). ValueError when there is no such page."""
    count = page_count(version)
    if not 1 <= n <= count:
        raise ValueError(f"Version {version.pk} has no page {n} (it has {count}).")
    name = f"pages/{version.pk}/{n}.png"
    storage = files.storage()
    if storage.exists(name):
        with files.open_file(name) as fh:
            return fh.read()
    png = _png(_render(version, n, PAGE_BOX))
    saved = storage.save(name, ContentFile(png))
    if saved != name:  # another request stored the same page meanwhile; keep one copy
        storage.delete(saved)
    return png


def delete_pictures(version: AssetVersion) -> None:
    """Remove a version's thumbnail and cached pages (for a version whose file is deleted)."""
    if version.thumbnail_name:
        files.delete_file(version.thumbnail_name)
    storage = files.storage()
    folder = f"pages/{version.pk}"
    try:
        _, names = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        storage.delete(f"{folder}/{name}")


def _render(version: AssetVersion, n: int, box: tuple[int, int]) -> Image.Image:
    with files.open_file(version.file_name) as fh:
        if version.mime_type == files.PDF.mime:
            return render_pdf_page(fh, n - 1, box)
        return render_image(fh, files.IMAGES[version.mime_type], box)


def render_pdf_page(fh, index: int, box: tuple[int, int]) -> Image.Image:
    """Page `index` (from 0) of a PDF file object, scaled to fit `box`, on white."""
    with files.PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(fh, autoclose=False)
        try:
            page = pdf[index]
            try:
                width, height = page.get_size()  # points, rotation applied
                scale = min(box[0] / max(width, 1), box[1] / max(height, 1))
                bitmap = page.render(scale=scale, may_draw_forms=False)
                try:
                    return bitmap.to_pil().convert("RGB")  # a copy: the bitmap's buffer is freed below
                finally:
                    bitmap.close()
            finally:
                page.close()
        finally:
            pdf.close()


def render_image(fh, pillow_format: str, box: tuple[int, int]) -> Image.Image:
    """An image file object (its first frame), turned upright and scaled down to fit `box`."""
    with Image.open(fh, formats=[pillow_format]) as img:
        if files.over_pixel_limit(img):
            raise ValueError(files.too_many_pixels(img.width, img.height))
        if img.format == "JPEG":
            img.draft("RGB", box)  # decode a big photo at 1/2, 1/4 or 1/8 of its size: much less work
        upright = ImageOps.exif_transpose(img)
        upright.thumbnail(box)
        has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
        return upright.convert("RGBA" if has_alpha else "RGB")


@functools.cache
def placeholder_png() -> bytes:
    """A plain light tile, for a thumbnail that does not exist."""
    return _png(Image.new("RGB", (160, 120), (238, 240, 243)))


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()
