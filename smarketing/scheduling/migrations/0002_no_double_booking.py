"""No double booking, in the database: on PostgreSQL an exclusion constraint over each host's active holds.

btree_gist lets the GiST index compare the host id with "=" beside the range's "&&" (overlaps). The range is
half-open, '[)': a meeting ending at 10:00 and one starting at 10:00 do not overlap. On SQLite there is no such
constraint; the booking service serializes (BEGIN IMMEDIATE) and checks before it inserts.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE scheduling_hosthold ADD CONSTRAINT hold_no_overlap
    EXCLUDE USING gist (user_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (active);
"""
DROP = "ALTER TABLE scheduling_hosthold DROP CONSTRAINT IF EXISTS hold_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
