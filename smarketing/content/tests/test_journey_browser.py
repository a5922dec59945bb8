"""The issue's journey in a real browser, end to end through the pages (issue 12, "done means"):

Maya (marketing manager) uploads a PDF for the "Proposal" stage and submits it; Alex (admin) lets her approve her own
asset; she approves it. Sam (sales rep) opens a deal in "Proposal": the stage panel shows the stage's talking point
and the asset; he shares it with the deal's contact from the panel. The contact opens the link (another browser,
not signed in) and reads the PDF; the view appears on the contact's timeline and in the asset's report.
Screenshots go to <tmp>/shots/journey_*.png.
"""

import os
import tempfile

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.content.tests.files_fixtures import make_pdf

SHOTS = os.path.join(tempfile.gettempdir(), "shots")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def shoot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"journey_{name}.png"), full_page=True)


def sign_in_as(page, base: str, email: str) -> None:
    from smarketing.core.tests.test_a11y_browser import log_in

    page.wait_for_load_state("networkidle")  # no fragment still loading sets a cookie after the log-in page
    page.context.clear_cookies()
    log_in(page, base, email)


def test_maya_approves_sam_shares_the_contact_reads_and_everyone_sees_it(live_server, browser, settings):
    from smarketing.accounts.models import Role
    from smarketing.content import guide, kinds
    from smarketing.content.models import Asset, MessageKind, Review, Share, ShareView, Status
    from smarketing.core.tests.test_a11y_browser import watch_console
    from smarketing.crm.defaults import default_pipeline
    from smarketing.testing import make_contact, make_deal, make_user
    from smarketing.timeline.models import Touchpoint

    content_dir = tempfile.mkdtemp(prefix="smk-content-journey-")
    settings.STORAGES = {
        **settings.STORAGES,
        "content": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": content_dir}},
    }
    alex = make_user("alex@example.com", role=Role.ADMIN, team_kind="revops", name="Alex Morgan")
    maya = make_user("maya@example.com", role=Role.MANAGER, team_kind="marketing", name="Maya Lopez")
    sam = make_user("sam@example.com", role=Role.MEMBER, team_kind="sales", name="Sam Okafor")
    proposal = default_pipeline().stages.get(name="Contract sent")
    proposal.name = "Proposal"  # this company calls its proposal stage so
    proposal.save(update_fields=["name"])
    contact = make_contact(sam, first_name="Dana", last_name="Buyer", email="dana@buyer.example", title="CFO")
    deal = make_deal(sam, name="Buyer Corp expansion", stage=proposal, contacts=[contact])
    point = guide.create_message(
        maya,
        kind=MessageKind.TALKING_POINT,
        title="Walk through the ROI table before the price",
        body="Start from their numbers\nThen the price",
        deal_stages=[proposal.pk],
    )
    guide.submit_message(point, maya)
    guide.review_message(point, alex, Review.Decision.APPROVED)

    base = live_server.url
    pdf = os.path.join(content_dir, "Proposal companion.pdf")
    with open(pdf, "wb") as fh:
        fh.write(make_pdf())

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_console(page)

    # 1. Maya uploads the PDF for the Proposal stage and submits it.
    sign_in_as(page, base, maya.email)
    page.goto(base + reverse("content:asset_new"))
    page.locator("#id_title").fill("Proposal companion")
    page.locator("#id_asset_type").select_option(label="One-pager")
    page.get_by_label("Description").fill("What the proposal means for the buyer, in one page.")
    page.get_by_label("File", exact=True).set_input_files(pdf)
    page.get_by_role("group", name="Deal stages").get_by_label("Proposal").check()
    page.get_by_role("button", name="Add the asset").click()
    expect(page.get_by_role("heading", name="Proposal companion", level=1)).to_be_visible()
    page.get_by_role("button", name="Submit version 1 for review").click()
    expect(page.locator("#asset-status")).to_contain_text("In review")
    asset = Asset.objects.get(title="Proposal companion")
    assert list(asset.deal_stages.all()) == [proposal]
    assert not page.get_by_role("button", name="Approve version 1").is_visible()  # not her own, not yet

    # 2. Alex (admin) allows her to approve her own asset.
    sign_in_as(page, base, alex.email)
    page.goto(base + reverse("content:asset_edit", args=[asset.pk]))
    page.get_by_label("Let the owner approve it themselves").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Proposal companion", level=1)).to_be_visible()

    # 3. Maya approves it.
    sign_in_as(page, base, maya.email)
    page.goto(base + reverse("content:asset_detail", args=[asset.pk]))
    page.wait_for_load_state("networkidle")
    page.locator("#review-comment").fill("Checked against the price list.")
    page.get_by_role("button", name="Approve version 1").click()
    expect(page.locator("#asset-status")).to_contain_text("Approved")
    asset.refresh_from_db()
    assert asset.status == Status.APPROVED and asset.approved_by == maya
    shoot(page, "approved")

    # 4. Sam opens the deal: the panel has the talking point and the asset; he shares it with Dana.
    sign_in_as(page, base, sam.email)
    page.goto(base + reverse("deal_detail", args=[deal.pk]))
    panel = page.locator("#panel-content")
    expect(panel).to_contain_text("Walk through the ROI table before the price")
    expect(panel).to_contain_text("Proposal companion")
    shoot(page, "deal_panel")
    panel.get_by_role("link", name="Share “Proposal companion”").click()
    page.wait_for_url("**" + reverse("content:share_new") + "**")
    expect(page.locator("#share-panel")).to_contain_text("Dana Buyer")
    page.get_by_role("button", name="Create link").click()
    link = page.locator("input[data-share-select]")
    expect(link).to_be_visible()
    share = Share.objects.get()
    assert (share.asset_id, share.contact_id, share.deal_id, share.shared_by_id) == (
        asset.pk,
        contact.pk,
        deal.pk,
        sam.pk,
    )
    shoot(page, "shared")

    # 5. Dana opens the link in her own browser and reads both pages.
    visitor = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    reader = visitor.new_page()
    reader_errors = watch_console(reader)
    reader.goto(base + reverse("content_public:view", args=[share.token]))
    expect(reader.locator("h1")).to_have_text("Proposal companion")
    expect(reader.locator(".viewer-page")).to_have_count(2)
    reader.locator('.viewer-page[data-page="2"]').scroll_into_view_if_needed()
    expect(reader.locator('.viewer-page[data-page="2"] img')).to_have_js_property("complete", True)
    shoot(reader, "contact_reads")
    visitor.close()
    assert ShareView.objects.filter(share=share, contact=contact).count() == 1

    # 6. The view is on Dana's timeline and in the asset's report.
    assert Touchpoint.objects.filter(kind=kinds.CONTENT_VIEWED, contact=contact, deal=deal).count() == 1
    page.goto(base + reverse("contact_detail", args=[contact.pk]))
    expect(page.locator("#timeline")).to_contain_text("Proposal companion")
    shoot(page, "timeline")
    page.goto(base + reverse("content:asset_detail", args=[asset.pk]))
    page.wait_for_load_state("networkidle")
    report = page.locator("#asset-report")
    expect(report.locator("dt:has-text('Views') + dd")).to_have_text("1")
    expect(report.locator("dt:has-text('Deals touched') + dd")).to_contain_text("1 (0 won, 0 lost, 1 open)")
    shoot(page, "asset_report")
    context.close()
    assert errors == [], "console errors:\n" + "\n".join(errors)
    assert reader_errors == [], "console errors:\n" + "\n".join(reader_errors)
