"""First-party web tracking: the public face other code imports (`from smarketing.forms import tracking`).

- `parse_hit(params, headers, *, now, config=None)`: a raw hit into a clean record or None (hits.py, pure);
- `record_page_views(records)`: the "page_view" ingest stream's batch writer (writer.py);
- `stitch(visitor_public_id, contact, *, by)`: link a visitor to a contact, its earlier views join (writer.py);
- `current_settings()`: the install's tracking settings, cached (config.py);
- `with_click_token(url, contact_id, config)`: the email click redirect's landing URL (tokens.py).

The script, the hit and pixel endpoints and the pages are in forms/views_tracking.py.
"""

from smarketing.forms.tracking.config import TrackingConfig, clear_settings_cache, current_settings
from smarketing.forms.tracking.hits import headers_from_meta, params_from_body, parse_hit
from smarketing.forms.tracking.tokens import click_token, with_click_token
from smarketing.forms.tracking.writer import page_view_summary, record_page_views, stitch

VISITOR_COOKIE = "smk_vid"  # set by the script on the site's own domain; the form embed and hosted page read it

__all__ = [
    "VISITOR_COOKIE",
    "TrackingConfig",
    "clear_settings_cache",
    "click_token",
    "current_settings",
    "headers_from_meta",
    "page_view_summary",
    "params_from_body",
    "parse_hit",
    "record_page_views",
    "stitch",
    "with_click_token",
]
