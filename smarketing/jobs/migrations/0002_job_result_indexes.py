"""Indexes on django-tasks-db's result table for the job list (newest first, by status) and the lost-job reaper.

The table belongs to another app, so these are plain SQL (IF NOT EXISTS: same syntax on PostgreSQL and SQLite).
"""

from django.db import migrations

TABLE = "django_tasks_database_dbtaskresult"
INDEXES = {
    "jobs_result_enqueued_idx": '("enqueued_at" DESC, "id" DESC)',
    "jobs_result_status_enq_idx": '("status", "enqueued_at" DESC, "id" DESC)',
}


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{TABLE}" {columns}',
            reverse_sql=f'DROP INDEX IF EXISTS "{name}"',
        )
        for name, columns in INDEXES.items()
    ]
