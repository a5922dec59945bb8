"""Defusing spreadsheet formulas in exported cells (CSV and XLSX)."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value):
    """A cell a spreadsheet will show as text: a value that could start a formula gets a leading apostrophe.

    Spreadsheets skip leading whitespace and control characters before parsing a formula, so the check
    looks past them too ("  =cmd()", "\\x00=cmd()").
    """
    if not isinstance(value, str):
        return value
    # Tab and carriage return are not stripped: they are formula starts themselves.
    stripped = value.lstrip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x1a\x1b\n")
    if stripped.startswith(FORMULA_STARTS):
        return "'" + value
    return value
