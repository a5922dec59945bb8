"""Cell parsers: dates in the formats exports use, numbers with separators, choice values."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.test import SimpleTestCase

from smarketing.dataio.values import (
    date_order_evidence,
    find_email,
    parse_currency,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_lead_status,
    parse_lifecycle,
    split_name,
)

UTC = dt.UTC


class DateTests(SimpleTestCase):
    def test_formats(self):
        at = dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
        midnight = dt.datetime(2024, 3, 1, tzinfo=UTC)
        cases = {
            "2024-03-01": midnight,
            "2024-03-01 10:00": at,
            "2024-03-01T10:00:00Z": at,
            "2024-03-01T11:00:00+01:00": at,
            "2024/03/01": midnight,
            "20240301": midnight,
            "03/01/2024": midnight,
            "03/01/2024 10:00 AM": at,
            "3/1/24 10:00": at,
            "01.03.2024": midnight,
            "01.03.2024 10:00": at,
            "Mar 1, 2024": midnight,
            "March 1st, 2024 10:00": at,
            "1 Mar 2024": midnight,
            "01-Mar-24": midnight,
            "Fri, 1 Mar 2024 10:00:00 GMT": at,
            "1709287200000": at,  # HubSpot: epoch milliseconds
            "1709287200": at,
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_datetime(raw, order="mdy"), expected)

    def test_day_first_order(self):
        self.assertEqual(parse_date("03/01/2024", order="dmy"), dt.date(2024, 1, 3))
        self.assertEqual(parse_date("03/01/2024", order="mdy"), dt.date(2024, 3, 1))
        self.assertEqual(parse_date("25/12/2024", order="dmy"), dt.date(2024, 12, 25))

    def test_pm_and_twelve_oclock(self):
        self.assertEqual(parse_datetime("2024/03/01 12:30 PM").hour, 12)
        self.assertEqual(parse_datetime("2024/03/01 12:30 AM").hour, 0)
        self.assertEqual(parse_datetime("2024/03/01 1:30 pm").hour, 13)

    def test_times_without_zone_are_in_the_given_zone(self):
        paris = ZoneInfo("Europe/Paris")
        value = parse_datetime("2024-03-01 10:00", tz=paris)
        self.assertEqual(value.astimezone(UTC).hour, 9)

    def test_impossible_dates_are_errors(self):
        for raw in ["13/13/2024", "2024-02-30", "31.02.2024", "yesterday", "Mar 45, 2024", "25/12/2024", "0"]:
            with self.subTest(raw=raw), self.assertRaises(ValueError):
                parse_datetime(raw, order="mdy")

    def test_order_evidence(self):
        self.assertEqual(date_order_evidence("13/01/2024"), "dmy")
        self.assertEqual(date_order_evidence("01/13/2024"), "mdy")
        self.assertEqual(date_order_evidence("03/01/2024"), "either")
        self.assertIsNone(date_order_evidence("01.03.2024"))  # dots are always day first
        self.assertIsNone(date_order_evidence("2024-03-01"))


class NumberTests(SimpleTestCase):
    def test_separators_and_symbols(self):
        cases = {
            "1234.5": "1234.5",
            "1,234.50": "1234.50",
            "1.234,50": "1234.50",
            "1 234,50": "1234.50",
            "1,234,567": "1234567",
            "1.234.567": "1234567",
            "12,75": "12.75",
            "$1,000": "1000",
            "€ 1.000,00": "1000.00",
            "EUR 99": "99",
            "(500)": "-500",
            "($1,200.50)": "-1200.50",
            "1'000.5": "1000.5",
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_decimal(raw), Decimal(expected))

    def test_not_numbers(self):
        for raw in ["abc", "1.2.3,4,5", "NaN", "Infinity", "--5", "(500", "500)", "()", "((500))"]:
            with self.subTest(raw=raw), self.assertRaises(ValueError):
                parse_decimal(raw)


class ChoiceTests(SimpleTestCase):
    def test_hubspot_lifecycle_values(self):
        cases = {
            "marketingqualifiedlead": "mql",
            "Marketing Qualified Lead": "mql",
            "Marketing-qualified lead": "mql",
            "salesqualifiedlead": "sql",
            "SQL": "sql",
            "subscriber": "subscriber",
            "Opportunity": "opportunity",
            "customer": "customer",
            "evangelist": "evangelist",
            "other": "other",
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_lifecycle(raw), expected)
        with self.assertRaisesMessage(ValueError, "is not a lifecycle stage"):
            parse_lifecycle("hot prospect")

    def test_lead_statuses_of_hubspot_and_salesforce(self):
        self.assertEqual(parse_lead_status("ATTEMPTED_TO_CONTACT"), "attempted")
        self.assertEqual(parse_lead_status("Open - Not Contacted"), "open")
        self.assertEqual(parse_lead_status("Closed - Not Converted"), "unqualified")
        self.assertEqual(parse_lead_status("IN_PROGRESS"), "in_progress")

    def test_currency_and_names_and_emails(self):
        self.assertEqual(parse_currency("eur"), "EUR")
        self.assertEqual(parse_currency("€"), "EUR")
        with self.assertRaises(ValueError):
            parse_currency("Euro")
        self.assertEqual(split_name("Jane van Dyke"), ("Jane", "van Dyke"))
        self.assertEqual(split_name("Doe, Jane"), ("Jane", "Doe"))
        self.assertEqual(find_email("Jane Doe (jane@acme.com)"), "jane@acme.com")
        self.assertIsNone(find_email("Jane Doe"))
