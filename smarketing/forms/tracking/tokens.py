"""Email-click stitching tokens: `smk_c=<token>` on the landing URL names the contact who clicked.

The click redirect (email/views/public.py) appends one to links whose site is in the tracking settings' stitch
origins; the script reads it from the page's URL, sends it with its hit and removes it from the address bar (so
a bookmarked or shared URL does not carry it); parse_hit verifies it. Signed (django.core.signing, a salt of its
own) and short-lived: it is minted at the click, so the page that reads it loads seconds later.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core import signing

from smarketing.forms.tracking.config import TrackingConfig, normalize_origin

PARAM = "smk_c"
SALT = "smarketing.forms.tracking.click"
MAX_AGE = 60 * 60  # seconds
MAX_LENGTH = 100


def click_token(contact_id: int) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(int(contact_id)))


def contact_of(token: str) -> int | None:
    """The contact id a valid, fresh token names; None for anything else."""
    if not token or len(token) > MAX_LENGTH:
        return None
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=MAX_AGE)
    except (signing.BadSignature, ValueError):
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def with_click_token(url: str, contact_id: int | None, config: TrackingConfig) -> str:
    """`url` with a token naming `contact_id` when it leads to a stitch origin, else `url` unchanged."""
    if not contact_id or normalize_origin(url) not in config.stitch_origins:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != PARAM]
    query.append((PARAM, click_token(contact_id)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def without_click_token(url: str) -> str:
    """`url` without its token (page views are stored without it)."""
    parts = urlsplit(url)
    if PARAM not in parts.query:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != PARAM]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
