"""Background jobs of the import/export app."""

from datetime import timedelta

from django_tasks import task

from smarketing.jobs.periodic import periodic


@task()
def run_import(import_id: int) -> dict:
    """Run or continue an import; safe to run twice (the second run finds nothing to claim)."""
    from smarketing.dataio.importer import runner

    imp = runner.run(import_id)
    return {"status": imp.status, "next_row": imp.next_row, "rejected": imp.rejected}


@task()
def run_export(export_id: int) -> dict:
    """Write a large export to a file the requester downloads from the export page."""
    from smarketing.dataio import exporter

    export = exporter.run_export(export_id)
    return {"status": export.status, "rows": export.row_count}


@periodic(every=timedelta(hours=1))
@task()
def clean_up_imports() -> dict:
    """Discard imports abandoned for a week (never mapped, stopped, interrupted) and delete orphaned uploads."""
    from smarketing.dataio import services

    return services.clean_up_abandoned()
