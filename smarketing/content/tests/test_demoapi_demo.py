"""The demo's content library on top of a small seed: a believable library and guide, and shares and views that
agree with the seeded deals and with the timeline."""

import time
from collections import defaultdict
from unittest import mock

from django.test import TestCase
from django.utils import timezone

from smarketing.content import demo, files, guide, kinds
from smarketing.content.demo import seed_content
from smarketing.content.demo_library import INTERNAL_TYPES, LIBRARY
from smarketing.content.models import (
    Asset,
    AssetType,
    AssetVersion,
    Message,
    MessageKind,
    Persona,
    Share,
    ShareView,
    Status,
    VersionStatus,
)
from smarketing.content.tests.files_fixtures import ContentStorageMixin
from smarketing.crm.models import DealContact, DealStageChange
from smarketing.demo.seed import seed
from smarketing.demo.users import ensure_demo_users
from smarketing.testing import ensure_defaults
from smarketing.timeline.models import Touchpoint

QUIET = {"out": lambda line: None}


class DemoContentTests(ContentStorageMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        seed(contacts=800, seed=7, demo_users=True, **QUIET)
        cls.journey_views = Touchpoint.objects.filter(kind=kinds.CONTENT_VIEWED).count()
        cls.now = timezone.now()
        started = time.monotonic()
        cls.made = seed_content(now=cls.now, seed=7, **QUIET)
        cls.seconds = time.monotonic() - started

    def test_a_library_across_types_stages_and_personas_most_of_it_approved(self):
        self.assertLess(self.seconds, 20)
        assets = Asset.objects.all()
        self.assertGreaterEqual(assets.count(), 30)
        self.assertEqual(set(assets.values_list("asset_type", flat=True)), set(AssetType.values))
        self.assertGreater(assets.filter(status=Status.APPROVED).count(), 0.7 * assets.count())
        self.assertEqual(
            set(Persona.objects.values_list("name", flat=True)),
            {"Head of Marketing", "Sales leader", "RevOps / Operations", "IT & Security", "Executive"},
        )
        owners = set(assets.values_list("owner__email", flat=True))
        self.assertEqual(owners, {"maya@demo.smarketing.local", "noah@demo.smarketing.local"})
        # Every open stage of the pipeline has approved assets; every approved asset has its stage and persona.
        approved = assets.filter(status=Status.APPROVED)
        stages = set(approved.values_list("deal_stages__name", flat=True))
        self.assertLessEqual(
            {"Appointment scheduled", "Qualified to buy", "Presentation scheduled", "Decision maker bought-in",
             "Contract sent"},
            stages,
        )  # fmt: skip
        self.assertFalse(approved.filter(deal_stages=None).exists())
        self.assertFalse(approved.filter(personas=None).exists())
        self.assertTrue(approved.exclude(funnel_stages=None).exists())

    def test_reviews_in_progress_a_retired_asset_versions_and_expiry(self):
        in_review = Asset.objects.filter(status=Status.IN_REVIEW)
        self.assertGreaterEqual(in_review.count(), 2)
        for asset in in_review:
            self.assertTrue(asset.reviewers.exists(), asset)
            self.assertNotIn(asset.owner_id, set(asset.reviewers.values_list("pk", flat=True)))
            self.assertEqual(asset.versions.get().status, VersionStatus.IN_REVIEW)
            self.assertIsNone(asset.published_version_id)
        self.assertTrue(in_review.exclude(comments=None).exists())
        sent_back = Asset.objects.get(title="Email template: Sending the proposal")
        self.assertEqual(sent_back.status, Status.DRAFT)
        self.assertEqual(sent_back.reviews.get().decision, "changes_requested")
        retired = Asset.objects.get(status=Status.RETIRED)
        self.assertIsNotNone(retired.retired_at)
        self.assertIsNotNone(retired.published_version_id)
        deck = Asset.objects.get(title="Smarketing company overview deck")
        v1, v2 = deck.versions.order_by("number")
        self.assertEqual((v1.status, v2.status), (VersionStatus.SUPERSEDED, VersionStatus.APPROVED))
        self.assertEqual(deck.published_version, v2)
        self.assertLess(v1.approved_at, v2.approved_at)
        self.assertEqual(deck.approved_at, v2.approved_at)
        self.assertEqual(deck.reviews.filter(decision="approved").count(), 2)
        pending = Asset.objects.get(title__startswith="Product demo deck")
        self.assertEqual(pending.status, Status.APPROVED)  # v1 still served while v2 is reviewed
        self.assertEqual(pending.versions.get(number=2).status, VersionStatus.IN_REVIEW)
        self.assertEqual(pending.published_version.number, 1)
        soon = Asset.objects.filter(expires_on__lte=self.now.date() + timezone.timedelta(days=14))
        self.assertGreaterEqual(soon.count(), 2)
        self.assertTrue(soon.filter(expiry_reminded_at__isnull=True).exists())  # the daily reminder has work to do

    def test_file_versions_are_real_pdfs_in_the_content_storage_with_thumbnails(self):
        pdfs = AssetVersion.objects.exclude(file_name="")
        self.assertGreater(pdfs.count(), 20)
        for version in pdfs:
            self.assertRegex(version.file_name, r"^files/[0-9a-f]{32}$")
            self.assertEqual(version.mime_type, "application/pdf")
            self.assertGreaterEqual(version.page_count, 1)
            self.assertTrue(version.thumbnail_name)
        version = pdfs.filter(page_count__gte=3).first()
        with files.open_file(version.file_name) as fh:
            data = fh.read()
        self.assertTrue(data.startswith(b"%PDF"))
        self.assertEqual(len(data), version.size)
        self.assertEqual(self.stored_names() >= {version.file_name, version.thumbnail_name}, True)
        urls = AssetVersion.objects.filter(file_name="")
        self.assertTrue(urls.exists())
        self.assertFalse(urls.exclude(url__startswith="https://").exists())

    def test_a_messaging_guide_approved_with_one_edit_waiting(self):
        messages = Message.objects.all()
        self.assertGreaterEqual(messages.count(), 15)
        self.assertEqual(set(messages.values_list("kind", flat=True)), set(MessageKind.values))
        self.assertEqual(messages.filter(kind=MessageKind.COMPETITOR).count(), 2)
        self.assertFalse(messages.exclude(status=Status.APPROVED).exists())
        self.assertFalse(messages.filter(approved_revision=None).exists())
        pending = [m for m in messages if guide.has_pending(m)]
        self.assertEqual(len(pending), 1)
        self.assertNotEqual(pending[0].body, pending[0].approved_revision.body)  # sales keeps the approved text
        proposal = messages.get(title__startswith="Proposal")
        self.assertEqual(proposal.kind, MessageKind.TALKING_POINT)
        self.assertEqual(list(proposal.deal_stages.values_list("name", flat=True)), ["Contract sent"])
        self.assertEqual(
            messages.filter(kind=MessageKind.TALKING_POINT).values("deal_stages").distinct().count(), 5
        )  # one per open stage

    def _stays(self) -> dict[int, list[tuple[int, object, object]]]:
        """Each deal's (stage, entered, left) from its stage history."""
        stays = defaultdict(list)
        rows = list(DealStageChange.objects.order_by("deal_id", "changed_at", "id").values_list(
            "deal_id", "to_stage_id", "changed_at"))  # fmt: skip
        for i, (deal_id, stage_id, at) in enumerate(rows):
            left = rows[i + 1][2] if i + 1 < len(rows) and rows[i + 1][0] == deal_id else self.now
            stays[deal_id].append((stage_id, at, left))
        return stays

    def test_shares_fall_in_the_deals_time_in_the_assets_stage_while_it_was_approved(self):
        shares = list(Share.objects.select_related("asset").prefetch_related("asset__deal_stages"))
        self.assertEqual(len(shares), self.made)
        self.assertGreater(len(shares), 40)
        stays = self._stays()
        approved_from = {}
        for asset_id, at in AssetVersion.objects.filter(approved_at__isnull=False).values_list(
            "asset_id", "approved_at"
        ):
            approved_from[asset_id] = min(at, approved_from.get(asset_id, at))
        members = set(DealContact.objects.values_list("deal_id", "contact_id"))
        reps = {"sam@demo.smarketing.local", "jordan@demo.smarketing.local", "taylor@demo.smarketing.local",
                "riley@demo.smarketing.local"}  # fmt: skip
        for share in shares:
            asset = share.asset
            self.assertIsNotNone(share.deal_id)
            self.assertIn((share.deal_id, share.contact_id), members)
            tagged = {s.pk for s in asset.deal_stages.all()}
            inside = [
                stage in tagged and entered <= share.created_at < left for stage, entered, left in stays[share.deal_id]
            ]
            self.assertTrue(
                any(inside),
                f"share {share.pk} of {asset} at {share.created_at} is outside the deal's time in the asset's stages",
            )  # fmt: skip
            self.assertGreaterEqual(share.created_at, approved_from[asset.pk])  # approved at share time
            if asset.retired_at:
                self.assertLess(share.created_at, asset.retired_at)
            self.assertNotIn(asset.asset_type, INTERNAL_TYPES)
            self.assertLess(share.created_at, self.now)
        self.assertLessEqual(set(Share.objects.values_list("shared_by__email", flat=True)), reps)
        self.assertTrue(Share.objects.filter(shared_by__email="sam@demo.smarketing.local").exists())

    def test_views_come_after_their_share_while_the_link_worked_of_the_version_published_then(self):
        views = list(ShareView.objects.select_related("share", "asset", "version"))
        self.assertGreater(len(views), 0.5 * self.made)
        for view in views:
            share = view.share
            self.assertGreater(view.started_at, share.created_at)
            self.assertLess(view.started_at, self.now)
            for end in (share.expires_at, share.revoked_at, view.asset.retired_at):
                if end is not None:
                    self.assertLess(view.started_at, end)
            self.assertEqual(view.contact_id, share.contact_id)
            self.assertEqual(view.asset_id, share.asset_id)
            self.assertIsNotNone(view.version.approved_at)
            self.assertLessEqual(view.version.approved_at, view.started_at)
            newer = AssetVersion.objects.filter(
                asset=view.asset_id, approved_at__gt=view.version.approved_at, approved_at__lte=view.started_at
            )
            self.assertFalse(newer.exists(), "a view served an older version than the one published then")
            self.assertLessEqual(view.max_page, view.version.page_count or 0)
            self.assertGreaterEqual(view.last_seen_at, view.started_at)
        for share in Share.objects.all():
            seen = sorted(v.started_at for v in views if v.share_id == share.pk)
            self.assertEqual(share.view_count, len(seen))
            self.assertEqual(share.first_viewed_at, seen[0] if seen else None)

    def test_won_deals_had_more_case_studies_viewed(self):
        def rate(status):
            deals = set(DealStageChange.objects.filter(deal__status=status).values_list("deal_id", flat=True))
            viewed = set(
                ShareView.objects.filter(share__deal__status=status, asset__asset_type=AssetType.CASE_STUDY)
                .values_list("share__deal_id", flat=True)
            )  # fmt: skip
            return len(viewed) / max(1, len(deals))

        self.assertGreater(rate("won"), rate("lost"))
        self.assertGreater(rate("won"), 0.5)

    def test_the_timeline_has_the_touches_the_services_write_and_keeps_the_journeys_own(self):
        shared = Touchpoint.objects.filter(kind=kinds.CONTENT_SHARED)
        self.assertEqual(shared.count(), Share.objects.count())
        touch = shared.select_related("deal").first()
        share = Share.objects.get(pk=touch.details["share_id"])
        self.assertEqual(
            (touch.contact_id, touch.deal_id, touch.actor_id, touch.occurred_at, touch.team),
            (share.contact_id, share.deal_id, share.shared_by_id, share.created_at, "sales"),
        )
        self.assertEqual(touch.summary, f"Shared “{share.asset.title}”")
        viewed = Touchpoint.objects.filter(kind=kinds.CONTENT_VIEWED, details__has_key="view_id")
        self.assertEqual(viewed.count(), ShareView.objects.count())
        by_view = {t.details["view_id"]: t for t in viewed}
        for view in ShareView.objects.all():
            self.assertEqual(by_view[view.pk].occurred_at, view.started_at)
            self.assertEqual(by_view[view.pk].contact_id, view.contact_id)
        self.assertEqual(
            Touchpoint.objects.filter(kind=kinds.CONTENT_DOWNLOADED).count(),
            ShareView.objects.filter(downloaded=True).count(),
        )
        emailed = Share.objects.filter(channel=Share.Channel.EMAIL).count()
        self.assertEqual(Touchpoint.objects.filter(kind="email_logged", summary__startswith="Sent “").count(), emailed)
        # The journey's marketing content views (no share) are left as they were.
        self.assertEqual(
            Touchpoint.objects.filter(kind=kinds.CONTENT_VIEWED).exclude(details__has_key="view_id").count(),
            self.journey_views,
        )
        # Tokens are secrets: random, and never on the timeline.
        token = Share.objects.first().token
        self.assertFalse(Touchpoint.objects.filter(kind=kinds.CONTENT_SHARED, details__icontains=token).exists())

    def test_a_second_seed_reuses_the_library_and_shares_only_on_new_deals(self):
        counts = (Asset.objects.count(), Message.objects.count(), Persona.objects.count(), AssetVersion.objects.count())
        shares = Share.objects.count()
        last = Share.objects.order_by("-id").values_list("id", flat=True).first()
        first_deals = set(Share.objects.values_list("deal_id", flat=True))
        self.assertEqual(seed_content(now=self.now, seed=7, **QUIET), 0)
        self.assertEqual(Share.objects.count(), shares)
        seed(contacts=300, seed=8, **QUIET)
        added = seed_content(seed=7, **QUIET)
        self.assertGreater(added, 0)
        self.assertEqual(
            (Asset.objects.count(), Message.objects.count(), Persona.objects.count(), AssetVersion.objects.count()),
            counts,
        )
        self.assertEqual(Share.objects.count(), shares + added)
        # Each deal got its shares once: none of the first seed's deals got more.
        self.assertFalse(Share.objects.filter(id__gt=last, deal_id__in=first_deals).exists())
        self.assertEqual(len(LIBRARY), Asset.objects.count())


class DemoContentFailureTests(ContentStorageMixin, TestCase):
    def test_a_failed_seed_leaves_no_rows_and_no_files(self):
        ensure_defaults()
        ensure_demo_users()
        with mock.patch.object(demo, "_shares_and_views", side_effect=RuntimeError("boom")):
            with self.assertRaises(RuntimeError):
                seed_content(**QUIET)
        self.assertFalse(Asset.objects.exists())
        self.assertEqual(self.stored_names(), set())
        self.assertGreaterEqual(seed_content(**QUIET), 0)  # and it runs fine afterwards, with no deals to share on
        self.assertEqual(Asset.objects.count(), len(LIBRARY))
        self.assertEqual(len(self.stored_names()), 2 * AssetVersion.objects.exclude(file_name="").count())
