"""build_message: the headers a message leaves with, and hostile input refused (header injection)."""

import re
from email import message_from_bytes, policy

from django.test import SimpleTestCase, override_settings

from smarketing.mail.message import (
    STREAM_HEADER,
    HeaderInjection,
    InvalidAddress,
    build_message,
    make_message_id,
    render_message,
)


def build(**overrides):
    fields = {
        "from_name": "Maya at Acme",
        "from_email": "maya@acme.example",
        "to_email": "dana@client.example",
        "to_name": "Dana Doe",
        "subject": "Spring offer",
        "html": "<p>Hello <b>Dana</b></p>",
        "text": "Hello Dana",
        "stream": "marketing",
    }
    fields.update(overrides)
    return build_message(**fields)


def parse(message):
    return message_from_bytes(message.as_bytes(), policy=policy.default)


class BuildMessageTests(SimpleTestCase):
    def test_headers_and_parts(self):
        raw = build(reply_to="replies@acme.example", headers={"List-Unsubscribe": "<https://x.example/e/u/t>"})
        data = raw.as_bytes()
        self.assertNotIn(b"\n", data.replace(b"\r\n", b""), "every line ends with CRLF")
        parsed = parse(raw)
        self.assertEqual(parsed["From"], "Maya at Acme <maya@acme.example>")
        self.assertEqual(parsed["To"], "Dana Doe <dana@client.example>")
        self.assertEqual(parsed["Reply-To"], "replies@acme.example")
        self.assertEqual(parsed["Subject"], "Spring offer")
        self.assertEqual(parsed[STREAM_HEADER], "marketing")
        self.assertEqual(parsed["List-Unsubscribe"], "<https://x.example/e/u/t>")
        self.assertRegex(parsed["Date"], r"^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} (GMT|\+0000)$")
        self.assertEqual(parsed.get_content_type(), "multipart/alternative")
        self.assertEqual(parsed.get_body(("plain",)).get_content().strip(), "Hello Dana")
        self.assertIn("<b>Dana</b>", parsed.get_body(("html",)).get_content())

    def test_text_only_when_no_html(self):
        parsed = parse(build(html=""))
        self.assertEqual(parsed.get_content_type(), "text/plain")

    def test_non_ascii_is_encoded_for_seven_bit_servers(self):
        raw = build(
            subject="Grüße, Zoë — 20 % off",
            from_name="Zoë Müller",
            text="Grüße " * 40,
            html="<p>Grüße</p>",
            to_email="dana@bücher.example",
        ).as_bytes()
        self.assertTrue(raw.isascii(), "headers RFC 2047-encoded, bodies quoted-printable or base64")
        parsed = message_from_bytes(raw, policy=policy.default)
        self.assertEqual(parsed["Subject"], "Grüße, Zoë — 20 % off")
        self.assertEqual(parsed["From"].addresses[0].display_name, "Zoë Müller")
        self.assertEqual(parsed["To"].addresses[0].domain, "xn--bcher-kva.example")
        self.assertIn("Grüße", parsed.get_body(("plain",)).get_content())

    @override_settings(MAIL_MESSAGE_ID_DOMAIN="mail.acme.example")
    def test_message_id_unique_and_on_our_domain(self):
        ids = {make_message_id() for _ in range(500)}
        self.assertEqual(len(ids), 500)
        for value in list(ids)[:5]:
            self.assertRegex(value, r"^<\d+\.[0-9a-f]{32}@mail\.acme\.example>$")
        self.assertTrue(parse(build())["Message-ID"].endswith("@mail.acme.example>"))
        self.assertEqual(parse(build(message_id="<given.1@acme.example>"))["Message-ID"], "<given.1@acme.example>")

    @override_settings(
        MAIL_MESSAGE_ID_DOMAIN="",
        SITE_URL="https://crm.acme.example:8443",
        SMARKETING_BASE_URL="https://crm.acme.example:8443",
    )
    def test_message_id_domain_defaults_to_the_public_host(self):
        self.assertTrue(make_message_id().endswith("@crm.acme.example>"))

    def test_header_injection_refused_everywhere(self):
        payloads = [
            "Offer\r\nBcc: everyone@evil.example",
            "Offer\nBcc: everyone@evil.example",
            "Offer\rBcc: x@evil.example",
            "Offer\x00",
            "Offer\u2028Bcc: x@evil.example",
            "Offer\x85",
        ]
        for payload in payloads:
            for field in ("subject", "from_name", "to_name", "stream"):
                with self.subTest(field=field, payload=payload), self.assertRaises(HeaderInjection):
                    build(**{field: payload})
            with self.subTest(field="header value", payload=payload), self.assertRaises(HeaderInjection):
                build(headers={"List-Unsubscribe": payload})
            for field in ("from_email", "to_email", "reply_to"):
                with self.subTest(field=field, payload=payload), self.assertRaises(HeaderInjection):
                    build(**{field: "dana@client.example" + payload})
        with self.assertRaises(HeaderInjection):
            build(message_id="<a@b>\r\nBcc: x@evil.example")
        self.assertTrue(issubclass(HeaderInjection, ValueError))

    def test_invalid_addresses_refused(self):
        for bad in [
            "",
            "   ",
            "dana",
            "dana@",
            "@client.example",
            "dana@client.example, eve@evil.example",
            "Dana <dana@client.example>",
            "dana@client.example>",
            '"dana"@client.example',
            "dana@@client.example",
            "dana@client..example",
            "a" * 250 + "@x.example",
            "dänä@client.example",
        ]:
            for field in ("to_email", "from_email", "reply_to"):
                if field == "reply_to" and not bad:
                    continue  # no reply-to at all is fine
                with self.subTest(field=field, bad=bad), self.assertRaises(ValueError):
                    build(**{field: bad})
        with self.assertRaises(InvalidAddress):
            build(to_email="dana@client.example, eve@evil.example")

    def test_extra_headers_cannot_override_ours_or_smuggle_names(self):
        for name in ("Bcc", "To", "From", "Subject", "Message-ID", "x-smarketing-stream", "Content-Type"):
            with self.subTest(name=name), self.assertRaises(HeaderInjection):
                build(headers={name: "x"})
        for name in ("Bcc: x@evil.example\r\nX", "X Y", "X:Y", ""):
            with self.subTest(name=name), self.assertRaises(HeaderInjection):
                build(headers={name: "x"})

    def test_display_names_with_specials_are_quoted_not_split(self):
        parsed = parse(build(from_name='Acme, "Sales" <eve@evil.example>'))
        addresses = parsed["From"].addresses
        self.assertEqual(len(addresses), 1)
        self.assertEqual(addresses[0].addr_spec, "maya@acme.example")
        self.assertEqual(addresses[0].display_name, 'Acme, "Sales" <eve@evil.example>')

    def test_xss_in_subject_is_just_text(self):
        parsed = parse(build(subject="<script>alert(1)</script>"))
        self.assertEqual(parsed["Subject"], "<script>alert(1)</script>")
        self.assertFalse(re.search(r"^Bcc:", parsed.as_string(), re.MULTILINE))


class RenderMessageTests(SimpleTestCase):
    """The bulk path writes the bytes itself: they must parse back to exactly what was asked for."""

    def test_bytes_parse_back(self):
        raw = render_message(
            from_name='Zoë "the boss", Acme',
            from_email="maya@acme.example",
            to_email="dana@bücher.example",
            to_name="Dana Doe",
            subject="Grüße " * 30,
            html="<p>=3D? ==smk_ Grüße</p>\n" + "<p>" + "x" * 500 + "</p>",
            text=".starts with a dot\r\nwindows line\rold mac line\ntrailing space \n",
            reply_to="replies@acme.example",
            headers={"List-Unsubscribe": "<https://acme.example/e/u/" + "t" * 90 + ">"},
            stream="marketing",
        )
        self.assertTrue(raw.isascii())
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""))
        self.assertTrue(all(len(line) <= 998 for line in raw.split(b"\r\n")))
        parsed = message_from_bytes(raw, policy=policy.default)
        self.assertEqual(parsed["From"].addresses[0].display_name, 'Zoë "the boss", Acme')
        self.assertEqual(parsed["From"].addresses[0].addr_spec, "maya@acme.example")
        self.assertEqual(parsed["To"].addresses[0].addr_spec, "dana@xn--bcher-kva.example")
        self.assertEqual(parsed["Subject"], "Grüße " * 30)
        self.assertEqual(parsed["List-Unsubscribe"], "<https://acme.example/e/u/" + "t" * 90 + ">")
        self.assertEqual(parsed["Reply-To"], "replies@acme.example")
        self.assertEqual(parsed[STREAM_HEADER], "marketing")
        self.assertEqual(parsed.get_content_type(), "multipart/alternative")
        self.assertEqual(
            parsed.get_body(("plain",)).get_content().replace("\r\n", "\n"),
            ".starts with a dot\nwindows line\nold mac line\ntrailing space \n",
        )
        self.assertIn("<p>=3D? ==smk_ Grüße</p>", parsed.get_body(("html",)).get_content())
        self.assertIn("x" * 500, parsed.get_body(("html",)).get_content())
        self.assertEqual(len(list(parsed.iter_parts())), 2)

    def test_same_refusals_as_build_message(self):
        with self.assertRaises(HeaderInjection):
            render_message(
                from_name="A", from_email="a@acme.example", to_email="b@client.example",
                subject="x\r\nBcc: e@evil.example", html="", text="", stream="marketing",
            )  # fmt: skip
