"""Web tracking's demo data, derived from the timeline the CRM generator wrote (docs/adding-an-app.md, step 10).

Every `page_viewed` touch of a chunk becomes a PageView: a touch on a contact is a view of that contact's one
browser (a Visitor stitched to them: by a form when they ever submitted one, else by an email click), linked to
the touch, so the visits page and the timeline tell the same story; a touch on no contact (the generator's
anonymous website traffic) is a view of an anonymous visitor that was never stitched.

What has no touch is drawn here, from its own random stream: the visitors who never became contacts (about
ANONYMOUS_SHARE of a chunk's contacts, each with a few views of the demo site's pages at times inside the
chunk's span). Visitor ids are derived from the seed and the row (keyed BLAKE2b): deterministic, unique,
opaque. The daily page counters grow by what this seed wrote (`finish`).
"""

import hashlib
import json
import random
from collections import Counter
from urllib.parse import urlsplit

from django.db import connection

from smarketing.crm.demo.common import COLUMNS as CRM_COLUMNS
from smarketing.crm.demo.common import Chunk, Clock, Ids
from smarketing.crm.demo.words import PAGES
from smarketing.forms.models import PageView, PageViewDaily, Visitor

WEBSITE = "https://www.demo.smarketing.local"  # the site of the demo's email links (email/demo.py)
VISITOR_COLUMNS = "id public_id contact_id first_seen_at last_seen_at stitched_at stitched_by".split()
VIEW_COLUMNS = (
    "id visitor_id contact_id touchpoint_id url path title referrer utm_source utm_medium utm_campaign "
    "utm_term utm_content occurred_at"
).split()
TABLES = {"visitor": (Visitor, VISITOR_COLUMNS), "pageview": (PageView, VIEW_COLUMNS)}
# Titles of the demo site's pages (crm/demo/words.py PAGES); others read as their path.
TITLES = {
    "/": "Smarketing — marketing and sales on one system",
    "/pricing": "Pricing",
    "/product": "Product tour",
    "/customers": "Customers",
}
ANONYMOUS_PER_VISITOR = 3  # anonymous views grouped per visitor, so a few visitors come back
ANONYMOUS_SHARE = 0.6  # visitors who never became contacts, per contact of the chunk
_TOUCH = {name: i for i, name in enumerate(CRM_COLUMNS["touch"])}
_DAILY = PageViewDaily._meta.db_table


class TrackingDemo:
    """Rows per chunk (`rows`), counters at the end (`finish`)."""

    def __init__(self, *, seed: int, ids: Ids, clock: Clock):
        self.seed = seed
        self.ids = ids
        self.clock = clock
        self.daily: Counter = Counter()  # (day, host, path) -> [views, known]
        self.known: Counter = Counter()

    def _public_id(self, key: str) -> str:
        digest = hashlib.blake2b(key.encode(), key=f"smk-demo-{self.seed}".encode(), digest_size=16).hexdigest()
        return digest[:22]

    def rows(self, chunk: Chunk) -> None:
        i_id, i_at, i_contact, i_kind = _TOUCH["id"], _TOUCH["occurred_at"], _TOUCH["contact_id"], _TOUCH["kind"]
        i_source, i_details = _TOUCH["source"], _TOUCH["details"]
        take = self.ids.take
        forms_of: dict[int, str] = {}
        for row in chunk.rows["touch"]:
            if row[i_kind] == "form_submitted" and row[i_contact] is not None:
                at = row[i_at]
                if row[i_contact] not in forms_of or at < forms_of[row[i_contact]]:
                    forms_of[row[i_contact]] = at
        visitors: dict[object, list] = {}
        views = []
        anonymous_seen = 0
        anonymous_visitor = None
        for row in chunk.rows["touch"]:
            if row[i_kind] != "page_viewed":
                continue
            contact_id, at = row[i_contact], row[i_at]
            if contact_id is None:
                if anonymous_seen % ANONYMOUS_PER_VISITOR == 0:
                    anonymous_visitor = ("anon", row[i_id])
                anonymous_seen += 1
                key = anonymous_visitor
            else:
                key = contact_id
            visitor = visitors.get(key)
            if visitor is None:
                stitched_at = forms_of.get(contact_id, at) if contact_id is not None else None
                by = ("form" if contact_id in forms_of else "email_click") if contact_id is not None else ""
                visitor = [take("visitor"), self._public_id(f"{key}"), contact_id, at, at, stitched_at, by]
                visitors[key] = visitor
            visitor[3], visitor[4] = min(visitor[3], at), max(visitor[4], at)
            try:
                url = str(json.loads(row[i_details] or "{}").get("url") or "/")
            except (ValueError, AttributeError):
                url = "/"
            if url.startswith("/"):
                url = WEBSITE + url
            parts = urlsplit(url)
            path = parts.path or "/"
            source = row[i_source] or ""
            utm_source = source if source not in ("direct", "") else ""
            utm_medium = "email" if source == "email" else ""
            views.append(
                (
                    take("pageview"),
                    visitor[0],
                    contact_id,
                    row[i_id] if contact_id is not None else None,
                    url[:2000],
                    path[:500],
                    TITLES.get(path, ""),
                    "",
                    utm_source[:200],
                    utm_medium,
                    "",
                    "",
                    "",
                    at,
                )
            )
            day = at[:10]
            self.daily[(day, parts.netloc, path[:500])] += 1
            if contact_id is not None:
                self.known[(day, parts.netloc, path[:500])] += 1
        out_visitors = [tuple(v) for v in visitors.values()]
        self._strangers(chunk, out_visitors, views)
        chunk.rows["visitor"] = out_visitors
        chunk.rows["pageview"] = views

    def _strangers(self, chunk: Chunk, visitors: list, views: list) -> None:
        """Visitors who never became contacts: a few views each, on the demo site, inside the chunk's span."""
        first = chunk.rows["contact"][0][0] if chunk.rows["contact"] else 0
        rnd = random.Random(f"{self.seed}-visits-{first}").random
        pages = [path for path, weight in PAGES for _ in range(weight)]
        take, clock = self.ids.take, self.clock
        span = clock.end - clock.start
        host = urlsplit(WEBSITE).netloc
        for n in range(int(len(chunk.rows["contact"]) * ANONYMOUS_SHARE)):
            visitor_id = take("visitor")
            t = clock.start + int(rnd() * (span - 3600))
            times = []
            for _ in range(1 + int(rnd() * 4)):
                path = pages[int(rnd() * len(pages))]
                at = clock.ts(t)
                times.append(at)
                views.append(
                    (take("pageview"), visitor_id, None, None, WEBSITE + path, path, TITLES.get(path, ""), "",
                     "", "", "", "", "", at)
                )  # fmt: skip
                self.daily[(at[:10], host, path)] += 1
                t += 20 + int(rnd() * 300)
            public_id = self._public_id(f"stranger-{first}-{n}")
            visitors.append((visitor_id, public_id, None, times[0], times[-1], None, ""))

    def finish(self) -> None:
        """Add this seed's views to the daily counters (a second seed adds to them)."""
        rows = [
            [day, host, path, n, self.known[(day, host, path)]] for (day, host, path), n in sorted(self.daily.items())
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {_DAILY} (day, host, path, views, known_views) VALUES (%s, %s, %s, %s, %s) "
                f"ON CONFLICT (day, host, path) DO UPDATE SET views = {_DAILY}.views + excluded.views, "
                f"known_views = {_DAILY}.known_views + excluded.known_views",
                rows,
            )
