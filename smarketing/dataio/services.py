"""Starting imports: store an upload, analyze it, map its columns, queue it. Views and the command share these."""

import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from smarketing.crm.models import ObjectType, PropertyDefinition
from smarketing.dataio import access, csvfile
from smarketing.dataio.exporter import csv_pieces
from smarketing.dataio.fields import auto_map, check_mapping
from smarketing.dataio.importer import runner
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
def resume_import(imp: Import) -> None:
    """Queue a stopped import again; it continues after the last committed chunk."""
    from smarketing.dataio.tasks import run_import

    if not runner.resumable(imp):
        raise ValidationError("This import cannot be resumed.")
    Import.objects.filter(pk=imp.pk).update(status=Import.Status.QUEUED, error="", finished_at=None)
    imp.status = Import.Status.QUEUED
    run_import.enqueue(imp.pk)


def discard_import(imp: Import) -> None:
    """Throw away an import that was never started (its file is deleted)."""
    if imp.status != Import.Status.MAPPING:
        raise ValidationError("Only an import that has not started can be discarded.")
    runner.delete_file(imp)
    Import.objects.filter(pk=imp.pk).update(status=Import.Status.DISCARDED)
    imp.status = Import.Status.DISCARDED


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
