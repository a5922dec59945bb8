"""The public booking pages through HTTP, as a hostile visitor would use them: slots in the visitor's time zone,
escaping, the honeypot, the rate limit, forged manage tokens, what a page must not reveal, the embed's headers."""

import zoneinfo
from datetime import datetime, timedelta
from urllib.parse import quote

from django.core.cache import cache
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from smarketing.scheduling import views_public
from smarketing.scheduling.models import BookingLink, Meeting
from smarketing.scheduling.tests.test_views import WEEKDAYS, meeting, monday, personal_type
from smarketing.testing import make_cast, make_contact

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


class PublicPageTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.bob = cls.cast["bob"]
        cls.bob.working_hours = WEEKDAYS
        cls.bob.time_zone = "Europe/Berlin"
        cls.bob.save()
        cls.mt = personal_type(
            cls.bob,
            name="Intro call",
            slug="intro",
            durations=[30, 60],
            questions=[{"key": "company", "label": "Company", "maps_to": "company.name", "required": True}],
        )
        cls.week = monday() + timedelta(days=7)  # next week: every weekday is in the future

    def setUp(self):
        cache.clear()  # the rate limit's counters

    def page(self, **params):
        query = {"week": self.week.isoformat(), **params}
        return self.client.get(reverse("meet:page", args=["intro"]), query)

    def nine_berlin(self, days=0):
        return datetime.combine(self.week + timedelta(days=days), datetime.min.time(), BERLIN) + timedelta(hours=9)


class SlotPageTests(PublicPageTestCase):
    def test_slots_in_the_visitors_time_zone(self):
        response = self.page(tz="America/New_York")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Intro call")
        self.assertContains(response, "With Bob Seller")
        self.assertNotContains(response, "bob@example.com")
        # 09:00 in Berlin is 03:00 in New York (CET/EST, six hours), and the slot carries its UTC instant.
        self.assertContains(response, ">03:00<")
        self.assertContains(
            response, quote(self.nine_berlin().astimezone(zoneinfo.ZoneInfo("UTC")).isoformat(), safe="")
        )
        self.assertContains(response, '<option value="America/New_York" selected>')
        berlin = self.page(tz="Europe/Berlin")
        self.assertContains(berlin, ">09:00<")

    def test_without_a_zone_it_shows_utc_and_lets_the_browser_say(self):
        response = self.page()
        self.assertContains(response, 'data-tz-given="0"')
        self.assertContains(response, ">08:00<")  # 09:00 in Berlin in winter
        self.assertContains(self.page(tz="Mars/Olympus"), '<option value="UTC" selected>')

    def test_a_chosen_slot_shows_the_form_with_questions_consent_and_a_honeypot(self):
        start = self.nine_berlin().astimezone(zoneinfo.ZoneInfo("UTC")).isoformat()
        response = self.page(tz="Europe/Berlin", start=start, duration=60)
        self.assertContains(response, 'name="start"')
        self.assertContains(response, "09:00–10:00")
        self.assertContains(response, "Company")
        self.assertContains(response, views_public.CONSENT_TEXT)
        self.assertContains(response, 'name="website"')

    def test_unknown_and_inactive_types_are_a_friendly_404(self):
        self.assertContains(self.client.get("/meet/nope/"), "doesn&#x27;t work any more", status_code=404)
        off = personal_type(self.bob, slug="off", is_active=False)
        self.assertEqual(self.client.get(reverse("meet:page", args=[off.slug])).status_code, 404)

    def test_hostile_names_are_escaped(self):
        evil = personal_type(
            self.bob,
            name='<script>alert("x")</script>',
            slug="evil",
            description="<img src=x onerror=alert(1)>",
            questions=[{"key": "q", "label": "<b>bold</b>", "required": False}],
        )
        start = self.nine_berlin().astimezone(zoneinfo.ZoneInfo("UTC")).isoformat()
        response = self.client.get(
            reverse("meet:page", args=[evil.slug]),
            {"week": self.week.isoformat(), "tz": "Europe/Berlin", "start": start},
        )
        body = response.content.decode()
        self.assertNotIn('<script>alert("x")', body)
        self.assertIn("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;", body)
        self.assertNotIn("<img src=x", body)
        self.assertNotIn("<b>bold</b>", body)

    def test_the_page_says_nothing_about_other_meetings(self):
        contact = make_contact(first_name="Secret", last_name="Person", email="secret@example.com")
        meeting(self.mt, self.bob, self.nine_berlin(), contact=contact, title="Secret merger talk",
                booker_name="Secret Person", booker_email="secret@example.com")  # fmt: skip
        response = self.page(tz="Europe/Berlin")
        body = response.content.decode()
        for leak in ("Secret", "secret@example.com", "merger"):
            self.assertNotIn(leak, body)
        taken = self.nine_berlin().astimezone(zoneinfo.ZoneInfo("UTC")).isoformat()
        self.assertNotIn(quote(taken, safe=""), body)  # that slot is simply not offered
        later = (self.nine_berlin() + timedelta(hours=1)).astimezone(zoneinfo.ZoneInfo("UTC")).isoformat()
        self.assertIn(quote(later, safe=""), body)

    def test_the_embed_may_be_framed_and_the_page_may_not(self):
        plain = self.page()
        self.assertEqual(plain["X-Frame-Options"], "DENY")
        embedded = self.page(embed=1)
        self.assertNotIn("X-Frame-Options", embedded)
        self.assertIn("frame-ancestors *", embedded["Content-Security-Policy"])
        self.assertNotContains(embedded, "meet-footer")
        self.assertContains(embedded, "meet-embed")


class BookingPostTests(PublicPageTestCase):
    def post(self, **data):
        base = {
            "start": self.nine_berlin(1).astimezone(zoneinfo.ZoneInfo("UTC")).isoformat(),
            "duration": "30",
            "tz": "America/New_York",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "q_company": "Analytical Engines",
        }
        return self.client.post(reverse("meet:book", args=["intro"]), {**base, **data})

    def test_the_honeypot_books_nothing_and_looks_like_success(self):
        response = self.post(website="http://spam.example")
        self.assertContains(response, "Thank you")
        self.assertFalse(Meeting.objects.exists())

    def test_the_booking_form_is_rate_limited_per_address(self):
        with self.settings(SCHEDULING_BOOK_RATE_PER_IP=2):
            for _ in range(2):
                self.assertEqual(self.post(website="bot").status_code, 200)
            response = self.post(website="bot")
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response["Retry-After"], str(views_public.BOOK_WINDOW))

    def test_missing_answers_keep_what_was_typed(self):
        response = self.post(q_company="", name="<Ada>")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "This field is required", status_code=400)
        self.assertContains(response, 'value="&lt;Ada&gt;"', status_code=400)
        self.assertFalse(Meeting.objects.exists())

    def test_a_time_not_offered_gets_the_slot_list_again(self):
        response = self.post(start=(timezone.now() - timedelta(hours=1)).isoformat())
        self.assertContains(response, "That time was just taken. Pick another.", status_code=409)
        self.assertContains(response, "meet-slot", status_code=409)
        response = self.post(start="javascript:alert(1)")
        self.assertEqual(response.status_code, 409)

    def test_a_booking_lands_on_its_manage_page_in_the_visitors_zone(self):
        response = self.post()
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith("/meet/m/"))
        meeting = Meeting.objects.get()
        self.assertEqual((meeting.host, meeting.booker_email), (self.bob, "ada@example.com"))
        page = self.client.get(response["Location"])
        self.assertContains(page, "You're booked")
        self.assertContains(page, "03:00–03:30")  # 09:00 Berlin, shown in New York
        self.assertContains(page, "America/New_York")
        self.assertContains(page, "Reschedule")
        self.assertContains(page, "Cancel this meeting")


class ManagePageTests(PublicPageTestCase):
    def test_forged_tokens_are_a_friendly_404(self):
        for token in ("forged", "a" * 60, "1:abc:def", "x" * 600):
            with self.subTest(token=token[:10]):
                response = self.client.get(reverse("meet:manage", args=[token]))
                self.assertContains(response, "doesn&#x27;t work any more", status_code=404)
                response = self.client.post(reverse("meet:manage_cancel", args=[token]), {"reason": "x"})
                self.assertEqual(response.status_code, 404)

    def test_a_link_opens_the_page_and_carries_its_token(self):
        link = BookingLink.objects.create(
            meeting_type=self.mt, created_by=self.bob, expires_at=timezone.now() + timedelta(days=14)
        )
        start = (datetime.combine(self.week, datetime.min.time(), BERLIN) + timedelta(hours=10)).isoformat()
        query = {"week": self.week.isoformat(), "tz": "Europe/Berlin", "start": start}
        response = self.client.get(reverse("meet:link", args=[link.token]), query)
        self.assertContains(response, f'name="link" value="{link.token}"')
        self.assertContains(response, f"/meet/l/{link.token}/?")  # the slot links stay on the link's page
        BookingLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        self.assertEqual(self.client.get(reverse("meet:link", args=[link.token])).status_code, 404)
        self.assertEqual(self.client.get(reverse("meet:link", args=["guess"])).status_code, 404)
