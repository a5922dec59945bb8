"""The asset review workflow through HTTP: draft → in review → approved, who may decide, changes requested,
versions (the published one moves only on approval), retiring and restoring, comments."""

import threading
import unittest
from unittest import mock

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import TestCase, TransactionTestCase
from django.urls import reverse

from smarketing.content import files, kinds, services
from smarketing.content.models import Asset, AssetType, AssetVersion, Comment, Review, Status, VersionStatus
from smarketing.content.tests.files_fixtures import ContentStorageMixin
from smarketing.core.models import AuditEntry, Event
from smarketing.notifications.models import Notification
from smarketing.testing import ensure_defaults, make_cast

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def fake_store(fileobj, original_name):
    """Stands in for the files part's store_upload: what a stored PDF looks like."""
    data = fileobj.read()
    return files.StoredFile(
        name=f"files/test{len(data)}{original_name[:8]}",
        original_name=original_name,
        mime_type="application/pdf",
        size=len(data),
        sha256="0" * 64,
        page_count=3,
    )


def storing():
    """store_upload and delete_file replaced (create=True: they may not exist yet in files.py)."""
    return mock.patch.multiple(files, create=True, store_upload=mock.DEFAULT, delete_file=mock.DEFAULT)


def url_asset(owner, *, reviewers=(), title="Pricing one-pager", **fields):
    return services.create_asset(
        owner,
        title=title,
        asset_type=AssetType.ONE_PAGER,
        url="https://example.com/pricing",
        reviewers=list(reviewers),
        **fields,
    )


class WorkflowTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        cls.mia, cls.carol, cls.alice = cls.cast["mia"], cls.cast["carol"], cls.cast["alice"]

    def post_review(self, user, asset, decision, comment="", htmx=True):
        self.client.force_login(user)
        headers = {"HX-Request": "true", "HX-Target": "review-panel"} if htmx else {}
        return self.client.post(
            reverse("content:asset_review", args=[asset.pk]),
            {"decision": decision, "comment": comment},
            headers=headers,
        )

    def test_add_submit_and_approve_by_a_named_reviewer(self):
        self.client.force_login(self.mia)
        stage = self.cast_stage()
        response = self.client.post(
            reverse("content:asset_new"),
            {
                "title": "ACME case study",
                "asset_type": AssetType.CASE_STUDY,
                "url": "https://example.com/acme",
                "language": "en",
                "reviewers": [self.carol.pk],
                "deal_stages": [stage.pk],
                "funnel_stages": ["sql", "opportunity"],
            },
        )
        asset = Asset.objects.get(title="ACME case study")
        self.assertRedirects(response, reverse("content:asset_detail", args=[asset.pk]))
        self.assertEqual((asset.owner, asset.status, asset.published_version), (self.mia, Status.DRAFT, None))
        self.assertEqual(list(asset.deal_stages.all()), [stage])
        self.assertEqual(sorted(asset.funnel_stages.values_list("lifecycle_stage", flat=True)), ["opportunity", "sql"])
        v1 = asset.versions.get()
        self.assertEqual((v1.number, v1.status, v1.url), (1, VersionStatus.DRAFT, "https://example.com/acme"))
        self.assertFalse(asset.shareable)

        response = self.client.post(reverse("content:asset_submit", args=[asset.pk]))
        self.assertRedirects(response, reverse("content:asset_detail", args=[asset.pk]))
        asset.refresh_from_db()
        v1.refresh_from_db()
        self.assertEqual((asset.status, v1.status), (Status.IN_REVIEW, VersionStatus.IN_REVIEW))
        asked = Notification.objects.get(kind=kinds.NOTIFY_REVIEW)
        self.assertEqual(asked.user, self.carol)
        self.assertTrue(Event.objects.filter(name="asset.submitted", object_id=str(asset.pk)).exists())

        page = self.client.get(reverse("content:asset_detail", args=[asset.pk]))
        self.assertContains(page, "You own this asset, so someone else approves it")
        self.assertNotContains(page, "Approve version 1")

        self.client.force_login(self.carol)
        page = self.client.get(reverse("content:asset_detail", args=[asset.pk]))
        self.assertContains(page, "Approve version 1")
        response = self.post_review(self.carol, asset, Review.Decision.APPROVED, "Numbers checked.")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'id="review-panel"')
        self.assertContains(response, 'hx-swap-oob="true"')  # the status and the current version follow
        self.assertContains(response, "Numbers checked.")
        asset.refresh_from_db()
        v1.refresh_from_db()
        self.assertEqual(asset.status, Status.APPROVED)
        self.assertEqual(asset.published_version, v1)
        self.assertEqual(asset.approved_by, self.carol)
        self.assertIsNotNone(asset.approved_at)
        self.assertEqual(v1.status, VersionStatus.APPROVED)
        self.assertTrue(asset.shareable)
        decided = Notification.objects.get(kind=kinds.NOTIFY_DECIDED)
        self.assertEqual(decided.user, self.mia)
        event = Event.objects.get(name="asset.approved", object_id=str(asset.pk))
        self.assertEqual(event.payload["version"]["number"], 1)
        self.assertEqual(event.payload["superseded_version_id"], None)
        actions = list(
            AuditEntry.objects.filter(object_id=str(asset.pk)).order_by("id").values_list("action", flat=True)
        )
        self.assertEqual(actions, ["create", "submit", "approve"])
        record = Review.objects.get(asset=asset)
        self.assertEqual((record.reviewer, record.version, record.comment), (self.carol, v1, "Numbers checked."))

        # The same decision again (a second reviewer's click that lost the race) is refused with words, not twice.
        again = self.post_review(self.alice, asset, Review.Decision.APPROVED)
        self.assertContains(again, "Nothing is waiting for review")
        self.assertEqual(Review.objects.filter(asset=asset).count(), 1)

    def cast_stage(self):
        from smarketing.crm.defaults import default_pipeline

        return default_pipeline().stages.order_by("position")[2]

    def test_who_may_decide(self):
        asset = url_asset(self.mia, reviewers=[self.carol])
        services.submit_for_review(asset, self.mia)
        for name in ("mia", "rory", "bob"):  # the owner, a read-only user, a member who is no reviewer
            with self.subTest(name):
                response = self.post_review(self.cast[name], asset, Review.Decision.APPROVED, htmx=False)
                self.assertEqual(response.status_code, 403)
        asset.refresh_from_db()
        self.assertEqual(asset.status, Status.IN_REVIEW)
        self.assertFalse(Review.objects.exists())
        # An admin who is no named reviewer may decide.
        response = self.post_review(self.alice, asset, Review.Decision.APPROVED, htmx=False)
        self.assertRedirects(response, reverse("content:asset_detail", args=[asset.pk]))
        asset.refresh_from_db()
        self.assertEqual((asset.status, asset.approved_by), (Status.APPROVED, self.alice))

    def test_an_admin_owner_cannot_approve_their_own_either(self):
        asset = url_asset(self.alice)
        services.submit_for_review(asset, self.alice)
        self.assertEqual(self.post_review(self.alice, asset, Review.Decision.APPROVED).status_code, 403)

    def test_self_approval_only_when_an_admin_allows_it(self):
        asset = url_asset(self.mia)
        services.submit_for_review(asset, self.mia)
        self.assertEqual(self.post_review(self.mia, asset, Review.Decision.APPROVED).status_code, 403)

        # The owner cannot switch it on: the field is not on their form, and the service refuses it.
        self.client.force_login(self.mia)
        edit = self.client.get(reverse("content:asset_edit", args=[asset.pk]))
        self.assertNotContains(edit, "allow_self_approval")
        with self.assertRaises(PermissionDenied):
            services.update_asset(asset, self.mia, allow_self_approval=True)

        self.client.force_login(self.alice)
        edit = self.client.get(reverse("content:asset_edit", args=[asset.pk]))
        self.assertContains(edit, 'name="allow_self_approval"')
        response = self.client.post(
            reverse("content:asset_edit", args=[asset.pk]),
            {"title": asset.title, "asset_type": asset.asset_type, "language": "en", "allow_self_approval": "on",
             "owner": self.mia.pk},
        )  # fmt: skip
        self.assertRedirects(response, reverse("content:asset_detail", args=[asset.pk]))
        asset.refresh_from_db()
        self.assertTrue(asset.allow_self_approval)
        self.assertTrue(
            AuditEntry.objects.filter(object_id=str(asset.pk), action="update", changes__has_key="allow_self_approval")
            .exists()
        )  # fmt: skip

        response = self.post_review(self.mia, asset, Review.Decision.APPROVED)
        self.assertEqual(response.status_code, 200)
        asset.refresh_from_db()
        self.assertEqual((asset.status, asset.approved_by), (Status.APPROVED, self.mia))

    def test_read_only_users_look_but_do_not_touch(self):
        asset = url_asset(self.mia, reviewers=[self.carol])
        services.submit_for_review(asset, self.mia)
        self.client.force_login(self.cast["rory"])
        page = self.client.get(reverse("content:asset_detail", args=[asset.pk]))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, "Approve version")
        self.assertNotContains(page, 'name="body"')  # no comment box
        self.assertEqual(self.client.get(reverse("content:asset_new")).status_code, 403)
        self.assertEqual(self.client.get(reverse("content:asset_edit", args=[asset.pk])).status_code, 403)
        self.assertEqual(self.client.post(reverse("content:asset_submit", args=[asset.pk])).status_code, 403)
        self.assertEqual(self.client.post(reverse("content:asset_retire", args=[asset.pk])).status_code, 403)
        self.assertEqual(
            self.client.post(reverse("content:asset_comment", args=[asset.pk]), {"body": "hi"}).status_code, 403
        )
        self.assertFalse(Comment.objects.exists())

    def test_changes_requested_sends_it_back_to_draft(self):
        asset = url_asset(self.mia, reviewers=[self.carol])
        services.submit_for_review(asset, self.mia)
        response = self.post_review(self.carol, asset, Review.Decision.CHANGES_REQUESTED, "")
        self.assertContains(response, "Say what should change.")
        asset.refresh_from_db()
        self.assertEqual(asset.status, Status.IN_REVIEW)

        response = self.post_review(self.carol, asset, Review.Decision.CHANGES_REQUESTED, "Use the 2025 prices.")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Changes were requested on version 1")
        asset.refresh_from_db()
        v1 = asset.versions.get()
        self.assertEqual((asset.status, v1.status), (Status.DRAFT, VersionStatus.CHANGES_REQUESTED))
        self.assertIsNone(asset.published_version)
        told = Notification.objects.get(kind=kinds.NOTIFY_DECIDED, user=self.mia)
        self.assertIn("Changes requested", told.title)
        self.assertEqual(told.body, "Use the 2025 prices.")
        # Sent back, it can be submitted again.
        services.submit_for_review(asset, self.mia)
        v1.refresh_from_db()
        self.assertEqual(v1.status, VersionStatus.IN_REVIEW)

    def test_comments_thread(self):
        asset = url_asset(self.mia)
        self.client.force_login(self.cast["bob"])
        response = self.client.post(
            reverse("content:asset_comment", args=[asset.pk]),
            {"body": "Can we get a German version?"},
            headers={"HX-Request": "true", "HX-Target": "comments"},
        )
        self.assertContains(response, "Can we get a German version?")
        self.assertContains(response, "Bob Seller")
        comment = Comment.objects.get()
        self.assertEqual((comment.asset, comment.author), (asset, self.cast["bob"]))
        empty = self.client.post(
            reverse("content:asset_comment", args=[asset.pk]), {"body": "  "}, headers={"HX-Request": "true"}
        )
        self.assertContains(empty, "Write a comment first.")
        self.assertEqual(Comment.objects.count(), 1)


class VersionTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        cls.mia, cls.carol = cls.cast["mia"], cls.cast["carol"]

    def setUp(self):
        patcher = storing()
        mocks = patcher.start()
        self.addCleanup(patcher.stop)
        mocks["store_upload"].side_effect = fake_store
        self.delete_file = mocks["delete_file"]

    def upload(self, name="deck.pdf"):
        return SimpleUploadedFile(name, PDF, content_type="application/pdf")

    def approve(self, asset):
        services.submit_for_review(asset, self.mia)
        services.review(asset, self.carol, Review.Decision.APPROVED)

    def test_an_uploaded_v2_replaces_v1_only_once_approved(self):
        self.client.force_login(self.mia)
        response = self.client.post(
            reverse("content:asset_new"),
            {"title": "Sales deck", "asset_type": AssetType.DECK, "upload": self.upload(), "language": "en",
             "reviewers": [self.carol.pk], "note": "First cut"},
        )  # fmt: skip
        asset = Asset.objects.get(title="Sales deck")
        self.assertRedirects(response, reverse("content:asset_detail", args=[asset.pk]))
        v1 = asset.versions.get()
        self.assertEqual((v1.original_name, v1.mime_type, v1.page_count, v1.note), ("deck.pdf", "application/pdf", 3,
                                                                                    "First cut"))  # fmt: skip
        self.assertTrue(v1.is_file)
        self.approve(asset)

        response = self.client.post(
            reverse("content:asset_version_new", args=[asset.pk]),
            {"upload": self.upload("deck-v2.pdf"), "note": "New logo"},  # fmt: skip
        )
        self.assertRedirects(response, reverse("content:asset_detail", args=[asset.pk]))
        v2 = asset.versions.get(number=2)
        self.assertEqual((v2.status, v2.original_name), (VersionStatus.DRAFT, "deck-v2.pdf"))
        self.client.post(reverse("content:asset_submit", args=[asset.pk]))
        asset.refresh_from_db()
        v2.refresh_from_db()
        # Before approval: v1 stays published, the asset stays approved (and shareable); v2 shows as in review.
        self.assertEqual(asset.published_version, v1)
        self.assertEqual(asset.status, Status.APPROVED)
        self.assertTrue(asset.shareable)
        self.assertEqual(v2.status, VersionStatus.IN_REVIEW)
        page = self.client.get(reverse("content:asset_detail", args=[asset.pk]))
        self.assertContains(page, "Published version 1")
        self.assertContains(page, "Version 2 in review")

        services.review(asset, self.carol, Review.Decision.APPROVED)
        asset.refresh_from_db()
        v1.refresh_from_db()
        v2.refresh_from_db()
        self.assertEqual(asset.published_version, v2)
        self.assertEqual((v1.status, v2.status), (VersionStatus.SUPERSEDED, VersionStatus.APPROVED))
        event = Event.objects.filter(name="asset.approved").order_by("-id").first()
        self.assertEqual(event.payload["superseded_version_id"], v1.pk)
        page = self.client.get(reverse("content:asset_detail", args=[asset.pk]))
        self.assertContains(page, "Published version 2")

    def test_changes_requested_on_v2_keeps_v1_published(self):
        asset = url_asset(self.mia, reviewers=[self.carol])
        self.approve(asset)
        services.add_version(asset, self.mia, upload=self.upload())
        services.submit_for_review(asset, self.mia)
        services.review(asset, self.carol, Review.Decision.CHANGES_REQUESTED, "Typo on page 2")
        asset.refresh_from_db()
        self.assertEqual(asset.status, Status.APPROVED)  # still shareable with v1
        self.assertEqual(asset.published_version.number, 1)
        self.assertEqual(asset.versions.get(number=2).status, VersionStatus.CHANGES_REQUESTED)

    def test_numbers_grow_and_a_new_upload_withdraws_the_one_in_review(self):
        asset = url_asset(self.mia, reviewers=[self.carol])
        services.submit_for_review(asset, self.mia)
        v2 = services.add_version(asset, self.mia, url="https://example.com/v2", note="fix")
        self.assertEqual(v2.number, 2)
        asset.refresh_from_db()
        self.assertEqual(asset.status, Status.DRAFT)
        self.assertEqual(asset.versions.get(number=1).status, VersionStatus.DRAFT)
        self.assertEqual(services.add_version(asset, self.mia, url="https://example.com/v3").number, 3)

    def test_refused_inputs(self):
        asset = url_asset(self.mia)
        self.client.force_login(self.mia)
        both = self.client.post(
            reverse("content:asset_version_new", args=[asset.pk]),
            {"upload": self.upload(), "url": "https://example.com/x"},
        )
        self.assertContains(both, "not both", status_code=400)
        script = self.client.post(reverse("content:asset_version_new", args=[asset.pk]), {"url": "javascript:alert(1)"})
        self.assertEqual(script.status_code, 400)
        with self.assertRaisesMessage(ValidationError, "https://"):
            services.add_version(asset, self.mia, url="javascript:alert(1)")
        self.assertEqual(asset.versions.count(), 1)
        # Someone else's asset: a member may not upload to it.
        self.client.force_login(self.cast["bob"])
        self.assertEqual(
            self.client.post(
                reverse("content:asset_version_new", args=[asset.pk]), {"url": "https://e.com/"}
            ).status_code,
            403,
        )

    def test_a_refused_upload_shows_its_reason(self):
        self.client.force_login(self.mia)
        with mock.patch.object(files, "store_upload", side_effect=files.UploadRefused("This is HTML, not a PDF.")):
            response = self.client.post(
                reverse("content:asset_new"),
                {"title": "Evil", "asset_type": AssetType.DECK, "upload": self.upload("evil.pdf"), "language": "en"},
            )
        self.assertContains(response, "This is HTML, not a PDF.", status_code=400)
        self.assertFalse(Asset.objects.exists())

    def test_a_failed_write_removes_the_stored_file(self):
        with mock.patch.object(AssetVersion.objects, "create", side_effect=RuntimeError("disk full")):
            with self.assertRaises(RuntimeError):
                services.create_asset(self.mia, title="X", asset_type=AssetType.DECK, upload=self.upload())
        self.assertEqual(self.delete_file.call_count, 1)
        self.assertFalse(Asset.objects.exists())


class RetireTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()

    def test_retire_and_restore(self):
        mia, carol = self.cast["mia"], self.cast["carol"]
        asset = url_asset(mia, reviewers=[carol])
        services.submit_for_review(asset, mia)
        services.review(asset, carol, Review.Decision.APPROVED)
        self.client.force_login(mia)
        page = self.client.get(reverse("content:asset_detail", args=[asset.pk]))
        self.assertContains(page, ">Retire<")

        # Not the owner, not their manager (carol manages sales; mia is in marketing): refused.
        self.client.force_login(self.cast["bob"])
        self.assertEqual(self.client.post(reverse("content:asset_retire", args=[asset.pk])).status_code, 403)

        self.client.force_login(mia)
        response = self.client.post(reverse("content:asset_retire", args=[asset.pk]))
        self.assertRedirects(response, reverse("content:asset_detail", args=[asset.pk]))
        asset.refresh_from_db()
        self.assertEqual(asset.status, Status.RETIRED)
        self.assertIsNotNone(asset.retired_at)
        self.assertFalse(asset.shareable)  # what the public viewer checks: the links stop working
        self.assertTrue(Event.objects.filter(name="asset.retired", object_id=str(asset.pk)).exists())
        page = self.client.get(reverse("content:asset_detail", args=[asset.pk]))
        self.assertContains(page, "Retired: share links no longer open it")
        self.assertNotContains(page, "Upload a new version")
        self.assertNotContains(page, "Share with a contact")
        with self.assertRaises(ValidationError):
            services.add_version(asset, mia, url="https://example.com/new")

        response = self.client.post(reverse("content:asset_retire", args=[asset.pk]), {"restore": "1"})
        asset.refresh_from_db()
        self.assertEqual((asset.status, asset.retired_at), (Status.APPROVED, None))
        self.assertTrue(asset.shareable)
        actions = list(AuditEntry.objects.filter(object_id=str(asset.pk)).values_list("action", flat=True))
        self.assertIn("retire", actions)
        self.assertIn("restore", actions)

    def test_an_admin_and_the_owners_manager_may_retire(self):
        asset = url_asset(self.cast["bob"])
        self.client.force_login(self.cast["carol"])  # bob's manager (sales)
        self.client.post(reverse("content:asset_retire", args=[asset.pk]))
        asset.refresh_from_db()
        self.assertEqual(asset.status, Status.RETIRED)
        self.client.force_login(self.cast["alice"])
        self.client.post(reverse("content:asset_retire", args=[asset.pk]), {"restore": "1"})
        asset.refresh_from_db()
        self.assertEqual(asset.status, Status.DRAFT)


@unittest.skipUnless(connection.vendor == "postgresql", "row locks race on PostgreSQL; SQLite serializes writers")
class ReviewRaceTests(TransactionTestCase):
    """Two reviewers decide at the same moment: the asset's row lock lets one decide; the other is told."""

    def test_two_reviewers_at_once_decide_once(self):
        ensure_defaults()
        cast = make_cast()
        asset = url_asset(cast["mia"], reviewers=[cast["carol"]])
        services.submit_for_review(asset, cast["mia"])
        barrier = threading.Barrier(2)
        outcomes = []

        def decide(user, decision, comment):
            try:
                barrier.wait(timeout=10)
                services.review(Asset.objects.get(pk=asset.pk), user, decision, comment)
                outcomes.append(decision)
            except ValidationError as exc:
                outcomes.append(exc.messages[0])
            finally:
                connections.close_all()

        threads = [
            threading.Thread(target=decide, args=(cast["carol"], Review.Decision.APPROVED, "")),
            threading.Thread(target=decide, args=(cast["alice"], Review.Decision.CHANGES_REQUESTED, "No")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
            self.assertFalse(thread.is_alive())
        self.assertEqual(len(outcomes), 2)
        self.assertEqual(Review.objects.filter(asset=asset).count(), 1)
        self.assertIn("Nothing is waiting for review: someone may have just decided.", outcomes)
        asset.refresh_from_db()
        decided = Review.objects.get(asset=asset).decision
        expected = Status.APPROVED if decided == Review.Decision.APPROVED else Status.DRAFT
        self.assertEqual(asset.status, expected)


class RealUploadTests(ContentStorageMixin, TestCase):
    """The pages with the files part's real storage: a PDF stored, sniffed, thumbnailed and downloadable; a hostile
    file refused with its reason and nothing kept."""

    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()

    def test_a_pdf_through_the_form(self):
        from smarketing.content.tests.files_fixtures import make_pdf, upload

        self.client.force_login(self.cast["mia"])
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                reverse("content:asset_new"),
                {"title": "Real deck", "asset_type": AssetType.DECK, "language": "en",
                 "upload": upload(make_pdf(), "Real deck.pdf")},
            )  # fmt: skip
        asset = Asset.objects.get(title="Real deck")
        self.assertRedirects(response, reverse("content:asset_detail", args=[asset.pk]))
        v1 = asset.versions.get()
        self.assertEqual((v1.mime_type, v1.page_count, v1.original_name), ("application/pdf", 2, "Real deck.pdf"))
        self.assertTrue(v1.file_name.startswith("files/"))
        self.assertTrue(v1.thumbnail_name)  # previews.after_store ran after the commit
        page = self.client.get(reverse("content:asset_detail", args=[asset.pk]))
        self.assertContains(page, reverse("content:version_download", args=[v1.pk]))
        download = self.client.get(reverse("content:version_download", args=[v1.pk]))
        self.assertEqual(download.status_code, 200)
        self.assertEqual(b"".join(download.streaming_content)[:5], b"%PDF-")
        listing = self.client.get(reverse("content:library"))
        self.assertContains(listing, reverse("content:asset_thumb", args=[asset.pk]))

    def test_an_html_file_named_pdf_is_refused(self):
        import os

        from smarketing.content.tests.files_fixtures import upload

        def stored():
            return sorted(n for _, _, names in os.walk(self.content_dir) for n in names)

        before = stored()
        self.client.force_login(self.cast["mia"])
        response = self.client.post(
            reverse("content:asset_new"),
            {"title": "Sneaky", "asset_type": AssetType.DECK, "language": "en",
             "upload": upload(b"<!doctype html><script>alert(1)</script>", "deck.pdf")},
        )  # fmt: skip
        self.assertContains(response, "HTML", status_code=400)
        self.assertFalse(Asset.objects.exists())
        self.assertEqual(stored(), before)  # nothing kept of it
