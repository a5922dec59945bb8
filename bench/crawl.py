"""The crawl half of bench/run.py: time every page reachable from the navigation, so no page is slow unseen.

Starting at `/` as the sales rep (then as an admin, for the admin pages), every `href` to this site is
followed, as smarketing/core/tests/test_crawl.py does, but one URL per *shape*: record ids become `<id>`
(one record page of each type), and query strings reduce to their parameter names (one page per filter or
cursor kind). Links that would write or export (logout, export, download) are not followed. Then the list
pages are requested with each documented search, sort and filter combination (list_combinations()).

Every page gets one warm-up and `repeat` timed requests; the baseline is `/healthz` timed in the same run
(the cost of a request through the middleware), and the ratio is page p50 / baseline p50. "SQL ms" is the
time the page's queries took in one counted request: the database's share, apart from Python and templates.
"""

import re
from urllib.parse import urldefrag, urlencode, urlsplit

LINK = re.compile(r'href="(/[^"]*)"')
SKIP_PREFIXES = ("/static/", "/accounts/logout", "/api/", "/healthz")
SKIP_WORDS = ("export", "download", "logout")
TARGET_P95_MS = 100.0
NUMBER = re.compile(r"/\d+(?=/|$)")


def shape(url: str) -> str:
    """The URL with record ids as <id> and its query as the sorted parameter names ("sort" keeps its value)."""
    parts = urlsplit(url)
    path = NUMBER.sub("/<id>", parts.path)
    keys = []
    for pair in parts.query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        keys.append(f"{key}={value}" if key in ("sort", "state", "who", "tab") else key)
    return path + ("?" + "&".join(sorted(set(keys))) if keys else "")


def discover(client, start: str, limit: int, seen_shapes: set[str]) -> list[str]:
    """URLs of distinct shapes reachable from `start` (breadth first), at most `limit` new ones."""
    found, queue = [], [start]
    while queue and len(found) < limit:
        url = urldefrag(queue.pop(0))[0].replace("&amp;", "&")
        if url.startswith(SKIP_PREFIXES) or any(w in urlsplit(url).path for w in SKIP_WORDS):
            continue
        key = shape(url)
        if key in seen_shapes:
            continue
        seen_shapes.add(key)
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        found.append(url)
        queue.extend(LINK.findall(response.content.decode(errors="replace")))
    return found


def list_combinations(user) -> list[str]:
    """The list URLs for each documented search, sort and filter: every sort with each kind of search term,
    and every filter (with a value that matches rows) on the default sort; then the global search."""
    from smarketing.crm.models import Company, Contact, Deal
    from smarketing.crm.queries import build_list

    urls = []
    contact = Contact.objects.filter(pk__gte=_middle_id(Contact)).order_by("id").first()
    company = Company.objects.filter(pk__gte=_middle_id(Company)).order_by("id").first()
    deal = Deal.objects.order_by("id").first()
    first_name = (contact.first_name or "a").lower() if contact else "a"
    searches = {"contact": [""], "company": [""], "deal": [""]}
    if contact:
        local, _, domain = contact.email.partition("@")
        searches["contact"] += [
            first_name,  # a common first name: thousands of matches, in email order too
            f"{first_name} {contact.last_name[:2].lower()}",
            f"{local}@{domain[:2]}",
            contact.last_name[:3].lower(),
            first_name[:1],  # one letter: a dense prefix
        ]
    if company:
        searches["company"] += [company.name[:4].lower(), (company.domain or "x")[:5]]
    if deal:
        searches["deal"] += [deal.name.split()[0][:6].lower(), "zzqx"]
    samples = {"company": str(company.pk) if company else "", "text": "", "number": "1000", "date": "2026-01-01"}
    if company:
        samples["text"] = company.industry or company.country or "software"
    for kind, path in (("contact", "/contacts/"), ("company", "/companies/"), ("deal", "/deals/")):
        records = build_list(kind, user, {})
        for sort in records.sorts:
            for q in searches[kind]:
                params = {k: v for k, v in (("q", q), ("sort", sort)) if v and v != "newest"}
                urls.append(path + ("?" + urlencode(params) if params else ""))
        for f in records.filters:
            value = f.options[0][0] if f.options else samples.get(f.widget, "")
            if f.param.startswith("industry") or f.param.startswith("country"):
                value = samples["text"]
            if value:
                urls.append(f"{path}?{urlencode({f.param: value})}")
    # The header's global search (its results page and its dropdown) with the same kinds of term.
    for q in (first_name, first_name[:1], *searches["company"][1:2], *searches["deal"][1:2]):
        urls += [f"/search/?{urlencode({'q': q})}", f"/search/menu/?{urlencode({'q': q})}"]
    return list(dict.fromkeys(urls))


def _middle_id(model) -> int:
    ids = model.objects.order_by("id").values_list("id", flat=True)
    first, last = ids.first(), model.objects.order_by("-id").values_list("id", flat=True).first()
    return ((first or 0) + (last or 0)) // 2


def time_pages(bench, clients: list[tuple[str, object, list[str]]], repeat: int) -> list[dict]:
    """Time each (label, client, urls) group against the same-run /healthz baseline; print and return rows."""
    timed, p = bench.timed, bench.p
    base_client = clients[0][1]
    baseline = timed(lambda: base_client.get("/healthz"), max(repeat, 20))
    base_p50 = p(baseline, 0.5)
    print(f"\n  Crawl: baseline /healthz p50 {base_p50:.2f} ms; {repeat} requests per page after 1 warm-up")
    print(f"  {'page (server time, ms)':<58}{'p50':>9}{'p95':>9}{'queries':>8}{'SQL ms':>8}{'ratio':>9}")
    rows = []
    for who, client, urls in clients:
        for url in urls:
            response = client.get(url)
            if response.status_code != 200:
                print(f"  {url[:56]:<58} HTTP {response.status_code} (not timed)")
                rows.append({"page": url, "as": who, "status": response.status_code})
                continue
            sql_ms: list[float] = []
            queries = bench.count_queries(lambda u=url, c=client: c.get(u), sql_ms)
            ms = timed(lambda u=url, c=client: c.get(u), repeat, warmup=0)
            row = {
                "page": url,
                "as": who,
                "p50_ms": round(p(ms, 0.5), 2),
                "p95_ms": round(p(ms, 0.95), 2),
                "queries": queries,
                "sql_ms": round(sum(sql_ms), 2),  # the database's share of one (warm) request
                "baseline_p50_ms": round(base_p50, 2),
                "ratio": round(p(ms, 0.5) / base_p50, 1) if base_p50 else None,
            }
            rows.append(row)
            flag = "  SLOW" if row["p95_ms"] > TARGET_P95_MS else ""
            print(
                f"  {url[:56]:<58}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}{queries:>8}{row['sql_ms']:>8.1f}"
                f"{row['ratio']:>8.1f}x{flag}",
                flush=True,
            )
    return rows


def run_crawl(bench, user, admin, repeat: int, max_pages: int) -> list[dict]:
    """Discover the pages (as the rep, then as the admin for what only admins reach) and time them all."""
    import logging

    from django.test import Client

    # /healthz answers 503 without a running worker and some crawled forms answer 403 to the rep: expected
    # here, and Django's request log would bury the table.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    rep = Client(SERVER_NAME="127.0.0.1")
    rep.force_login(user)
    shapes: set[str] = set()
    groups = [("rep", rep, discover(rep, "/", max_pages, shapes))]
    if admin is not None:
        boss = Client(SERVER_NAME="127.0.0.1")
        boss.force_login(admin)
        groups.append(("admin", boss, discover(boss, "/", max(0, max_pages - len(groups[0][2])), shapes)))
    crawled = {url for _, _, urls in groups for url in urls}
    combos = [u for u in list_combinations(user) if u not in crawled]
    groups.append(("rep", rep, combos))
    print(
        f"\n  Crawled {len(crawled)} distinct pages from the navigation, "
        f"plus {len(combos)} list search/sort/filter combinations"
    )
    return time_pages(bench, groups, repeat)
