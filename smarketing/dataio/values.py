"""Parsing cell values the way real exports write them: dates, numbers, lifecycle stages, lead statuses.

Every parser returns a clean value or raises ValueError with a message a person can act on.
"""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

from smarketing.crm.models import LeadStatus, LifecycleStage

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def key(text: str) -> str:
    """Lowercase letters and digits only: "Marketing Qualified Lead" -> "marketingqualifiedlead"."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


# ---------------------------------------------------------------------------------------------------------
# Dates

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january", "janv", "janvier", "januar", "ene", "enero"),
            ("feb", "february", "fev", "fevr", "févr", "fevrier", "février", "februar", "febrero"),
            ("mar", "march", "mars", "marz", "märz", "marzo"),
            ("apr", "april", "avr", "avril", "abr", "abril"),
            ("may", "mai", "mayo"),
            ("jun", "june", "juin", "juni", "junio"),
            ("jul", "july", "juil", "juillet", "juli", "julio"),
            ("aug", "august", "aout", "août", "ago", "agosto"),
            ("sep", "sept", "september", "septembre", "septiembre"),
            ("oct", "october", "octobre", "oktober", "octubre", "okt"),
            ("nov", "november", "novembre", "noviembre"),
            ("dec", "december", "decembre", "décembre", "dezember", "dic", "diciembre", "dez"),
        ],
        start=1,
    )
    for name in names
}

_TIME = r"(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp]\.?[Mm]\.?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?"
_NUMERIC = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})" + _TIME + "$")
_YMD = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})" + _TIME + "$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# Month names: the letters of every spelling in MONTHS ("märz", "août"), up to "septiembre" (10 letters).
_MONTH = r"([A-Za-zÄäÉéÛû]{3,10})"
_NAMED_MDY = re.compile(r"^" + _MONTH + r"\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})" + _TIME + "$")
_NAMED_DMY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s-]+" + _MONTH + r"\.?,?[\s-]+(\d{4}|\d{2})" + _TIME + "$")
_WEEKDAY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)


def date_order_evidence(raw: str) -> str | None:
    """What a numeric date like 13/01/2024 says about the order: "dmy", "mdy", "either" (03/01/2024), or None."""
    if "/" not in raw and "-" not in raw:
        return None  # the common cases (epoch numbers, 01.03.2024, names) without a regular expression
    match = _NUMERIC.match(raw.strip())
    if not match or match.group(2) == ".":
        return None
    first, second = int(match.group(1)), int(match.group(3))
    if first > 12 >= second:
        return "dmy"
    if second > 12 >= first:
        return "mdy"
    return "either" if first <= 12 and second <= 12 else None


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _time_parts(groups) -> tuple[int, int, int, str | None]:
    hour, minute, second, ampm, zone = groups
    if hour is None:
        return 0, 0, 0, None
    h, m, s = int(hour), int(minute), int(second or 0)
    if ampm:
        marker = ampm.lower().replace(".", "")
        if not 1 <= h <= 12:
            raise ValueError("hour out of range")
        h = h % 12 + (12 if marker == "pm" else 0)
    return h, m, s, zone


def _zone(zone: str | None, default: dt.tzinfo) -> dt.tzinfo:
    if not zone or zone.upper() in ("Z", "UTC", "GMT"):
        return UTC if zone else default
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_datetime(raw: str, *, order: str = "mdy", tz: dt.tzinfo = UTC) -> dt.datetime:
    """An aware datetime from the common export formats. Times without a zone are in `tz`.

    ISO 8601 (2024-03-01, 2024-03-01 10:00, 2024-03-01T10:00:00Z), 2024/03/01, 20240301, 03/01/2024 and
    03-01-2024 in `order` ("mdy" or "dmy"), 01.03.2024 (always day first), "Mar 1, 2024", "1 Mar 2024",
    "01-Mar-24", optional times with AM/PM, and Unix epoch seconds or milliseconds (HubSpot writes ms).
    """
    text = raw.strip()
    if text.isascii() and text.isdigit() and 9 <= len(text) <= 13:
        # Unix epoch, the HubSpot case, first and without a regular expression: 9 to 11 digits are seconds
        # (1973 to 5138), 12 and 13 are milliseconds (1973 to 2286); 8 digits are a date (20240301).
        # Integer arithmetic: a float division would turn 9999999999999 ms into ...39.999001 s.
        unit = "milliseconds" if len(text) >= 12 else "seconds"
        return EPOCH + dt.timedelta(**{unit: int(text)})
    text = _WEEKDAY.sub("", text)
    if not text:
        raise ValueError("empty")
    try:
        value = _parse_written_date(text, order, tz)
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        value.astimezone(UTC)  # stored in UTC: 0001-01-01 00:00+01:00 falls off the calendar there
    except (ValueError, OverflowError, OSError):
        raise _unreadable(raw)
    return value


def _unreadable(raw: str) -> ValueError:
    return ValueError(f"“{raw.strip()[:40]}” is not a date we can read")


def _parse_written_date(text: str, order: str, tz: dt.tzinfo) -> dt.datetime:
    """The date in one of the written formats; may be naive (ISO without a zone). Raises ValueError."""
    if match := _COMPACT.match(text):
        return dt.datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=tz)
    if match := _YMD.match(text):
        y, mo, d = int(match[1]), int(match[2]), int(match[3])
        h, mi, s, zone = _time_parts(match.groups()[3:])
        return dt.datetime(y, mo, d, h, mi, s, tzinfo=_zone(zone, tz))
    if match := _NUMERIC.match(text):
        a, sep, b, y = int(match[1]), match[2], int(match[3]), _year(match[4])
        day, month = (a, b) if sep == "." or order == "dmy" else (b, a)
        h, mi, s, zone = _time_parts(match.groups()[4:])
        return dt.datetime(y, month, day, h, mi, s, tzinfo=_zone(zone, tz))
    if match := _NAMED_MDY.match(text):
        month = MONTHS.get(match[1].lower())
        if month:
            h, mi, s, zone = _time_parts(match.groups()[3:])
            return dt.datetime(int(match[3]), month, int(match[2]), h, mi, s, tzinfo=_zone(zone, tz))
    if match := _NAMED_DMY.match(text):
        month = MONTHS.get(match[2].lower())
        if month:
            h, mi, s, zone = _time_parts(match.groups()[3:])
            return dt.datetime(_year(match[3]), month, int(match[1]), h, mi, s, tzinfo=_zone(zone, tz))
    return dt.datetime.fromisoformat(text)


def parse_date(raw: str, *, order: str = "mdy", tz: dt.tzinfo = UTC) -> dt.date:
    """The calendar date written in the cell (a time, if present, is converted to `tz` first)."""
    value = parse_datetime(raw, order=order, tz=tz)
    try:
        return value.astimezone(tz).date()
    except OverflowError:  # 0001-01-01T02:00Z is still year 0 in New York
        raise _unreadable(raw)


def zone_of(name: str | None) -> dt.tzinfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (ValueError, KeyError):
        return UTC


# ---------------------------------------------------------------------------------------------------------
# Numbers

_CURRENCY_MARKS = re.compile(r"[$€£¥₹₩₽¢]|\b[A-Z]{3}\b|\s|\u00a0|\u202f|'")


def parse_decimal(raw: str) -> Decimal:
    """1234.5, 1,234.50, 1.234,50, 1 234,50, $1,000, EUR 1.000, (500) for negative; raises ValueError."""
    text = raw.strip()
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1]
    if "(" in text or ")" in text:  # "(500" or "500)": a cut-off cell, not an accountant's negative
        raise ValueError(f"“{raw.strip()[:40]}” is not a number")
    text = _CURRENCY_MARKS.sub("", text)
    if text.startswith("-"):
        negative, text = True, text[1:]
    if text.startswith(("-", "+")) or not text:
        raise ValueError(f"“{raw.strip()[:40]}” is not a number")
    if "," in text and "." in text:
        # The separator that comes last is the decimal one.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        parts = text.split(",")
        # 1,234 and 1,234,567 are thousands; 1,5 and 12,75 are decimal commas.
        if len(parts) > 2 or (len(parts) == 2 and len(parts[1]) == 3):
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")  # 1.234.567
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"“{raw.strip()[:40]}” is not a number")
    if not value.is_finite():
        raise ValueError(f"“{raw.strip()[:40]}” is not a number")
    return -value if negative else value


def parse_int(raw: str) -> int:
    value = parse_decimal(raw)
    if value != value.to_integral_value():
        raise ValueError(f"“{raw.strip()[:40]}” is not a whole number")
    return int(value)


# ---------------------------------------------------------------------------------------------------------
# Choice values from HubSpot, Salesforce and Pipedrive

LIFECYCLE_WORDS = {
    **{key(v): v for v in LifecycleStage.values},
    **{key(label): v for v, label in LifecycleStage.choices},
    "marketingqualifiedlead": LifecycleStage.MQL,
    "salesqualifiedlead": LifecycleStage.SQL,
    "mql": LifecycleStage.MQL,
    "sql": LifecycleStage.SQL,
    "subscriber": LifecycleStage.SUBSCRIBER,
    "newsletter": LifecycleStage.SUBSCRIBER,
    "newslettersubscriber": LifecycleStage.SUBSCRIBER,
    "prospect": LifecycleStage.LEAD,
    "customers": LifecycleStage.CUSTOMER,
    "client": LifecycleStage.CUSTOMER,
    "advocate": LifecycleStage.EVANGELIST,
}

LEAD_STATUS_WORDS = {
    **{key(v): v for v in LeadStatus.values},
    **{key(label): v for v, label in LeadStatus.choices},
    # HubSpot internal values
    "attemptedtocontact": LeadStatus.ATTEMPTED,
    "inprogress": LeadStatus.IN_PROGRESS,
    "opendeal": LeadStatus.OPEN_DEAL,
    "badtiming": LeadStatus.BAD_TIMING,
    # Salesforce lead statuses
    "opennotcontacted": LeadStatus.OPEN,
    "workingcontacted": LeadStatus.IN_PROGRESS,
    "working": LeadStatus.IN_PROGRESS,
    "contacted": LeadStatus.CONNECTED,
    "closedconverted": LeadStatus.OPEN_DEAL,
    "converted": LeadStatus.OPEN_DEAL,
    "closednotconverted": LeadStatus.UNQUALIFIED,
    "disqualified": LeadStatus.UNQUALIFIED,
    "nurturing": LeadStatus.BAD_TIMING,
}


@lru_cache(maxsize=1024)  # a column holds a handful of distinct values, repeated on every row
def parse_lifecycle(raw: str) -> str:
    value = LIFECYCLE_WORDS.get(key(raw))
    if value is None:
        allowed = ", ".join(label for _, label in LifecycleStage.choices)
        raise ValueError(f"“{raw.strip()[:40]}” is not a lifecycle stage (use one of: {allowed})")
    return str(value)


@lru_cache(maxsize=1024)
def parse_lead_status(raw: str) -> str:
    value = LEAD_STATUS_WORDS.get(key(raw))
    if value is None:
        allowed = ", ".join(label for _, label in LeadStatus.choices)
        raise ValueError(f"“{raw.strip()[:40]}” is not a lead status (use one of: {allowed})")
    return str(value)


CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}


def parse_currency(raw: str) -> str:
    text = raw.strip()
    text = CURRENCY_SYMBOLS.get(text, text).upper()
    if len(text) != 3 or not text.isascii() or not text.isalpha():
        raise ValueError(f"“{raw.strip()[:40]}” is not a currency code (use three letters such as USD or EUR)")
    return text


_EMAIL_IN_TEXT = re.compile(r"[^\s<>()\[\],;\"']+@[^\s<>()\[\],;\"']+\.[A-Za-z]{2,}")


def find_email(raw: str) -> str | None:
    """The first email address inside text like "Jane Doe (jane@acme.com)" or "<jane@acme.com>"."""
    match = _EMAIL_IN_TEXT.search(raw)
    return match.group(0) if match else None


def split_name(raw: str) -> tuple[str, str]:
    """ "Jane van Dyke" -> ("Jane", "van Dyke"); "Doe, Jane" -> ("Jane", "Doe")."""
    text = " ".join(raw.split())
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip(), last.strip()
    first, _, last = text.partition(" ")
    return first, last
