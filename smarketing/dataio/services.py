"""Starting imports: store an upload, analyze it, map its columns, queue it. Views and the command share these."""

import secrets
import shutil
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.crm.models import ObjectType, PropertyDefinition
from smarketing.dataio import access, csvfile
from smarketing.dataio.exporter import csv_pieces
from smarketing.dataio.fields import auto_map, check_mapping
from smarketing.dataio.importer import liveness, runner
from smarketing.dataio.models import Import


class TooLarge(Exception):
    """The upload is over SMARKETING_MAX_IMPORT_MB."""


def max_bytes() -> int:
    return csvfile.MAX_IMPORT_MB * 1024 * 1024


def new_file_name() -> str:
    # Random and unguessable; the file is only ever read by the importer, never served.
    return f"{secrets.token_hex(16)}.csv"


def store_chunks(chunks: Iterable[bytes]) -> tuple[str, int]:
    """Write an upload into the private import directory; returns (file name, size). Enforces the size limit."""
    name = new_file_name()
    path = runner.upload_dir() / name
    size = 0
    try:
        with open(path, "xb") as fh:
            path.chmod(0o600)
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes():
                    raise TooLarge()
                fh.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name, size


def store_path(source: Path) -> tuple[str, int]:
    """Copy a local file (the command line's FILE) into the import directory."""
    size = source.stat().st_size
    if size > max_bytes():
        raise TooLarge()
    name = new_file_name()
    shutil.copyfile(source, runner.upload_dir() / name)
    return name, size


def create_import(
    *,
    file_name: str,
    size: int,
    original_name: str,
    object_type: str,
    actor,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Import:
    """Analyze a stored upload and make its Import with automatic column mapping; FileProblem if unusable."""
    access.require_importer(actor)
    if object_type not in ObjectType.values:
        raise ValidationError("Choose contacts, companies or deals.")
    path = runner.upload_dir() / file_name
    try:
        analysis = csvfile.analyze(path, encoding, delimiter)
    except csvfile.FileProblem:
        path.unlink(missing_ok=True)
        raise
    definitions = list(PropertyDefinition.objects.filter(object_type=object_type))
    return Import.objects.create(
        object_type=object_type,
        created_by=actor if getattr(actor, "pk", None) else None,
        original_name=original_name[:255],
        file_name=file_name,
        file_size=size,
        encoding=analysis.encoding,
        delimiter=analysis.delimiter,
        header=analysis.header,
        sample=analysis.sample,
        mapping=auto_map(analysis.header, object_type, definitions),
        warnings=analysis.warnings,
    )


def reanalyze(imp: Import, *, encoding: str, delimiter: str) -> None:
    """Read the file again with the encoding and delimiter a person chose; FileProblem if that fails."""
    analysis = csvfile.analyze(runner.file_path(imp), encoding, delimiter)
    definitions = list(PropertyDefinition.objects.filter(object_type=imp.object_type))
    imp.encoding, imp.delimiter = analysis.encoding, analysis.delimiter
    imp.header, imp.sample, imp.warnings = analysis.header, analysis.sample, analysis.warnings
    imp.mapping = auto_map(analysis.header, imp.object_type, definitions)
    imp.save(update_fields=["encoding", "delimiter", "header", "sample", "warnings", "mapping"])


def set_mapping(imp: Import, mapping: list[str], date_order: str = Import.DateOrder.AUTO) -> None:
    """Validate and save a column mapping; raises ValidationError listing every problem."""
    problems = check_mapping(mapping, imp.header, imp.object_type)
    if date_order not in Import.DateOrder.values:
        problems.append("Choose how to read dates like 03/01/2024.")
    if problems:
        raise ValidationError(problems)
    imp.mapping, imp.date_order = mapping, date_order
    imp.save(update_fields=["mapping", "date_order"])


@transaction.atomic
def queue_import(imp: Import, actor) -> None:
    """Hand a mapped import to the background workers."""
    from smarketing.dataio.tasks import run_import

    if imp.status != Import.Status.MAPPING:
        raise ValidationError("This import has already been started.")
    runner.start(imp, actor)
    run_import.enqueue(imp.pk)


@transaction.atomic
def resume_import(imp: Import, actor) -> None:
    """Queue a stopped or interrupted import again; it continues after the last committed chunk."""
    from smarketing.dataio.tasks import run_import

    if not runner.resumable(imp):
        raise ValidationError("This import cannot be resumed: it is running, finished, or its file is gone.")
    # Conditional on the status seen: two clicks, or a resume racing the command line, queue it once.
    if not Import.objects.filter(pk=imp.pk, status=imp.status).update(
        status=Import.Status.QUEUED, error="", finished_at=None
    ):
        raise ValidationError("This import changed meanwhile; look at it again.")
    imp.status = Import.Status.QUEUED
    record_audit(actor=actor, action="import_resume", obj=imp, origin=Origin.IMPORT, changes={})
    run_import.enqueue(imp.pk)


DISCARDABLE = (Import.Status.MAPPING, Import.Status.FAILED, Import.Status.RUNNING)


def discard_import(imp: Import, actor) -> None:
    """Throw away an import that was never started, stopped, or was interrupted: its file is deleted.

    Rows it already imported stay (they are records now); only the way to continue it goes. A running import is
    discarded only while no living process runs it: the run lock is taken for the moment of the change.
    """
    if imp.status not in DISCARDABLE:
        raise ValidationError("Only an import that has not started, stopped or was interrupted can be discarded.")
    lock = liveness.RunLock.acquire(imp.pk)
    if lock is None:
        raise ValidationError("This import is running right now; it can be discarded once it stops.")
    try:
        if not Import.objects.filter(pk=imp.pk, status=imp.status).update(
            status=Import.Status.DISCARDED, finished_at=timezone.now()
        ):
            raise ValidationError("This import changed meanwhile; look at it again.")
        runner.delete_file(imp)
        imp.status = Import.Status.DISCARDED
    finally:
        lock.release()
    liveness.forget(imp.pk)
    record_audit(
        actor=actor,
        action="import_discard",
        obj=imp,
        origin=Origin.IMPORT,
        changes={"rows_imported": (None, imp.next_row)},
    )


# Uploads nobody finished with: mapped never, or stopped and never resumed. Their files are deleted after this.
ABANDONED_AFTER = timedelta(days=7)
ORPHAN_AFTER = timedelta(days=1)  # files in the upload directory that no import names (a crash mid-upload)


def clean_up_abandoned(now=None) -> dict[str, int]:
    """Discard imports left waiting for a mapping, stopped or interrupted for ABANDONED_AFTER, and delete
    upload files no import names. Run by the periodic job `dataio.tasks.clean_up_imports`."""
    now = now or timezone.now()
    cutoff = now - ABANDONED_AFTER
    stale = list(
        Import.objects.filter(status__in=DISCARDABLE, created_at__lt=cutoff)
        .exclude(file_name="")
        .filter(models.Q(heartbeat_at__isnull=True) | models.Q(heartbeat_at__lt=cutoff))
        .order_by("id")[:500]
    )
    alive = liveness.alive([imp.pk for imp in stale if imp.status == Import.Status.RUNNING])
    discarded = 0
    for imp in stale:
        if imp.pk in alive:
            continue
        try:
            discard_import(imp, system_actor(Origin.SYSTEM))
        except ValidationError:
            continue  # taken up meanwhile
        discarded += 1
    named = set(Import.objects.exclude(file_name="").values_list("file_name", flat=True))
    orphans = 0
    for path in runner.upload_dir().glob("*.csv"):
        if path.name in named:
            continue
        modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        if modified < now - ORPHAN_AFTER:
            path.unlink(missing_ok=True)
            orphans += 1
    return {"discarded": discarded, "orphan_files": orphans}


def unknown_sources_sentence(imp: Import) -> str:
    """The source values an import kept as they were, most frequent first."""
    ranked = sorted(imp.unknown_sources.items(), key=lambda item: (-item[1], item[0]))
    listed = ", ".join(f"“{value}” ({rows:,} row{'s' if rows != 1 else ''})" for value, rows in ranked[:10])
    more = f" and {len(ranked) - 10} more" if len(ranked) > 10 else ""
    return (
        f"Sources Smarketing does not know were kept as they are: {listed}{more}. The source filter lists them "
        "under their own names."
    )


def rejected_rows_csv(imp: Import) -> Iterator[str]:
    """The error file: the original header and cells of every rejected row, then its row number and the reason.

    Written by the exporter's CSV writer: cells defused (a spreadsheet will open this file), a byte-order mark.
    """
    width = len(imp.header)
    body = (
        [*(rejected.cells or [""] * width), rejected.row_number, rejected.reason]
        for rejected in imp.rejected_rows.order_by("row_number").iterator(chunk_size=2000)
    )
    return csv_pieces([*imp.header, "Import row", "Import error"], body)
