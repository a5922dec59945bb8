"""In a real browser: the campaign report draws its charts with the vendored Chart.js under the app's CSP, each
chart's table alternative opens, and the email of the click map shows a badge per link."""

import pytest
from playwright.sync_api import expect


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_report_draws_its_charts(live_server, page, axe_source):
    from smarketing.core.tests.test_a11y_browser import AXE_URL, run_axe
    from smarketing.email.models import EmailCampaign
    from smarketing.metrics.tests.campaign_history import make_history
    from smarketing.testing import PASSWORD, make_cast

    make_cast()
    ec = make_history()["email_campaign"]
    EmailCampaign.objects.filter(pk=ec.pk).update(
        html='<p>Hi</p><a href="{{ tracking.link_1 }}">See pricing</a><a href="{{ unsubscribe_url }}">Leave</a>'
    )
    page.route("**" + AXE_URL, lambda route: route.fulfill(path=axe_source, content_type="text/javascript"))
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "mia@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(f"{live_server.url}/email/campaigns/{ec.pk}/report/")
    expect(page.locator("h1")).to_have_text("Spring launch")
    for name in ("funnel", "timeline", "variants"):
        canvas = page.locator(f"canvas[data-chart={name}]")
        expect(canvas).to_have_attribute("data-drawn", "1")
        # Chart.js owns the canvas: the chart exists and has the server's numbers.
        drawn = page.evaluate(
            "name => { const c = window.Chart.getChart(document.querySelector(`canvas[data-chart=${name}]`));"
            " return c ? c.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0)) : null; }",
            name,
        )
        assert drawn, name
    funnel_total = page.evaluate(
        "() => window.Chart.getChart(document.querySelector('canvas[data-chart=funnel]')).data.datasets[0].data"
    )
    assert funnel_total == [7, 4, 3, 1, 1, 1, 3, 2]

    page.locator("summary", has_text="Show as a table").first.click()
    expect(page.locator("details.chart-table[open] tr", has_text="Deals opened")).to_contain_text("3")

    # Change the window with the keyboard-friendly form: a GET, the figures follow.
    page.select_option("#report-window", "60")
    page.click("button:has-text('Update')")
    expect(page.locator(".stat", has_text="Became leads")).to_contain_text("2")

    frame = page.frame_locator("iframe.clickmap-frame")
    expect(frame.locator("a", has_text="See pricing")).to_contain_text("3 · 75.0 %")
    # WCAG 2.1 AA: nothing serious on the report (charts carry aria-labels and table alternatives).
    serious = [
        f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes'][:5]]}"
        for v in run_axe(page, live_server.url)
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, serious
    assert not errors, errors
