"""/api/v1/email-templates and /api/v1/campaigns (with …/send and …/report), through HTTP with tokens."""

from django.core.cache import cache
from django.test import TestCase

from smarketing.api import tokens
from smarketing.api.tests.helpers import ApiClientMixin
from smarketing.core.events import event_types
from smarketing.email.blocks import default_blocks, new_block
from smarketing.email.models import CampaignStatus, EmailCampaign, EmailSend, EmailTemplate
from smarketing.mail.models import SenderIdentity
from smarketing.metrics.campaigns import CampaignReport
from smarketing.metrics.tests.campaign_history import make_history
from smarketing.segments.models import ContactList, ListMembership
from smarketing.testing import make_cast, make_contact
from smarketing.webhooks.forms import event_choices


class EmailApiTestCase(ApiClientMixin, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.tokens = {name: tokens.create_token(u, name="tests", scope="read_write")[1] for name, u in cls.cast.items()}
        cls.read_token = tokens.create_token(cls.cast["mia"], name="read", scope="read")[1]
        cls.template = EmailTemplate.objects.create(name="Newsletter", subject="Hi", blocks=default_blocks())
        cls.sender = SenderIdentity.objects.create(name="News", from_name="Acme", from_email="news@acme.example")
        cls.audience = ContactList.objects.create(name="Spring list")
        cls.members = [make_contact(email=f"member{i}@example.com", consent_status="granted") for i in range(3)]
        ListMembership.objects.bulk_create(ListMembership(contact_list=cls.audience, contact=c) for c in cls.members)

    def setUp(self):
        cache.clear()

    def token(self, name="mia"):
        return self.tokens[name]


class EmailTemplateApiTests(EmailApiTestCase):
    def test_create_read_update_archive(self):
        body = {
            "name": "Welcome",
            "subject": 'Hello {{ contact.first_name|default:"there" }}',
            "blocks": default_blocks(),
        }
        response = self.post("/api/v1/email-templates", body, token=self.token())
        self.assertEqual(response.status_code, 201, response.content)
        created = response.json()
        self.assertEqual(
            (created["name"], created["owner"], created["archived"]), ("Welcome", self.cast["mia"].pk, False)
        )
        response = self.patch(f"/api/v1/email-templates/{created['id']}", {"name": "Welcome 2"}, token=self.token())
        self.assertEqual(response.json()["name"], "Welcome 2")
        self.assertEqual(self.delete(f"/api/v1/email-templates/{created['id']}", token=self.token()).status_code, 204)
        self.assertTrue(EmailTemplate.objects.get(pk=created["id"]).archived)
        listed = self.get("/api/v1/email-templates?archived=false", token=self.token()).json()["results"]
        self.assertEqual([t["name"] for t in listed], ["Newsletter"])

    def test_the_sandbox_and_the_unsubscribe_link_are_enforced(self):
        bad_subject = {"name": "X", "subject": "{% load static %}{{ settings.SECRET_KEY }}", "blocks": default_blocks()}
        self.assertProblem(self.post("/api/v1/email-templates", bad_subject, token=self.token()), 400, "subject")
        walking = {"name": "X", "subject": "{{ contact.__class__ }}", "blocks": default_blocks()}
        self.assertProblem(self.post("/api/v1/email-templates", walking, token=self.token()), 400, "subject")
        no_footer = {"name": "X", "subject": "Hi", "blocks": [new_block("heading"), new_block("text")]}
        body = self.assertProblem(self.post("/api/v1/email-templates", no_footer, token=self.token()), 400, "blocks")
        self.assertIn("unsubscribe", body["errors"]["blocks"][0])
        raw = {
            "name": "X",
            "subject": "Hi",
            "mode": "html",
            "html": '<p>Hi</p><a href="{{ unsubscribe_url }}">Leave</a>',
        }
        self.assertEqual(self.post("/api/v1/email-templates", raw, token=self.token()).status_code, 201)
        self.assertProblem(
            self.post("/api/v1/email-templates", {"name": "X", "colour": "red"}, token=self.token()), 400, "colour"
        )

    def test_read_only_users_and_read_tokens_cannot_write(self):
        body = {"name": "X", "subject": "Hi", "blocks": default_blocks()}
        self.assertProblem(self.post("/api/v1/email-templates", body, token=self.tokens["rory"]), 403)
        # Emails speak for the company: sales reads them, marketing, managers and admins write them.
        self.assertProblem(self.post("/api/v1/email-templates", body, token=self.tokens["bob"]), 403)
        self.assertEqual(self.post("/api/v1/email-templates", body, token=self.tokens["carol"]).status_code, 201)
        self.assertProblem(self.post("/api/v1/email-templates", body, token=self.read_token), 403)
        self.assertEqual(self.get("/api/v1/email-templates", token=self.read_token).status_code, 200)

    def test_the_list_costs_the_same_for_more_templates(self):
        self.get("/api/v1/email-templates", token=self.token())
        EmailTemplate.objects.bulk_create(EmailTemplate(name=f"T{i}", blocks=[]) for i in range(20))
        # token, its user's last use, the page.
        with self.assertNumQueries(2):
            response = self.get("/api/v1/email-templates?limit=50", token=self.token())
        self.assertEqual(len(response.json()["results"]), 21)


class CampaignApiTests(EmailApiTestCase):
    def create(self, token=None, **extra):
        body = {
            "name": "Spring news",
            "template": self.template.pk,
            "sender": self.sender.pk,
            "subject": "Spring {{ contact.first_name|default:'friend' }}",
            "include_lists": [self.audience.pk],
            **extra,
        }
        return self.post("/api/v1/campaigns", body, token=token or self.token())

    def test_create_update_and_read(self):
        response = self.create()
        self.assertEqual(response.status_code, 201, response.content)
        data = response.json()
        self.assertEqual(
            (data["name"], data["status"], data["include_lists"]), ("Spring news", "draft", [self.audience.pk])
        )
        self.assertEqual(data["report"], f"/api/v1/campaigns/{data['id']}/report")
        self.assertEqual(response["Location"], f"/api/v1/campaigns/{data['id']}")
        response = self.patch(
            f"/api/v1/campaigns/{data['id']}", {"goal": "Book demos", "name": "Spring"}, token=self.token()
        )
        self.assertEqual((response.json()["goal"], response.json()["name"]), ("Book demos", "Spring"))

    def test_bad_input_is_refused(self):
        self.assertProblem(self.create(subject="{{ settings }}{% include 'x' %}"), 400, "subject")
        self.assertProblem(self.create(ab_test_percent=101), 400, "ab_test_percent")
        self.assertProblem(self.create(include_lists=[999999]), 400, "include_lists")
        self.assertProblem(self.create(recipients_total=5), 400, "recipients_total")

    def test_only_the_owner_managers_and_admins_change_a_campaign(self):
        pk = self.create().json()["id"]
        self.assertProblem(self.patch(f"/api/v1/campaigns/{pk}", {"goal": "x"}, token=self.tokens["bob"]), 403)
        self.assertProblem(self.post(f"/api/v1/campaigns/{pk}/send", token=self.tokens["bob"]), 403)
        self.assertEqual(
            self.patch(f"/api/v1/campaigns/{pk}", {"goal": "x"}, token=self.tokens["carol"]).status_code, 200
        )
        self.assertProblem(self.create(token=self.tokens["rory"]), 403)

    def test_send_starts_once(self):
        pk = self.create().json()["id"]
        response = self.post(f"/api/v1/campaigns/{pk}/send", token=self.token())
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual((response.json()["status"], response.json()["recipients_total"]), ("sending", 3))
        again = self.post(f"/api/v1/campaigns/{pk}/send", token=self.token())
        self.assertEqual((again.status_code, again.json()["status"]), (200, "sending"))
        self.assertEqual(EmailSend.objects.filter(campaign_id=pk).count(), 3)
        # The click map draws its badges on the email as frozen by links.freeze_links (tracked hrefs).
        self.client.force_login(self.cast["mia"])
        clickmap = self.client.get(f"/email/campaigns/{pk}/report/email/").content.decode()
        self.assertRegex(clickmap, r"0 · –</span>\s*Read more")  # the default button, no click yet
        self.assertNotIn("{{", clickmap)
        # A campaign that started is frozen.
        self.assertProblem(self.patch(f"/api/v1/campaigns/{pk}", {"subject": "Changed"}, token=self.token()), 400)

    def test_a_campaign_that_is_not_ready_says_what_is_missing(self):
        pk = self.create(sender=None, include_lists=[]).json()["id"]
        body = self.assertProblem(self.post(f"/api/v1/campaigns/{pk}/send", token=self.token()), 400)
        self.assertIn("sender", body["errors"])
        self.assertIn("audience", body["errors"])
        self.assertEqual(EmailCampaign.objects.get(pk=pk).status, CampaignStatus.DRAFT)

    def test_the_list_costs_the_same_for_more_campaigns(self):
        self.create()
        self.get("/api/v1/campaigns", token=self.token())
        for i in range(5):
            self.create(name=f"C{i}")
        # token (its last use was written a moment ago), the page, four audience prefetches.
        with self.assertNumQueries(6):
            response = self.get("/api/v1/campaigns?status=draft", token=self.token())
        self.assertEqual(len(response.json()["results"]), 6)
        self.assertProblem(self.get("/api/v1/campaigns?status=nope", token=self.token()), 400, "status")


class ReportApiTests(EmailApiTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.ec = make_history()["email_campaign"]

    def test_the_report_is_the_report_object(self):
        response = self.get(f"/api/v1/campaigns/{self.ec.pk}/report?window=60", token=self.read_token)
        self.assertEqual(response.status_code, 200, response.content)
        data = response.json()
        cache.clear()
        expected = CampaignReport(email_campaign_id=self.ec.pk, window_days=60).result().as_dict()
        for key in ("total", "variants", "timeline", "links", "window_days"):
            self.assertEqual(data[key], expected[key], key)
        self.assertEqual(data["total"]["leads"], 2)
        self.assertEqual(data["total"]["revenue"], [{"currency": "USD", "amount": "3000.00"}])
        self.assertEqual([v["variant"] for v in data["variants"]], ["a", "b"])

    def test_the_api_the_csv_and_the_page_agree(self):
        from smarketing.metrics.tests.test_campaign_report_page import read_csv

        api = self.get(f"/api/v1/campaigns/{self.ec.pk}/report", token=self.token()).json()
        self.client.force_login(self.cast["mia"])
        rows = read_csv(self.client.get(f"/email/campaigns/{self.ec.pk}/report.csv"))
        page = self.client.get(f"/email/campaigns/{self.ec.pk}/report/").context["report"].as_dict()
        csv_all = {row[0]: row[2] for row in rows[1:27]}
        for key in (
            "sent",
            "delivered",
            "opened",
            "clicked",
            "unsubscribed",
            "bounced",
            "complained",
            "leads",
            "mqls",
            "sqls",
            "deals",
        ):
            self.assertEqual(str(api["total"][key]), csv_all[key], key)
            self.assertEqual(page["total"][key], api["total"][key], key)
        self.assertEqual(api["window_days"], 30)  # the campaign's own window by default

    def test_the_schema_documents_every_key_of_the_report(self):
        from smarketing.metrics.api import CampaignReportSerializer

        data = self.get(f"/api/v1/campaigns/{self.ec.pk}/report", token=self.token()).json()
        fields = CampaignReportSerializer().fields
        self.assertEqual(set(data), set(fields))
        self.assertEqual(set(data["total"]), set(fields["total"].fields))
        self.assertEqual(set(data["timeline"][0]), set(fields["timeline"].child.fields))
        self.assertEqual(set(data["links"][0]), set(fields["links"].child.fields))

    def test_a_bad_window_and_an_unknown_campaign(self):
        self.assertProblem(
            self.get(f"/api/v1/campaigns/{self.ec.pk}/report?window=0", token=self.token()), 400, "window"
        )
        self.assertProblem(self.get("/api/v1/campaigns/999999/report", token=self.token()), 404)

    def test_the_report_costs_the_same_queries(self):
        # token, its last use, the campaign's window, the report's seven.
        with self.assertNumQueries(10):
            self.get(f"/api/v1/campaigns/{self.ec.pk}/report", token=self.token())


class WebhookEventsTests(TestCase):
    def test_webhooks_offer_the_email_events(self):
        offered = {name for name, _ in event_choices()}
        for name in (
            "email.sent",
            "email.opened",
            "email.clicked",
            "email.bounced",
            "email.unsubscribed",
            "email.complained",
        ):
            self.assertIn(name, offered)
        self.assertTrue(any(e.name == "campaign.sent" for e in event_types()))
