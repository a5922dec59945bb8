"""parse_hit: one raw hit (query or body parameters, and a few headers) into a clean page-view record, or None.

A PURE function (no request, no database; the settings come in as an argument) so that the Django views and the
ingest's WSGI fast path share it. The endpoints are public and hostile, so it keeps only what it knows: the
allow-listed parameters below, each capped, URLs http(s) only, control characters removed (PostgreSQL refuses
NUL in text). It drops the hit (None) when tracking is off, when the browser says Do-Not-Track or Global Privacy
Control and the install honours them, when consent is required and the script did not say it was given, when
the page or the caller's Origin is not an allowed site, and for crawlers that announce themselves.

The record is JSON-ready (the ingest may write it to a journal before the database): strings, an int or None.
"""

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from smarketing.forms.tracking import tokens
from smarketing.forms.tracking.config import TrackingConfig, current_settings, normalize_origin

# The parameters the script sends (t.js); nothing else is read.
PARAMS = ("vid", "url", "title", "referrer", "consent", tokens.PARAM)
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
VID = re.compile(r"[A-Za-z0-9_-]{16,32}")
MAX_URL = 2000
MAX_PATH = 500
MAX_HOST = 200
MAX_TITLE = 300
MAX_UTM = 200
MAX_PARAM = 4000  # longer raw values are not even looked at
MAX_BODY = 8192  # bytes of a POSTed hit (the views refuse to read more)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
CRAWLERS = re.compile(r"bot\b|bot/|crawler|spider|slurp|facebookexternalhit|embedly|preview", re.IGNORECASE)
# The headers parse_hit reads, by lower-case name.
HEADERS = ("dnt", "sec-gpc", "origin", "referer", "user-agent")


def headers_from_meta(meta: Mapping) -> dict[str, str]:
    """The headers parse_hit reads, from a WSGI environ or request.META."""
    return {name: meta.get("HTTP_" + name.upper().replace("-", "_"), "") for name in HEADERS}


def params_from_body(body: bytes) -> dict[str, str]:
    """The parameters of a POSTed hit: an urlencoded string sent as text/plain (sendBeacon) or a form body."""
    if len(body) > MAX_BODY:
        return {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return first_values(pairs)


def first_values(pairs) -> dict[str, str]:
    """The first value of each allow-listed parameter (pairs or a mapping of lists, e.g. request.GET.lists())."""
    out: dict[str, str] = {}
    for key, value in pairs:
        if key in PARAMS and key not in out:
            if isinstance(value, list):
                value = value[0] if value else ""
            out[key] = value if isinstance(value, str) else ""
    return out


def _text(value, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    return _CONTROL.sub(" ", value[:MAX_PARAM]).strip()[:limit]


def clean_url(value) -> str | None:
    """An absolute http(s) URL without its fragment and without a click token, at most MAX_URL long; or None."""
    value = _text(value, MAX_PARAM)
    if not value or normalize_origin(value) is None:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    url = tokens.without_click_token(
        urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))
    )
    if len(url) > MAX_URL:  # keep the page, lose the over-long query
        url = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
    return url if len(url) <= MAX_URL else None


def _dropped_by_browser(headers: Mapping, config: TrackingConfig) -> bool:
    return config.honour_dnt and (headers.get("dnt", "").strip() == "1" or headers.get("sec-gpc", "").strip() == "1")


def parse_hit(
    params: Mapping[str, str], headers: Mapping[str, str], *, now: datetime, config: TrackingConfig | None = None
) -> dict | None:
    """The clean record of a hit, or None to drop it. `headers` by lower-case name (headers_from_meta); `config`
    defaults to current_settings() (a cached read), the fast path passes its own."""
    config = config or current_settings()
    if not config.enabled or _dropped_by_browser(headers, config):
        return None
    if config.require_consent and params.get("consent") != "1":
        return None
    if CRAWLERS.search(headers.get("user-agent", "")[:500]):
        return None
    # The pixel in a <noscript> has no parameters: the page is the one that embeds it (its Referer).
    url = clean_url(params.get("url") or headers.get("referer", ""))
    if url is None or not config.origin_allowed(normalize_origin(url)):
        return None
    origin_header = headers.get("origin", "")
    if origin_header and origin_header != "null" and not config.origin_allowed(normalize_origin(origin_header)):
        return None
    vid = params.get("vid", "")
    if not isinstance(vid, str) or not VID.fullmatch(vid):
        # Without the script there is no visitor cookie: the view counts, as a visitor of its own.
        vid = uuid.uuid4().hex[:22]
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    referrer = clean_url(params.get("referrer", "")) or ""
    record = {
        "hit_id": uuid.uuid4().hex,
        "vid": vid,
        "url": url,
        "host": parts.netloc[:MAX_HOST],
        "path": (parts.path or "/")[:MAX_PATH],
        "title": _text(params.get("title", ""), MAX_TITLE),
        "referrer": referrer,
        "occurred_at": now.isoformat(),
        "click_contact": tokens.contact_of(params.get(tokens.PARAM, "")),
    }
    for key in UTM_KEYS:
        record[key] = _text(query.get(key, ""), MAX_UTM)
    return record
