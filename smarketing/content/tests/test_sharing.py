"""Tracked sharing: who may share what, and the public viewer as the contact (and a hostile visitor) uses it.

The assets are written as rows (the models are the contract between the parts), except where the library's real
review flow is the point (an old link serving the newly approved version).
"""

import json
from datetime import timedelta
from unittest import mock

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.test import Client, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.content import kinds, sharing
from smarketing.content.models import Asset, AssetType, AssetVersion, Share, ShareView, Status, VersionStatus
from smarketing.core.models import AuditEntry, Event
from smarketing.notifications.models import Notification
from smarketing.testing import make_cast, make_contact, make_deal
from smarketing.timeline.models import Touchpoint

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari"


def make_asset(owner, *, title="Pricing deck", status=Status.APPROVED, url="https://example.com/deck", **version):
    """An asset with one version, approved and published unless `status` says otherwise."""
    now = timezone.now()
    asset = Asset.objects.create(
        title=title, description="How our plans compare.", asset_type=AssetType.DECK, owner=owner, status=status
    )
    fields = {"url": url} if not version else version
    published = status in (Status.APPROVED, Status.RETIRED)
    v1 = AssetVersion.objects.create(
        asset=asset,
        number=1,
        status=VersionStatus.APPROVED if published else VersionStatus.DRAFT,
        approved_at=now if published else None,
        note="internal: fixed the pricing table",
        **fields,
    )
    if published:
        asset.published_version = v1
        asset.approved_at = now
        asset.save(update_fields=["published_version", "approved_at"])
    return asset


def pdf_asset(owner, pages=3, title="Buyer's guide"):
    return make_asset(
        owner,
        title=title,
        url="",
        file_name="files/0123456789abcdef",
        original_name="guide.pdf",
        mime_type="application/pdf",
        size=1234,
        page_count=pages,
    )


class SharingTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.alice, cls.bob, cls.carol, cls.mia, cls.rory = (
            cls.cast[name] for name in ("alice", "bob", "carol", "mia", "rory")
        )
        cls.contact = make_contact(first_name="Dana", last_name="Buyer", email="dana@buyer.example")
        cls.other = make_contact(first_name="Otto", last_name="Other", email="otto@elsewhere.example")
        cls.deal = make_deal(name="Buyer Corp renewal", contacts=[cls.contact])
        cls.asset = make_asset(cls.mia)

    def setUp(self):
        cache.clear()  # the rate limit's counters
        self.visitor = Client(headers={"user-agent": BROWSER})

    def share(self, asset=None, contact=None, **kwargs) -> Share:
        kwargs.setdefault("deal", self.deal)
        return sharing.share_asset(asset or self.asset, contact or self.contact, self.bob, **kwargs)

    def open(self, share, client=None, **extra):
        return (client or self.visitor).get(reverse("content_public:view", args=[share.token]), **extra)

    def keys(self, response) -> tuple[str, str]:
        """The opening's beacon key (from the page) and its download key (from the Download link)."""
        html = response.content.decode()
        beacon = html.split('data-beacon-key="', 1)[1].split('"', 1)[0]
        download = ""
        if "?k=" in html:
            download = html.split("?k=", 1)[1].split('"', 1)[0]
        return beacon, download


# -- sharing ----------------------------------------------------------------------------------------------------


class ShareAssetTests(SharingTestCase):
    def test_an_approved_asset_is_shared_with_a_touch_an_event_and_an_audit_entry(self):
        share = self.share(expires_at=timezone.now() + timedelta(days=7))
        self.assertEqual(
            (share.shared_by, share.contact, share.deal, share.channel), (self.bob, self.contact, self.deal, "link")
        )
        self.assertGreaterEqual(len(share.token), 32)
        touch = Touchpoint.objects.get(kind=kinds.CONTENT_SHARED)
        self.assertEqual(
            (touch.contact_id, touch.deal_id, touch.actor_id), (self.contact.pk, self.deal.pk, self.bob.pk)
        )
        self.assertEqual(touch.details["asset_id"], self.asset.pk)
        self.assertEqual(touch.details["version_id"], self.asset.published_version_id)
        event = Event.objects.get(name="asset.shared")
        self.assertEqual(event.payload["share_id"], share.pk)
        self.assertNotIn(share.token, json.dumps(event.payload))  # the link's secret never leaves in an event
        self.assertTrue(AuditEntry.objects.filter(action="share", object_id=str(share.pk), actor=self.bob).exists())

    def test_only_approved_assets_can_be_shared(self):
        draft = make_asset(self.mia, title="Draft deck", status=Status.DRAFT)
        in_review = make_asset(self.mia, title="Pending deck", status=Status.IN_REVIEW)
        retired = make_asset(self.mia, title="Old deck", status=Status.RETIRED)
        for asset, words in ((draft, "Only approved"), (in_review, "Only approved"), (retired, "retired")):
            with self.subTest(asset.title):
                with self.assertRaises(ValidationError) as caught:
                    self.share(asset)
                self.assertIn(words, " ".join(caught.exception.messages))
        self.assertFalse(Share.objects.exists())
        self.assertFalse(Touchpoint.objects.filter(kind=kinds.CONTENT_SHARED).exists())

    def test_a_share_about_a_deal_is_for_one_of_its_contacts(self):
        stranger = make_contact(first_name="Stan", last_name="Ger", email="stan@elsewhere.example")
        with self.assertRaises(ValidationError) as caught:
            sharing.share_asset(self.asset, stranger, self.bob, deal=self.deal)
        self.assertIn("is not a contact of the deal", " ".join(caught.exception.messages))
        self.assertFalse(Share.objects.exists())
        self.assertEqual(sharing.share_asset(self.asset, stranger, self.bob).deal, None)  # without the deal: fine

    def test_read_only_users_cannot_share_and_the_system_can(self):
        with self.assertRaises(PermissionDenied):
            sharing.share_asset(self.asset, self.contact, self.rory)
        share = sharing.share_asset(self.asset, self.contact, system_actor())
        self.assertIsNone(share.shared_by)

    def test_expiry_must_be_in_the_future(self):
        with self.assertRaises(ValidationError):
            self.share(expires_at=timezone.now() - timedelta(minutes=1))

    def test_revoke_by_the_sharer_their_manager_or_an_admin_only(self):
        share = self.share()
        with self.assertRaises(PermissionDenied):
            sharing.revoke(share, self.mia)  # another team's member
        with self.assertRaises(PermissionDenied):
            sharing.revoke(share, self.rory)
        sharing.revoke(share, self.carol)  # bob's manager
        share.refresh_from_db()
        self.assertIsNotNone(share.revoked_at)
        first = share.revoked_at
        sharing.revoke(share, self.alice)  # twice: nothing changes
        share.refresh_from_db()
        self.assertEqual(share.revoked_at, first)
        self.assertEqual(AuditEntry.objects.filter(action="revoke").count(), 1)


# -- the public viewer ---------------------------------------------------------------------------------------


class OpeningTests(SharingTestCase):
    def test_the_contact_opens_the_link(self):
        share = self.share()
        response = self.open(share)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Pricing deck")
        self.assertContains(response, 'href="https://example.com/deck"')
        self.assertContains(response, 'rel="noopener noreferrer nofollow"')
        view = ShareView.objects.get()
        self.assertEqual((view.share, view.contact, view.asset), (share, self.contact, self.asset))
        self.assertEqual(view.version_id, self.asset.published_version_id)
        touch = Touchpoint.objects.get(kind=kinds.CONTENT_VIEWED)
        self.assertEqual((touch.contact_id, touch.deal_id, touch.actor_id), (self.contact.pk, self.deal.pk, None))
        self.assertEqual(touch.details["share_id"], share.pk)
        self.assertEqual(touch.details["version"], 1)
        self.assertEqual(touch.details["view_id"], view.pk)
        share.refresh_from_db()
        self.assertEqual(share.view_count, 1)
        self.assertIsNotNone(share.first_viewed_at)
        self.assertEqual(share.last_viewed_at, share.first_viewed_at)
        event = Event.objects.get(name="asset.viewed")
        self.assertTrue(event.payload["first_view"])

    def test_the_view_is_on_the_contacts_timeline(self):
        self.open(self.share())
        self.client.force_login(self.bob)
        response = self.client.get(reverse("contact_detail", args=[self.contact.pk]))
        self.assertContains(response, "Viewed “Pricing deck” (v1)")

    def test_the_rep_is_notified_once_however_often_the_contact_opens(self):
        share = self.share()
        for _ in range(3):
            self.assertEqual(self.open(share).status_code, 200)
        notes = Notification.objects.filter(kind=kinds.NOTIFY_FIRST_VIEW)
        self.assertEqual(notes.count(), 1)
        note = notes.get()
        self.assertEqual(note.user, self.bob)
        self.assertIn("Dana Buyer", note.title)
        self.assertEqual(note.url, reverse("contact_detail", args=[self.contact.pk]))
        share.refresh_from_db()
        self.assertEqual(share.view_count, 3)
        self.assertEqual(ShareView.objects.count(), 3)
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.CONTENT_VIEWED).count(), 3)
        firsts = [e.payload["first_view"] for e in Event.objects.filter(name="asset.viewed").order_by("id")]
        self.assertEqual(firsts, [True, False, False])

    def test_a_second_share_notifies_again(self):
        self.open(self.share())
        self.open(self.share(contact=self.other, deal=None))
        self.assertEqual(Notification.objects.filter(kind=kinds.NOTIFY_FIRST_VIEW, user=self.bob).count(), 2)

    def test_staff_see_a_preview_that_is_not_tracked(self):
        share = self.share()
        self.client.force_login(self.bob)
        response = self.open(share, client=self.client, HTTP_USER_AGENT=BROWSER)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Preview — not tracked")
        self.assertNotContains(response, "data-beacon-key")
        self.assertNotContains(response, "viewer.js")
        self.assertFalse(ShareView.objects.exists())
        self.assertFalse(Touchpoint.objects.filter(kind=kinds.CONTENT_VIEWED).exists())
        self.assertFalse(Notification.objects.filter(kind=kinds.NOTIFY_FIRST_VIEW).exists())
        share.refresh_from_db()
        self.assertEqual((share.view_count, share.first_viewed_at), (0, None))

    def test_link_unfurlers_and_crawlers_are_not_tracked(self):
        share = self.share()
        for agent in ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Googlebot/2.1", ""):
            with self.subTest(agent):
                response = self.open(share, HTTP_USER_AGENT=agent)
                self.assertEqual(response.status_code, 200)
                self.assertNotContains(response, "Preview — not tracked")  # that banner is for staff
        self.assertFalse(ShareView.objects.exists())

    def test_head_requests_count_nothing(self):
        share = self.share()
        self.assertEqual(self.visitor.head(reverse("content_public:view", args=[share.token])).status_code, 405)
        self.assertFalse(ShareView.objects.exists())


class OldLinkTests(SharingTestCase):
    def test_an_old_link_serves_the_newly_approved_version(self):
        from smarketing.content import services

        asset = services.create_asset(
            self.mia, title="Case study: Acme", asset_type=AssetType.CASE_STUDY, url="https://example.com/v1",
            reviewers=[self.alice],
        )  # fmt: skip
        services.submit_for_review(asset, self.mia)
        services.review(asset, self.alice, "approved")
        share = self.share(Asset.objects.get(pk=asset.pk))
        self.assertContains(self.open(share), 'href="https://example.com/v1"')

        services.add_version(asset, self.mia, url="https://example.com/v2", note="new figures")
        services.submit_for_review(asset, self.mia)
        # While v2 waits for review, the link keeps serving v1.
        self.assertContains(self.open(share), 'href="https://example.com/v1"')
        services.review(asset, self.alice, "approved")
        response = self.open(share)
        self.assertContains(response, 'href="https://example.com/v2"')
        self.assertNotContains(response, "https://example.com/v1")
        v2 = AssetVersion.objects.get(asset=asset, number=2)
        self.assertEqual(ShareView.objects.order_by("-id").first().version, v2)
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.CONTENT_VIEWED).order_by("-id")[0].details["version"], 2)

    def test_a_retired_asset_stops_its_links(self):
        from smarketing.content import services

        share = self.share()
        services.retire(self.asset, self.mia)
        self.assertEqual(self.open(share).status_code, 404)


class GoneTests(SharingTestCase):
    def test_every_link_that_does_not_work_gets_the_same_page(self):
        revoked = self.share()
        sharing.revoke(revoked, self.bob)
        expired = self.share()
        Share.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        retired_asset = make_asset(self.mia, title="Retired deck")
        retired = self.share(retired_asset)
        Asset.objects.filter(pk=retired_asset.pk).update(status=Status.RETIRED)
        unpublished_asset = make_asset(self.mia, title="Unpublished deck")
        unpublished = self.share(unpublished_asset)
        Asset.objects.filter(pk=unpublished_asset.pk).update(published_version=None)
        tokens = [revoked.token, expired.token, retired.token, unpublished.token, "x" * 32, "a", "b" * 200]
        bodies = set()
        for token in tokens:
            with self.subTest(token=token[:10]):
                response = self.visitor.get(reverse("content_public:view", args=[token]))
                self.assertEqual(response.status_code, 404)
                self.assertContains(response, "This link doesn", status_code=404)
                self.assertEqual(response["Referrer-Policy"], "no-referrer")
                bodies.add(response.content)
                # The page image, the download and the beacon are just as closed.
                self.assertEqual(self.visitor.get(reverse("content_public:page", args=[token, 1])).status_code, 404)
                self.assertEqual(self.visitor.get(reverse("content_public:download", args=[token])).status_code, 404)
                beacon = self.visitor.post(
                    reverse("content_public:beacon", args=[token]), "{}", content_type="application/json"
                )
                self.assertEqual(beacon.status_code, 404)
        self.assertEqual(len(bodies), 1)  # nothing tells a revoked link from a mistyped one
        for word in ("Retired deck", "Unpublished deck", "Pricing deck", "revoked", "expired on", "retired"):
            self.assertNotIn(word.encode(), next(iter(bodies)))
        self.assertFalse(ShareView.objects.exists())

    def test_an_expiring_link_works_until_it_expires(self):
        share = self.share(expires_at=timezone.now() + timedelta(hours=1))
        self.assertEqual(self.open(share).status_code, 200)
        with mock.patch("django.utils.timezone.now", return_value=timezone.now() + timedelta(hours=2)):
            self.assertEqual(self.open(share).status_code, 404)

    @override_settings(CONTENT_VIEW_RATE_PER_IP=2)
    def test_openings_are_rate_limited_per_address(self):
        share = self.share()
        self.assertEqual(self.open(share).status_code, 200)
        self.assertEqual(self.open(share).status_code, 200)
        response = self.open(share)
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response["Retry-After"], "60")
        self.assertEqual(ShareView.objects.count(), 2)
        # Another address is not held back by this one.
        self.assertEqual(self.open(share, REMOTE_ADDR="10.9.8.7").status_code, 200)
        # Guessing tokens counts against the same limit.
        self.assertEqual(self.visitor.get(reverse("content_public:view", args=["guess" * 8])).status_code, 429)


class LeakTests(SharingTestCase):
    def test_the_page_shows_the_asset_and_the_sharer_and_nothing_else(self):
        mine = self.share()
        theirs = self.share(contact=self.other, deal=None)
        other_asset_share = self.share(make_asset(self.mia, title="Secret battlecard"))
        response = self.open(mine)
        html = response.content.decode()
        self.assertIn("Shared by Bob Seller", html)
        for secret in (
            theirs.token,
            other_asset_share.token,
            "Secret battlecard",
            "otto@elsewhere.example",
            "dana@buyer.example",  # not even the contact's own address: links get forwarded
            "Otto",
            "Buyer Corp renewal",  # the deal
            "Mia Marketer",  # the asset's owner
            "internal: fixed the pricing table",  # the version's note
            "bob@example.com",
            "approved",
            'href="/content/',  # no way into the app
        ):
            self.assertNotIn(secret, html, secret)

    def test_headers_keep_the_link_private(self):
        response = self.open(self.share())
        self.assertEqual(response["Referrer-Policy"], "no-referrer")
        self.assertEqual(response["X-Robots-Tag"], "noindex, nofollow")
        self.assertIn("no-store", response["Cache-Control"])
        self.assertIn("script-src 'self'", response["Content-Security-Policy"])
        self.assertEqual(response["X-Frame-Options"], "DENY")
        self.assertContains(response, '<meta name="robots" content="noindex, nofollow">')
        html = response.content.decode()
        # No inline script and nothing third-party: every script and stylesheet is the app's own static file.
        self.assertNotIn("<script>", html)
        for tag in html.split("<script")[1:] + html.split("<link")[1:]:
            self.assertNotIn("//", tag.split(">", 1)[0].replace("https://example.com/deck", ""), tag[:120])

    def test_only_http_urls_become_links(self):
        bad = make_asset(self.mia, title="Tricky", url="javascript:alert(document.cookie)")
        response = self.open(self.share(bad))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "javascript:")
        self.assertNotContains(response, "Open “Tricky”")

    def test_the_target_comes_from_the_stored_asset_never_the_request(self):
        response = self.open(self.share(), data={"next": "https://evil.example/", "url": "https://evil.example/"})
        self.assertNotContains(response, "evil.example")


# -- beacons ------------------------------------------------------------------------------------------------


class BeaconTests(SharingTestCase):
    def setUp(self):
        super().setUp()
        self.pdf = pdf_asset(self.mia, pages=3)
        self.share_ = self.share(self.pdf)
        self.key, self.download_key = self.keys(self.open(self.share_))
        self.view = ShareView.objects.get()
        # The opening began a minute ago: a beat may be credited in full.
        ShareView.objects.filter(pk=self.view.pk).update(last_seen_at=timezone.now() - timedelta(minutes=1))

    def beat(self, body, token=None, raw=None):
        url = reverse("content_public:beacon", args=[token or self.share_.token])
        data = raw if raw is not None else json.dumps(body)
        return self.visitor.post(url, data, content_type="application/json")

    def test_a_beat_records_time_and_pages(self):
        response = self.beat({"key": self.key, "seconds": 15, "pages": [1, 2], "page": 2})
        self.assertEqual(response.status_code, 204)
        self.view.refresh_from_db()
        self.assertEqual((self.view.seconds, self.view.pages_seen, self.view.max_page), (15, [1, 2], 2))
        ShareView.objects.filter(pk=self.view.pk).update(last_seen_at=timezone.now() - timedelta(seconds=20))
        self.assertEqual(self.beat({"key": self.key, "seconds": 15, "pages": [3, 1]}).status_code, 204)
        self.view.refresh_from_db()
        self.assertEqual((self.view.seconds, self.view.pages_seen, self.view.max_page), (30, [1, 2, 3], 3))

    def test_a_text_plain_beacon_is_read_too(self):
        url = reverse("content_public:beacon", args=[self.share_.token])
        body = json.dumps({"key": self.key, "seconds": 5})
        self.assertEqual(self.visitor.post(url, body, content_type="text/plain").status_code, 204)

    def test_forged_and_foreign_keys_are_refused(self):
        other = self.share(self.pdf, contact=self.other, deal=None)
        other_key, _ = self.keys(self.open(other))
        forged = self.key[:-3] + ("AAA" if not self.key.endswith("AAA") else "BBB")
        for name, key, token in (
            ("forged", forged, None),
            ("another share's key", other_key, None),
            ("this share's key on the other link", self.key, other.token),
            ("the download key", self.download_key, None),
            ("a raw view key", self.view.view_key, None),
            ("empty", "", None),
            ("not a string", 12, None),
        ):
            with self.subTest(name):
                self.assertEqual(self.beat({"key": key, "seconds": 10}, token=token).status_code, 400)
        self.view.refresh_from_db()
        self.assertEqual(self.view.seconds, 0)

    def test_absurd_values_are_refused(self):
        for body in (
            {"seconds": -1},
            {"seconds": 10**9},
            {"seconds": "10"},
            {"seconds": True},
            {"seconds": 1.5},
            {"pages": [0]},
            {"pages": [4]},  # the PDF has three
            {"pages": "1,2"},
            {"pages": list(range(1, 4)) * 100},
            {"page": 99},
        ):
            with self.subTest(body):
                self.assertEqual(self.beat({"key": self.key, **body}).status_code, 400)
        for raw in ("not json", "[1, 2]", "\xff"):
            with self.subTest(raw):
                self.assertEqual(self.beat(None, raw=raw).status_code, 400)
        self.assertEqual(self.beat(None, raw=json.dumps({"key": self.key, "pad": "x" * 5000})).status_code, 413)
        self.view.refresh_from_db()
        self.assertEqual((self.view.seconds, self.view.pages_seen), (0, []))

    def test_a_beacon_reads_no_session_and_needs_no_csrf_token(self):
        client = Client(enforce_csrf_checks=True, headers={"user-agent": BROWSER})
        url = reverse("content_public:beacon", args=[self.share_.token])
        response = client.post(url, json.dumps({"key": self.key, "seconds": 3}), content_type="application/json")
        self.assertEqual(response.status_code, 204)

    def test_a_revoked_link_takes_no_more_beats(self):
        sharing.revoke(self.share_, self.bob)
        self.assertEqual(self.beat({"key": self.key, "seconds": 10}).status_code, 404)

    def test_only_post(self):
        url = reverse("content_public:beacon", args=[self.share_.token])
        self.assertEqual(self.visitor.get(url).status_code, 405)

    @override_settings(CONTENT_VIEW_RATE_PER_IP=1)
    def test_beacons_are_rate_limited(self):
        cache.clear()
        statuses = [self.beat({"key": self.key, "seconds": 0}).status_code for _ in range(25)]
        self.assertEqual(statuses.count(204), 20)
        self.assertEqual(statuses[-1], 429)


class HeartbeatCapTests(SharingTestCase):
    def setUp(self):
        super().setUp()
        self.share_ = self.share(pdf_asset(self.mia, pages=5))
        self.start = timezone.now() - timedelta(hours=1)
        self.view = sharing.record_open(self.share_, now=self.start)

    def seconds(self) -> int:
        self.view.refresh_from_db()
        return self.view.seconds

    def test_a_beat_is_credited_at_most_thirty_seconds(self):
        sharing.record_heartbeat(self.view, 900, now=self.start + timedelta(minutes=15))
        self.assertEqual(self.seconds(), sharing.MAX_BEAT_SECONDS)

    def test_a_beat_is_credited_no_more_than_the_time_since_the_last(self):
        sharing.record_heartbeat(self.view, 15, now=self.start + timedelta(seconds=15))
        # A replayed beat a second later gains at most the second plus the slack.
        sharing.record_heartbeat(self.view, 15, now=self.start + timedelta(seconds=16))
        self.assertEqual(self.seconds(), 15 + 1 + sharing.BEAT_SLACK_SECONDS)

    def test_an_opening_is_credited_at_most_four_hours(self):
        ShareView.objects.filter(pk=self.view.pk).update(seconds=sharing.MAX_VIEW_SECONDS - 10)
        sharing.record_heartbeat(self.view, 30, now=self.start + timedelta(minutes=1))
        self.assertEqual(self.seconds(), sharing.MAX_VIEW_SECONDS)

    def test_pages_merge_and_out_of_range_pages_are_dropped(self):
        self.view.refresh_from_db()
        sharing.record_heartbeat(self.view, 10, pages=[3, 1, 9, 0], page=3, now=self.start + timedelta(seconds=10))
        sharing.record_heartbeat(self.view, 10, pages=[2, 3], now=self.start + timedelta(seconds=20))
        self.view.refresh_from_db()
        self.assertEqual((self.view.pages_seen, self.view.max_page), ([1, 2, 3], 3))


# -- pages and downloads ----------------------------------------------------------------------------------------


@mock.patch("smarketing.content.views_public._page_png", return_value=b"\x89PNG\r\n\x1a\nfake")
class PageTests(SharingTestCase):
    def test_a_pdf_is_shown_as_lazy_page_images(self, page_png):
        pdf = pdf_asset(self.mia, pages=3)
        share = self.share(pdf)
        response = self.open(share)
        for n in (1, 2, 3):
            self.assertContains(response, f'src="{reverse("content_public:page", args=[share.token, n])}?v=1"')
        self.assertContains(response, 'loading="lazy"', count=2)  # the first page loads at once
        self.assertContains(response, "content/viewer.js")
        self.assertContains(response, "Download")
        image = self.visitor.get(reverse("content_public:page", args=[share.token, 2]))
        self.assertEqual(image.status_code, 200)
        self.assertEqual(image["Content-Type"], "image/png")
        self.assertEqual(image.content, b"\x89PNG\r\n\x1a\nfake")
        page_png.assert_called_with(pdf.published_version, 2)
        for n in (0, 4):
            self.assertEqual(self.visitor.get(reverse("content_public:page", args=[share.token, n])).status_code, 404)
        # Fetching pages is not an opening.
        self.assertEqual(ShareView.objects.count(), 1)

    def test_an_image_is_one_page(self, page_png):
        image = make_asset(self.mia, title="Infographic", url="", file_name="files/abc", mime_type="image/png", size=9)
        share = self.share(image)
        response = self.open(share)
        self.assertContains(response, reverse("content_public:page", args=[share.token, 1]))
        self.assertNotContains(response, reverse("content_public:page", args=[share.token, 2]))
        self.assertEqual(self.visitor.get(reverse("content_public:page", args=[share.token, 2])).status_code, 404)

    def test_a_url_asset_has_no_pages_and_no_download(self, page_png):
        share = self.share()
        response = self.open(share)
        self.assertNotContains(response, "/p/1.png")
        self.assertNotContains(response, "Download")
        self.assertEqual(self.visitor.get(reverse("content_public:page", args=[share.token, 1])).status_code, 404)
        self.assertEqual(self.visitor.get(reverse("content_public:download", args=[share.token])).status_code, 404)

    def test_a_page_that_cannot_be_rendered_is_a_404_not_a_500(self, page_png):
        page_png.side_effect = OSError("broken file")
        share = self.share(pdf_asset(self.mia))
        with self.assertLogs("smarketing.content.views_public", "ERROR"):
            response = self.visitor.get(reverse("content_public:page", args=[share.token, 1]))
        self.assertEqual(response.status_code, 404)


def _fake_file_response(version):
    response = HttpResponse(b"%PDF-1.4 fake", content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="guide.pdf"'
    return response


@mock.patch("smarketing.content.views_public._file_response", side_effect=_fake_file_response)
class DownloadTests(SharingTestCase):
    def setUp(self):
        super().setUp()
        self.share_ = self.share(pdf_asset(self.mia))
        self.response = self.open(self.share_)
        _beacon, self.download_key = self.keys(self.response)

    def download(self, key=None, client=None):
        url = reverse("content_public:download", args=[self.share_.token])
        return (client or self.visitor).get(url, {"k": key} if key is not None else {})

    def test_a_download_is_one_touch_per_opening(self, file_response):
        self.assertContains(self.response, "?k=" + self.download_key)
        for _ in range(2):
            response = self.download(self.download_key)
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response["Content-Disposition"], 'attachment; filename="guide.pdf"')
            self.assertEqual(response["Referrer-Policy"], "no-referrer")
        touches = Touchpoint.objects.filter(kind=kinds.CONTENT_DOWNLOADED)
        self.assertEqual(touches.count(), 1)
        touch = touches.get()
        view = ShareView.objects.get()
        self.assertEqual(
            (touch.contact_id, touch.deal_id, touch.details["view_id"]), (self.contact.pk, self.deal.pk, view.pk)
        )
        self.assertTrue(view.downloaded)
        file_response.assert_called_with(self.share_.asset.published_version)

    def test_a_download_without_the_viewers_key_is_an_opening_of_its_own(self, file_response):
        self.assertEqual(self.download().status_code, 200)
        self.assertEqual(self.download("forged").status_code, 200)
        self.assertEqual(ShareView.objects.count(), 3)
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.CONTENT_DOWNLOADED).count(), 2)
        self.share_.refresh_from_db()
        self.assertEqual(self.share_.view_count, 3)

    def test_the_beacon_key_is_no_download_key(self, file_response):
        beacon_key, _ = self.keys(self.response)
        self.download(beacon_key)
        self.assertEqual(ShareView.objects.count(), 2)  # treated as a download without a key: a new opening

    def test_staff_downloads_are_not_tracked(self, file_response):
        self.client.force_login(self.bob)
        self.assertEqual(self.download(self.download_key, client=self.client).status_code, 200)
        self.assertFalse(Touchpoint.objects.filter(kind=kinds.CONTENT_DOWNLOADED).exists())

    @override_settings(CONTENT_VIEW_RATE_PER_IP=1)
    def test_downloads_count_against_the_opening_limit(self, file_response):
        cache.clear()
        self.assertEqual(self.download(self.download_key).status_code, 200)
        self.assertEqual(self.download(self.download_key).status_code, 429)


class FilesIntegrationTests(SharingTestCase):
    """The real files part (store_upload, previews.page_png, views_files.file_response), when it is there."""

    def test_a_real_pdf_through_the_viewer(self):
        import io

        from PIL import Image

        from smarketing.content import files

        buffer = io.BytesIO()
        pages = [Image.new("RGB", (200, 280), color) for color in ("white", "yellow")]
        pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:])
        buffer.seek(0)
        stored = files.store_upload(buffer, "guide.pdf")
        self.assertEqual((stored.mime_type, stored.page_count), ("application/pdf", 2))
        asset = make_asset(
            self.mia, title="Real guide", url="", file_name=stored.name, original_name=stored.original_name,
            mime_type=stored.mime_type, size=stored.size, sha256=stored.sha256, page_count=stored.page_count,
        )  # fmt: skip
        share = self.share(asset)
        response = self.open(share)
        self.assertContains(response, reverse("content_public:page", args=[share.token, 2]))
        image = self.visitor.get(reverse("content_public:page", args=[share.token, 2]))
        self.assertEqual(image.status_code, 200)
        self.assertTrue(image.content.startswith(b"\x89PNG"))
        _beacon, key = self.keys(response)
        download = self.visitor.get(reverse("content_public:download", args=[share.token]), {"k": key})
        self.assertEqual(download.status_code, 200)
        self.assertIn("attachment", download["Content-Disposition"])
        body = b"".join(download.streaming_content) if download.streaming else download.content
        self.assertTrue(body.startswith(b"%PDF"))
        self.assertEqual(Touchpoint.objects.filter(kind=kinds.CONTENT_DOWNLOADED).count(), 1)

    def test_a_file_missing_from_storage_is_a_404_and_no_download(self):
        asset = pdf_asset(self.mia, title="Lost file")  # its file_name was never stored
        share = self.share(asset)
        _beacon, key = self.keys(self.open(share))
        with self.assertLogs("smarketing.content.views_files", "ERROR"):
            response = self.visitor.get(reverse("content_public:download", args=[share.token]), {"k": key})
        self.assertEqual(response.status_code, 404)
        self.assertFalse(Touchpoint.objects.filter(kind=kinds.CONTENT_DOWNLOADED).exists())
