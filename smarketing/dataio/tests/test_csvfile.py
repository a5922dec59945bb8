"""Reading files: encodings, delimiters, quoting, and every hostile file we promise to handle."""

import codecs
from pathlib import Path

from django.test import SimpleTestCase

from smarketing.dataio import csvfile
from smarketing.dataio.csvfile import FileProblem, Rows, analyze


class FileCase(SimpleTestCase):
    def write(self, content: bytes, name="f.csv") -> Path:
        import tempfile

        directory = Path(tempfile.mkdtemp(prefix="smk-csv-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(directory, ignore_errors=True))
        path = directory / name
        path.write_bytes(content)
        return path

    def records(self, content: bytes):
        path = self.write(content)
        analysis = analyze(path)
        rows = Rows(path, analysis.encoding, analysis.delimiter)
        rows.header()
        return analysis, list(rows)


class EncodingTests(FileCase):
    TEXT = "Email,First Name,City\nzoe@example.com,Zoë,Köln\nana@example.com,Ana,São Paulo\n"

    def check(self, content: bytes, encoding: str):
        analysis, records = self.records(content)
        self.assertEqual(analysis.encoding, encoding)
        self.assertEqual(analysis.header, ["Email", "First Name", "City"])
        self.assertEqual(
            [r.cells for r in records], [["zoe@example.com", "Zoë", "Köln"], ["ana@example.com", "Ana", "São Paulo"]]
        )

    def test_utf8(self):
        self.check(self.TEXT.encode("utf-8"), "utf-8")

    def test_utf8_with_bom_does_not_leak_into_the_first_header(self):
        self.check(codecs.BOM_UTF8 + self.TEXT.encode("utf-8"), "utf-8-sig")

    def test_utf16_with_bom(self):
        self.check(self.TEXT.encode("utf-16"), "utf-16")

    def test_utf16_big_endian_with_bom(self):
        self.check(codecs.BOM_UTF16_BE + self.TEXT.encode("utf-16-be"), "utf-16")

    def test_utf16_without_bom(self):
        self.check(self.TEXT.encode("utf-16-le"), "utf-16-le")

    def test_windows_1252(self):
        self.check(self.TEXT.encode("cp1252"), "cp1252")

    def test_windows_1252_detected_even_when_the_first_64k_are_ascii(self):
        content = (
            "Email,First Name,City\n" + "a@example.com,A,B\n" * 5000
        ).encode() + "zoe@example.com,Zoë,Köln\n".encode("cp1252")
        analysis = analyze(self.write(content))
        self.assertEqual(analysis.encoding, "cp1252")

    def test_latin1_bytes_undefined_in_windows_1252(self):
        content = "Email,Name\nx@example.com,A\x81B\n".encode("latin-1")
        self.assertEqual(analyze(self.write(content)).encoding, "latin-1")

    def test_damaged_utf16_is_a_clear_error(self):
        content = self.TEXT.encode("utf-16") + b"\x00\xd8"  # a lone surrogate at the end
        with self.assertRaisesMessage(FileProblem, "is not valid UTF-16"):
            analyze(self.write(content))


class DelimiterTests(FileCase):
    def test_comma_semicolon_tab_pipe(self):
        for delimiter in [",", ";", "\t", "|"]:
            with self.subTest(delimiter=repr(delimiter)):
                text = delimiter.join(["Email", "First Name", "Amount"]) + "\n"
                text += delimiter.join(["a@example.com", "Ann", "1.5"]) + "\n"
                analysis, records = self.records(text.encode())
                self.assertEqual(analysis.delimiter, delimiter)
                self.assertEqual(records[0].cells, ["a@example.com", "Ann", "1.5"])

    def test_semicolon_file_with_decimal_commas(self):
        analysis, records = self.records(b'Email;Amount\na@example.com;"1,5"\nb@example.com;2,75\n')
        self.assertEqual(analysis.delimiter, ";")
        self.assertEqual(records[1].cells, ["b@example.com", "2,75"])

    def test_single_column_file(self):
        analysis, records = self.records(b"Email\na@example.com\nb@example.com\n")
        self.assertEqual(analysis.header, ["Email"])
        self.assertEqual(len(records), 2)

    def test_quoted_fields_with_newlines_delimiters_and_quotes(self):
        content = b'Email,Notes\r\na@example.com,"line 1\r\nline 2, with comma and ""quotes"""\r\nb@example.com,x\r\n'
        _, records = self.records(content)
        self.assertEqual(records[0].cells[1], 'line 1\r\nline 2, with comma and "quotes"')
        self.assertEqual([r.row_number for r in records], [2, 3])


class HostileFileTests(FileCase):
    def test_empty_file(self):
        for content in (b"", b"   \n\n", codecs.BOM_UTF8):
            with self.subTest(content=content), self.assertRaisesMessage(FileProblem, "The file is empty."):
                analyze(self.write(content))

    def test_header_without_rows(self):
        with self.assertRaisesMessage(FileProblem, "header row but no data rows"):
            analyze(self.write(b"Email,Name\n"))

    def test_binary_file_renamed_csv(self):
        import random

        rng = random.Random(1)
        content = bytes(rng.randrange(256) for _ in range(5000))
        with self.assertRaisesMessage(FileProblem, "This is not a CSV file"):
            analyze(self.write(content))

    def test_known_binary_formats_get_a_specific_message(self):
        cases = {
            b"PK\x03\x04" + b"\x00" * 100: "Excel workbook",
            b"%PDF-1.7\n" + b"\x00\x01" * 50: "PDF",
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 50: "PNG",
        }
        for content, message in cases.items():
            with self.subTest(message=message), self.assertRaisesMessage(FileProblem, message):
                analyze(self.write(content))

    def test_duplicate_and_empty_headers_are_renamed_and_reported(self):
        analysis, records = self.records(b"Email,Name,Email,,Name\na@example.com,A,b@example.com,x,B\n")
        self.assertEqual(analysis.header, ["Email", "Name", "Email (2)", "Column 4", "Name (2)"])
        self.assertEqual(len(analysis.warnings), 3)
        self.assertIn("Two columns are named “Email”", analysis.warnings[0])

    def test_two_hundred_columns(self):
        header = ",".join(f"Column title {i}" for i in range(200))
        row = ",".join(str(i) for i in range(200))
        analysis, records = self.records(f"{header}\n{row}\n{row}\n".encode())
        self.assertEqual(len(analysis.header), 200)
        self.assertEqual(records[1].cells[199], "199")

    def test_too_many_columns(self):
        header = ",".join(f"c{i}" for i in range(csvfile.MAX_COLUMNS + 1))
        with self.assertRaisesMessage(FileProblem, "columns; at most"):
            analyze(self.write(f"{header}\n1\n".encode()))

    def test_ragged_rows(self):
        content = b"Email,First,Last\na@example.com,A\nb@example.com,B,C,EXTRA\nc@example.com,C,D,,\n"
        _, records = self.records(content)
        short, long, trailing = records
        self.assertEqual((short.cells, short.padded, short.problem), (["a@example.com", "A", ""], True, ""))
        self.assertIn("4 cells but the header has 3 columns", long.problem)
        self.assertEqual((trailing.cells, trailing.problem), (["c@example.com", "C", "D"], ""))

    def test_ten_megabyte_field_rejects_its_row_only(self):
        big = b"x" * (10 * 1024 * 1024)
        content = b"Email,Notes\na@example.com,small\nb@example.com," + big + b"\nc@example.com,fine\n"
        _, records = self.records(content)
        self.assertEqual([r.row_number for r in records], [2, 3, 4])
        self.assertEqual(records[0].problem, "")
        self.assertIn("Field too large", records[1].problem)
        self.assertEqual(records[2].cells, ["c@example.com", "fine"])

    def test_field_over_the_reader_limit_and_unclosed_quote(self):
        huge = b"y" * (csvfile.MAX_LINE_CHARS + 10)
        content = b'Email,Notes\na@example.com,"' + huge + b"\nb@example.com,ok\n"
        _, records = self.records(content)
        self.assertIn("Field too large", records[0].problem)
        self.assertTrue(all(r.row_number >= 2 for r in records))

    def test_nul_bytes_reject_the_row(self):
        _, records = self.records(b"Email,Name\na@example.com,A\x00B\nb@example.com,B\n")
        self.assertIn("NUL byte", records[0].problem)
        self.assertEqual(records[1].problem, "")

    def test_blank_rows_inside_are_rows_blank_rows_at_the_end_are_not(self):
        _, records = self.records(b"Email\na@example.com\n\n,\nb@example.com\n\n\n")
        self.assertEqual(
            [(r.row_number, r.problem) for r in records], [(2, ""), (3, "Empty row."), (4, "Empty row."), (5, "")]
        )

    def test_formulas_and_html_are_plain_text(self):
        _, records = self.records(b'Email,Name\na@example.com,"=HYPERLINK(""http://x"")"\nb@example.com,<b>x</b>\n')
        self.assertEqual(records[0].cells[1], '=HYPERLINK("http://x")')
        self.assertEqual(records[1].cells[1], "<b>x</b>")

    def test_data_in_the_header_row_is_warned_about(self):
        analysis = analyze(self.write(b"a@example.com,Ann\nb@example.com,Bob\n"))
        self.assertIn("first row contains an email address", analysis.warnings[-1])
