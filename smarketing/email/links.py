"""Tracked links: freezing a campaign's links when sending starts, and each recipient's tracking URLs.

`freeze_links()` runs once per campaign (the freeze): every distinct http(s) link of the HTML becomes an
`EmailLink` row (UTM parameters added) and its href the merge field `{{ tracking.link_N }}`; the same URL in the
plain-text part becomes the same field; the open pixel `{{ tracking.open_pixel }}` is appended. The click
redirect later goes only to these stored URLs, never to one taken from the request, so it cannot be an open
redirect.

Per recipient, the sender merges `tracking_context(send.token, positions)` into the merge context and adds
`list_unsubscribe_headers(send.token)` to the message: string formatting only, no query, no reverse().
"""

import html as htmllib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils.text import slugify

from smarketing.email import tokens
from smarketing.email.models import EmailLink

# Written by hand instead of reverse() per recipient (100,000 reverse() calls are seconds of CPU); a test checks
# that these are exactly the paths email/urls_public.py serves.
OPEN_PATH = "/e/o/{}.gif"
CLICK_PATH = "/e/c/{}/{}"
UNSUBSCRIBE_PATH = "/e/u/{}"
PREFERENCES_PATH = "/e/p/{}"

UTM_SOURCE = "smarketing"
UTM_MEDIUM = "email"
MAX_URL_LENGTH = EmailLink._meta.get_field("url").max_length

# MJML, css-inline and raw-HTML mode all give well-formed anchors; a regex over them keeps every byte of the
# HTML that is not an href exactly as it was (a parser would re-serialize, and could break Outlook comments).
_ANCHOR = re.compile(r"<a\b(?P<attrs>[^>]*)>(?P<label>.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_HREF = re.compile(r"""(?P<name>\bhref\s*=\s*)(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<uq>[^\s"'>]+))""", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
OPEN_PIXEL_HTML = (
    '<img src="{{ tracking.open_pixel }}" width="1" height="1" alt="" border="0" '
    'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">'
)


def utm_campaign_of(email_campaign) -> str:
    """The utm_campaign value: the campaign's own (set by marketing), else a slug of its name."""
    campaign = email_campaign.campaign
    return campaign.utm_campaign or slugify(campaign.name)[:100] or f"campaign-{campaign.pk}"


def add_utm(url: str, *, utm_campaign: str, position: int) -> str:
    """`url` with the UTM parameters added, unless it already has any utm_* (marketing chose them by hand)."""
    parts = urlsplit(url)
    if any(key.lower().startswith("utm_") for key, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return url
    utm = urlencode(
        {
            "utm_source": UTM_SOURCE,
            "utm_medium": UTM_MEDIUM,
            "utm_campaign": utm_campaign,
            "utm_content": f"link-{position}",
        }
    )
    query = f"{parts.query}&{utm}" if parts.query else utm
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def trackable(url: str) -> bool:
    """Only absolute http(s) links are tracked: not mailto:/tel:/#anchors, not merge-field URLs such as
    {{ unsubscribe_url }} or https://x.com/?e={{ contact.email }} (their value differs per recipient)."""
    if "{{" in url or "{%" in url or len(url) > MAX_URL_LENGTH - 200:  # room for the UTM parameters
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _href(attrs: str) -> re.Match | None:
    return _HREF.search(attrs)


def _label(inner_html: str) -> str:
    text = " ".join(htmllib.unescape(_TAGS.sub(" ", inner_html)).split())
    if not text:
        alt = _ALT.search(inner_html)
        text = htmllib.unescape((alt.group(1) or alt.group(2) or "") if alt else "").strip() or "(image)"
    return text[:300]


def freeze_links(email_campaign, html: str, text: str) -> tuple[str, str]:
    """Store one EmailLink per distinct tracked link of `html` and return (html, text) with the links replaced
    by `{{ tracking.link_N }}` and the open pixel appended.

    Calling it again for the same campaign and content reuses the stored rows (same positions, same URLs), so a
    freeze retried after a crash does not renumber links that may already be in sent mail.
    """
    found: dict[str, tuple[int, str]] = {}  # original URL -> (position, label), in order of first appearance
    for match in _ANCHOR.finditer(html):
        href = _href(match.group("attrs"))
        if not href:
            continue
        url = htmllib.unescape(href.group("dq") or href.group("sq") or href.group("uq") or "").strip()
        if trackable(url) and url not in found:
            found[url] = (len(found) + 1, _label(match.group("label")))

    utm_campaign = utm_campaign_of(email_campaign)
    stored = {link.position: link.url for link in EmailLink.objects.filter(campaign=email_campaign)}
    positions: dict[str, int] = {}
    new_rows = []
    next_free = max(stored, default=0) + 1
    for url, (position, label) in found.items():
        final = add_utm(url, utm_campaign=utm_campaign, position=position)
        if not stored or stored.get(position) == final:  # the first freeze, or the same content again
            positions[url] = position
            if position not in stored:
                new_rows.append(EmailLink(campaign=email_campaign, position=position, url=final, label=label))
            continue
        # The content changed after an earlier freeze: never reuse a position that may already be in sent mail.
        same = (p for p, u in stored.items() if u == add_utm(url, utm_campaign=utm_campaign, position=p))
        existing = next(same, None)
        if existing is None:
            existing, next_free = next_free, next_free + 1
            final = add_utm(url, utm_campaign=utm_campaign, position=existing)
            new_rows.append(EmailLink(campaign=email_campaign, position=existing, url=final, label=label))
        positions[url] = existing
    EmailLink.objects.bulk_create(new_rows, ignore_conflicts=True)

    def replace_anchor(match: re.Match) -> str:
        attrs = match.group("attrs")
        href = _href(attrs)
        if not href:
            return match.group(0)
        url = htmllib.unescape(href.group("dq") or href.group("sq") or href.group("uq") or "").strip()
        if url not in positions:
            return match.group(0)
        field = href.group("name") + '"{{ tracking.link_' + str(positions[url]) + ' }}"'
        attrs = attrs[: href.start()] + field + attrs[href.end() :]
        return f"<a{attrs}>{match.group('label')}</a>"

    html = _ANCHOR.sub(replace_anchor, html)
    pixel = list(_BODY_END.finditer(html))
    if pixel:
        at = pixel[-1].start()
        html = html[:at] + OPEN_PIXEL_HTML + html[at:]
    else:
        html += OPEN_PIXEL_HTML

    # The text part: the same URLs, longest first so that https://x.com/a/b is not eaten by https://x.com/a, and
    # only where the URL ends (not a prefix of a longer URL the HTML did not have).
    for url in sorted(positions, key=len, reverse=True):
        pattern = re.escape(url) + r"(?![A-Za-z0-9/?#&=%._~+-])"
        text = re.sub(pattern, "{{ tracking.link_" + str(positions[url]) + " }}", text)
    return html, text


def _base() -> str:
    return settings.SMARKETING_BASE_URL


def open_pixel_url(signed: str) -> str:
    return _base() + OPEN_PATH.format(signed)


def click_url(signed: str, position: int) -> str:
    return _base() + CLICK_PATH.format(signed, position)


def unsubscribe_url(signed: str) -> str:
    return _base() + UNSUBSCRIBE_PATH.format(signed)


def preferences_url(signed: str) -> str:
    return _base() + PREFERENCES_PATH.format(signed)


def tracking_context(send_token: str, positions) -> dict:
    """The merge fields of one recipient's tracked links: {"tracking": {"open_pixel": url, "link_1": url, ...},
    "unsubscribe_url": url, "preferences_url": url}. `positions`: the campaign's EmailLink positions (ints)."""
    signed = tokens.sign(send_token)
    base = _base()
    tracking = {"open_pixel": base + OPEN_PATH.format(signed)}
    for position in positions:
        tracking[f"link_{int(position)}"] = base + CLICK_PATH.format(signed, int(position))
    return {
        "tracking": tracking,
        "unsubscribe_url": base + UNSUBSCRIBE_PATH.format(signed),
        "preferences_url": base + PREFERENCES_PATH.format(signed),
    }


def list_unsubscribe_headers(send_token: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: the HTTPS URL a mail provider POSTs "List-Unsubscribe=One-Click" to."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(tokens.sign(send_token))}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
