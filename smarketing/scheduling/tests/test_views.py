"""The hosts' pages through HTTP: meeting types (a permission matrix), availability, the calendar week (constant
queries), a meeting's page, one-off booking links from a contact or a deal, and the navigation."""

import itertools
import zoneinfo
from datetime import datetime, timedelta

from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from smarketing.scheduling.models import (
    AvailabilityOverride,
    BookingLink,
    BusyBlock,
    HostHold,
    Meeting,
    MeetingType,
    MeetingTypeHost,
    Schedule,
)
from smarketing.testing import make_cast, make_contact, make_deal, team

# Meetings are written as rows here (not through services.book) where a test is about a page that shows them,
# not about booking: the calendar's query count with 1 vs 10 meetings, the detail page's permissions.
_n = itertools.count(1)
WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def personal_type(owner, **extra) -> MeetingType:
    n = next(_n)
    extra.setdefault("name", f"Intro call {n}")
    extra.setdefault("slug", f"intro-{n}")
    extra.setdefault("durations", [30])
    extra.setdefault("min_notice", 0)
    return MeetingType.objects.create(owner=owner, **extra)


def team_type(team, hosts, **extra) -> MeetingType:
    n = next(_n)
    extra.setdefault("name", f"Talk to sales {n}")
    extra.setdefault("slug", f"sales-{n}")
    extra.setdefault("durations", [30])
    extra.setdefault("assignment", "round_robin")
    extra.setdefault("min_notice", 0)
    mt = MeetingType.objects.create(team=team, **extra)
    for user in hosts:
        MeetingTypeHost.objects.create(meeting_type=mt, user=user)
    return mt


def meeting(meeting_type, host, starts_at, *, contact=None, minutes=30, status="booked", **extra) -> Meeting:
    n = next(_n)
    m = Meeting.objects.create(
        meeting_type=meeting_type,
        host=host,
        contact=contact,
        title=extra.pop("title", f"{meeting_type.name} with Person {n}"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        status=status,
        booker_name=extra.pop("booker_name", f"Person {n}"),
        booker_email=extra.pop("booker_email", f"person{n}@example.com"),
        uid=f"test-{n}@smarketing",
        **extra,
    )
    if status == "booked":
        HostHold.objects.create(meeting=m, user=host, starts_at=m.starts_at, ends_at=m.ends_at)
    return m


def monday(now=None):
    now = now or timezone.now()
    day = now.date()
    return day - timedelta(days=day.weekday())


def type_post(mt: MeetingType, **changes) -> dict:
    data = {
        "name": mt.name,
        "slug": mt.slug,
        "durations_text": ", ".join(str(d) for d in mt.durations),
        "location_kind": mt.location_kind,
        "location_detail": mt.location_detail,
        "description": mt.description,
        "assignment": mt.assignment,
        "buffer_before": mt.buffer_before,
        "buffer_after": mt.buffer_after,
        "min_notice": mt.min_notice,
        "max_days_ahead": mt.max_days_ahead,
        "max_per_day": mt.max_per_day,
        "slot_interval": mt.slot_interval,
        "confirmation_text": "",
        "reminder_text": "",
        "reminder_minutes": mt.reminder_minutes,
    }
    for row in mt.host_rows.all():
        data[f"host-{row.user_id}"] = "on"
        data[f"weight-{row.user_id}"] = row.weight
    data.update(changes)
    return data


class SchedulingTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        for user in cls.cast.values():
            user.working_hours = WEEKDAYS
            user.time_zone = "Europe/Berlin"
            user.save()
        cls.sales = team("sales")
        cls.bobs = personal_type(cls.cast["bob"], name="Bob's intro", slug="bob-intro")
        cls.mias = personal_type(cls.cast["mia"], name="Mia's chat", slug="mia-chat")
        cls.sales_type = team_type(cls.sales, [cls.cast["bob"], cls.cast["carol"]], name="Talk to sales", slug="sales")

    def login(self, who: str):
        self.client.force_login(self.cast[who])


class MeetingTypePermissionTests(SchedulingTestCase):
    # who → (Bob's personal type, the sales team's type): GET status, POST allowed?
    MATRIX = {
        "alice": ((200, True), (200, True)),  # admin: everything
        "bob": ((200, True), (200, False)),  # member: own personal type; sees the team's
        "carol": ((200, False), (200, True)),  # sales manager: the team's type, not Bob's own
        "mia": ((404, False), (404, False)),  # marketing: neither is hers to see
        "rory": ((200, False), (200, False)),  # read-only in sales: sees, never changes
    }

    def test_the_matrix(self):
        for who, cells in self.MATRIX.items():
            for mt, (get_status, may_post) in zip((self.bobs, self.sales_type), cells, strict=True):
                with self.subTest(who=who, type=mt.slug):
                    self.login(who)
                    url = reverse("scheduling:type_edit", args=[mt.pk])
                    self.assertEqual(self.client.get(url).status_code, get_status)
                    response = self.client.post(url, type_post(mt, description=f"edited by {who}"))
                    mt.refresh_from_db()
                    if may_post:
                        self.assertEqual(
                            response.status_code,
                            302,
                            getattr(response, "context", {})
                            and response.context.get("form")
                            and response.context["form"].errors,
                        )
                        self.assertEqual(mt.description, f"edited by {who}")
                    else:
                        self.assertIn(response.status_code, (403, 404))
                        self.assertNotEqual(mt.description, f"edited by {who}")

    def test_read_only_users_cannot_create(self):
        self.login("rory")
        self.assertEqual(self.client.get(reverse("scheduling:type_create")).status_code, 403)

    def test_read_only_sees_the_form_disabled(self):
        self.login("rory")
        response = self.client.get(reverse("scheduling:type_edit", args=[self.sales_type.pk]))
        self.assertContains(response, "<fieldset disabled")
        self.assertNotContains(response, ">Save</button>")

    def test_the_owner_gets_the_link_and_the_embed_snippet(self):
        self.login("bob")
        response = self.client.get(reverse("scheduling:type_edit", args=[self.bobs.pk]))
        self.assertContains(response, "/meet/bob-intro/")
        self.assertContains(response, "scheduling/embed.js")
        self.assertContains(response, "data-smarketing-meet=&quot;bob-intro&quot;")
        self.login("rory")
        response = self.client.get(reverse("scheduling:type_edit", args=[self.sales_type.pk]))
        self.assertNotContains(response, "embed.js")

    def test_deactivate_is_the_managers(self):
        url = reverse("scheduling:type_active", args=[self.sales_type.pk])
        self.login("bob")
        self.assertEqual(self.client.post(url, {"active": "0"}).status_code, 403)
        self.login("carol")
        self.assertEqual(self.client.post(url, {"active": "0"}).status_code, 302)
        self.sales_type.refresh_from_db()
        self.assertFalse(self.sales_type.is_active)


class MeetingTypeFormTests(SchedulingTestCase):
    def test_a_member_creates_a_personal_type_with_questions(self):
        self.login("bob")
        response = self.client.post(
            reverse("scheduling:type_create"),
            {
                "name": "Product demo",
                "slug": "bob-demo",
                "durations_text": "30, 60",
                "location_kind": "video",
                "location_detail": "https://meet.example.com/{meeting}",
                "buffer_before": 5,
                "buffer_after": 10,
                "min_notice": 120,
                "max_days_ahead": 21,
                "max_per_day": 4,
                "slot_interval": 30,
                "reminder_minutes": 60,
                "q-0-label": "Company",
                "q-0-maps_to": "company.name",
                "q-0-required": "on",
                "q-1-label": "What should we cover?",
                "q-1-maps_to": "",
            },
        )
        self.assertEqual(response.status_code, 302)
        mt = MeetingType.objects.get(slug="bob-demo")
        self.assertEqual(mt.owner, self.cast["bob"])
        self.assertIsNone(mt.team)
        self.assertEqual(mt.durations, [30, 60])
        self.assertEqual(mt.assignment, "personal")
        self.assertEqual(
            mt.questions,
            [
                {"key": "company", "label": "Company", "maps_to": "company.name", "required": True, "type": "text"},
                {"key": "what_should_we_cover", "label": "What should we cover?", "maps_to": "", "required": False,
                 "type": "text"},
            ],
        )  # fmt: skip

    def test_bad_input_gets_clear_errors_and_keeps_the_rows(self):
        self.login("bob")
        response = self.client.post(
            reverse("scheduling:type_create"),
            {"name": "X", "slug": "bob-intro", "durations_text": "thirty", "location_kind": "video",
             "q-0-label": "Kept question", "q-0-maps_to": "password"},
        )  # fmt: skip
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "durations are whole minutes", status_code=400)
        self.assertContains(response, "already exists", status_code=400)
        self.assertContains(response, "Kept question", status_code=400)
        self.assertContains(response, "choose what it fills in", status_code=400)

    def test_a_manager_makes_a_weighted_team_type(self):
        self.login("carol")
        bob, carol = self.cast["bob"], self.cast["carol"]
        response = self.client.post(
            reverse("scheduling:type_create"),
            {"name": "Demo for teams", "slug": "team-demo", "durations_text": "45", "location_kind": "phone",
             "team": self.sales.pk, "assignment": "weighted", "buffer_before": 0, "buffer_after": 0,
             "min_notice": 60, "max_days_ahead": 30, "max_per_day": 0, "slot_interval": 0, "reminder_minutes": 0,
             f"host-{bob.pk}": "on", f"weight-{bob.pk}": "2", f"host-{carol.pk}": "on", f"weight-{carol.pk}": "1"},
        )  # fmt: skip
        self.assertEqual(response.status_code, 302)
        mt = MeetingType.objects.get(slug="team-demo")
        self.assertEqual(mt.team, self.sales)
        self.assertIsNone(mt.owner)
        self.assertEqual({r.user_id: r.weight for r in mt.host_rows.all()}, {bob.pk: 2, carol.pk: 1})

    def test_a_member_cannot_make_a_team_type(self):
        self.login("bob")
        response = self.client.get(reverse("scheduling:type_create"))
        self.assertNotContains(response, 'name="team"')


class ListQueryTests(SchedulingTestCase):
    def test_the_type_list_runs_constant_queries(self):
        self.login("carol")
        url = reverse("scheduling:types")
        self.client.get(url)
        with self.assertNumQueries(5) as one:
            response = self.client.get(url)
        self.assertContains(response, "Talk to sales")
        self.assertContains(response, "/meet/sales/")
        for _ in range(9):
            team_type(self.sales, [self.cast["bob"], self.cast["carol"]])
        with self.assertNumQueries(len(one.captured_queries)):
            response = self.client.get(url)
        self.assertEqual(response.content.decode().count('data-copy="'), 11)

    def test_the_calendar_runs_constant_queries_with_1_or_10_meetings(self):
        bob = self.cast["bob"]
        tz = zoneinfo.ZoneInfo("Europe/Berlin")
        week = monday() + timedelta(days=7)
        start = datetime.combine(week, datetime.min.time(), tz) + timedelta(hours=9)
        contact = make_contact(first_name="Ada", last_name="Lovelace")
        meeting(self.bobs, bob, start, contact=contact, title="Intro with Ada")
        BusyBlock.objects.create(user=bob, starts_at=start + timedelta(hours=3), ends_at=start + timedelta(hours=4))
        self.login("bob")
        url = reverse("scheduling:calendar") + f"?week={week.isoformat()}"
        self.client.get(url)
        with self.assertNumQueries(5) as one:
            response = self.client.get(url)
        self.assertContains(response, "Intro with Ada")
        self.assertContains(response, "09:00–09:30")
        self.assertContains(response, "Busy")
        for i in range(1, 10):
            meeting(self.bobs, bob, start + timedelta(days=i % 5, hours=i % 3), contact=make_contact())
        with self.assertNumQueries(len(one.captured_queries)):
            response = self.client.get(url)
        self.assertEqual(response.content.decode().count("sched-item meeting"), 10)

    def test_the_calendar_is_mine_only_and_in_my_time_zone(self):
        carol = self.cast["carol"]
        carol.time_zone = "America/New_York"
        carol.save()
        week = monday() + timedelta(days=7)
        start = datetime.combine(week, datetime.min.time(), zoneinfo.ZoneInfo("UTC")) + timedelta(hours=15)
        meeting(self.sales_type, carol, start, title="Carols call")
        meeting(self.bobs, self.cast["bob"], start + timedelta(hours=2), title="Bobs call")
        self.login("carol")
        response = self.client.get(reverse("scheduling:calendar") + f"?week={week.isoformat()}")
        self.assertContains(response, "Carols call")
        self.assertContains(response, "10:00–10:30")  # 15:00 UTC in New York (EST or EDT: 10:00 or 11:00)
        self.assertNotContains(response, "Bobs call")

    def test_a_bad_week_falls_back_to_this_week(self):
        self.login("bob")
        response = self.client.get(reverse("scheduling:calendar") + "?week=<script>")
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "<script>alert")


class MeetingPageTests(SchedulingTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.contact = make_contact(first_name="Grace", last_name="Hopper")
        cls.deal = make_deal(name="Hopper expansion", contacts=[cls.contact])
        cls.future = meeting(
            cls.bobs,
            cls.cast["bob"],
            timezone.now() + timedelta(days=3),
            contact=cls.contact,
            deal=cls.deal,
            answers={"company": "Navy"},
        )
        cls.past = meeting(cls.bobs, cls.cast["bob"], timezone.now() - timedelta(days=1), contact=cls.contact)

    def test_who_sees_a_meeting(self):
        url = reverse("scheduling:meeting", args=[self.future.pk])
        for who, status in {"bob": 200, "carol": 200, "alice": 200, "mia": 404, "rory": 404}.items():
            with self.subTest(who=who):
                self.login(who)
                self.assertEqual(self.client.get(url).status_code, status)

    def test_the_page_shows_contact_deal_answers_and_the_right_buttons(self):
        self.login("bob")
        response = self.client.get(reverse("scheduling:meeting", args=[self.future.pk]))
        self.assertContains(response, "Grace Hopper")
        self.assertContains(response, "Hopper expansion")
        self.assertContains(response, "Navy")
        self.assertContains(response, "Reschedule")
        self.assertContains(response, "Cancel the meeting")
        self.assertNotContains(response, 'value="no_show"')  # not started yet
        response = self.client.get(reverse("scheduling:meeting", args=[self.past.pk]))
        self.assertContains(response, 'value="held"')
        self.assertContains(response, 'value="no_show"')
        self.assertNotContains(response, ">Reschedule<")

    def test_a_manager_of_another_team_cannot_act(self):
        self.login("mia")
        response = self.client.post(reverse("scheduling:meeting_outcome", args=[self.past.pk]), {"outcome": "held"})
        self.assertEqual(response.status_code, 404)

    def test_a_bad_outcome_is_refused_before_the_service(self):
        self.login("bob")
        response = self.client.post(reverse("scheduling:meeting_outcome", args=[self.past.pk]), {"outcome": "won"})
        self.assertEqual(response.status_code, 302)
        self.past.refresh_from_db()
        self.assertEqual(self.past.status, "booked")


class AvailabilityTests(SchedulingTestCase):
    def test_weekly_hours_and_time_zone(self):
        self.login("bob")
        data = {"form": "hours", "time_zone": "America/Chicago", "hours_mon": "08:00-12:00, 13:00-16:00"}
        response = self.client.post(reverse("scheduling:availability"), data)
        self.assertEqual(response.status_code, 302)
        bob = self.cast["bob"]
        bob.refresh_from_db()
        self.assertEqual(bob.time_zone, "America/Chicago")
        self.assertEqual(bob.working_hours, {"mon": [["08:00", "12:00"], ["13:00", "16:00"]]})
        response = self.client.post(reverse("scheduling:availability"), {**data, "hours_tue": "17:00-09:00"})
        self.assertContains(response, "the end must be after the start", status_code=400)

    def test_overrides_and_busy_blocks(self):
        self.login("bob")
        day = (timezone.now() + timedelta(days=5)).date()
        url = reverse("scheduling:availability")
        self.assertEqual(self.client.post(url, {"form": "override", "date": day, "hours": ""}).status_code, 302)
        self.assertEqual(AvailabilityOverride.objects.get(user=self.cast["bob"], date=day).ranges, [])
        data = {"form": "busy", "date": day, "start": "10:00", "end": "11:30", "title": "Dentist"}
        self.assertEqual(self.client.post(url, data).status_code, 302)
        block = BusyBlock.objects.get(user=self.cast["bob"])
        self.assertEqual(block.starts_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).hour, 10)
        response = self.client.get(url)
        self.assertContains(response, "Day off")
        self.assertContains(response, "Dentist")
        self.login("carol")  # someone else's rows: nothing happens
        self.client.post(reverse("scheduling:busy_delete", args=[block.pk]))
        self.assertTrue(BusyBlock.objects.filter(pk=block.pk).exists())
        self.login("bob")
        self.client.post(reverse("scheduling:busy_delete", args=[block.pk]))
        self.assertFalse(BusyBlock.objects.filter(pk=block.pk).exists())

    def test_the_feed_url_is_shown_and_revoked(self):
        self.login("bob")
        response = self.client.get(reverse("scheduling:availability"))
        schedule = Schedule.objects.get(user=self.cast["bob"])
        self.assertContains(response, f"/meet/feed/{schedule.feed_token}.ics")
        old = schedule.feed_token
        self.client.post(reverse("scheduling:feed_revoke"))
        schedule.refresh_from_db()
        self.assertNotEqual(schedule.feed_token, old)

    def test_read_only_users_change_nothing(self):
        self.login("rory")
        response = self.client.post(reverse("scheduling:availability"), {"form": "hours", "time_zone": "UTC"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.client.post(reverse("scheduling:feed_revoke")).status_code, 403)


class BookingLinkTests(SchedulingTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.contact = make_contact(first_name="Linus", last_name="T")
        cls.deal = make_deal(name="Kernel deal", contacts=[cls.contact])

    def test_the_contact_and_deal_pages_offer_it(self):
        self.login("bob")
        response = self.client.get(reverse("contact_detail", args=[self.contact.pk]))
        self.assertContains(response, f"{reverse('scheduling:link_new')}?contact={self.contact.pk}")
        response = self.client.get(reverse("deal_detail", args=[self.deal.pk]))
        self.assertContains(response, f"{reverse('scheduling:link_new')}?deal={self.deal.pk}")

    def test_a_link_for_a_deal_ties_back_to_it_and_its_contact(self):
        self.login("bob")
        url = reverse("scheduling:link_new") + f"?deal={self.deal.pk}"
        response = self.client.get(url)
        self.assertContains(response, "Bob&#x27;s intro")
        self.assertContains(response, "Talk to sales")  # he hosts it
        self.assertNotContains(response, "Mia&#x27;s chat")
        response = self.client.post(
            reverse("scheduling:link_new"), {"deal": self.deal.pk, "meeting_type": self.bobs.pk}
        )
        link = BookingLink.objects.get()
        self.assertEqual((link.deal, link.contact, link.created_by), (self.deal, self.contact, self.cast["bob"]))
        self.assertGreater(link.expires_at, timezone.now() + timedelta(days=13))
        self.assertContains(response, f"/meet/l/{link.token}/")

    def test_someone_elses_type_is_refused(self):
        self.login("bob")
        response = self.client.post(
            reverse("scheduling:link_new"), {"contact": self.contact.pk, "meeting_type": self.mias.pk}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(BookingLink.objects.exists())


class NavigationTests(SchedulingTestCase):
    def test_the_pages_are_in_the_navigation(self):
        self.login("bob")
        response = self.client.get(reverse("scheduling:types"))
        for name in ("scheduling:calendar", "scheduling:types", "scheduling:availability"):
            self.assertContains(response, f'href="{reverse(name)}"')
