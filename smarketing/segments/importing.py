"""CSV import onto a static list: a file of email addresses, matched to existing contacts.

The list import never creates contacts (that is dataio's importer, with its field mapping, consent and
duplicate rules); it adds the contacts it finds and reports the addresses it did not find, so a trade-show
scan can be checked against the CRM first.
"""

import csv
import io

from django.core.exceptions import ValidationError

from smarketing.core.models import Origin
from smarketing.crm.models import Contact
from smarketing.crm.normalize import normalize_email
from smarketing.dataio.csvfile import detect_delimiter
from smarketing.segments import access, services

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 200_000
LOOKUP_BATCH = 2000
REPORT_EXAMPLES = 50


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError("The file is not text in UTF-8 or Windows-1252: save it as CSV (UTF-8) and try again.")


def read_emails(raw: bytes) -> tuple[list[str], list[int]]:
    """The addresses in the email column (or the first column), and the row numbers that hold no address."""
    if len(raw) > MAX_BYTES:
        raise ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.")
    if b"\x00" in raw[:4096]:
        raise ValidationError("This is not a CSV file (it looks binary).")
    text = _decode(raw)
    lines = text.splitlines(keepends=True)[:20]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(lines))
    rows = iter(reader)
    header = next(rows, None)
    if header is None:
        raise ValidationError("The file is empty.")
    names = [h.strip().lower() for h in header]
    column = next((i for i, name in enumerate(names) if name in ("email", "e-mail", "email address")), None)
    emails, bad = [], []
    start = 2
    if column is None:
        # No header naming an email column: the first column holds the addresses, the first row included.
        column, start = 0, 1
        rows = iter([header, *rows])
    for number, row in enumerate(rows, start=start):
        if number > MAX_ROWS + 1:
            raise ValidationError(f"At most {MAX_ROWS:,} rows per file.")
        value = row[column].strip() if column < len(row) else ""
        try:
            email = normalize_email(value)
        except ValidationError:
            email = ""
        if email:
            emails.append(email)
        elif any(cell.strip() for cell in row):
            bad.append(number)
    return emails, bad


def import_emails(actor, contact_list, upload) -> dict:
    access.require_edit(actor)
    emails, bad = read_emails(upload.read(MAX_BYTES + 1))
    unique = sorted(set(emails))
    found: dict[str, int] = {}
    for start in range(0, len(unique), LOOKUP_BATCH):
        chunk = unique[start : start + LOOKUP_BATCH]
        found.update(Contact.objects.filter(email__in=chunk).values_list("email", "pk"))
    added = services.add_to_list(actor, contact_list, found.values(), Origin.IMPORT) if found else 0
    missing = [e for e in unique if e not in found]
    return {
        "rows": len(emails) + len(bad),
        "added": added,
        "already": len(found) - added,
        "not_found": len(missing),
        "not_found_examples": missing[:REPORT_EXAMPLES],
        "bad_rows": bad[:REPORT_EXAMPLES],
        "bad_count": len(bad),
    }
