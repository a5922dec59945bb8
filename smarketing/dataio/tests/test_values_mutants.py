"""Cell parsers at their edges, found unguarded by mutation testing: epoch lengths (seconds or milliseconds),
the first and last years, two-digit years, AM/PM and zone offsets, day/month evidence at 12 and 13, trailing
text, every month spelling and choice word the tables promise, and numbers' signs and separators."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.test import SimpleTestCase
from hypothesis import given
from hypothesis import strategies as st

from smarketing.dataio.values import (
    date_order_evidence,
    parse_currency,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_lead_status,
    parse_lifecycle,
    zone_of,
)

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


class EpochTests(SimpleTestCase):
    def test_nine_to_eleven_digits_are_seconds_twelve_and_thirteen_milliseconds(self):
        cases = {
            "100000000": dt.datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC),  # 9 digits: the shortest epoch
            "1709287200": dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
            "99999999999": dt.datetime(5138, 11, 16, 9, 46, 39, tzinfo=UTC),  # 11 digits: still seconds
            "100000000000": dt.datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC),  # 12 digits: milliseconds
            "1709287200123": dt.datetime(2024, 3, 1, 10, 0, 0, 123000, tzinfo=UTC),
            "9999999999999": dt.datetime(2286, 11, 20, 17, 46, 39, 999000, tzinfo=UTC),  # the longest
            " 1709287200 ": dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_datetime(raw), expected)
                self.assertEqual(parse_datetime(raw, tz=TOKYO), expected)  # an epoch is UTC whatever the zone

    def test_outside_the_epoch_lengths(self):
        self.assertEqual(parse_datetime("20240301"), dt.datetime(2024, 3, 1, tzinfo=UTC))  # 8 digits: a date
        for raw in ["12345678901234", "12345678", "1234567", "00000000"]:
            with self.subTest(raw=raw), self.assertRaisesMessage(ValueError, "is not a date we can read"):
                parse_datetime(raw)

    def test_digits_that_are_not_ascii_get_the_readable_error(self):
        for raw in ["١٧٠٩٢٨٧٢٠٠", "¹²³⁴⁵⁶⁷⁸⁹⁰"]:
            with self.subTest(raw=raw), self.assertRaisesMessage(ValueError, "is not a date we can read"):
                parse_datetime(raw)

    @given(st.integers(min_value=10**8, max_value=10**13 - 1))
    def test_every_epoch_length_round_trips(self, number):
        value = parse_datetime(str(number))
        seconds = number / 1000 if number >= 10**11 else number
        self.assertAlmostEqual(value.timestamp(), seconds, delta=0.001)
        self.assertEqual(value.tzinfo, UTC)


class YearTests(SimpleTestCase):
    def test_the_first_and_last_years(self):
        self.assertEqual(parse_date("0001-01-01"), dt.date(1, 1, 1))
        self.assertEqual(parse_date("9999-12-31"), dt.date(9999, 12, 31))
        self.assertEqual(parse_date("9999-12-31 10:00", tz=TOKYO), dt.date(9999, 12, 31))
        for raw in ["0000-01-01", "10000-01-01", "00000101"]:
            with self.subTest(raw=raw), self.assertRaisesMessage(ValueError, "is not a date we can read"):
                parse_date(raw)

    def test_a_time_that_falls_off_the_calendar_in_another_zone_is_an_error_not_a_crash(self):
        with self.assertRaisesMessage(ValueError, "is not a date we can read"):
            parse_datetime("0001-01-01T00:00:00+01:00")  # year 0 in UTC, where it is stored
        with self.assertRaisesMessage(ValueError, "is not a date we can read"):
            parse_datetime("9999-12-31T23:00:00-05:00")  # year 10000 in UTC
        with self.assertRaisesMessage(ValueError, "is not a date we can read"):
            parse_date("0001-01-01T02:00:00Z", tz=NEW_YORK)
        with self.assertRaisesMessage(ValueError, "is not a date we can read"):
            parse_date("9999-12-31T23:00:00Z", tz=TOKYO)

    def test_two_digit_years_pivot_at_70(self):
        cases = {"01-Mar-69": 2069, "01-Mar-70": 1970, "3/1/00": 2000, "3/1/99": 1999, "1 Mar 24": 2024}
        for raw, year in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_date(raw).year, year)


class TimeAndZoneTests(SimpleTestCase):
    def test_am_pm_markers(self):
        cases = {"10:00 p.m.": 22, "10:00 P.M.": 22, "10:00pm": 22, "12:00 a.m.": 0, "12:00 AM": 0, "1:00 am": 1}
        for written, hour in cases.items():
            with self.subTest(written=written):
                self.assertEqual(parse_datetime(f"2024/03/01 {written}").hour, hour)
        for written in ["0:30 AM", "13:00 PM", "00:00 pm"]:
            with self.subTest(written=written), self.assertRaisesMessage(ValueError, "is not a date we can read"):
                parse_datetime(f"2024/03/01 {written}")

    def test_seconds_and_fractions(self):
        self.assertEqual(parse_datetime("2024-03-01 10:00:05").second, 5)
        self.assertEqual(parse_datetime("2024-03-01 10:00:05.75"), dt.datetime(2024, 3, 1, 10, 0, 5, tzinfo=UTC))

    def test_zones_written_in_the_cell_win_over_the_default(self):
        ten_utc = dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
        cases = {
            "2024-03-01 10:00 UTC": ten_utc,
            "2024-03-01 10:00 GMT": ten_utc,
            "2024-03-01 10:00Z": ten_utc,
            "2024-03-01 10:00 -05:00": dt.datetime(2024, 3, 1, 15, 0, tzinfo=UTC),
            "2024-03-01 10:00 +0530": dt.datetime(2024, 3, 1, 4, 30, tzinfo=UTC),
            "2024-03-01 10:00 -0530": dt.datetime(2024, 3, 1, 15, 30, tzinfo=UTC),
            "03/01/2024 10:00 AM +01:00": dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
            "Mar 1, 2024 10:00 -01:00": dt.datetime(2024, 3, 1, 11, 0, tzinfo=UTC),
            "1 Mar 2024 10:00 +02:00": dt.datetime(2024, 3, 1, 8, 0, tzinfo=UTC),
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_datetime(raw, tz=PARIS), expected)

    def test_iso_forms_the_patterns_leave_to_fromisoformat(self):
        self.assertEqual(parse_datetime("20240301T100000", tz=PARIS), dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
        self.assertEqual(parse_datetime("20240301T100000Z", tz=PARIS), dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC))
        self.assertEqual(parse_datetime("20240301T100000", tz=PARIS).tzinfo, PARIS)

    def test_dates_are_taken_in_the_given_zone(self):
        self.assertEqual(parse_date("2024-03-01T23:30:00Z", tz=PARIS), dt.date(2024, 3, 2))
        self.assertEqual(parse_date("2024-03-01T23:30:00Z"), dt.date(2024, 3, 1))
        self.assertEqual(parse_date("03/01/2024", tz=TOKYO), dt.date(2024, 3, 1))

    def test_zone_names(self):
        self.assertEqual(zone_of("Europe/Paris"), PARIS)
        self.assertIs(zone_of(None), UTC)
        self.assertIs(zone_of(""), UTC)
        self.assertIs(zone_of("Not/AZone"), UTC)
        self.assertIs(zone_of("../etc/passwd"), UTC)


class DateShapeTests(SimpleTestCase):
    def test_order_evidence_at_twelve_and_thirteen(self):
        cases = {
            "12/01/2024": "either",
            "01/12/2024": "either",
            "12/12/2024": "either",
            "13/12/2024": "dmy",
            "12/13/2024": "mdy",
            "13/13/2024": None,
            "13-01-2024": "dmy",
            "01-13-24": "mdy",
            "13.01.2024 10:00 -05:00": None,  # dots are always day first, even beside a minus sign
            "2024/01/13": None,
            "13/01": None,
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(date_order_evidence(raw), expected)

    def test_month_and_day_order(self):
        self.assertEqual(parse_date("03-01-2024"), dt.date(2024, 3, 1))
        self.assertEqual(parse_date("03-01-2024", order="dmy"), dt.date(2024, 1, 3))
        self.assertEqual(parse_date("01.03.2024", order="dmy"), dt.date(2024, 3, 1))
        self.assertEqual(parse_date("01.03.2024", order="mdy"), dt.date(2024, 3, 1))

    def test_trailing_text_is_not_ignored(self):
        for raw in ["2024-03-01x", "2024/03/01 10:00 later", "03/01/2024x", "Mar 1, 2024 x", "1 Mar 2024x", "Mar"]:
            with self.subTest(raw=raw), self.assertRaisesMessage(ValueError, "is not a date we can read"):
                parse_datetime(raw)

    def test_empty_cells(self):
        for raw in ["", "   ", "\t"]:
            with self.subTest(raw=raw), self.assertRaisesMessage(ValueError, "empty"):
                parse_datetime(raw)

    def test_every_month_spelling(self):
        # Written out here independently of the parser's table: English, French, German, Spanish.
        spellings = {
            1: "jan january janv janvier januar ene enero",
            2: "feb february fev fevr févr fevrier février februar febrero",
            3: "mar march mars marz märz marzo",
            4: "apr april avr avril abr abril",
            5: "may mai mayo",
            6: "jun june juin juni junio",
            7: "jul july juil juillet juli julio",
            8: "aug august aout août ago agosto",
            9: "sep sept september septembre septiembre",
            10: "oct october octobre oktober octubre okt",
            11: "nov november novembre noviembre",
            12: "dec december decembre décembre dezember dic diciembre dez",
        }
        for month, names in spellings.items():
            for name in names.split():
                for raw in [f"3 {name.title()} 2024", f"{name.upper()}. 3, 2024", f"03-{name}-24"]:
                    with self.subTest(raw=raw):
                        self.assertEqual(parse_date(raw), dt.date(2024, month, 3))


class NumberEdgeTests(SimpleTestCase):
    def test_signs(self):
        self.assertEqual(parse_decimal("-5"), Decimal("-5"))
        self.assertEqual(parse_decimal("-1,234.5"), Decimal("-1234.5"))
        self.assertEqual(parse_decimal("(1.234,50)"), Decimal("-1234.50"))
        self.assertEqual(parse_decimal("($5)"), Decimal("-5"))
        for raw in ["(500", "500)"]:
            # Only a closed pair of parentheses means negative (accounting style); half of one never does.
            with self.subTest(raw=raw):
                try:
                    value = parse_decimal(raw)
                except ValueError:
                    continue
                self.assertGreaterEqual(value, 0)
        for raw in ["+5", "-+5", "", "  ", "$", "()", "-"]:
            with self.subTest(raw=raw), self.assertRaisesMessage(ValueError, "is not a number"):
                parse_decimal(raw)

    def test_separators(self):
        cases = {"1,5": "1.5", "1,23": "1.23", "12,3456": "12.3456", "1,234": "1234", "1.234": "1.234"}
        cases |= {"1.000.000,5": "1000000.5", "1,000,000.5": "1000000.5", "1 000 000": "1000000", "0": "0"}
        cases |= {"1\u00a0234,5": "1234.5", "1\u202f234,5": "1234.5", "USD 12": "12", "£3": "3", "¥3": "3"}
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_decimal(raw), Decimal(expected))

    def test_whole_numbers(self):
        self.assertEqual(parse_int("1,000"), 1000)
        self.assertEqual(parse_int("2.0"), 2)
        self.assertEqual(parse_int("(3)"), -3)
        self.assertIsInstance(parse_int("7"), int)
        with self.assertRaisesMessage(ValueError, "is not a whole number"):
            parse_int("2.5")
        with self.assertRaisesMessage(ValueError, "is not a number"):
            parse_int("two")


class ChoiceWordTests(SimpleTestCase):
    def test_every_lifecycle_word(self):
        cases = {
            "Marketing Qualified Lead": "mql",
            "Sales Qualified Lead": "sql",
            "MQL": "mql",
            "sql": "sql",
            "Subscriber": "subscriber",
            "Newsletter": "subscriber",
            "Newsletter subscriber": "subscriber",
            "Prospect": "lead",
            "Lead": "lead",
            "Customers": "customer",
            "Client": "customer",
            "Advocate": "evangelist",
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_lifecycle(raw), expected)
        with self.assertRaises(ValueError) as caught:
            parse_lifecycle("hot prospect")
        self.assertIn("(use one of: Subscriber, Lead, ", str(caught.exception))

    def test_every_lead_status_word(self):
        cases = {
            "ATTEMPTED_TO_CONTACT": "attempted",
            "IN_PROGRESS": "in_progress",
            "OPEN_DEAL": "open_deal",
            "BAD_TIMING": "bad_timing",
            "Open - Not Contacted": "open",
            "Working - Contacted": "in_progress",
            "Working": "in_progress",
            "Contacted": "connected",
            "Closed - Converted": "open_deal",
            "Converted": "open_deal",
            "Closed - Not Converted": "unqualified",
            "Disqualified": "unqualified",
            "Nurturing": "bad_timing",
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_lead_status(raw), expected)
        with self.assertRaises(ValueError) as caught:
            parse_lead_status("maybe")
        self.assertRegex(str(caught.exception), r"\(use one of: \w[^,]*, \w")

    def test_currency_symbols_and_codes(self):
        cases = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF", "chf": "CHF", " usd ": "USD"}
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_currency(raw), expected)
        for raw in ["", "  ", "US", "USDX", "U$D", "ÄÖÜ", "12A"]:
            with self.subTest(raw=raw), self.assertRaisesMessage(ValueError, "is not a currency code"):
                parse_currency(raw)
