from django.db import migrations


class Migration(migrations.Migration):
    # webhooks.0002 reads dispatched_at to place its outbox cursor; it declares run_before this migration.
    dependencies = [
        ("core", "0004_event_seq"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="event", name="event_undispatched_idx"),
        migrations.RemoveField(model_name="event", name="dispatched_at"),
    ]
