"""smarketing import contacts|companies|deals FILE [--mapping FILE.json] [--dry-run]: import in this process."""

import contextlib
import json
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.timesince import timesince

from smarketing.accounts.access import SystemActor, system_actor
from smarketing.accounts.models import User
from smarketing.core.models import Origin
from smarketing.dataio import access, services
from smarketing.dataio.csvfile import DELIMITERS, ENCODINGS, FileProblem
from smarketing.dataio.fields import targets
from smarketing.dataio.importer import runner
from smarketing.dataio.models import Import

OBJECT_TYPES = {"contacts": "contact", "companies": "company", "deals": "deal"}


class Command(BaseCommand):
    help = (
        "Import contacts, companies or deals from a CSV file (HubSpot, Salesforce, Pipedrive or any spreadsheet). "
        "Columns are mapped automatically; --mapping FILE.json overrides them: "
        '{"columns": {"Header": "field" or "custom:<key>" or ""}, "date_order": "dmy"}.'
    )

    def add_arguments(self, parser):
        parser.add_argument("object_type", choices=sorted(OBJECT_TYPES), help="what the file contains")
        parser.add_argument("file", nargs="?", help="the CSV file")
        parser.add_argument("--mapping", help="JSON file mapping column headers to fields")
        parser.add_argument("--dry-run", action="store_true", help="check every row and print the totals; save nothing")
        parser.add_argument("--user", help="email of the user the import acts as (default: the system)")
        parser.add_argument("--encoding", choices=sorted(ENCODINGS), help="skip detection")
        parser.add_argument("--delimiter", help="skip detection: , ; tab or |")
        parser.add_argument("--date-order", choices=Import.DateOrder.values, help="how to read 03/01/2024")
        parser.add_argument("--no-events", action="store_true", help="no created/updated events for webhooks")
        parser.add_argument("--errors", help="write the rejected rows with their reasons to this CSV file")
        parser.add_argument("--resume", type=int, metavar="ID", help="continue import ID after a crash")

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        self.tty = sys.stdout.isatty()
        if options["resume"]:
            return self.resume(options)
        if not options["file"]:
            raise CommandError("Give the CSV file to import.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        actor = self.actor(options["user"])
        object_type = OBJECT_TYPES[options["object_type"]]
        delimiter = options["delimiter"]
        if delimiter is not None:
            delimiter = "\t" if delimiter in ("tab", "\\t") else delimiter
            if delimiter not in DELIMITERS:
                raise CommandError("--delimiter must be , ; tab or |")
        mapping_file = self.read_mapping(options["mapping"])
        encoding = options["encoding"] or mapping_file.get("encoding")
        delimiter = delimiter or mapping_file.get("delimiter")
        try:
            name, size = services.store_path(path)
        except services.TooLarge:
            raise CommandError(f"{path} is larger than SMARKETING_MAX_IMPORT_MB.")
        dry_run = options["dry_run"]
        # A dry run runs in one transaction that is rolled back; a real one commits chunk by chunk.
        scope = transaction.atomic() if dry_run else contextlib.nullcontext()
        try:
            with scope:
                imp = services.create_import(
                    file_name=name,
                    size=size,
                    original_name=path.name,
                    object_type=object_type,
                    actor=actor,
                    encoding=encoding,
                    delimiter=delimiter,
                )
                self.describe(imp)
                mapping = self.apply_mapping(imp, mapping_file.get("columns", {}))
                date_order = options["date_order"] or mapping_file.get("date_order") or Import.DateOrder.AUTO
                services.set_mapping(imp, mapping, date_order)
                imp.send_events = not options["no_events"] and mapping_file.get("send_events", True)
                imp.save(update_fields=["send_events"])
                self.report_mapping(imp)
                runner.start(imp, actor)
                on_start = None if dry_run else self.announce(options["object_type"])
                imp = runner.run(imp.pk, progress=self.progress, on_start=on_start)
                self.totals(imp, dry_run)
                if options["errors"]:
                    self.write_errors(imp, options["errors"])
                if dry_run:
                    transaction.set_rollback(True)
        except FileProblem as exc:
            (runner.upload_dir() / name).unlink(missing_ok=True)
            raise CommandError(str(exc))
        except ValidationError as exc:
            (runner.upload_dir() / name).unlink(missing_ok=True)
            raise CommandError(" ".join(exc.messages))
        if dry_run:
            (runner.upload_dir() / name).unlink(missing_ok=True)
        if imp.status != Import.Status.DONE:
            raise CommandError(
                f"The import stopped: {imp.error}\nContinue it with: smarketing import "
                f"{options['object_type']} --resume {imp.pk}"
            )

    # -- helpers ------------------------------------------------------------------------------------------

    def actor(self, email: str | None) -> User | SystemActor:
        """--user's person (their rights, their name on the history), or the system: no stand-in person is
        picked, so on a fresh install without users the import works and is recorded as the system's."""
        if not email:
            return system_actor(Origin.IMPORT)
        user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
        if user is None:
            raise CommandError(f"No active user has the email {email}.")
        if not access.can_import(user):
            raise CommandError(f"{user.email} may not edit records, so cannot import.")
        return user

    def announce(self, object_type: str):
        """Print the import's id and how to resume it as soon as it starts, so a crash leaves a way back."""

        def on_start(imp: Import) -> None:
            self.stdout.write(
                f"Import #{imp.pk} started. If it is interrupted, continue it with: "
                f"smarketing import {object_type} --resume {imp.pk}"
            )
            self.stdout.flush()

        return on_start

    def read_mapping(self, path: str | None) -> dict:
        if not path:
            return {}
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read the mapping file {path}: {exc}")
        if not isinstance(data, dict):
            raise CommandError("The mapping file must hold a JSON object.")
        if "columns" not in data:
            data = {"columns": data}  # a plain {"Header": "field"} object
        if not isinstance(data["columns"], dict):
            raise CommandError('"columns" must map column headers to field names.')
        return data

    def apply_mapping(self, imp: Import, columns: dict) -> list[str]:
        mapping = list(imp.mapping)
        by_header = {name.lower(): index for index, name in enumerate(imp.header)}
        known = {t.name for t in targets(imp.object_type)}
        for header, target in columns.items():
            index = by_header.get(str(header).strip().lower())
            if index is None:
                raise CommandError(
                    f"The mapping names a column “{header}” the file does not have. Columns: " + ", ".join(imp.header)
                )
            target = target or ""
            if target in ("ignore", "-"):
                target = ""
            if target and target not in known:
                raise CommandError(
                    f"Unknown field “{target}” for column “{header}”. Fields: " + ", ".join(sorted(known))
                )
            mapping[index] = target
        return mapping

    def describe(self, imp: Import) -> None:
        self.stdout.write(
            f"{imp.original_name}: {ENCODINGS[imp.encoding]}, delimiter {DELIMITERS[imp.delimiter].lower()}, "
            f"{len(imp.header)} columns"
        )
        for warning in imp.warnings:
            self.stdout.write(self.style.WARNING(f"  ! {warning}"))

    def report_mapping(self, imp: Import) -> None:
        if self.verbosity >= 1:
            for name, target in zip(imp.header, imp.mapping, strict=True):
                if target:
                    self.stdout.write(f"  {name} → {target}")
        if imp.unmapped_columns:
            self.stdout.write(self.style.WARNING("  Not imported: " + ", ".join(imp.unmapped_columns)))

    def progress(self, imp: Import) -> None:
        if self.verbosity < 1 or not imp.total_rows or getattr(self, "_shown", None) == imp.next_row:
            return
        self._shown = imp.next_row
        line = f"  {imp.next_row:,} / {imp.total_rows:,} rows ({imp.percent}%)"
        if self.tty:
            self.stdout.write("\r" + line, ending="")
            self.stdout.flush()
            if imp.finished:
                self.stdout.write("")
        else:
            self.stdout.write(line)

    def totals(self, imp: Import, dry_run: bool) -> None:
        prefix = "Dry run (nothing saved): " if dry_run else ""
        self.stdout.write(
            f"{prefix}{imp.total_rows or 0:,} rows: {imp.created:,} created, {imp.updated:,} updated, "
            f"{imp.unchanged:,} unchanged, {imp.rejected:,} rejected"
            + (f"; {imp.warned:,} imported with a warning" if imp.warned else "")
        )
        if imp.companies_created:
            self.stdout.write(f"  {imp.companies_created:,} companies created for the contacts' company columns")
        if imp.padded:
            self.stdout.write(f"  {imp.padded:,} rows had fewer cells than the header (read as empty)")
        for warning in imp.warnings:
            self.stdout.write(self.style.WARNING(f"  ! {warning}"))
        if imp.unknown_sources:
            self.stdout.write(self.style.WARNING("  ! " + services.unknown_sources_sentence(imp)))
        for reported in imp.reported_rows.exclude(warnings=[]).order_by("row_number")[:20]:
            self.stdout.write(
                f"  row {reported.row_number} ({reported.get_outcome_display().lower()}): "
                + " ".join(reported.warnings)
            )
        if imp.warned > 20:
            self.stdout.write(f"  ... and {imp.warned - 20:,} more rows with a warning (see the import's page)")
        for rejected in imp.rejected_rows.order_by("row_number")[:20]:
            self.stdout.write(f"  row {rejected.row_number}: {rejected.reason}")
        if imp.rejected > 20:
            self.stdout.write(f"  ... and {imp.rejected - 20:,} more (--errors FILE writes them all)")
        if not dry_run and imp.status == Import.Status.DONE:
            self.stdout.write(self.style.SUCCESS(f"Import #{imp.pk} done."))

    def write_errors(self, imp: Import, path: str) -> None:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            for piece in services.rejected_rows_csv(imp):
                fh.write(piece)
        self.stdout.write(f"Rejected rows written to {path}")

    def resume(self, options) -> None:
        imp = Import.objects.filter(pk=options["resume"]).first()
        if imp is None:
            raise CommandError(f"There is no import {options['resume']}.")
        resumable = imp.file_name and imp.status in (Import.Status.FAILED, Import.Status.RUNNING, Import.Status.QUEUED)
        if not resumable:
            state = imp.get_status_display().lower()
            gone = "" if imp.file_name or imp.status == Import.Status.DONE else " (its uploaded file was deleted)"
            raise CommandError(f"Import {imp.pk} is {state}{gone}; it cannot be resumed.")
        if imp.status == Import.Status.FAILED:
            Import.objects.filter(pk=imp.pk, status=Import.Status.FAILED).update(status=Import.Status.QUEUED, error="")

        def on_start(started: Import) -> None:
            self.stdout.write(f"Resuming import #{started.pk} after row {started.next_row + 1:,}.")

        # The run lock decides: a "running" import whose process died is taken over at once; one that a living
        # process runs is left alone (waiting a moment for a process killed just now to lose its session).
        imp = runner.run(imp.pk, progress=self.progress, on_start=on_start, lock_wait=3)
        if imp.status == Import.Status.RUNNING:
            since = f", last progress {timesince(imp.heartbeat_at)} ago" if imp.heartbeat_at else ""
            raise CommandError(
                f"Import {imp.pk} is being run right now by another process ({imp.runner or 'unknown'}{since}); "
                "it was not started twice. Wait for it to finish, or stop that process and resume again."
            )
        self.totals(imp, False)
        if imp.status != Import.Status.DONE:
            raise CommandError(f"The import stopped: {imp.error}")
