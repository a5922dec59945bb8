"""DKIM: what we sign verifies with dkimpy against the TXT record we publish; a changed byte does not."""

import tempfile
from pathlib import Path
from unittest import mock

import dkim as dkimpy
from django.core.management import CommandError, call_command
from django.test import SimpleTestCase, override_settings

from smarketing.mail import dkim
from smarketing.mail.message import build_message, render_message

KEY_DIR = Path(tempfile.mkdtemp(prefix="dkim-test-"))
KEY_FILE = KEY_DIR / "dkim.pem"
KEY_FILE.write_bytes(dkim.generate_private_key())
DKIM_SETTINGS = {"DKIM_DOMAIN": "acme.example", "DKIM_SELECTOR": "sm1", "DKIM_PRIVATE_KEY_FILE": str(KEY_FILE)}


def message(*, bulk: bool = True, **headers) -> bytes:
    """The bulk path's bytes (render_message), or build_message's EmailMessage serialized."""
    if not bulk:
        return build_message(**fields(headers)).as_bytes()
    return render_message(**fields(headers))


def fields(headers) -> dict:
    return dict(
        from_name="Maya at Acme",
        from_email="maya@acme.example",
        to_email="dana@client.example",
        subject="Grüße: spring offer",
        html="<p>Hello Dana</p>\n" * 30,
        text="Hello Dana\n.\nA line with a dot\n" * 10,
        headers=headers,
        stream="marketing",
    )


def tags(signed: bytes) -> dict[bytes, bytes]:
    header = signed.split(b"\r\n\r\n", 1)[0]
    value = header.split(b"DKIM-Signature:", 1)[1].split(b"\r\nFrom:", 1)[0]
    value = b"".join(value.split())
    return dict(part.split(b"=", 1) for part in value.split(b";") if part)


@override_settings(**DKIM_SETTINGS)
class DkimTests(SimpleTestCase):
    def setUp(self):
        self.record = dkim.public_dns_record()
        self.dns = dkim.dnsfunc_for(self.record, "sm1._domainkey.acme.example")

    def test_signature_verifies_against_the_published_record(self):
        unsubscribe = {
            "List-Unsubscribe": "<https://acme.example/e/u/abc>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        signed = dkim.sign(message(**unsubscribe))
        self.assertTrue(signed.startswith(b"DKIM-Signature: "))
        self.assertTrue(dkimpy.verify(signed, dnsfunc=self.dns))
        self.assertTrue(dkim.verify(signed))
        fields = tags(signed)
        self.assertEqual(fields[b"a"], b"rsa-sha256")
        self.assertEqual(fields[b"c"], b"relaxed/relaxed")
        self.assertEqual(fields[b"d"], b"acme.example")
        self.assertEqual(fields[b"s"], b"sm1")
        signed_headers = fields[b"h"].split(b":")
        for name in (b"from", b"to", b"subject", b"date", b"message-id", b"list-unsubscribe", b"list-unsubscribe-post"):
            self.assertIn(name, signed_headers)
        self.assertGreaterEqual(signed_headers.count(b"list-unsubscribe"), 2, "oversigned: none can be added")

    def test_the_email_message_path_verifies_too(self):
        self.assertTrue(dkimpy.verify(dkim.sign(message(bulk=False)), dnsfunc=self.dns))

    def test_tampering_breaks_the_signature(self):
        signed = dkim.sign(message(**{"List-Unsubscribe": "<https://acme.example/e/u/abc>"}))
        for before, after in [
            (b"<https://acme.example/e/u/abc>", b"<https://evil.example/e/u/abc>"),
            (b"Hello Dana", b"Hello Eve!"),
            (b"To: dana@client.example", b"To: eve@client.example"),
        ]:
            with self.subTest(change=after):
                self.assertIn(before, signed)
                self.assertFalse(dkimpy.verify(signed.replace(before, after, 1), dnsfunc=self.dns))
        # A second List-Unsubscribe added in transit is caught by the oversigning.
        added = signed.replace(
            b"\r\nList-Unsubscribe:", b"\r\nList-Unsubscribe: <https://evil.example/u>\r\nList-Unsubscribe:", 1
        )
        self.assertFalse(dkimpy.verify(added, dnsfunc=self.dns))

    def test_another_key_does_not_verify(self):
        other = dkim.public_dns_record(dkim.generate_private_key())
        self.assertFalse(
            dkimpy.verify(dkim.sign(message()), dnsfunc=dkim.dnsfunc_for(other, "sm1._domainkey.acme.example"))
        )

    def test_pure_python_path_signs_the_same_way(self):
        with mock.patch.object(dkim, "_key", return_value=(KEY_FILE.read_bytes(), None)):
            signed = dkim.sign(message())
        self.assertTrue(dkimpy.verify(signed, dnsfunc=self.dns))
        self.assertEqual(tags(signed)[b"h"], tags(dkim.sign(message()))[b"h"])

    def test_record_shape(self):
        self.assertRegex(self.record, r"^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$")
        self.assertEqual(dkim.dns_name(), "sm1._domainkey.acme.example")
        self.assertTrue(dkim.dkim_enabled())

    def test_dkimkey_command_writes_a_key_and_prints_the_record(self):
        path = KEY_DIR / "new.pem"
        with mock.patch("sys.stdout") as out:
            call_command("dkimkey", str(path), "--domain", "acme.example", "--selector", "sm2")
        printed = "".join(call.args[0] for call in out.write.call_args_list)
        self.assertEqual(path.stat().st_mode & 0o777, 0o600)
        self.assertIn("sm2._domainkey.acme.example", printed)
        self.assertIn(dkim.public_dns_record(path.read_bytes()), printed)
        with self.assertRaisesMessage(CommandError, "exists"):
            call_command("dkimkey", str(path), "--domain", "acme.example", "--selector", "sm2")  # never overwrites


class DkimOffTests(SimpleTestCase):
    @override_settings(DKIM_DOMAIN="", DKIM_SELECTOR="", DKIM_PRIVATE_KEY_FILE="")
    def test_unsigned_when_not_configured(self):
        raw = message()
        self.assertFalse(dkim.dkim_enabled())
        self.assertEqual(dkim.sign(raw), raw)

    @override_settings(DKIM_DOMAIN="acme.example", DKIM_SELECTOR="s", DKIM_PRIVATE_KEY_FILE="/nonexistent/key.pem")
    def test_missing_key_is_a_clear_error(self):
        with self.assertRaisesMessage(dkim.DkimError, "DKIM_PRIVATE_KEY_FILE"):
            dkim.sign(message())
