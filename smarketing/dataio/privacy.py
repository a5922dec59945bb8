"""The importer's privacy hook: rejected rows, reported changes and upload previews keep what was uploaded."""

import json

from smarketing.dataio.models import Import, RejectedRow, ReportedRow
from smarketing.privacy.hooks import CHUNK, ERASED, Erasure, mentions, strong_identifiers


def erase(erasure: Erasure) -> dict[str, int]:
    return {"scrub_import_rows": scrub_import_rows(erasure)}


def scrub_import_rows(erasure: Erasure) -> int:
    """Rows an import rejected or reported, and import previews: blank any that name the person."""
    # These rows belong to no record, so a bare first name would blank other people's rows.
    strong = strong_identifiers(erasure.identifiers)
    if not strong:
        return 0

    def names_person(cells) -> bool:
        return mentions(json.dumps(cells, ensure_ascii=False), strong)

    changed = 0
    # A Python scan: rejected rows are few next to the CRM tables, and JSON text search is not portable.
    for row in RejectedRow.objects.only("pk", "cells").iterator(chunk_size=CHUNK):
        if names_person(row.cells):
            RejectedRow.objects.filter(pk=row.pk).update(cells=[ERASED for _ in row.cells])
            changed += 1
    for row in ReportedRow.objects.only("pk", "label", "changes").iterator(chunk_size=CHUNK):
        if names_person([row.label, row.changes]):
            ReportedRow.objects.filter(pk=row.pk).update(label=ERASED, changes={})
            changed += 1
    for upload in Import.objects.only("pk", "sample").iterator(chunk_size=200):
        if names_person(upload.sample):
            sample = [[ERASED] * len(cells) if names_person(cells) else cells for cells in upload.sample]
            Import.objects.filter(pk=upload.pk).update(sample=sample)
            changed += 1
    return changed
