"""Sharing from the signed-in side: the share page (a link, or a logged sales email) and my shared links."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from smarketing.content import kinds, sharing
from smarketing.content.models import Share, ShareView, Status
from smarketing.content.tests.test_sharing import SharingTestCase, make_asset
from smarketing.crm import kinds as crm_kinds
from smarketing.timeline.models import Touchpoint

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari"


# -- the signed-in pages ----------------------------------------------------------------------------------------


class ShareNewPageTests(SharingTestCase):
    def url(self, **params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return reverse("content:share_new") + (f"?{query}" if query else "")

    def test_prefilled_from_the_deal_page(self):
        self.client.force_login(self.bob)
        response = self.client.get(self.url(asset=self.asset.pk, contact=self.contact.pk, deal=self.deal.pk))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Pricing deck")
        self.assertContains(response, "Dana Buyer")
        self.assertContains(response, f'name="contact" value="{self.contact.pk}"')
        self.assertContains(response, "Log as sales email")

    def test_the_deals_contacts_are_offered_and_others_can_be_searched(self):
        self.client.force_login(self.bob)
        response = self.client.get(self.url(asset=self.asset.pk, deal=self.deal.pk))
        self.assertContains(response, f'type="radio" name="contact" value="{self.contact.pk}"')
        response = self.client.get(self.url(asset=self.asset.pk, q="otto"))
        self.assertContains(response, f'type="radio" name="contact" value="{self.other.pk}"')
        self.assertNotContains(response, f'name="contact" value="{self.contact.pk}"')

    def test_without_an_asset_the_approved_ones_are_offered(self):
        make_asset(self.mia, title="Draft thing", status=Status.DRAFT)
        self.client.force_login(self.bob)
        response = self.client.get(self.url(contact=self.contact.pk))
        self.assertContains(response, f'<option value="{self.asset.pk}">Pricing deck')
        self.assertNotContains(response, "Draft thing")

    def test_create_a_link(self):
        self.client.force_login(self.bob)
        response = self.client.post(
            reverse("content:share_new"),
            {"asset": self.asset.pk, "contact": self.contact.pk, "deal": self.deal.pk, "action": "link",
             "expires_on": (timezone.localdate() + timedelta(days=10)).isoformat()},
        )  # fmt: skip
        self.assertEqual(response.status_code, 200)
        share = Share.objects.get()
        self.assertEqual((share.shared_by, share.deal, share.channel), (self.bob, self.deal, "link"))
        self.assertIsNotNone(share.expires_at)
        self.assertContains(response, sharing.share_url(share))
        self.assertContains(response, "data-share-copy")
        self.assertFalse(Touchpoint.objects.filter(kind=crm_kinds.EMAIL_LOGGED).exists())

    def test_log_as_sales_email(self):
        self.client.force_login(self.bob)
        response = self.client.post(
            reverse("content:share_new"),
            {"asset": self.asset.pk, "contact": self.contact.pk, "action": "email", "message": "Here is the deck."},
        )
        self.assertEqual(response.status_code, 200)
        share = Share.objects.get()
        self.assertEqual(share.channel, "email")
        email = Touchpoint.objects.get(kind=crm_kinds.EMAIL_LOGGED)
        self.assertEqual((email.contact_id, email.actor_id), (self.contact.pk, self.bob.pk))
        self.assertIn("Pricing deck", email.summary)
        self.assertIn(sharing.share_url(share), email.details["body"])
        self.assertIn("Here is the deck.", email.details["body"])
        self.assertTrue(Touchpoint.objects.filter(kind=kinds.CONTENT_SHARED, contact=self.contact).exists())

    def test_htmx_gets_the_panel_only(self):
        self.client.force_login(self.bob)
        response = self.client.get(self.url(asset=self.asset.pk, contact=self.contact.pk), HTTP_HX_REQUEST="true")
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "<html")
        self.assertContains(response, 'id="share-panel"')
        response = self.client.post(
            reverse("content:share_new"),
            {"asset": self.asset.pk, "contact": self.contact.pk, "action": "link"},
            HTTP_HX_REQUEST="true",
        )
        self.assertNotContains(response, "<html")
        self.assertContains(response, sharing.share_url(Share.objects.get()))

    def test_a_draft_is_refused_with_a_reason(self):
        draft = make_asset(self.mia, title="Draft deck", status=Status.DRAFT)
        self.client.force_login(self.bob)
        response = self.client.get(self.url(asset=draft.pk, contact=self.contact.pk))
        self.assertContains(response, "Only approved assets can be shared")
        response = self.client.post(
            reverse("content:share_new"), {"asset": draft.pk, "contact": self.contact.pk, "action": "link"}
        )
        self.assertContains(response, sharing.NOT_SHAREABLE, status_code=400)
        self.assertFalse(Share.objects.exists())

    def test_missing_contact_or_bad_expiry(self):
        self.client.force_login(self.bob)
        response = self.client.post(reverse("content:share_new"), {"asset": self.asset.pk, "action": "link"})
        self.assertEqual(response.status_code, 400)
        response = self.client.post(
            reverse("content:share_new"),
            {"asset": self.asset.pk, "contact": self.contact.pk, "expires_on": "2001-01-01"},
        )
        self.assertContains(response, "must be in the future", status_code=400)
        response = self.client.post(
            reverse("content:share_new"), {"asset": self.asset.pk, "contact": self.contact.pk, "expires_on": "soon"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(Share.objects.exists())

    def test_read_only_users(self):
        self.client.force_login(self.rory)
        response = self.client.get(self.url(asset=self.asset.pk, contact=self.contact.pk))
        self.assertContains(response, "Read-only users cannot share content")
        response = self.client.post(
            reverse("content:share_new"), {"asset": self.asset.pk, "contact": self.contact.pk, "action": "link"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Share.objects.exists())

    def test_signed_out_visitors_are_sent_to_log_in(self):
        response = self.client.get(self.url(asset=self.asset.pk))
        self.assertEqual(response.status_code, 302)
        self.assertIn("login", response["Location"])


class SharesListTests(SharingTestCase):
    def test_my_links_with_views_time_and_last_view(self):
        share = self.share()
        self.open(share)
        self.open(share)
        ShareView.objects.filter(share=share).update(seconds=95)
        self.share(contact=self.other, deal=None)
        sharing.share_asset(self.asset, self.contact, self.carol)  # not bob's
        self.client.force_login(self.bob)
        response = self.client.get(reverse("content:shares"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.context["page"].rows), 2)
        self.assertContains(response, "Dana Buyer")
        self.assertContains(response, "Otto Other")
        self.assertContains(response, "3 min")  # 2 × 95 s
        self.assertContains(response, "Not yet")
        self.assertContains(response, reverse("content:share_revoke", args=[share.pk]))

    def test_query_count_does_not_grow_with_the_rows(self):
        self.client.force_login(self.bob)
        for _ in range(2):
            self.open(self.share())
        with self.assertNumQueries(5):  # session, user, the page of shares, their time spent, the sidebar's team
            self.client.get(reverse("content:shares"))
        for _ in range(8):
            self.open(self.share(contact=self.other, deal=None))
        with self.assertNumQueries(5):
            response = self.client.get(reverse("content:shares"))
        self.assertEqual(len(response.context["page"].rows), 10)

    def test_a_manager_sees_the_teams_links(self):
        self.share()
        self.client.force_login(self.carol)
        self.assertEqual(len(self.client.get(reverse("content:shares")).context["page"].rows), 0)
        response = self.client.get(reverse("content:shares"), {"who": "team"})
        self.assertEqual(len(response.context["page"].rows), 1)
        self.assertContains(response, "Bob Seller")
        self.client.force_login(self.bob)  # a member asking for the team gets their own
        self.assertEqual(self.client.get(reverse("content:shares"), {"who": "team"}).context["who"], "mine")

    def test_everyone_sees_all_the_links_to_one_asset(self):
        self.share()
        sharing.share_asset(self.asset, self.other, self.carol)
        sharing.share_asset(make_asset(self.mia, title="Another"), self.contact, self.bob)
        self.client.force_login(self.mia)  # the asset's owner, who shared nothing
        with self.assertNumQueries(6):  # session, user, the asset, the page of shares, time spent, sidebar team
            response = self.client.get(reverse("content:shares"), {"asset": self.asset.pk})
        self.assertEqual({s.asset_id for s in response.context["page"].rows}, {self.asset.pk})
        self.assertEqual(len(response.context["page"].rows), 2)
        self.assertContains(response, "Links to “Pricing deck”")
        self.assertContains(response, "Carol Manager")
        self.assertNotContains(response, "Revoke</button>")  # mia may not revoke bob's or carol's links
        self.assertEqual(self.client.get(reverse("content:shares"), {"asset": 99999}).status_code, 404)

    def test_revoke(self):
        share = self.share()
        self.client.force_login(self.mia)
        self.assertEqual(self.client.post(reverse("content:share_revoke", args=[share.pk])).status_code, 403)
        self.client.force_login(self.bob)
        self.assertEqual(self.client.get(reverse("content:share_revoke", args=[share.pk])).status_code, 405)
        response = self.client.post(reverse("content:share_revoke", args=[share.pk]))
        self.assertRedirects(response, reverse("content:shares"))
        share.refresh_from_db()
        self.assertIsNotNone(share.revoked_at)
        self.assertEqual(self.open(share).status_code, 404)
        self.assertContains(self.client.get(reverse("content:shares")), "Revoked")

    def test_revoke_through_htmx_swaps_the_row(self):
        share = self.share()
        self.client.force_login(self.carol)
        response = self.client.post(reverse("content:share_revoke", args=[share.pk]), HTTP_HX_REQUEST="true")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, f'<tr id="share-{share.pk}" class="row-inactive">')
        self.assertContains(response, "Revoked")
        self.assertIn("sm:toast", response["HX-Trigger"])
