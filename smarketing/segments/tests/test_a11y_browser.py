"""axe-core on the segment and list pages (the same rules and threshold as core's accessibility test)."""

import pytest
from django.urls import reverse

from smarketing.core.tests.test_a11y_browser import AXE_URL, VIEWPORTS, log_in, run_axe, sqlite_only, watch_console


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_segment_and_list_pages_have_no_serious_axe_violations(live_server, browser, axe_source, viewport):
    sqlite_only()
    from smarketing.accounts.access import system_actor
    from smarketing.segments import services
    from smarketing.testing import make_cast, make_contact

    cast = make_cast()
    contact = make_contact(first_name="Ada", lifecycle_stage="mql")
    contact_list = services.create_list(system_actor(), name="Fair")
    services.add_to_list(system_actor(), contact_list, [contact.pk])
    segment = services.create_segment(
        system_actor(),
        name="MQLs",
        definition={"op": "and", "rules": [{"field": "lifecycle_stage", "operator": "equals", "value": "mql"}]},
    )
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.route("**" + AXE_URL, lambda route: route.fulfill(path=axe_source, content_type="text/javascript"))
    errors = watch_console(page)
    base = live_server.url
    log_in(page, base, cast["alice"].email)
    problems = []
    for path in [
        reverse("segments:segment_list"),
        reverse("segments:segment_create"),
        reverse("segments:segment_edit", args=[segment.pk]),
        reverse("segments:segment_detail", args=[segment.pk]),
        reverse("segments:list_list"),
        reverse("segments:list_create"),
        reverse("segments:list_detail", args=[contact_list.pk]),
    ]:
        response = page.goto(base + path)
        assert response.status == 200, f"{path} answered {response.status}"
        page.wait_for_load_state("networkidle")
        for violation in run_axe(page, base):
            if violation["impact"] in ("serious", "critical"):
                nodes = "\n".join(f"      {n['target']}: {n['summary']}" for n in violation["nodes"][:10])
                problems.append(f"{path} [{violation['impact']}] {violation['id']}: {violation['help']}\n{nodes}")
    context.close()
    assert not problems, "\n".join(problems)
    assert errors == [], "\n".join(errors)
