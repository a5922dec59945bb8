"""Blocks and raw HTML to email HTML/text, and the per-recipient render."""

import re
import time

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase

from smarketing.email.blocks import block_errors, clean_block, default_blocks, new_block
from smarketing.email.merge import sample_context
from smarketing.email.models import Brand
from smarketing.email.rendering import CompiledEmail, compile_email

BRAND = Brand(
    company_name="Acme & Co", postal_address="1 Main Street\nSpringfield", logo_url="https://acme.example/l.png"
)
XSS = '<script>alert("x")</script>'


def blocks(**text_fields):
    b = default_blocks()
    b[2]["html"] = text_fields.get(
        "html",
        '<p>Hi <b>{{ contact.first_name|default:"there" }}</b>, read '
        '<a href="https://acme.example/?e={{ contact.email }}">this</a>.</p><ul><li>one</li></ul>',
    )
    b[3]["href"] = "https://acme.example/offer?a=1&b=2"
    return b


class BlocksTests(SimpleTestCase):
    def test_compiles_responsive_html_with_merge_tags_intact(self):
        html, text = compile_email(
            mode="blocks", blocks=blocks(), preheader="Peek {{ contact.first_name }}", brand=BRAND
        )
        self.assertIn("@media", html)  # MJML's responsive rules kept beside the inlined styles
        self.assertIn('href="{{ unsubscribe_url }}"', html)
        self.assertIn('href="{{ preferences_url }}"', html)
        self.assertIn('{{ contact.first_name|default:"there" }}', html)
        self.assertIn('href="https://acme.example/?e={{ contact.email }}"', html)
        self.assertIn("style=", html)  # CSS inlined
        self.assertIn("Peek {{ contact.first_name }}", html)
        self.assertIn("display:none", html.replace(" ", ""))  # the hidden preheader
        self.assertIn("Acme &amp; Co", html)
        self.assertIn("1 Main Street<br>Springfield", html)
        # The text part: readable, links kept, no preheader, no layout tables.
        self.assertIn('Hi **{{ contact.first_name|default:"there" }}**', text)
        self.assertIn("[Unsubscribe]({{ unsubscribe_url }})", text)
        self.assertIn("(https://acme.example/offer?a=1&b=2)", text)
        self.assertNotIn("Peek", text)
        self.assertNotIn("|", text.replace("|default", ""))

    def test_renders_per_recipient(self):
        html, text = compile_email(mode="blocks", blocks=blocks(), brand=BRAND)
        email = CompiledEmail(subject='Hi {{ contact.first_name|default:"there" }}', html=html, text=text)
        ctx = sample_context()
        ctx["contact"]["first_name"] = XSS
        ctx["contact"]["email"] = "a&b@example.com"
        ctx["unsubscribe_url"] = "https://app.example/e/u/tok?x=1&y=2"
        out = email.render(ctx)
        self.assertNotIn("<script", out.html)
        self.assertIn("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;", out.html)
        self.assertIn(XSS, out.text)
        self.assertIn('href="https://app.example/e/u/tok?x=1&amp;y=2"', out.html)
        self.assertIn("(https://app.example/e/u/tok?x=1&y=2)", out.text)
        self.assertEqual(out.subject, f"Hi {XSS}")
        ctx["contact"]["first_name"] = ""
        self.assertEqual(email.render(ctx).subject, "Hi there")

    def test_subject_never_breaks_a_header(self):
        email = CompiledEmail(
            subject="Hi {{ contact.first_name }}", html='<a href="{{ unsubscribe_url }}">u</a>', text=""
        )
        ctx = {"contact": {"first_name": "Eve\r\nBcc: victim@example.com"}}
        self.assertEqual(email.render(ctx).subject, "Hi Eve Bcc: victim@example.com")

    def test_ab_subjects(self):
        email = CompiledEmail(subject="A", subject_b="B {{ contact.first_name }}", html="", text="")
        self.assertEqual(email.render({"contact": {"first_name": "x"}}, variant="b").subject, "B x")
        self.assertEqual(email.render({}, variant="a").subject, "A")

    def test_unsubscribe_link_required(self):
        no_footer = [b for b in default_blocks() if b["type"] != "footer"]
        with self.assertRaisesMessage(ValidationError, "unsubscribe link"):
            compile_email(mode="blocks", blocks=no_footer, brand=BRAND)
        with self.assertRaisesMessage(ValidationError, "unsubscribe link"):
            compile_email(mode="html", html="<p>Hello</p>", brand=BRAND)
        with self.assertRaisesMessage(ValidationError, "at least one block"):
            compile_email(mode="blocks", blocks=[], brand=BRAND)

    def test_rich_text_sanitized(self):
        b = blocks(
            html='<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:alert(1)">j</a><iframe src="https://e.vil"></iframe><b>ok</b></p>'
        )
        html, _ = compile_email(mode="blocks", blocks=b, brand=BRAND)
        for bad in ("<script", "onclick", "javascript:", "<iframe"):
            self.assertNotIn(bad, html)
        self.assertIn("<b>ok</b>", html)

    def test_plain_text_becomes_paragraphs(self):
        block = clean_block({**new_block("text"), "html": "One & two\nline\n\nThree"})
        self.assertEqual(block["html"], "<p>One &amp; two<br>line</p><p>Three</p>")

    def test_fields_escaped_in_mjml(self):
        b = default_blocks()
        b[1]["text"] = f'{XSS}" onmouseover="x'
        b[3]["label"] = XSS
        html, _ = compile_email(mode="blocks", blocks=b, brand=BRAND)
        self.assertNotIn("<script", html)
        self.assertIsNone(re.search(r"<[^>]*onmouseover", html))  # stayed text, never became an attribute

    def test_unsafe_urls_refused(self):
        for url in (
            "javascript:alert(1)",
            "{{ contact.website }}",
            "data:text/html,x",
            "//evil.example",
            " vbscript:x",
        ):
            with self.subTest(url=url):
                errors = block_errors([{**new_block("button"), "href": url}])
                self.assertEqual(len(errors), 1)
                self.assertIn("https://", next(iter(errors.values())))
        for url in ("{{ unsubscribe_url }}", "{{ tracking.link_1 }}", "https://a.example/?n={{ contact.first_name }}"):
            self.assertEqual(block_errors([{**new_block("button"), "href": url}]), {})

    def test_block_validation_messages(self):
        bad = [
            {**new_block("heading"), "text": ""},
            {**new_block("button"), "color": "red"},
            {**new_block("image"), "src": "https://a.example/i.png", "alt": "x", "width": "-3"},
            {**new_block("text"), "html": "{% load static %}"},
            {"type": "evil"},
        ]
        errors = block_errors(bad)
        self.assertEqual(len(errors), 5)
        messages = " ".join(errors.values())
        self.assertIn("Heading · Heading is required", messages)
        self.assertIn("#rrggbb", messages)
        self.assertIn("between 1 and 600", messages)
        self.assertIn("{% load %} is not allowed", messages)
        self.assertIn("Unknown block type", messages)

    def test_all_block_types_compile(self):
        b = [
            new_block("header"),
            new_block("heading"),
            {**new_block("image"), "src": "https://a.example/i.png", "alt": "A picture", "href": "https://a.example"},
            {
                **new_block("columns"),
                "count": "3",
                "html_1": "<p>left</p>",
                "kind_2": "image",
                "src_2": "https://a.example/2.png",
                "alt_2": "two",
                "html_3": "right",
            },
            new_block("divider"),
            new_block("spacer"),
            new_block("signature"),
            new_block("footer"),
        ]
        html, text = compile_email(mode="blocks", blocks=b, brand=BRAND)
        self.assertIn("left", html)
        self.assertIn("https://a.example/2.png", html)
        email = CompiledEmail(subject="s", html=html, text=text)
        ctx = sample_context()
        ctx["owner"] = {
            "full_name": "Bob Seller",
            "title": "",
            "email": "bob@example.com",
            "first_name": "Bob",
            "last_name": "Seller",
        }
        out = email.render(ctx)
        self.assertIn("Bob Seller", out.html)
        self.assertIn('href="mailto:bob@example.com"', out.html)


class RawHtmlTests(SimpleTestCase):
    def test_raw_html_sanitized_inlined_and_kept_personal(self):
        raw = (
            "<html><head><style>.big { font-size: 30px; }</style><script>alert(1)</script></head><body>"
            '<p class="big" onload="x()">Hello {{ contact.first_name|default:"there" }}</p>'
            '<a href="javascript:alert(1)">bad</a><a href="{{ tracking.link_1 }}">good</a>'
            '<img src="https://a.example/i.png" onerror="alert(1)" alt="i">'
            '<form action="https://e.vil"><input name="p"></form><iframe src="https://e.vil"></iframe>'
            '<a href="{{ unsubscribe_url }}">Unsubscribe</a></body></html>'
        )
        html, text = compile_email(mode="html", html=raw, preheader="Hidden {{ contact.first_name }}", brand=BRAND)
        for bad in ("<script", "onload", "onerror", "javascript:", "<form", "<input", "<iframe"):
            self.assertNotIn(bad, html)
        self.assertIn("font-size: 30px", html)
        self.assertIn('Hello {{ contact.first_name|default:"there" }}', html)
        self.assertIn('href="{{ tracking.link_1 }}"', html)
        self.assertIn("Hidden {{ contact.first_name }}", html)
        self.assertIn("[Unsubscribe]({{ unsubscribe_url }})", text)

    def test_raw_html_refuses_contact_data_as_a_url(self):
        with self.assertRaisesMessage(ValidationError, "must start with https://"):
            compile_email(
                mode="html",
                html='<a href="{{ contact.email }}">x</a><a href="{{ unsubscribe_url }}">u</a>',
                brand=BRAND,
            )

    def test_raw_html_merge_errors(self):
        with self.assertRaisesMessage(ValidationError, "{% include %} is not allowed"):
            compile_email(mode="html", html="{% include 'x' %}<a href=\"{{ unsubscribe_url }}\">u</a>", brand=BRAND)


class RenderSpeedTests(SimpleTestCase):
    def test_ten_thousand_renders(self):
        html, text = compile_email(mode="blocks", blocks=blocks(), brand=BRAND)
        email = CompiledEmail(subject='Hi {{ contact.first_name|default:"there" }}', html=html, text=text)
        contexts = []
        for i in range(10_000):
            ctx = sample_context()
            ctx["contact"] = {**ctx["contact"], "first_name": f"P{i}", "email": f"p{i}@example.com"}
            ctx["unsubscribe_url"] = f"https://app.example/e/u/{i}"
            contexts.append(ctx)
        start = time.perf_counter()
        for ctx in contexts:
            email.render(ctx)
        per_render_ms = (time.perf_counter() - start) * 1000 / len(contexts)
        print(f"\nCompiledEmail.render: {per_render_ms:.3f} ms per recipient (10,000 contexts)")
        self.assertLess(per_render_ms, 5)  # aim < 1 ms; a loose bound so a busy CI machine does not flake
