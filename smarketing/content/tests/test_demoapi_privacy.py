"""The content library's part of a privacy export and erasure: the shares stay as facts but stop working, the
openings (behaviour) go."""

import json

from django.test import TestCase

from smarketing.content import services, sharing
from smarketing.content.models import Review, Share, ShareView
from smarketing.privacy.services import erase_contact, export_contact, stream_json
from smarketing.testing import ensure_defaults, make_cast, make_contact, make_deal


class ContentPrivacyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        mia, carol = cls.cast["mia"], cls.cast["carol"]
        cls.asset = services.create_asset(
            mia, title="Pricing one-pager", asset_type="one_pager", url="https://example.com/p", reviewers=[carol]
        )
        services.submit_for_review(cls.asset, mia)
        services.review(cls.asset, carol, Review.Decision.APPROVED)

    def setUp(self):
        bob = self.cast["bob"]
        self.contact = make_contact(None, email="pat.private@example.com", first_name="Pat", last_name="Private")
        self.deal = make_deal(None, name="Acme – Growth plan", contacts=[self.contact])
        self.share = sharing.share_asset(self.asset, self.contact, bob, deal=self.deal)
        self.view = sharing.record_open(self.share)
        sharing.record_heartbeat(self.view, 15, pages=[1])
        self.other = make_contact(None, email="sam@example.com")
        self.other_share = sharing.share_asset(self.asset, self.other, bob)
        sharing.record_open(self.other_share)

    def test_export_lists_their_shares_and_openings_without_the_link_secret(self):
        data = json.loads("".join(stream_json(export_contact(self.contact, actor=self.cast["alice"]))))
        [share] = data["content_shares"]
        self.assertEqual(
            (share["asset"], share["shared_by"], share["deal"], share["channel"], share["view_count"]),
            ("Pricing one-pager", "Bob Seller", "Acme – Growth plan", "link", 1),
        )
        [view] = data["content_views"]
        self.assertEqual((view["share"], view["asset"], view["version"]), (self.share.pk, "Pricing one-pager", 1))
        self.assertEqual(view["seconds"], self.view_seconds())
        text = json.dumps(data)
        self.assertNotIn(self.share.token, text)
        self.assertNotIn(self.other_share.token, text)

    def view_seconds(self) -> int:
        return ShareView.objects.get(pk=self.view.pk).seconds

    def test_erasure_deletes_the_openings_and_kills_the_link_but_keeps_the_share(self):
        old_token = self.share.token
        record, _ = erase_contact(self.contact, actor=self.cast["alice"], reason="Asked to be forgotten")
        self.assertEqual(record.summary["delete_content_views"], 1)
        self.assertEqual(record.summary["revoke_content_shares"], 1)
        self.assertFalse(ShareView.objects.filter(contact=self.contact).exists())
        share = Share.objects.get(pk=self.share.pk)
        self.assertNotEqual(share.token, old_token)
        self.assertIsNotNone(share.revoked_at)
        self.assertEqual((share.view_count, share.first_viewed_at, share.last_viewed_at), (0, None, None))
        self.assertIsNone(sharing.live_share(old_token))
        self.assertIsNone(sharing.live_share(share.token))  # revoked, whatever the new token
        self.assertEqual(self.client.get(f"/c/{old_token}/").status_code, 404)
        # The fact that the rep shared the asset on the deal stays (the influence report counts it).
        self.assertEqual((share.asset_id, share.deal_id, share.shared_by_id), (self.asset.pk, self.deal.pk,
                                                                               self.cast["bob"].pk))  # fmt: skip
        # Someone else's share and openings are untouched.
        other = Share.objects.get(pk=self.other_share.pk)
        self.assertEqual((other.token, other.revoked_at, other.view_count), (self.other_share.token, None, 1))
        self.assertEqual(ShareView.objects.filter(contact=self.other).count(), 1)
        data = export_contact(self.contact, actor=self.cast["alice"])
        self.assertEqual(list(data["content_views"]), [])
