"""The campaign report page, its CSV and the email with its click badges, on the known history."""

import csv
import io
import json

from django.core.cache import cache
from django.test import TestCase
from django.urls import reverse

from smarketing.email.models import EmailCampaign, EmailLink
from smarketing.metrics.tests.campaign_history import make_history
from smarketing.testing import make_cast


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content if response.streaming else [response.content]).decode("utf-8")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


class ReportPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.history = make_history()
        cls.ec = cls.history["email_campaign"]
        EmailLink.objects.filter(campaign=cls.ec, position=2).update(label='=HYPERLINK("http://evil")')
        EmailCampaign.objects.filter(pk=cls.ec.pk).update(
            html='<p>Hi {{ contact.first_name|default:"there" }},</p>'
            '<a href="{{ tracking.link_1 }}" style="color:red">See pricing</a> '
            '<a class="x" href="{{ tracking.link_2 }}">Blog</a><img src="{{ tracking.open_pixel }}">'
            '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
        )

    def setUp(self):
        cache.clear()
        self.client.force_login(self.cast["rory"])  # a read-only user may read reports

    def url(self, name="campaign_report", **query):
        base = reverse(name, args=[self.ec.pk])
        return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def test_the_page_shows_the_figures_and_the_charts_data(self):
        response = self.client.get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Spring launch")
        # The subject is escaped wherever it appears.
        self.assertContains(response, "Meet &lt;b&gt;the&lt;/b&gt; spring release")
        self.assertNotContains(response, "<b>the</b>")
        content = response.content.decode()
        self.assertIn("Opened · 57.1 %", content)  # 4 of 7 delivered
        self.assertIn("Marked as spam · 14.3 % (over the 0.3 % limit)", content)
        self.assertIn("$3,000", content)
        self.assertIn('src="/static/vendor/chartjs/chart.umd.js"', content)
        self.assertNotIn("<script>", content)  # the chart data is a JSON script tag, not a script
        charts = json.loads(
            content.split('<script id="report-charts" type="application/json">')[1].split("</script>")[0]
        )
        self.assertEqual(charts["funnel"]["datasets"][0]["data"], [7, 4, 3, 1, 1, 1, 3, 2])
        self.assertEqual(sum(charts["timeline"]["datasets"][0]["data"]), 4)
        self.assertEqual([d["label"] for d in charts["variants"]["datasets"]], ["Variant A", "Variant B"])
        # Every chart has its table alternative.
        self.assertEqual(content.count("Show as a table"), 2)
        self.assertEqual(content.count('role="img" aria-label='), 3)

    def test_the_window_is_chosen_on_the_page(self):
        response = self.client.get(self.url(window=60))
        self.assertContains(response, '<option value="60" selected>60 days</option>', html=False)
        self.assertEqual(response.context["report"].total.leads, 2)
        self.assertEqual(self.client.get(self.url(window="abc")).context["window"], 30)
        self.assertEqual(self.client.get(self.url(window=9999)).context["window"], 30)

    def test_the_page_makes_a_constant_number_of_queries(self):
        self.client.get(self.url())  # warm the session and the content types
        cache.clear()
        # session, user, the sidebar team, the campaign, the report's seven.
        with self.assertNumQueries(11):
            self.client.get(self.url())
        with self.assertNumQueries(4):  # the report is cached for a minute
            self.client.get(self.url())

    def test_an_unknown_campaign_is_a_404(self):
        self.assertEqual(self.client.get(reverse("campaign_report", args=[999999])).status_code, 404)

    def test_a_campaign_that_has_not_sent_says_so(self):
        from smarketing.campaigns.models import Campaign, Channel

        draft = EmailCampaign.objects.create(
            campaign=Campaign.objects.create(name="Draft", channel=Channel.EMAIL), subject="Soon"
        )
        response = self.client.get(reverse("campaign_report", args=[draft.pk]))
        self.assertContains(response, "Nothing to report yet")
        self.assertEqual(self.client.get(reverse("campaign_clickmap", args=[draft.pk])).status_code, 404)

    def test_the_csv_has_the_figures_of_the_page(self):
        response = self.client.get(self.url("campaign_report_csv", window=60))
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        self.assertIn('filename="report-spring-launch-', response["Content-Disposition"])
        rows = read_csv(response)
        self.assertEqual(rows[0], ["metric", "label", "all", "variant_a", "variant_b"])
        figures = {row[0]: row[2:] for row in rows[1:] if row and row[0] and not row[0].startswith("link")}
        self.assertEqual(figures["sent"], ["9", "4", "5"])
        self.assertEqual(figures["opened"], ["4", "2", "2"])
        self.assertEqual(figures["leads"], ["2", "2", "0"])
        self.assertEqual(figures["revenue"], ["3000.00 USD", "3000.00 USD", "2000.00 USD"])
        self.assertEqual(figures["complaint_rate"], [str(round(1 / 7, 6)), "0.0", "0.25"])
        self.assertEqual(figures["window_days"], ["60"])
        links = rows[
            rows.index(["link_position", "link_label", "link_url", "human_clicks", "machine_clicks", "share"]) + 1 :
        ]
        self.assertEqual(links[0][:4], ["1", "See pricing", "https://example.com/pricing?utm_source=smarketing", "3"])
        self.assertEqual(links[1][1], '\'=HYPERLINK("http://evil")')  # a formula is defused

    def test_the_email_carries_a_badge_per_link_and_runs_nothing(self):
        response = self.client.get(self.url("campaign_clickmap"))
        self.assertEqual(response.status_code, 200)
        body = response.content.decode()
        self.assertIn("3 · 75.0 %</span>See pricing", body)
        self.assertIn('<a class="x" href="#">', body)
        self.assertIn("1 · 25.0 %</span>Blog", body)
        self.assertIn("Hi there,", body)  # merge fields show their fallback, tracking fields nothing
        self.assertNotIn("{{", body)
        self.assertIn("default-src 'none'", response["Content-Security-Policy"])
        self.assertIn("frame-ancestors 'self'", response["Content-Security-Policy"])
        self.assertEqual(response["X-Frame-Options"], "SAMEORIGIN")

    def test_signed_out_visitors_go_to_the_login(self):
        self.client.logout()
        for name in ("campaign_report", "campaign_report_csv", "campaign_clickmap"):
            self.assertEqual(self.client.get(self.url(name)).status_code, 302)
