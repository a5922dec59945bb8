from urllib.parse import parse_qs, urlsplit

from django.test import TestCase, override_settings
from django.urls import reverse

from smarketing.email import links, tokens
from smarketing.email.models import EmailLink
from smarketing.email.tests.tracking_fixtures import make_email_campaign

HTML = """<html><body>
<p>Hello {{ contact.first_name|default:"there" }}</p>
<a class="btn" href="https://example.com/spring?ref=mail&amp;x=1" target="_blank">See <b>the</b> launch</a>
<a href='https://example.com/pricing'>Pricing</a>
<a href="https://example.com/spring?ref=mail&amp;x=1">Again the launch</a>
<a href="https://example.com/tagged?utm_source=partner&utm_campaign=own">Tagged</a>
<a href="mailto:hello@example.com">Write to us</a>
<a href="tel:+123456">Call</a>
<a href="#top">Top</a>
<a href="{{ unsubscribe_url }}">Unsubscribe</a>
<a href="{{ preferences_url }}">Preferences</a>
<a href="https://example.com/?e={{ contact.email }}">Personal</a>
<a href="javascript:alert(1)">Bad</a>
<a href="https://example.com/img"><img src="https://cdn.example.com/a.png" alt="Our logo"></a>
</body></html>"""

TEXT = """Hello there
See the launch: https://example.com/spring?ref=mail&x=1
Pricing [https://example.com/pricing]
Pricing page https://example.com/pricing/more
Unsubscribe: {{ unsubscribe_url }}
"""


class FreezeLinksTests(TestCase):
    def setUp(self):
        self.ec = make_email_campaign("Spring Launch 2026")

    def test_each_distinct_link_is_stored_once_with_utm_and_replaced(self):
        html, text = links.freeze_links(self.ec, HTML, TEXT)
        rows = list(EmailLink.objects.filter(campaign=self.ec).order_by("position"))
        self.assertEqual([r.position for r in rows], [1, 2, 3, 4])
        launch, pricing, tagged, image = rows
        q = parse_qs(urlsplit(launch.url).query)
        self.assertEqual(q["ref"], ["mail"])
        self.assertEqual(q["x"], ["1"])
        self.assertEqual(q["utm_source"], ["smarketing"])
        self.assertEqual(q["utm_medium"], ["email"])
        self.assertEqual(q["utm_campaign"], ["spring-launch-2026"])
        self.assertEqual(q["utm_content"], ["link-1"])
        self.assertEqual(launch.label, "See the launch")
        self.assertIn("utm_content=link-2", pricing.url)
        # Marketing's own UTM parameters are kept as they are.
        self.assertEqual(tagged.url, "https://example.com/tagged?utm_source=partner&utm_campaign=own")
        self.assertEqual(image.label, "Our logo")

        self.assertEqual(html.count('href="{{ tracking.link_1 }}"'), 2)
        self.assertIn('href="{{ tracking.link_2 }}"', html)
        self.assertIn('class="btn" href="{{ tracking.link_1 }}" target="_blank"', html)
        for untouched in [
            'href="mailto:hello@example.com"',
            'href="tel:+123456"',
            'href="#top"',
            'href="{{ unsubscribe_url }}"',
            'href="{{ preferences_url }}"',
            'href="https://example.com/?e={{ contact.email }}"',
            'href="javascript:alert(1)"',
        ]:
            self.assertIn(untouched, html)
        self.assertNotIn("https://example.com/spring", html)
        self.assertIn("{{ tracking.open_pixel }}", html)
        self.assertLess(html.index("{{ tracking.open_pixel }}"), html.index("</body>"))

        self.assertIn("See the launch: {{ tracking.link_1 }}", text)
        self.assertIn("Pricing [{{ tracking.link_2 }}]", text)
        # A longer URL that only starts like a tracked one is left alone.
        self.assertIn("https://example.com/pricing/more", text)
        self.assertIn("{{ unsubscribe_url }}", text)

    def test_campaign_utm_value_wins_over_the_name(self):
        ec = make_email_campaign("Other", utm_campaign="q2-nurture")
        links.freeze_links(ec, '<a href="https://example.com/">x</a>', "")
        self.assertIn("utm_campaign=q2-nurture", EmailLink.objects.get(campaign=ec).url)

    def test_freezing_again_reuses_the_stored_positions(self):
        first = links.freeze_links(self.ec, HTML, TEXT)
        again = links.freeze_links(self.ec, HTML, TEXT)
        self.assertEqual(first, again)
        self.assertEqual(EmailLink.objects.filter(campaign=self.ec).count(), 4)

    def test_changed_content_never_renumbers_a_stored_link(self):
        links.freeze_links(self.ec, '<a href="https://a.example/">a</a><a href="https://b.example/">b</a>', "")
        html, _ = links.freeze_links(
            self.ec, '<a href="https://b.example/">b</a><a href="https://c.example/">c</a>', ""
        )
        urls = dict(EmailLink.objects.filter(campaign=self.ec).values_list("position", "url"))
        self.assertTrue(urls[1].startswith("https://a.example/"))
        self.assertTrue(urls[2].startswith("https://b.example/"))
        self.assertTrue(urls[3].startswith("https://c.example/"))
        self.assertIn('href="{{ tracking.link_2 }}">b', html)
        self.assertIn('href="{{ tracking.link_3 }}">c', html)

    def test_html_without_body_gets_the_pixel_at_the_end(self):
        html, _ = links.freeze_links(self.ec, "<p>hi</p>", "hi")
        self.assertTrue(html.endswith(links.OPEN_PIXEL_HTML))


@override_settings(SMARKETING_BASE_URL="https://mail.example.com")
class TrackingContextTests(TestCase):
    def test_urls_are_absolute_signed_and_served_by_the_public_urls(self):
        token = tokens.new_send_token()
        signed = tokens.sign(token)
        context = links.tracking_context(token, [1, 3])
        base = "https://mail.example.com"
        self.assertEqual(context["tracking"]["open_pixel"], base + reverse("email_public:open", args=[signed]))
        self.assertEqual(context["tracking"]["link_1"], base + reverse("email_public:click", args=[signed, 1]))
        self.assertEqual(context["tracking"]["link_3"], base + reverse("email_public:click", args=[signed, 3]))
        self.assertNotIn("link_2", context["tracking"])
        self.assertEqual(context["unsubscribe_url"], base + reverse("email_public:unsubscribe", args=[signed]))
        self.assertEqual(context["preferences_url"], base + reverse("email_public:preferences", args=[signed]))
        # Nothing in any URL but the signed token: no id, no address.
        for url in [*context["tracking"].values(), context["unsubscribe_url"], context["preferences_url"]]:
            self.assertIn(signed, url)

    def test_list_unsubscribe_headers_follow_rfc_8058(self):
        token = tokens.new_send_token()
        headers = links.list_unsubscribe_headers(token)
        self.assertEqual(headers["List-Unsubscribe"], f"<https://mail.example.com/e/u/{tokens.sign(token)}>")
        self.assertEqual(headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")


@override_settings(SMARKETING_BASE_URL="https://mail.example.com")
class WithTheRealRendererTests(TestCase):
    """freeze_links on what email/rendering.py produces (MJML, inlined CSS, html2text), rendered by the sandbox."""

    def test_a_block_email_is_tracked_end_to_end(self):
        from smarketing.email import blocks, merge, rendering

        button = blocks.new_block("button")
        button.update(href="https://shop.example.com/offer?a=1&b=2", label="Get the offer")
        compiled_html, compiled_text = rendering.compile_email(
            mode="blocks", blocks=[blocks.new_block("header"), button, blocks.new_block("footer")]
        )
        ec = make_email_campaign("Offer")
        html, text = links.freeze_links(ec, compiled_html, compiled_text)
        link = EmailLink.objects.get(campaign=ec, url__startswith="https://shop.example.com/offer?a=1&b=2")
        self.assertEqual(link.label, "Get the offer")

        token = tokens.new_send_token()
        positions = EmailLink.objects.filter(campaign=ec).values_list("position", flat=True)
        context = {"contact": {"first_name": "Ann"}, **links.tracking_context(token, positions)}
        out_html = merge.compile_merge(html, html=True).render(context)
        out_text = merge.compile_merge(text, html=False).render(context)
        signed = tokens.sign(token)
        click = f"https://mail.example.com/e/c/{signed}/{link.position}"
        self.assertIn(f'href="{click}"', out_html)
        self.assertIn(click, out_text)
        self.assertIn(f"https://mail.example.com/e/o/{signed}.gif", out_html)
        self.assertIn(f"https://mail.example.com/e/u/{signed}", out_html)
        self.assertNotIn("shop.example.com", out_html)
        self.assertNotIn("shop.example.com", out_text)
        self.assertNotIn("{{", out_html)
