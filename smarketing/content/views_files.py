"""Serving the library's files to signed-in people: a version's download, an asset's thumbnail, a PDF's pages.

Uploads are never at a URL of their own; these views (and the public share viewer, through `file_response` and
`page_response`) stream them after a check. A download is always an attachment with a type from the allow-list
(application/octet-stream for anything else), `nosniff`, and a sandboxing Content-Security-Policy, so even a
file that fooled the sniffing could not run as a page of this site. Responses are cacheable by the browser only.
"""

import logging
import os
import re
import unicodedata
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from smarketing.content import access, files, previews
from smarketing.content.models import Asset, AssetVersion

logger = logging.getLogger(__name__)

SANDBOX_CSP = "sandbox; default-src 'none'"
THUMB_MAX_AGE = 300  # an asset's thumbnail changes when a new version is published
PAGE_MAX_AGE = 3600  # a version's pages never change; an hour keeps a revoked share's pages from living long
ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()-]+", re.ASCII)


@login_required
@require_GET
def version_download(request, pk: int):
    """The file of any version (drafts too: everyone who sees the library may read its work in progress)."""
    access.require_see(request.user)
    version = get_object_or_404(AssetVersion, pk=pk)
    return file_response(version)


@login_required
@require_GET
def asset_thumb(request, pk: int):
    """The thumbnail of the published version, or of the latest one while nothing is published."""
    access.require_see(request.user)
    asset = get_object_or_404(Asset.objects.select_related("published_version"), pk=pk)
    version = asset.published_version or asset.versions.order_by("-number").first()
    name = previews.ensure_thumbnail(version) if version is not None else None
    if not name:
        return placeholder_response()
    return _png_file(name, THUMB_MAX_AGE)


@login_required
@require_GET
def version_page(request, pk: int, n: int):
    """Page `n` of a version as a PNG, for the library's viewer."""
    access.require_see(request.user)
    version = get_object_or_404(AssetVersion, pk=pk)
    return page_response(version, n)


# ---------------------------------------------------------------------------------------------------------
# Responses (the public share viewer uses these too)


def file_response(version: AssetVersion, *, filename: str | None = None) -> FileResponse:
    """Stream a version's file as a download. `filename` (e.g. the asset's title) replaces the uploaded name; either
    is sanitized and given the sniffed type's extension. Http404 for a URL version or a file gone from storage."""
    if not version.is_file:
        raise Http404("This version is a link, not a file.")
    try:
        fh = files.open_file(version.file_name)
    except (FileNotFoundError, ValueError):
        logger.error("The file of asset version %s is missing from the content storage", version.pk)
        raise Http404("The file is missing.")
    response = FileResponse(fh, content_type=safe_content_type(version.mime_type))
    if filename:
        filename = filename.replace("/", "-").replace("\\", "-")  # a title, not a path: keep all of it
    name = files.sanitize_name(filename or version.original_name, files.TYPES.get(version.mime_type))
    response["Content-Disposition"] = attachment_header(name)
    _harden(response)
    patch_cache_control(response, private=True, no_cache=True)  # every download passes the check again
    return response


def page_response(version: AssetVersion, n: int, *, max_age: int = PAGE_MAX_AGE) -> HttpResponse:
    """Page `n` of a version (previews.page_png) as image/png; Http404 for a page it does not have."""
    try:
        png = previews.page_png(version, n)
    except ValueError:
        raise Http404("No such page.")
    response = HttpResponse(png, content_type="image/png")
    _harden(response)
    patch_cache_control(response, private=True, max_age=max_age)
    return response


def placeholder_response() -> HttpResponse:
    """A 404 that is still an image (a plain tile), so an <img> without a thumbnail keeps its layout."""
    response = HttpResponse(previews.placeholder_png(), content_type="image/png", status=404)
    _harden(response)
    patch_cache_control(response, private=True, max_age=THUMB_MAX_AGE)
    return response


def safe_content_type(mime_type: str) -> str:
    """The sniffed type when it is on the allow-list (text with its charset), else application/octet-stream."""
    if mime_type not in files.TYPES:
        return "application/octet-stream"
    if mime_type.startswith("text/"):
        return f"{mime_type}; charset=utf-8"
    return mime_type


def attachment_header(filename: str) -> str:
    """Content-Disposition for a download (RFC 6266): an ASCII `filename` for old clients and the exact name in
    `filename*` (RFC 5987, UTF-8, percent-encoded)."""
    stem, extension = os.path.splitext(filename)
    fallback = _ascii(stem).strip(" ._") or "download"
    fallback += _ascii(extension) if extension else ""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _ascii(text: str) -> str:
    """Accents dropped ("É" → "E"), anything else outside a small safe set made "_"."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return ASCII_UNSAFE.sub("_", plain)


def _png_file(name: str, max_age: int) -> HttpResponse:
    try:
        fh = files.open_file(name)
    except FileNotFoundError:
        logger.error("The picture %s is missing from the content storage", name)
        return placeholder_response()
    response = FileResponse(fh, content_type="image/png")
    response.headers.pop("Content-Disposition", None)  # FileResponse names the storage file; a picture is shown
    _harden(response)
    patch_cache_control(response, private=True, max_age=max_age)
    return response


def _harden(response: HttpResponse) -> None:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"  # no other site may embed it with our cookies
