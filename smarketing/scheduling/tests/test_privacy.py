"""Scheduling's part of a privacy export and erasure: what the booker typed goes, the host's calendar stays."""

from django.test import TestCase

from smarketing.crm.models import Contact
from smarketing.privacy.services import erase_contact, export_contact
from smarketing.scheduling import ics, services
from smarketing.scheduling.models import HostHold, Meeting
from smarketing.scheduling.tests.test_services import booker, next_slot, open_hours, personal_type
from smarketing.testing import ensure_defaults, make_cast


class PrivacyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        ensure_defaults()
        cls.cast = make_cast()
        open_hours(cls.cast["bob"])
        cls.mt = personal_type(cls.cast["bob"], questions=[{"key": "goal", "label": "Goal", "maps_to": ""}])

    def setUp(self):
        self.meeting = services.book(
            self.mt, starts_at=next_slot(self.mt), booker=booker(name="Pat Private", answers={"goal": "Pat's plan"})
        )
        self.other = services.book(self.mt, starts_at=next_slot(self.mt, 3), booker=booker("sam@visitor.example"))
        self.contact = Contact.objects.get(email="vera@visitor.example")

    def test_export_lists_their_meetings_only(self):
        data = export_contact(self.contact, actor=self.cast["alice"])
        [row] = list(data["meetings"])
        self.assertEqual((row["booker_name"], row["answers"]), ("Pat Private", {"Goal": "Pat's plan"}))
        self.assertEqual(row["host"], "bob@example.com")

    def test_erasure_scrubs_what_they_typed_and_keeps_the_hosts_time(self):
        token = services.manage_token(self.meeting)
        record, _ = erase_contact(self.contact, actor=self.cast["alice"], reason="Asked to be forgotten")
        self.assertEqual(record.summary["scrub_meetings"], 1)
        m = Meeting.objects.get(pk=self.meeting.pk)
        self.assertNotIn("Pat", m.title + m.booker_name + str(m.answers))
        self.assertEqual(m.booker_email, "")
        self.assertEqual(m.status, Meeting.Status.BOOKED)
        self.assertTrue(HostHold.objects.get(meeting=m).active)
        self.assertIsNone(services.meeting_for_token(token))
        self.assertNotIn(b"Pat", ics.feed(self.cast["bob"]))
        self.assertEqual(Meeting.objects.get(pk=self.other.pk).booker_email, "sam@visitor.example")
