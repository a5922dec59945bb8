"""The .ics files parsed back with icalendar (RFC 5545 required properties), and the mail's calendar part."""

from datetime import UTC, timedelta
from email import message_from_bytes

from django.test import TestCase
from django.utils import timezone
from icalendar import Calendar

from smarketing.mail.message import render_message
from smarketing.mail.services import send_transactional
from smarketing.scheduling import ics, services
from smarketing.scheduling.models import Meeting, Schedule
from smarketing.scheduling.tests.test_services import booker, next_slot, open_hours, personal_type
from smarketing.testing import ensure_defaults, make_cast

REQUIRED_CALENDAR = ("VERSION", "PRODID")
REQUIRED_EVENT = ("UID", "DTSTAMP", "DTSTART")


def parse(raw: bytes) -> tuple[Calendar, object]:
    cal = Calendar.from_ical(raw)
    events = [c for c in cal.walk("VEVENT")]
    return cal, events


class InvitationTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        cls.bob = cls.cast["bob"]
        open_hours(cls.bob)
        cls.mt = personal_type(cls.bob, location_detail="https://meet.example.com/{meeting}")

    def setUp(self):
        self.meeting = services.book(self.mt, starts_at=next_slot(self.mt), booker=booker())

    def test_request_has_the_required_properties_in_utc(self):
        cal, events = parse(ics.invitation(self.meeting, "REQUEST"))
        for name in REQUIRED_CALENDAR:
            self.assertIn(name, cal)
        self.assertEqual(str(cal["METHOD"]), "REQUEST")
        self.assertEqual(len(events), 1)
        event = events[0]
        for name in REQUIRED_EVENT:
            self.assertIn(name, event)
        self.assertEqual(str(event["UID"]), self.meeting.uid)
        self.assertEqual(event.decoded("DTSTART"), self.meeting.starts_at)
        self.assertEqual(event.decoded("DTSTART").utcoffset(), timedelta(0))
        self.assertEqual(event.decoded("DTEND"), self.meeting.ends_at)
        self.assertIn(":", ics.invitation(self.meeting).decode().split("DTSTART")[1].split("\r\n")[0])
        self.assertTrue(ics.invitation(self.meeting).decode().split("DTSTART:")[1].split("\r\n")[0].endswith("Z"))
        self.assertEqual(str(event["ORGANIZER"]), "mailto:bob@example.com")
        self.assertEqual(str(event["ATTENDEE"]), "mailto:vera@visitor.example")
        self.assertIn("meet.example.com", str(event["LOCATION"]))
        self.assertEqual(int(event["SEQUENCE"]), 0)

    def test_uid_is_stable_across_reschedule_and_the_sequence_goes_up_then_cancel(self):
        uid = self.meeting.uid
        moved = services.reschedule(self.meeting, starts_at=self.meeting.starts_at + timedelta(hours=1))
        _, [event] = parse(ics.invitation(moved, "REQUEST"))
        self.assertEqual((str(event["UID"]), int(event["SEQUENCE"])), (uid, 1))
        canceled = services.cancel(moved)
        cal, [event] = parse(ics.invitation(canceled, "CANCEL"))
        self.assertEqual(str(cal["METHOD"]), "CANCEL")
        self.assertEqual((str(event["UID"]), int(event["SEQUENCE"]), str(event["STATUS"])), (uid, 2, "CANCELLED"))

    def test_an_unknown_method_is_refused(self):
        with self.assertRaises(ValueError):
            ics.invitation(self.meeting, "PUBLISH\r\nX-EVIL:1")

    def test_the_feed_lists_recent_and_future_meetings_without_a_method(self):
        old = Meeting.objects.create(
            host=self.bob,
            title="Long ago",
            starts_at=timezone.now() - timedelta(days=90),
            ends_at=timezone.now() - timedelta(days=90, minutes=-30),
            uid="old@smarketing",
        )
        recent = Meeting.objects.create(
            host=self.bob,
            title="Last week",
            starts_at=timezone.now() - timedelta(days=7),
            ends_at=timezone.now() - timedelta(days=7, minutes=-30),
            uid="recent@smarketing",
            status=Meeting.Status.HELD,
        )
        gone = services.book(self.mt, starts_at=next_slot(self.mt, 3), booker=booker("g@visitor.example"))
        services.cancel(gone)
        cal, events = parse(ics.feed(self.bob))
        self.assertNotIn("METHOD", cal)
        uids = {str(e["UID"]): str(e["STATUS"]) for e in events}
        self.assertNotIn(old.uid, uids)
        self.assertEqual(uids[recent.uid], "CONFIRMED")
        self.assertEqual(uids[self.meeting.uid], "CONFIRMED")
        self.assertEqual(uids[gone.uid], "CANCELLED")
        self.assertEqual(self.cast["carol"].hosted_meetings.count(), 0)
        _, none = parse(ics.feed(self.cast["carol"]))
        self.assertEqual(none, [])

    def test_the_public_feed_url_answers_calendar_and_404_for_unknown_tokens(self):
        schedule = Schedule.objects.create(user=self.bob)
        response = self.client.get(f"/meet/feed/{schedule.feed_token}.ics")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response["Content-Type"].startswith("text/calendar"))
        _, events = parse(response.content)
        self.assertEqual([str(e["UID"]) for e in events], [self.meeting.uid])
        self.assertEqual(self.client.get("/meet/feed/not-a-token.ics").status_code, 404)
        schedule.feed_token = "revoked-and-replaced"
        schedule.save()
        self.assertEqual(self.client.get("/meet/feed/revoked-and-replaced.ics").status_code, 200)


class CalendarPartTests(TestCase):
    """The transactional stream's optional text/calendar part (RFC 6047)."""

    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        open_hours(cls.cast["bob"])
        cls.mt = personal_type(cls.cast["bob"])

    def _raw(self, **extra) -> bytes:
        return render_message(
            from_name="Smarketing",
            from_email="noreply@example.com",
            to_email="vera@visitor.example",
            subject="Confirmed",
            text="See you",
            html="<p>See you</p>",
            stream="transactional",
            **extra,
        )

    def test_the_message_is_mixed_with_the_alternative_and_a_parseable_calendar(self):
        meeting = services.book(self.mt, starts_at=next_slot(self.mt), booker=booker())
        raw = self._raw(calendar=ics.invitation(meeting).decode(), calendar_method="REQUEST")
        parsed = message_from_bytes(raw)
        self.assertEqual(parsed.get_content_type(), "multipart/mixed")
        alternative, calendar = parsed.get_payload()
        self.assertEqual(alternative.get_content_type(), "multipart/alternative")
        self.assertEqual(calendar.get_content_type(), "text/calendar")
        self.assertEqual(calendar.get_param("method"), "REQUEST")
        self.assertEqual(calendar.get_param("charset"), "utf-8")
        self.assertEqual(calendar.get_filename(), "invite.ics")
        cal = Calendar.from_ical(calendar.get_payload(decode=True))
        self.assertEqual(str(cal.walk("VEVENT")[0]["UID"]), meeting.uid)
        self.assertTrue(all(len(line) <= 998 for line in raw.split(b"\r\n")))

    def test_a_text_only_message_keeps_its_calendar_too(self):
        parsed = message_from_bytes(
            render_message(
                from_name="",
                from_email="noreply@example.com",
                to_email="v@visitor.example",
                subject="s",
                text="t",
                html="",
                stream="transactional",
                calendar="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                calendar_method="CANCEL",
            )
        )
        plain, calendar = parsed.get_payload()
        self.assertEqual((plain.get_content_type(), calendar.get_param("method")), ("text/plain", "CANCEL"))

    def test_the_method_is_allow_listed(self):
        with self.assertRaises(ValueError):
            self._raw(calendar="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", calendar_method="REQUEST; x=1")
        with self.assertRaises(ValueError):
            send_transactional(
                kind="booking_confirmation",
                to_email="v@visitor.example",
                subject="s",
                text="t",
                calendar=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                calendar_method="BOGUS",
            )

    def test_without_a_calendar_nothing_changes(self):
        parsed = message_from_bytes(self._raw())
        self.assertEqual(parsed.get_content_type(), "multipart/alternative")

    def test_a_queued_message_goes_out_with_its_calendar_through_the_real_sender(self):
        from smarketing.mail import services as mail_services
        from smarketing.mail.testing import SmtpTestServer

        meeting = services.book(self.mt, starts_at=next_slot(self.mt), booker=booker())
        message = mail_services.TransactionalMessage.objects.get(to_email="vera@visitor.example")
        with SmtpTestServer() as server, self.settings(**server.settings()):
            self.assertEqual(mail_services.deliver(message.pk), "sent")
        parsed = message_from_bytes(server.messages[-1].data)
        calendar = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"][0]
        cal = Calendar.from_ical(calendar.get_payload(decode=True))
        self.assertEqual(str(cal.walk("VEVENT")[0]["UID"]), meeting.uid)
        self.assertEqual(cal.walk("VEVENT")[0].decoded("DTSTART").astimezone(UTC), meeting.starts_at)
