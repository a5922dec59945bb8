"""In a real browser: create a token (shown once), use it, revoke it after confirming; the docs page renders."""

import pytest
from playwright.sync_api import expect


def _status(page, url: str, token: str) -> int:
    # The browser context also holds the session cookie: the bearer token is what decides (it is checked first).
    return page.request.get(url, headers={"Authorization": f"Bearer {token}"}).status


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_create_use_and_revoke_a_token(live_server, page):
    from smarketing.testing import PASSWORD, make_cast

    make_cast()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "mia@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.click("nav >> text=API tokens")
    expect(page.locator("h1")).to_have_text("API tokens")
    page.fill("#id_name", "Warehouse sync")
    page.select_option("#id_scope", "read")
    page.click("button:has-text('Create token')")
    secret = page.locator("[data-testid=token-secret]").inner_text().strip()
    assert secret.startswith("smk_")
    assert _status(page, live_server.url + "/api/v1/contacts", secret) == 200

    page.goto(live_server.url + "/api/tokens/")
    expect(page.locator("[data-testid=token-secret]")).to_have_count(0)  # shown once
    row = page.locator("tr", has_text="Warehouse sync")
    expect(row).to_contain_text(secret[:12])
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.locator("button:has-text('Revoke')").click()
    expect(row).to_contain_text("Active")  # dismissing the confirmation revokes nothing
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button:has-text('Revoke')").click()
    expect(page.locator("tr", has_text="Warehouse sync")).to_contain_text("Revoked")
    assert _status(page, live_server.url + "/api/v1/contacts", secret) == 401

    page.goto(live_server.url + "/api/docs/")
    expect(page.locator("h1")).to_contain_text("Smarketing API")
    expect(page.locator("#problem-payload-too-large")).to_be_visible()
    assert errors == []
