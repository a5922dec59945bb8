"""The webhook fan-out becomes an outbox consumer: its cursor starts where dispatched_at says it had got to."""

from django.db import migrations
from django.db.models import Max, Min


def place_cursor(apps, schema_editor):
    Event = apps.get_model("core", "Event")
    OutboxCursor = apps.get_model("jobs", "OutboxCursor")
    # Everything before the first undispatched event was fanned out. Events dispatched after it (the old fan-out
    # claimed in id order, so these are few) are read again; the (endpoint, event) unique delivery absorbs them.
    first_pending = Event.objects.filter(dispatched_at__isnull=True).aggregate(s=Min("seq"))["s"]
    position = first_pending - 1 if first_pending is not None else Event.objects.aggregate(s=Max("seq"))["s"] or 0
    OutboxCursor.objects.update_or_create(name="webhooks", defaults={"position": position})


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_event_seq"),
        ("jobs", "0003_outbox_cursor"),
        ("webhooks", "0001_initial"),
    ]
    run_before = [("core", "0005_remove_event_dispatched_at")]

    operations = [migrations.RunPython(place_cursor, migrations.RunPython.noop)]
