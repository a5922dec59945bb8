"""bulk_insert writes what bulk_create would: the same stored forms (so the ORM finds the rows by their values),
primary keys in row order across several statements, JSON as JSON."""

from datetime import timedelta

from django.test import TestCase
from django.utils import timezone

from smarketing.core.bulk import bulk_insert
from smarketing.core.models import Event
from smarketing.testing import make_contact
from smarketing.timeline.models import Touchpoint
from smarketing.timeline.services import build_touch


class BulkInsertTests(TestCase):
    def test_rows_keys_and_stored_forms_match_the_orms(self):
        now = timezone.now()
        events = [
            Event(name="bulk.test", object_type="t", object_id=str(i), payload={"i": i, "s": "é\"'"}, occurred_at=now)
            for i in range(5)
        ]
        bulk_insert(events, batch_size=2)  # three statements
        self.assertEqual(
            [int(e.object_id) for e in Event.objects.filter(pk__in=[e.pk for e in events])], [0, 1, 2, 3, 4]
        )
        for event in events:
            self.assertFalse(event._state.adding)
            self.assertEqual(Event.objects.get(pk=event.pk).object_id, event.object_id)  # keys in row order
        # The datetime is stored as the ORM stores it: an equality filter finds every row (SQLite keeps text).
        self.assertEqual(Event.objects.filter(name="bulk.test", occurred_at=now).count(), 5)
        self.assertEqual(Event.objects.filter(name="bulk.test", payload__s="é\"'").count(), 5)
        self.assertEqual(Event.objects.filter(name="bulk.test", occurred_at__gt=now - timedelta(seconds=1)).count(), 5)

    def test_foreign_keys_nulls_and_defaults(self):
        contact = make_contact()
        touches = [
            build_touch(kind="note_added", summary="one", contact=contact),
            build_touch(kind="note_added", summary="two", details={"a": [1, None]}),
        ]
        bulk_insert(touches)
        stored = {t.summary: t for t in Touchpoint.objects.filter(pk__in=[t.pk for t in touches])}
        self.assertEqual(stored["one"].contact_id, contact.pk)
        self.assertEqual(stored["one"].company_id, contact.company_id)
        self.assertIsNone(stored["two"].contact_id)
        self.assertEqual(stored["two"].details, {"a": [1, None]})
        self.assertEqual(stored["one"].details, {})

    def test_nothing_to_insert(self):
        self.assertEqual(bulk_insert([]), [])
