"""Reading uploaded CSV files: detecting encoding, delimiter and header, then streaming rows.

Nothing here holds a whole file in memory. Detection reads the file in blocks; rows come one at a time from a
line iterator that caps the length of a physical line, and the csv module caps the length of a field, so a
hostile file (no newlines, an unclosed quote, a 10 MB cell) costs at most a few tens of megabytes.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

# The upload limit in megabytes (documented in docs/configuration.md).
MAX_IMPORT_MB = settings.MAX_IMPORT_MB
MAX_COLUMNS = 1000
# A cell longer than this rejects its row: no CRM value is that long, and storing it would hide a broken file.
MAX_CELL_CHARS = 100_000
# A physical line or a field longer than this is cut off by the reader and its row rejected.
MAX_LINE_CHARS = 16 * 1024 * 1024
SAMPLE_ROWS = 5
SAMPLE_CELL_CHARS = 200
BLOCK = 1024 * 1024

csv.field_size_limit(MAX_LINE_CHARS)

ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with byte-order mark",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 (little-endian, no byte-order mark)",
    "utf-16-be": "UTF-16 (big-endian, no byte-order mark)",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO-8859-1)",
}
DELIMITERS = {",": "Comma", ";": "Semicolon", "\t": "Tab", "|": "Pipe"}

# Files people upload by mistake, recognized by their first bytes.
MAGIC = [
    (
        b"PK\x03\x04",
        "This is an Excel workbook or another zip file, not a CSV file. In Excel use "
        "File > Save As > CSV UTF-8, then upload that file.",
    ),
    (b"\xd0\xcf\x11\xe0", "This is an old Excel (.xls) or Office file, not a CSV file. Save it as CSV UTF-8 first."),
    (b"%PDF", "This is a PDF file, not a CSV file."),
    (b"\x89PNG", "This is a PNG image, not a CSV file."),
    (b"\xff\xd8\xff", "This is a JPEG image, not a CSV file."),
    (b"GIF8", "This is a GIF image, not a CSV file."),
    (b"\x1f\x8b", "This is a gzip-compressed file, not a CSV file. Decompress it first."),
    (b"SQLite format 3", "This is an SQLite database, not a CSV file."),
    (b"\x7fELF", "This is a program, not a CSV file."),
    (b"MZ", "This is a program, not a CSV file."),
]
NOT_CSV = (
    "This is not a CSV file: it contains binary data. Export your data as CSV (comma-separated values) and try again."
)


class FileProblem(Exception):
    """The file cannot be imported at all; the message says why and what to do."""


@dataclass
class Analysis:
    encoding: str
    delimiter: str
    header: list[str]
    sample: list[list[str]]
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# Detection


def _known_binary(head: bytes) -> str | None:
    for magic, message in MAGIC:
        if head.startswith(magic):
            return message
    return None


def _looks_binary(head: bytes) -> str | None:
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if controls >= 4 and controls > len(head) * 0.05:
        return NOT_CSV
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a byte-order mark has a NUL in every other byte (for mostly-ASCII text)."""
    if len(head) < 8:
        return None
    even = head[0::2].count(0) / (len(head) / 2)
    odd = head[1::2].count(0) / (len(head) / 2)
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


def _decodes(path: Path, encoding: str) -> tuple[bool, int]:
    """Does the whole file decode strictly? Returns (ok, byte offset of the first bad byte)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return False, offset + exc.start
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False, offset
    return True, 0


def detect_encoding(path: Path) -> str:
    """The file's encoding: a byte-order mark decides; else strict UTF-8 over the whole file, else Windows-1252."""
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    if not head.strip():
        raise FileProblem("The file is empty.")
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise FileProblem("The file is UTF-32, which is not supported. Save it as CSV UTF-8 and try again.")
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif problem := _known_binary(head):
        raise FileProblem(problem)
    elif utf16 := _utf16_without_bom(head):
        encoding = utf16
    else:
        problem = _looks_binary(head)
        if problem:
            raise FileProblem(problem)
        for candidate in ("utf-8", "cp1252"):
            if _decodes(path, candidate)[0]:
                return candidate
        # Latin-1 decodes any byte; only files with the few bytes Windows-1252 leaves undefined get here.
        return "latin-1"
    ok, offset = _decodes(path, encoding)
    if not ok:
        raise FileProblem(
            f"The file starts like {ENCODINGS[encoding]} but byte {offset:,} is not valid {ENCODINGS[encoding]}. "
            "The file may be damaged or made of two files joined together."
        )
    return encoding


def detect_delimiter(lines: list[str]) -> str:
    """Sniff the delimiter from the first lines; fall back to the candidate that splits the header most."""
    sample = "".join(lines)[: 64 * 1024]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        pass
    header = lines[0] if lines else ""
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 1 else ","


def open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    # newline="": the csv module handles line endings itself, including newlines inside quoted fields.
    return open(path, encoding=encoding, errors="strict", newline="")  # noqa: SIM115


def analyze(path: Path, encoding: str | None = None, delimiter: str | None = None) -> Analysis:
    """Encoding, delimiter, header and the first rows of an uploaded file; raises FileProblem when unusable."""
    if path.stat().st_size == 0:
        raise FileProblem("The file is empty.")
    if encoding is None:
        encoding = detect_encoding(path)
    elif not _decodes(path, encoding)[0]:
        raise FileProblem(f"The file is not valid {ENCODINGS.get(encoding, encoding)}; choose another encoding.")
    try:
        with open_text(path, encoding) as text:
            lines = [line for _, line in zip(range(50), _Lines(text), strict=False)]
    except UnicodeDecodeError:
        raise FileProblem(f"The file is not valid {ENCODINGS.get(encoding, encoding)}; choose another encoding.")
    if not "".join(lines).strip():
        raise FileProblem("The file is empty.")
    if delimiter is None:
        delimiter = detect_delimiter(lines)
    warnings = []
    rows = Rows(path, encoding, delimiter)
    header, header_warnings = rows.header()
    warnings += header_warnings
    sample = []
    for record in rows:
        if record.cells is not None:
            sample.append([cell[:SAMPLE_CELL_CHARS] for cell in record.cells])
        if len(sample) >= SAMPLE_ROWS or record.row_number > 200:
            break
    if rows.data_rows == 0:
        raise FileProblem("The file has a header row but no data rows.")
    if any("@" in name and "." in name.split("@")[-1] for name in header):
        warnings.append(
            "The first row contains an email address: it should hold column names (Email, First Name, ...). "
            "Add a header row if the file has none."
        )
    return Analysis(encoding=encoding, delimiter=delimiter, header=header, sample=sample, warnings=warnings)


# ---------------------------------------------------------------------------------------------------------
# Streaming rows


class _Lines:
    """Physical lines of a text file, each cut at MAX_LINE_CHARS; remembers which lines were cut."""

    def __init__(self, text: io.TextIOBase):
        self.text = text
        self.count = 0
        self.cut: set[int] = set()

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.text.readline(MAX_LINE_CHARS)
        if not line:
            raise StopIteration
        self.count += 1
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            while (more := self.text.readline(MAX_LINE_CHARS)) and not more.endswith(("\n", "\r")):
                pass  # skip the rest of an overlong line without holding it
            self.cut.add(self.count)
            return line[:SAMPLE_CELL_CHARS] + "\n"
        return line


@dataclass(slots=True)
class Record:
    """One data row: its spreadsheet row number (header = 1) and its cells, or why it cannot be read."""

    row_number: int
    cells: list[str] | None
    problem: str = ""
    padded: bool = False
    # Set by the importer once the cells are parsed: what the outcome reports besides it (an unknown owner).
    warnings: list[str] | None = None
    unknown_source: str = ""  # a source value the mapping table does not know, kept as it is


_WS = re.compile(r"\s+")


def clean_header(raw: list[str]) -> tuple[list[str], list[str]]:
    """Header names, trimmed; empty names become "Column N"; a repeated name gets " (2)"; plus warnings."""
    names, warnings, seen = [], [], {}
    for index, name in enumerate(raw, start=1):
        name = _WS.sub(" ", name.replace("\ufeff", "").replace("\x00", "")).strip()[:200]
        if not name:
            name = f"Column {index}"
            warnings.append(f"Column {index} has no name in the header row; it is shown as “{name}”.")
        key = name.lower()
        if key in seen:
            seen[key] += 1
            new = f"{name} ({seen[key]})"
            warnings.append(
                f"Two columns are named “{name}”; column {index} is shown as “{new}”. "
                "Map only the one you want to import."
            )
            name = new
        else:
            seen[key] = 1
        names.append(name)
    return names, warnings


class Rows:
    """Iterates the data rows of a CSV file as Records, enforcing the cell count and size rules.

    - more cells than the header: rejected, unless the extra cells are empty (trailing delimiters);
    - fewer cells: padded with empty cells (counted and reported on the import);
    - a cell over MAX_CELL_CHARS, a line or field over MAX_LINE_CHARS, a NUL byte: rejected;
    - an empty row between data rows: rejected ("Empty row"); empty rows at the end of the file are not rows.
    """

    def __init__(self, path: Path, encoding: str, delimiter: str, *, check: bool = True):
        self.path, self.encoding, self.delimiter = path, encoding, delimiter
        self.check = check  # False: count and look at rows only (the cell rules do not change which rows exist)
        self.width = 0
        self.data_rows = 0
        self._text = None
        self._lines = None
        self._reader = None

    def _open(self):
        self._text = open_text(self.path, self.encoding)
        self._lines = _Lines(self._text)
        self._reader = csv.reader(self._lines, delimiter=self.delimiter, quotechar='"', doublequote=True, strict=False)

    def close(self):
        if self._text is not None:
            self._text.close()
            self._text = None

    def header(self) -> tuple[list[str], list[str]]:
        if self._reader is None:
            self._open()
        while True:
            try:
                raw = next(self._reader)
            except StopIteration:
                raise FileProblem("The file is empty.")
            except csv.Error:
                raise FileProblem("The header row cannot be read: it is longer than 16 MB.")
            if any(cell.strip() for cell in raw):
                break
        if self._lines.cut:
            raise FileProblem("The header row cannot be read: it is longer than 16 MB.")
        if len(raw) > MAX_COLUMNS:
            raise FileProblem(f"The file has {len(raw):,} columns; at most {MAX_COLUMNS:,} are supported.")
        while raw and not raw[-1].strip() and len(raw) > 1:
            raw.pop()  # trailing delimiters after the last name
        names, warnings = clean_header(raw)
        self.width = len(names)
        return names, warnings

    def __iter__(self) -> Iterator[Record]:
        if self._reader is None:
            self.header()
        reader, lines, width = self._reader, self._lines, self.width
        row_number = 1
        blank_run: list[int] = []
        last_line = lines.count
        try:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    row_number += 1
                    yield from self._flush_blank(blank_run)
                    self.data_rows += 1
                    message = str(exc)
                    if "field larger" in message:
                        message = (
                            "Field too large (over 16 MB). This usually means a quote that is never closed; "
                            "the rows that follow it may have been read as part of this field."
                        )
                    yield Record(row_number, None, message)
                    last_line = lines.count
                    continue
                except UnicodeDecodeError as exc:
                    raise FileProblem(
                        f"The file is not valid {ENCODINGS.get(self.encoding, self.encoding)} after row "
                        f"{row_number}: {exc.reason}."
                    )
                row_number += 1
                if lines.cut and any(last_line < n <= lines.count for n in lines.cut):
                    last_line = lines.count
                    yield from self._flush_blank(blank_run)
                    self.data_rows += 1
                    yield Record(row_number, None, "Field too large: this row is longer than 16 MB.")
                    continue
                last_line = lines.count
                if not any(cells):
                    blank_run.append(row_number)
                    continue
                yield from self._flush_blank(blank_run)
                self.data_rows += 1
                yield self._check(row_number, cells, width) if self.check else Record(row_number, cells)
        finally:
            self.close()

    def _flush_blank(self, blank_run: list[int]) -> Iterator[Record]:
        for number in blank_run:
            self.data_rows += 1
            yield Record(number, [], "Empty row.")
        blank_run.clear()

    @staticmethod
    def _check(row_number: int, cells: list[str], width: int) -> Record:
        padded = False
        if len(cells) > width:
            extra = cells[width:]
            if any(c.strip() for c in extra):
                return Record(
                    row_number,
                    cells,
                    f"This row has {len(cells)} cells but the header has {width} columns; "
                    "a delimiter or quote is probably missing or extra.",
                )
            cells = cells[:width]
        elif len(cells) < width:
            cells = cells + [""] * (width - len(cells))
            padded = True
        if max(map(len, cells)) <= MAX_CELL_CHARS and "\x00" not in "".join(cells):
            return Record(row_number, cells, "", padded)  # the usual case, checked in C
        for index, cell in enumerate(cells):
            if len(cell) > MAX_CELL_CHARS:
                return Record(
                    row_number,
                    cells,
                    f"Field too large: column {index + 1} has {len(cell):,} characters (at most {MAX_CELL_CHARS:,}).",
                )
            if "\x00" in cell:
                return Record(
                    row_number,
                    cells,
                    f"Column {index + 1} contains a NUL byte; the file may be damaged or in another encoding.",
                )
        return Record(row_number, cells, "", padded)
