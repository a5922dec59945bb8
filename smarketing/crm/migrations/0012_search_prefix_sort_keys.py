# PostgreSQL only: the contact search's prefix indexes (0007) also carry every contact sort's columns, so a
# selective search ("wei": 6,000 matches at 1M contacts) finds its page's keys in sort order from index-only
# reads of its candidates (crm.queries.RecordList.page), instead of one primary-key and table read per
# candidate to learn its sort key (about 4 buffers each: 24,000 for "wei").

from django.db import migrations

SORT_COLUMNS = ("id", "email", "name_key", "last_key", "lifecycle_changed_at", "fit_score", "engagement_score",
                "last_touch_at")


def _create(column: str, carried: tuple[str, ...]) -> str:
    include = ", ".join(c for c in carried if c != column)
    return f"CREATE INDEX contact_{column}_prefix_idx ON crm_contact ({column} varchar_pattern_ops) INCLUDE ({include})"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in ("email", "name_key", "last_key"):
        schema_editor.execute(f"DROP INDEX IF EXISTS contact_{column}_prefix_idx")
        schema_editor.execute(_create(column, SORT_COLUMNS))
    schema_editor.execute("ANALYZE crm_contact")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in ("email", "name_key", "last_key"):
        schema_editor.execute(f"DROP INDEX IF EXISTS contact_{column}_prefix_idx")
        schema_editor.execute(_create(column, ("id",)))


class Migration(migrations.Migration):
    dependencies = [("crm", "0011_contact_time_zone")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
