from django.db import migrations, models

# Existing events are numbered in id order (all of them are committed while the migration runs).
NUMBER_EXISTING = """
UPDATE core_event SET seq = numbered.rn
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM core_event) AS numbered
WHERE core_event.id = numbered.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_audit_action_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="seq",
            field=models.BigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.RunSQL(NUMBER_EXISTING, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(condition=models.Q(("seq__isnull", True)), fields=["id"], name="event_unsequenced_idx"),
        ),
    ]
