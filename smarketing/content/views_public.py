"""The public viewer of share links under /c/ (no login): the page, its page images, the download and the
viewer's beacon.

Hostile by design:
- The token is looked up on its unique index (sharing.live_share); an unknown, revoked or expired link, a retired
  asset or one with nothing published all get the same 404 page, so a link tells nothing about why it stopped.
- The page shows the asset's current published version, its title and description and the sharer's display
  name: nothing about the contact, other shares, other versions, the review or the library.
- A URL asset's address comes from the stored version (http/https only), never from the request: no open
  redirect. Links leave with no referrer (Referrer-Policy: no-referrer), so the token never reaches another site.
- No inline script (the app's CSP), nothing third-party, noindex, no-store.
- Openings and downloads are rate-limited per client address (CONTENT_VIEW_RATE_PER_IP a minute, core.ratelimit);
  page images and beacons have their own, larger allowances.
- The beacon is CSRF-exempt: it reads no session or cookie, only the signed view key in its small JSON body
  (salted for that purpose, for that share), so a forged cross-site request can only add what a real viewer
  could — and time is capped per beat and per opening anyway.
- A signed-in person opening a link (a rep checking their own) sees it with a "preview — not tracked" banner and
  records nothing; link unfurlers and crawlers are not tracked either.
"""

import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from smarketing.accounts.access import is_person
from smarketing.accounts.throttle import client_ip
from smarketing.content import sharing
from smarketing.core.ratelimit import over_limit

logger = logging.getLogger(__name__)

WINDOW = 60
PAGE_RATE_FACTOR = 40  # page images per opening allowance: a long PDF scrolled through quickly
BEACON_RATE_FACTOR = 20
MAX_BEACON_BYTES = 2048
MAX_BEACON_SECONDS = 3600  # more than this in one beat is no viewer's: refused
MAX_BEACON_PAGES = 200
NO_STORE = "no-store, private, max-age=0"
# User agents that fetch a link to preview it (chat unfurlers, mail scanners that say so) or crawl: served, not
# tracked. Lowercase substrings.
UNTRACKED_AGENTS = (
    "bot",
    "crawler",
    "spider",
    "slurp",
    "facebookexternalhit",
    "embedly",
    "whatsapp",
    "skypeuripreview",
    "preview",
    "curl/",
    "python-requests",
    "wget/",
)
GONE_TITLE = "This link doesn't work"
GONE_MESSAGE = (
    "It may have expired or been withdrawn, or it was copied incompletely. Ask the person who sent it for a new one."
)


def _finish(response: HttpResponse, cache: str = NO_STORE) -> HttpResponse:
    response["Cache-Control"] = cache
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _message(request, title: str, message: str, status: int) -> HttpResponse:
    response = render(request, "content/public_message.html", {"title": title, "message": message}, status=status)
    return _finish(response)


def _gone(request) -> HttpResponse:
    """The one answer for every link that does not work (unknown, revoked, expired, retired)."""
    return _message(request, GONE_TITLE, GONE_MESSAGE, 404)


def _too_many(request) -> HttpResponse:
    response = _message(request, "Too many requests", "Please wait a minute and try again.", 429)
    response["Retry-After"] = str(WINDOW)
    return response


def _limited(request, bucket: str, factor: int = 1) -> bool:
    return over_limit(
        f"content:{bucket}:{client_ip(request)}", limit=settings.CONTENT_VIEW_RATE_PER_IP * factor, window=WINDOW
    )


def untracked(request) -> bool:
    """Staff (anyone signed in) and link unfurlers or crawlers: shown the content, never counted."""
    if is_person(getattr(request, "user", None)):
        return True
    agent = request.headers.get("User-Agent", "").lower()
    return not agent or any(marker in agent for marker in UNTRACKED_AGENTS)


def kind_of(version) -> str:
    """How the viewer shows a version: "pages" (a PDF's page images), "image" (one page), "url", or "file"
    (anything else: the title and the download)."""
    if version.url and not version.is_file:
        return "url"
    if version.mime_type == "application/pdf":
        return "pages"
    if version.mime_type.startswith("image/"):
        return "image"
    return "file"


def safe_url(url: str) -> str:
    """The stored address if it is http(s); "" otherwise (a javascript: or data: URL is never a link)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url or "")
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


@login_not_required
@require_GET
def view(request, token: str):
    if _limited(request, "view"):
        return _too_many(request)
    share = sharing.live_share(token)
    if share is None:
        return _gone(request)
    asset = share.asset
    version = asset.published_version
    kind = kind_of(version)
    preview = untracked(request)
    beacon_key = download_key = ""
    if not preview:
        opening = sharing.record_open(share)
        beacon_key = sharing.sign_view(opening)
        download_key = sharing.sign_view(opening, sharing.DOWNLOAD_SALT)
    pages = range(1, sharing.page_count(version) + 1) if kind in ("pages", "image") else range(0)
    download_url = ""
    if version.is_file:
        download_url = reverse("content_public:download", args=[share.token])
        if download_key:
            download_url += "?k=" + download_key
    context = {
        "share": share,
        "asset": asset,
        "version": version,
        "kind": kind,
        "pages": pages,
        "link": safe_url(version.url) if kind == "url" else "",
        "shared_by": share.shared_by.display_name if share.shared_by_id and share.shared_by.is_active else "",
        "preview": preview,
        "signed_in": is_person(request.user),
        "beacon_url": reverse("content_public:beacon", args=[share.token]) if beacon_key else "",
        "beacon_key": beacon_key,
        "download_url": download_url,
    }
    return _finish(render(request, "content/public_view.html", context))


def _page_png(version, number: int) -> bytes:
    from smarketing.content import previews  # the files part's module

    return previews.page_png(version, number)


@login_not_required
@require_GET
def page(request, token: str, number: int):
    """One page of the published version as a PNG (rendered and cached by previews; never the uploaded bytes)."""
    if _limited(request, "page", PAGE_RATE_FACTOR):
        response = HttpResponse(status=429)
        response["Retry-After"] = str(WINDOW)
        return _finish(response)
    share = sharing.live_share(token)
    if share is None:
        return _gone(request)
    version = share.asset.published_version
    if kind_of(version) not in ("pages", "image") or not 1 <= number <= sharing.page_count(version):
        return _gone(request)
    try:
        png = _page_png(version, number)
    except Exception:  # a file the renderer cannot read: a missing image, not a 500 on a public page
        logger.exception("content: page %s of version %s could not be rendered", number, version.pk)
        return _gone(request)
    response = HttpResponse(png, content_type="image/png")
    # The URL carries the version (?v=), so a newly approved version is fetched fresh; a revoked link's pages
    # stay in that one browser's cache for a few minutes at most.
    return _finish(response, cache="private, max-age=300")


def _file_response(version):
    from smarketing.content import views_files  # the files part's module

    return views_files.file_response(version)


@login_not_required
@require_GET
def download(request, token: str):
    """The published file, as an attachment; one content_downloaded touch per opening (the key says which)."""
    if _limited(request, "view"):
        return _too_many(request)
    share = sharing.live_share(token)
    if share is None:
        return _gone(request)
    version = share.asset.published_version
    if not version.is_file:
        return _gone(request)
    response = _file_response(version)  # first: a file gone from storage is a 404 (Http404), not a download
    if not untracked(request):
        opening = sharing.view_for_key(share, request.GET.get("k", ""), sharing.DOWNLOAD_SALT)
        sharing.record_download(opening or share)
    return _finish(response)


def _bad(message: str, status: int = 400) -> JsonResponse:
    return _finish(JsonResponse({"error": message}, status=status))


def _int(value, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


@csrf_exempt  # reads no session or cookie: only the signed view key in the body (see the module's docstring)
@login_not_required
@require_POST
def beacon(request, token: str):
    """The viewer's heartbeat: {"key": signed view key, "seconds": n, "pages": [n, ...], "page": n} → 204."""
    if _limited(request, "beacon", BEACON_RATE_FACTOR):
        return _bad("Too many requests.", 429)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _bad("Bad length.")
    if length > MAX_BEACON_BYTES:
        return _bad("Too large.", 413)
    share = sharing.live_share(token)
    if share is None:
        return _bad("No such link.", 404)
    try:
        body = json.loads(request.read(MAX_BEACON_BYTES + 1)[:MAX_BEACON_BYTES] or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _bad("Send a JSON object.")
    if not isinstance(body, dict):
        return _bad("Send a JSON object.")
    opening = sharing.view_for_key(share, body.get("key"))
    if opening is None:
        return _bad("Bad key.")
    last = sharing.page_count(opening.version)
    seconds = _int(body.get("seconds", 0), 0, MAX_BEACON_SECONDS)
    pages = body.get("pages", [])
    page = body.get("page")
    if seconds is None:
        return _bad("Bad seconds.")
    if not isinstance(pages, list) or len(pages) > MAX_BEACON_PAGES or any(_int(p, 1, last) is None for p in pages):
        return _bad("Bad pages.")
    if page is not None and _int(page, 1, last) is None:
        return _bad("Bad page.")
    sharing.record_heartbeat(opening, seconds, page=page, pages=pages)
    return _finish(HttpResponse(status=204))
