"""Web tracking: parse_hit's allow-list, the public endpoints over HTTP, the batch writer, stitching (forms and
email clicks), the visits and settings pages."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from django.core import signing
from django.db.models import Sum
from django.test import SimpleTestCase, TestCase, override_settings
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from smarketing.core.models import AuditEntry, Event
from smarketing.forms import tracking
from smarketing.forms.models import PageView, PageViewDaily, TrackingSettings, Visitor
from smarketing.forms.tracking import tokens
from smarketing.forms.tracking.config import TrackingConfig, clear_settings_cache
from smarketing.forms.tracking.hits import MAX_TITLE, MAX_URL
from smarketing.testing import PASSWORD, make_cast, make_contact
from smarketing.timeline.models import Touchpoint

NOW = datetime(2026, 11, 12, 10, 0, tzinfo=UTC)
VID = "AbCdEfGhIjKlMnOpQrSt12"
OTHER_VID = "ZyXwVuTsRqPoNmLkJiHg98"
SITE = "https://www.acme.example"
ANY = TrackingConfig()


def hit(url=SITE + "/pricing", **params):
    return {"vid": VID, "url": url, "title": "Pricing", **params}


def record(vid=VID, url=SITE + "/pricing", at=NOW, **params):
    """A parse_hit record, as the endpoints hand it to the ingest."""
    r = tracking.parse_hit({"vid": vid, "url": url, "title": "Pricing", **params}, {}, now=at, config=ANY)
    assert r is not None
    return r


class ParseHitTests(SimpleTestCase):
    def test_a_clean_record_of_the_allowed_fields_only(self):
        r = tracking.parse_hit(
            hit(
                SITE + "/pricing?plan=pro&utm_source=news&utm_campaign=spring#top",
                referrer="https://search.example/?q=x",
                email="a@b.c",
                ip="1.2.3.4",
                hit_id="mine",
                occurred_at="1999-01-01",
            ),
            {"user-agent": "Mozilla/5.0"},
            now=NOW,
            config=ANY,
        )
        self.assertEqual(r["vid"], VID)
        self.assertEqual(r["url"], SITE + "/pricing?plan=pro&utm_source=news&utm_campaign=spring")  # no fragment
        self.assertEqual((r["host"], r["path"], r["title"]), ("www.acme.example", "/pricing", "Pricing"))
        self.assertEqual((r["utm_source"], r["utm_campaign"], r["utm_medium"]), ("news", "spring", ""))
        self.assertEqual(r["referrer"], "https://search.example/?q=x")
        self.assertEqual(r["occurred_at"], NOW.isoformat())  # the server's time, not the client's
        self.assertNotEqual(r["hit_id"], "mine")
        self.assertNotIn("email", r)
        self.assertNotIn("ip", r)
        self.assertIsNone(r["click_contact"])

    def test_lengths_are_capped_and_control_characters_removed(self):
        r = tracking.parse_hit(hit(title="A\x00B\nC" + "x" * 1000, utm_source="y"), {}, now=NOW, config=ANY)
        self.assertTrue(r["title"].startswith("A B C"))
        self.assertEqual(len(r["title"]), MAX_TITLE)
        long_url = SITE + "/page?q=" + "z" * 5000
        self.assertEqual(tracking.parse_hit(hit(long_url), {}, now=NOW, config=ANY)["url"], SITE + "/page")
        self.assertIsNone(tracking.parse_hit(hit(SITE + "/" + "p" * 3000), {}, now=NOW, config=ANY))

    def test_only_http_and_https_pages(self):
        for url in ["javascript:alert(1)", "data:text/html,x", "ftp://acme.example/", "/relative", "", "https://"]:
            with self.subTest(url=url):
                self.assertIsNone(tracking.parse_hit(hit(url), {}, now=NOW, config=ANY))
        r = tracking.parse_hit(hit(referrer="javascript:alert(1)"), {}, now=NOW, config=ANY)
        self.assertEqual(r["referrer"], "")

    def test_do_not_track_and_global_privacy_control_when_honoured(self):
        for header in ({"dnt": "1"}, {"sec-gpc": "1"}):
            with self.subTest(header=header):
                self.assertIsNone(tracking.parse_hit(hit(), header, now=NOW, config=ANY))
                ignoring = TrackingConfig(honour_dnt=False)
                self.assertIsNotNone(tracking.parse_hit(hit(), header, now=NOW, config=ignoring))
        self.assertIsNotNone(tracking.parse_hit(hit(), {"dnt": "0"}, now=NOW, config=ANY))

    def test_consent_mode_needs_the_scripts_consent_flag(self):
        consent = TrackingConfig(require_consent=True)
        self.assertIsNone(tracking.parse_hit(hit(), {}, now=NOW, config=consent))
        self.assertIsNone(tracking.parse_hit(hit(consent="yes"), {}, now=NOW, config=consent))
        self.assertIsNotNone(tracking.parse_hit(hit(consent="1"), {}, now=NOW, config=consent))

    def test_allowed_origins_for_the_page_and_the_caller(self):
        config = TrackingConfig(allowed_origins=frozenset({SITE, "http://localhost:8080"}))
        self.assertIsNotNone(tracking.parse_hit(hit(), {"origin": SITE}, now=NOW, config=config))
        self.assertIsNotNone(tracking.parse_hit(hit("HTTPS://WWW.ACME.EXAMPLE:443/x"), {}, now=NOW, config=config))
        self.assertIsNotNone(tracking.parse_hit(hit("http://localhost:8080/"), {}, now=NOW, config=config))
        self.assertIsNone(tracking.parse_hit(hit("https://evil.example/"), {}, now=NOW, config=config))
        self.assertIsNone(tracking.parse_hit(hit(), {"origin": "https://evil.example"}, now=NOW, config=config))
        self.assertIsNone(tracking.parse_hit(hit("http://localhost:9999/"), {}, now=NOW, config=config))

    def test_off_means_nothing_is_kept(self):
        self.assertIsNone(tracking.parse_hit(hit(), {}, now=NOW, config=TrackingConfig(enabled=False)))

    def test_announced_crawlers_are_dropped(self):
        ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        self.assertIsNone(tracking.parse_hit(hit(), {"user-agent": ua}, now=NOW, config=ANY))

    def test_the_noscript_pixel_counts_the_referring_page_as_a_visitor_of_its_own(self):
        r = tracking.parse_hit({}, {"referer": SITE + "/about"}, now=NOW, config=ANY)
        self.assertEqual(r["path"], "/about")
        self.assertRegex(r["vid"], r"^[0-9a-f]{22}$")
        bad_vid = tracking.parse_hit(hit(vid="x'; DROP TABLE--"), {}, now=NOW, config=ANY)
        self.assertNotEqual(bad_vid["vid"], "x'; DROP TABLE--")

    def test_a_click_token_is_verified_and_never_stored_in_the_url(self):
        token = tokens.click_token(42)
        r = tracking.parse_hit(hit(SITE + f"/spring?a=1&smk_c={token}", smk_c=token), {}, now=NOW, config=ANY)
        self.assertEqual(r["click_contact"], 42)
        self.assertEqual(r["url"], SITE + "/spring?a=1")
        tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
        forged = signing.TimestampSigner(salt="another salt").sign("42")
        for bad in (tampered, forged, "42", "x" * 500):
            with self.subTest(token=bad):
                self.assertIsNone(tracking.parse_hit(hit(smk_c=bad), {}, now=NOW, config=ANY)["click_contact"])

    def test_an_old_click_token_is_refused(self):
        token = tokens.click_token(42)
        later = timezone.now() + timedelta(seconds=tokens.MAX_AGE + 5)
        with self.settings():
            from unittest import mock

            with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
                self.assertIsNone(tokens.contact_of(token))

    @settings(max_examples=300, deadline=None)
    @given(
        st.dictionaries(
            st.sampled_from(["vid", "url", "title", "referrer", "consent", "smk_c", "other"]),
            st.one_of(st.text(max_size=300), st.text(alphabet="htps:/.%?#&=<>\"'\x00\n ", max_size=60)),
        ),
        st.dictionaries(st.sampled_from(["dnt", "sec-gpc", "origin", "referer", "user-agent"]), st.text(max_size=80)),
    )
    def test_hostile_input_never_raises_and_never_gets_through_raw(self, params, headers):
        r = tracking.parse_hit(params, headers, now=NOW, config=ANY)
        if r is None:
            return
        self.assertTrue(r["url"].startswith(("http://", "https://")))
        self.assertLessEqual(len(r["url"]), MAX_URL)
        self.assertLessEqual(len(r["title"]), MAX_TITLE)
        for key, value in r.items():
            if isinstance(value, str):
                self.assertIsNone(re.search(r"[\x00-\x1f\x7f]", value), key)
        self.assertRegex(r["vid"], r"^[A-Za-z0-9_-]{16,32}$")


class EndpointTests(TestCase):
    def setUp(self):
        clear_settings_cache()
        self.addCleanup(clear_settings_cache)

    def beacon(self, params: dict, **headers):
        return self.client.post("/t/hit", urlencode(params), content_type="text/plain;charset=UTF-8", **headers)

    def test_a_beacon_answers_204_with_nothing_and_records_the_view(self):
        response = self.beacon(hit(title="<b>Pricing</b>"), HTTP_ORIGIN=SITE, HTTP_USER_AGENT="Mozilla/5.0")
        self.assertEqual(response.status_code, 204)
        self.assertEqual(response.content, b"")
        self.assertEqual(dict(response.cookies), {})  # no session, no CSRF cookie
        self.assertEqual(response["Access-Control-Allow-Origin"], SITE)
        view = PageView.objects.get()
        self.assertEqual(
            (view.url, view.path, view.title, view.visitor.public_id),
            (SITE + "/pricing", "/pricing", "<b>Pricing</b>", VID),
        )
        self.assertIsNone(view.contact_id)
        self.assertEqual(PageViewDaily.objects.get().views, 1)

    def test_a_form_body_works_too_and_a_dropped_hit_answers_the_same(self):
        response = self.client.post("/t/hit", urlencode(hit()), content_type="application/x-www-form-urlencoded")
        self.assertEqual(response.status_code, 204)
        dropped = self.beacon(hit(url="javascript:alert(1)"))
        self.assertEqual((dropped.status_code, dropped.content), (204, b""))
        self.assertEqual(PageView.objects.count(), 1)

    def test_do_not_track_is_honoured_over_http(self):
        self.assertEqual(self.beacon(hit(), HTTP_DNT="1").status_code, 204)
        self.assertEqual(self.beacon(hit(), HTTP_SEC_GPC="1").status_code, 204)
        self.assertFalse(PageView.objects.exists())

    def test_cors_only_for_the_allowed_sites(self):
        TrackingSettings.objects.create(pk=1, allowed_origins=SITE)
        response = self.beacon(hit(), HTTP_ORIGIN="https://evil.example")
        self.assertNotIn("Access-Control-Allow-Origin", response)
        self.assertFalse(PageView.objects.exists())
        preflight = self.client.options("/t/hit", HTTP_ORIGIN=SITE, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
        self.assertEqual(preflight.status_code, 204)
        self.assertEqual(preflight["Access-Control-Allow-Origin"], SITE)
        self.assertEqual(preflight["Access-Control-Allow-Methods"], "POST")
        self.assertNotIn("Access-Control-Allow-Credentials", preflight)

    def test_other_methods_and_oversized_bodies(self):
        self.assertEqual(self.client.get("/t/hit").status_code, 405)
        big = urlencode(hit(title="x" * 9000))
        self.assertEqual(self.client.post("/t/hit", big, content_type="text/plain").status_code, 204)
        self.assertFalse(PageView.objects.exists())

    def test_the_pixel_is_a_gif_that_is_never_cached(self):
        response = self.client.get("/t/p.gif?" + urlencode(hit(title="<script>x</script>")))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "image/gif")
        self.assertTrue(response.content.startswith(b"GIF89a"))
        self.assertIn("no-store", response["Cache-Control"])
        self.assertNotIn(b"script", response.content)
        self.assertEqual(PageView.objects.get().title, "<script>x</script>")
        self.client.head("/t/p.gif?" + urlencode(hit()))  # a probe or a prefetch
        self.assertEqual(PageView.objects.count(), 1)

    @override_settings(TRACKING_RATE_PER_MINUTE=2)
    def test_rate_limited_per_address(self):
        codes = [self.beacon(hit()).status_code for _ in range(4)]
        self.assertEqual(codes, [204, 204, 429, 429])
        self.assertEqual(PageView.objects.count(), 2)
        self.assertEqual(self.client.get("/t/p.gif").status_code, 200)  # still a GIF

    def test_the_script_carries_the_settings_and_is_cached_by_version(self):
        response = self.client.get("/t.js")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/javascript; charset=utf-8")
        body = response.content.decode()
        self.assertIn('var CONFIG = {"consent": false, "dnt": true};', body)
        self.assertIn("sendBeacon", body)
        self.assertIn("max-age=300", response["Cache-Control"])
        version = response["ETag"].strip('"')
        self.assertIn("immutable", self.client.get(f"/t.js?v={version}")["Cache-Control"])
        TrackingSettings.objects.create(pk=1, require_consent=True)
        clear_settings_cache()
        changed = self.client.get("/t.js")
        self.assertIn('"consent": true', changed.content.decode())
        self.assertNotEqual(changed["ETag"], response["ETag"])


class RecordPageViewsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.ann = make_contact(first_name="Ann", email="ann@example.com")
        Visitor.objects.create(public_id=OTHER_VID, contact=cls.ann, stitched_by="form")

    def test_a_replayed_batch_inserts_nothing_twice(self):
        batch = [record(at=NOW), record(at=NOW + timedelta(minutes=1)), record(vid=OTHER_VID)]
        tracking.record_page_views(batch)
        tracking.record_page_views(batch)  # after a crash, the ingest replays the batch
        tracking.record_page_views(batch[:1] + batch[:1])  # and a record twice in one batch
        self.assertEqual(PageView.objects.count(), 3)
        self.assertEqual(Touchpoint.objects.filter(kind="page_viewed").count(), 1)
        self.assertEqual(Event.objects.filter(name="page.viewed").count(), 1)
        self.assertEqual(PageViewDaily.objects.get().views, 3)
        self.assertEqual(Visitor.objects.get(public_id=VID).last_seen_at, NOW + timedelta(minutes=1))

    def test_known_visitors_views_are_touches_and_events(self):
        tracking.record_page_views([record(vid=OTHER_VID, url=SITE + "/pricing?utm_source=news&utm_campaign=spring")])
        view = PageView.objects.get()
        touch = Touchpoint.objects.get(kind="page_viewed")
        self.assertEqual((view.contact_id, view.touchpoint_id), (self.ann.pk, touch.pk))
        self.assertEqual((touch.contact_id, touch.occurred_at, touch.source), (self.ann.pk, NOW, "news"))
        self.assertEqual(touch.summary, "Viewed /pricing — Pricing")
        self.assertEqual(touch.details["url"], SITE + "/pricing?utm_source=news&utm_campaign=spring")
        event = Event.objects.get(name="page.viewed")
        self.assertEqual(event.payload["contact_id"], self.ann.pk)
        self.assertEqual((event.payload["path"], event.payload["page_view_id"]), ("/pricing", view.pk))
        self.assertEqual(PageViewDaily.objects.get().known_views, 1)

    def test_the_batch_writer_is_set_based(self):
        def batch(n, offset):
            return [record(vid=f"visitor{offset + i:014d}", url=f"{SITE}/p{i % 3}") for i in range(n)] + [
                record(vid=OTHER_VID, url=f"{SITE}/k{offset}")
            ]

        with self.assertNumQueries(10) as small:
            tracking.record_page_views(batch(3, 0))
        with self.assertNumQueries(len(small.captured_queries)):
            tracking.record_page_views(batch(60, 100))
        self.assertEqual(PageView.objects.count(), 65)

    def test_a_malformed_record_is_dropped_not_fatal(self):
        tracking.record_page_views(
            [{"hit_id": "x"}, {"vid": "short", "hit_id": "y", "occurred_at": NOW.isoformat()}, record()]
        )
        self.assertEqual(PageView.objects.count(), 1)


class StitchTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.ann = make_contact(first_name="Ann", email="ann@example.com")
        cls.ben = make_contact(first_name="Ben", email="ben@example.com")

    def test_earlier_views_join_the_timeline_at_their_original_times(self):
        times = [NOW - timedelta(days=3), NOW - timedelta(days=1), NOW]
        tracking.record_page_views([record(at=t, url=f"{SITE}/p{i}") for i, t in enumerate(times)])
        self.assertFalse(Touchpoint.objects.filter(kind="page_viewed").exists())

        self.assertEqual(tracking.stitch(VID, self.ann, by="form"), 3)
        touches = Touchpoint.objects.filter(kind="page_viewed", contact=self.ann).order_by("occurred_at")
        self.assertEqual([t.occurred_at for t in touches], times)
        self.assertEqual(
            [t.summary for t in touches], ["Viewed /p0 — Pricing", "Viewed /p1 — Pricing", "Viewed /p2 — Pricing"]
        )
        self.assertEqual(set(PageView.objects.values_list("contact_id", flat=True)), {self.ann.pk})
        self.assertFalse(PageView.objects.filter(touchpoint__isnull=True).exists())
        visitor = Visitor.objects.get(public_id=VID)
        self.assertEqual((visitor.contact_id, visitor.stitched_by), (self.ann.pk, "form"))
        events = Event.objects.filter(name="page.viewed")
        self.assertEqual(events.count(), 3)
        self.assertTrue(all(e.payload["stitched"] for e in events))
        # Once stitched, a new view is a touch at once.
        tracking.record_page_views([record(at=NOW + timedelta(hours=1), url=SITE + "/later")])
        self.assertEqual(Touchpoint.objects.filter(kind="page_viewed", contact=self.ann).count(), 4)
        self.assertEqual(tracking.stitch(VID, self.ann, by="form"), 0)  # again: nothing left to join

    def test_first_stitch_wins(self):
        tracking.record_page_views([record()])
        tracking.stitch(VID, self.ann.pk, by="form")
        self.assertEqual(tracking.stitch(VID, self.ben, by="email_click"), 0)
        self.assertEqual(Visitor.objects.get(public_id=VID).contact_id, self.ann.pk)
        self.assertFalse(Touchpoint.objects.filter(contact=self.ben, kind="page_viewed").exists())

    def test_an_unseen_visitor_is_stitched_ahead_of_its_hits(self):
        # The form's submission may arrive before the ingest wrote the page view that led to it.
        self.assertEqual(tracking.stitch(VID, self.ann, by="form"), 0)
        tracking.record_page_views([record()])
        self.assertEqual(PageView.objects.get().contact_id, self.ann.pk)
        self.assertTrue(Touchpoint.objects.filter(kind="page_viewed", contact=self.ann).exists())

    def test_bad_input(self):
        self.assertEqual(tracking.stitch("nope", self.ann, by="form"), 0)
        self.assertEqual(tracking.stitch(None, self.ann, by="form"), 0)
        self.assertFalse(Visitor.objects.exists())
        with self.assertRaises(ValueError):
            tracking.stitch(VID, self.ann, by="guess")


class EmailClickStitchTests(TestCase):
    """send → click → landing page with smk_c → the script's hit → the visitor is the recipient."""

    @classmethod
    def setUpTestData(cls):
        from smarketing.email.tests.tracking_fixtures import make_email_campaign, make_link, make_send

        cls.ec = make_email_campaign()
        cls.send = make_send(cls.ec, email="cleo@example.com", first_name="Cleo")
        cls.tracked = make_link(cls.ec, 1, SITE + "/spring?utm_source=smarketing&utm_campaign=spring")
        cls.elsewhere = make_link(cls.ec, 2, "https://partner.example/offer")
        TrackingSettings.objects.create(pk=1, stitch_origins=SITE)

    def setUp(self):
        clear_settings_cache()
        self.addCleanup(clear_settings_cache)

    def click(self, position):
        from smarketing.email import tokens as email_tokens
        from smarketing.email.links import CLICK_PATH

        return self.client.get(CLICK_PATH.format(email_tokens.sign(self.send.token), position))

    def test_a_click_on_a_tracked_site_stitches_the_visitor(self):
        tracking.record_page_views([record(at=NOW - timedelta(days=2), url=SITE + "/blog")])  # anonymous, earlier
        response = self.click(1)
        self.assertEqual(response.status_code, 302)
        landing = response["Location"]
        self.assertTrue(landing.startswith(SITE + "/spring?utm_source=smarketing&utm_campaign=spring&smk_c="))
        token = parse_qs(urlsplit(landing).query)["smk_c"][0]

        # t.js reads the token from location, sends it with the hit (and removes it from the address bar).
        self.client.post("/t/hit", urlencode(hit(landing, smk_c=token)), content_type="text/plain")
        visitor = Visitor.objects.get(public_id=VID)
        self.assertEqual((visitor.contact_id, visitor.stitched_by), (self.send.contact_id, "email_click"))
        views = PageView.objects.order_by("occurred_at")
        self.assertEqual([v.contact_id for v in views], [self.send.contact_id] * 2)
        self.assertNotIn("smk_c", views[1].url)
        timeline = Touchpoint.objects.filter(contact=self.send.contact, kind="page_viewed").order_by("occurred_at")
        self.assertEqual([t.summary for t in timeline], ["Viewed /blog — Pricing", "Viewed /spring — Pricing"])

    def test_links_to_other_sites_carry_no_token(self):
        response = self.click(2)
        self.assertEqual(response["Location"], "https://partner.example/offer")

    def test_a_forged_token_stitches_nobody(self):
        forged = signing.TimestampSigner(salt="x").sign(str(self.send.contact_id))
        self.client.post("/t/hit", urlencode(hit(smk_c=forged)), content_type="text/plain")
        self.assertIsNone(Visitor.objects.get(public_id=VID).contact_id)


class VisitsPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.ann = make_contact(first_name="Ann", last_name="<i>Evil</i>", email="ann@example.com")
        Visitor.objects.create(public_id=OTHER_VID, contact=cls.ann)
        tracking.record_page_views(
            [
                record(
                    url=SITE + "/pricing", title='<script>alert("t")</script>', at=timezone.now() - timedelta(hours=2)
                ),
                record(vid=OTHER_VID, url=SITE + "/docs/start", at=timezone.now() - timedelta(hours=1)),
                record(
                    url=SITE + "/pricing",
                    referrer='https://x.example/"><img src=x onerror=alert(1)>',
                    at=timezone.now(),
                ),
            ]
        )

    def setUp(self):
        self.client.login(username="mia@example.com", password=PASSWORD)

    def test_tracked_data_is_escaped(self):
        response = self.client.get("/tracking/")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertNotIn('<script>alert("t")</script>', html)
        self.assertIn("&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;", html)
        self.assertNotIn("<img src=x", html)
        self.assertNotIn("<i>Evil</i>", html)
        self.assertContains(response, "/docs/start")

    def test_filters(self):
        def paths(query):
            return [view.path for view in self.client.get("/tracking/" + query).context["page"].rows]

        self.assertEqual(paths("?who=known"), ["/docs/start"])
        self.assertEqual(paths("?who=anonymous"), ["/pricing", "/pricing"])
        self.assertEqual(paths("?path=docs"), ["/docs/start"])
        self.assertEqual(paths("?who=bogus"), ["/pricing", "/docs/start", "/pricing"])  # an unknown filter: all
        self.assertContains(self.client.get("/tracking/?path=nothing-like-it"), "No page views match")

    def test_top_pages_come_from_the_counters(self):
        response = self.client.get("/tracking/?days=30")
        top = response.context["top"]
        self.assertEqual(
            [(row["path"], row["views"], row["known_views"]) for row in top],
            [("/pricing", 2, 0), ("/docs/start", 1, 1)],
        )
        self.assertEqual(response.context["charts"]["top"]["datasets"][0]["data"], [2, 1])

    def test_query_count_does_not_grow_with_the_rows(self):
        self.client.get("/tracking/")  # warm the session and the settings cache
        with self.assertNumQueries(6) as first:
            self.client.get("/tracking/")
        tracking.record_page_views([record(vid=f"visitor{i:015d}", url=f"{SITE}/x{i}") for i in range(30)])
        with self.assertNumQueries(len(first.captured_queries)):
            self.client.get("/tracking/?who=anonymous")

    def test_keyset_pages(self):
        with self.settings(PAGE_SIZE=2):
            first = self.client.get("/tracking/")
            self.assertEqual(len(first.context["page"].rows), 2)
            cursor = first.context["page"].next_cursor
            second = self.client.get("/tracking/", {"after": cursor})
        self.assertEqual(len(second.context["page"].rows), 1)
        self.assertEqual(second.context["page"].rows[0].title, '<script>alert("t")</script>')

    def test_signed_in_only_and_in_the_navigation(self):
        self.assertContains(self.client.get("/"), 'href="/tracking/"')
        self.client.logout()
        self.assertEqual(self.client.get("/tracking/").status_code, 302)


class SettingsPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def setUp(self):
        clear_settings_cache()
        self.addCleanup(clear_settings_cache)

    def login(self, name):
        self.client.login(username=f"{name}@example.com", password=PASSWORD)

    def test_an_admin_changes_the_settings_with_an_audit_entry(self):
        self.login("alice")
        page = self.client.get("/settings/tracking/")
        self.assertContains(page, '/t.js" async&gt;&lt;/script&gt;')
        self.assertContains(page, "smarketing.consent(true)")
        response = self.client.post(
            "/settings/tracking/",
            {
                "enabled": "on",
                "honour_dnt": "on",
                "require_consent": "on",
                "allowed_origins": "HTTPS://www.acme.example/\nhttp://localhost:8080",
                "stitch_origins": SITE,
            },
        )
        self.assertRedirects(response, "/settings/tracking/")
        row = TrackingSettings.objects.get()
        self.assertEqual(row.allowed_origins, "https://www.acme.example\nhttp://localhost:8080")
        self.assertTrue(row.require_consent)
        config = tracking.current_settings()
        self.assertTrue(config.require_consent)
        self.assertEqual(config.stitch_origins, frozenset({SITE}))
        entry = AuditEntry.objects.get(object_type="forms.trackingsettings")
        self.assertEqual(entry.changes["require_consent"], [False, True])

    def test_bad_origins_are_refused_with_the_line(self):
        self.login("alice")
        response = self.client.post(
            "/settings/tracking/", {"enabled": "on", "allowed_origins": "www.acme.example/path\njavascript:x"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "these lines are not origins")
        self.assertFalse(TrackingSettings.objects.exists())

    def test_managers_read_members_do_not(self):
        self.login("carol")
        self.assertEqual(self.client.get("/settings/tracking/").status_code, 200)
        self.assertEqual(self.client.post("/settings/tracking/", {"enabled": ""}).status_code, 403)
        self.login("mia")
        self.assertEqual(self.client.get("/settings/tracking/").status_code, 403)
        self.assertFalse(TrackingSettings.objects.exists())

    def test_on_the_settings_index(self):
        self.login("alice")
        self.assertContains(self.client.get("/settings/"), 'href="/settings/tracking/"')


class TrackingPrivacyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.pat = make_contact(first_name="Pat", email="pat@example.com")
        cls.sam = make_contact(first_name="Sam", email="sam@example.com")
        tracking.record_page_views([record(at=NOW - timedelta(days=1), url=SITE + "/a"), record(vid=OTHER_VID)])
        tracking.stitch(VID, cls.pat, by="form")
        tracking.stitch(OTHER_VID, cls.sam, by="form")
        tracking.record_page_views([record(at=NOW, url=SITE + "/b?utm_source=news")])

    def test_the_export_lists_the_visitors_and_their_page_views(self):
        from smarketing.privacy.services import export_contact

        data = export_contact(self.pat, actor=self.cast["alice"])
        self.assertEqual([v["public_id"] for v in data["web_visitors"]], [VID])
        views = list(data["page_views"])
        self.assertEqual(
            [(v["url"], v["utm_source"]) for v in views], [(SITE + "/a", ""), (SITE + "/b?utm_source=news", "news")]
        )

    def test_erasure_deletes_the_page_views_and_the_visitors(self):
        from smarketing.privacy.services import erase_contact

        record_, _ = erase_contact(self.pat, actor=self.cast["alice"], reason="Asked to be forgotten")
        self.assertFalse(Visitor.objects.filter(public_id=VID).exists())
        self.assertEqual(list(PageView.objects.values_list("visitor__public_id", flat=True)), [OTHER_VID])
        self.assertEqual((record_.summary["delete_page_views"], record_.summary["delete_web_visitors"]), (2, 1))
        self.assertEqual(PageViewDaily.objects.aggregate(n=Sum("views"))["n"], 3)  # counts name nobody
        # The same browser coming back is a new, anonymous visitor.
        tracking.record_page_views([record(url=SITE + "/c")])
        self.assertIsNone(Visitor.objects.get(public_id=VID).contact_id)
