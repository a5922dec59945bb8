from django.db import migrations, models

# The planner multiplies the selectivities of lifecycle stage, owner and lead status as if they were independent;
# they are not (unassigned contacts are mostly subscribers and leads), so it guessed 60,000 unassigned MQLs where
# there were none and walked a sort index through every contact. Multi-column MCV statistics (with room for the
# few hundred combinations) give it the real ones. PostgreSQL only; SQLite has no such thing.
STATISTICS = [
    "CREATE STATISTICS IF NOT EXISTS contact_stage_owner_stats (mcv) ON lifecycle_stage, owner_id, lead_status "
    "FROM crm_contact",
    "ALTER STATISTICS contact_stage_owner_stats SET STATISTICS 1000",
]


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in STATISTICS:
            schema_editor.execute(sql)
        schema_editor.execute("ANALYZE crm_contact")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP STATISTICS IF EXISTS contact_stage_owner_stats")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0009_saved_views"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                fields=["owner", "lifecycle_stage", "lead_status", "-id"], name="contact_owner_stage_idx"
            ),
        ),
        migrations.RunPython(create_statistics, drop_statistics),
    ]
