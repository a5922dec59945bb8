"""Booking in a real browser: a visitor in Los Angeles books Bob (Berlin) from his public page, seeing times in
their own zone (detected by the browser); then Bob sees the meeting on his calendar page, in his iCalendar feed
and on the contact's timeline. Screenshots of every page, desktop and 390 px, go to <tmp>/shots."""

import os
import tempfile
import zoneinfo
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

SHOTS = os.path.join(tempfile.gettempdir(), "shots")
PHONE = {"width": 390, "height": 844}


def shoot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"scheduling_{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_book_in_another_time_zone_then_the_host_sees_it_everywhere(live_server, browser):
    import icalendar

    from smarketing.core.tests.test_a11y_browser import log_in, watch_console
    from smarketing.scheduling.models import Meeting, MeetingType, Schedule
    from smarketing.testing import make_cast

    base = live_server.url
    cast = make_cast()
    bob = cast["bob"]
    bob.time_zone = "Europe/Berlin"
    bob.working_hours = {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    bob.save()
    MeetingType.objects.create(
        owner=bob,
        name="Intro call",
        slug="intro",
        durations=[30, 60],
        min_notice=0,
        description="A first talk about what you need.",
        questions=[{"key": "company", "label": "Company", "maps_to": "company.name", "required": True}],
    )
    today = timezone.now().date()
    week = today + timedelta(days=7 - today.weekday())  # next Monday: a whole free working week

    visitor = browser.new_context(timezone_id="America/Los_Angeles")
    page = visitor.new_page()
    errors = watch_console(page)
    page.goto(f"{base}/meet/intro/?week={week.isoformat()}")
    # No zone in the address: meet.js asks the browser and reloads the page in Los Angeles time.
    expect(page.locator("#meet-tz")).to_have_value("America/Los_Angeles")
    tuesday = page.locator(".meet-day").nth(1)
    first = tuesday.locator(".meet-slot").first
    expect(first).to_have_text("00:00")  # 09:00 in Berlin is midnight in Los Angeles (winter and summer alike)
    shoot(page, "public_desktop")
    page.set_viewport_size(PHONE)
    shoot(page, "public_phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    tuesday.locator(".meet-slot").nth(2).click()  # 01:00 in Los Angeles, 10:00 in Berlin
    form = page.locator("form.meet-form")
    expect(form).to_be_visible()
    form.get_by_label("Your name").fill("Ada Lovelace")
    form.locator("input[type=email]").fill("ada@example.com")
    form.get_by_label("Company").fill("Analytical Engines")
    form.get_by_label("Yes, send me occasional emails").check()
    shoot(page, "public_form")
    form.get_by_role("button", name="Book this time").click()
    expect(page.locator(".meet-success")).to_contain_text("You're booked")
    expect(page.locator(".meet-facts")).to_contain_text("01:00–01:30")
    expect(page.locator(".meet-facts")).to_contain_text("America/Los_Angeles")
    shoot(page, "public_booked")
    page.set_viewport_size(PHONE)
    shoot(page, "public_booked_phone")
    assert errors == []
    visitor.close()

    meeting = Meeting.objects.select_related("contact").get()
    assert meeting.host == bob
    assert meeting.booker_time_zone == "America/Los_Angeles"
    local = meeting.starts_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    assert (local.date(), local.hour, local.minute) == (week + timedelta(days=1), 10, 0)

    host = browser.new_context()
    page = host.new_page()
    log_in(page, base, bob.email)
    page.goto(base + reverse("scheduling:calendar") + f"?week={week.isoformat()}")
    item = page.locator(".sched-item.meeting")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("10:00–10:30")  # in Bob's own zone
    expect(item).to_contain_text("Ada Lovelace")
    shoot(page, "calendar_desktop")
    page.set_viewport_size(PHONE)
    shoot(page, "calendar_phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    item.click()
    expect(page.locator("h1")).to_contain_text("Ada")
    expect(page.locator("body")).to_contain_text("Analytical Engines")
    shoot(page, "meeting_desktop")

    page.goto(base + reverse("scheduling:availability"))
    shoot(page, "availability_desktop")
    page.goto(base + reverse("scheduling:types"))
    shoot(page, "types_desktop")
    page.set_viewport_size(PHONE)
    shoot(page, "types_phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(base + reverse("scheduling:type_edit", args=[MeetingType.objects.get().pk]))
    shoot(page, "type_form_desktop")

    feed = Schedule.objects.get(user=bob).feed_token
    answer = page.request.get(f"{base}/meet/feed/{feed}.ics")
    assert answer.status == 200
    calendar = icalendar.Calendar.from_ical(answer.body())
    events = [e for e in calendar.walk("VEVENT") if str(e.get("UID")) == meeting.uid]
    assert len(events) == 1
    assert events[0].decoded("DTSTART") == meeting.starts_at

    assert meeting.contact is not None
    page.goto(base + reverse("contact_detail", args=[meeting.contact_id]))
    expect(page.locator(".timeline")).to_contain_text("Meeting booked")
    shoot(page, "contact_timeline")
    host.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_scheduling_pages_have_no_serious_axe_violations(live_server, browser, axe_source, width):
    from smarketing.core.tests.test_a11y_browser import AXE_URL, log_in, run_axe, watch_console
    from smarketing.scheduling.models import MeetingType, MeetingTypeHost
    from smarketing.testing import make_cast, make_contact, team

    base = live_server.url
    cast = make_cast()
    for user in (cast["bob"], cast["carol"]):
        user.working_hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        user.save()
    mine = MeetingType.objects.create(owner=cast["bob"], name="Intro call", slug="intro", durations=[30, 60])
    sales = MeetingType.objects.create(team=team("sales"), name="Talk to sales", slug="sales", assignment="weighted")
    MeetingTypeHost.objects.create(meeting_type=sales, user=cast["bob"], weight=2)
    contact = make_contact(first_name="Peter", last_name="Gibbons")
    today = timezone.now().date()
    week = (today + timedelta(days=7 - today.weekday())).isoformat()
    context = browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    page.route("**" + AXE_URL, lambda route: route.fulfill(path=axe_source, content_type="text/javascript"))
    errors = watch_console(page)
    problems = []

    def check(path: str) -> None:
        response = page.goto(base + path)
        assert response.status == 200, f"{path} answered {response.status}"
        page.wait_for_load_state("networkidle")
        for violation in run_axe(page, base):
            if violation["impact"] in ("serious", "critical"):
                nodes = "\n".join(f"      {n['target']}: {n['summary']}" for n in violation["nodes"][:10])
                problems.append(f"{path} [{violation['impact']}] {violation['id']}: {violation['help']}\n{nodes}")

    check("/meet/intro/?tz=Europe/Berlin")  # this week: "Earlier" is off
    check(f"/meet/intro/?tz=Europe/Berlin&week={week}")
    first = page.locator(".meet-slot").first.get_attribute("href")
    check(first.split("#")[0])  # the booking form
    log_in(page, base, cast["bob"].email)
    for name in ("scheduling:types", "scheduling:calendar", "scheduling:availability", "scheduling:type_create"):
        check(reverse(name))
    check(reverse("scheduling:type_edit", args=[mine.pk]))
    check(reverse("scheduling:type_edit", args=[sales.pk]))
    check(reverse("scheduling:link_new") + f"?contact={contact.pk}")
    context.close()
    assert not problems, f"axe-core at {width} px:\n" + "\n".join(problems)
    assert errors == [], "console errors:\n" + "\n".join(errors)
