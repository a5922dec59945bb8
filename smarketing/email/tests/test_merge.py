"""The merge sandbox: what it renders, what it refuses, and the contexts it is given."""

import datetime

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase, TestCase

from smarketing.crm.models import PropertyDefinition
from smarketing.email.merge import compile_merge, recipient_contexts, sample_context
from smarketing.testing import make_cast, make_company, make_contact

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class SandboxTests(SimpleTestCase):
    def render(self, source, context, html=True):
        return compile_merge(source, html=html).render(context)

    def test_fallback_and_filters(self):
        source = 'Hi {{ contact.first_name|default:"there" }}, {{ company.name|upper }}'
        self.assertEqual(
            self.render(source, {"contact": {"first_name": ""}, "company": {"name": "acme"}}), "Hi there, ACME"
        )
        self.assertEqual(self.render(source, {"contact": {"first_name": "Ada"}, "company": {}}), "Hi Ada, ")

    def test_if_else(self):
        source = "{% if contact.title %}Dear {{ contact.title }}{% elif contact.email %}Hello{% else %}Hi{% endif %}"
        self.assertEqual(self.render(source, {"contact": {"title": "CTO"}}), "Dear CTO")
        self.assertEqual(self.render(source, {"contact": {"email": "a@b.c"}}), "Hello")
        self.assertEqual(self.render(source, {}), "Hi")

    def test_date_filter_on_dates(self):
        ctx = {"contact": {"renewal": datetime.date(2026, 3, 9)}}
        self.assertEqual(self.render('{{ contact.renewal|date:"j F Y" }}', ctx), "9 March 2026")

    def test_contact_data_escaped_in_html_and_plain_in_text(self):
        ctx = {"contact": {"first_name": XSS}}
        html = self.render("<p>{{ contact.first_name }}</p>", ctx)
        self.assertNotIn("<script", html)
        self.assertNotIn("<img", html)
        self.assertIn("&lt;script&gt;", html)
        self.assertEqual(self.render("{{ contact.first_name }}", ctx, html=False), XSS)

    def test_escapes_are_refused_with_the_line(self):
        refused = {
            "{{ settings }}": "not a merge field",
            "{{ settings.SECRET_KEY }}": "not a merge field",
            "{% load static %}": "{% load %} is not allowed",
            "{% include 'base.html' %}": "{% include %} is not allowed",
            "{% extends 'base.html' %}": "{% extends %} is not allowed",
            "{% url 'home' %}": "{% url %} is not allowed",
            "{% csrf_token %}": "{% csrf_token %} is not allowed",
            "{% debug %}": "{% debug %} is not allowed",
            "{% ssi '/etc/passwd' %}": "{% ssi %} is not allowed",
            "{{ contact.__class__ }}": "underscore",
            "{{ contact.email.__class__.__mro__ }}": "underscore",
            "{{ contact._meta }}": "underscore",
            "{{ contact.email.upper }}": "not a merge field",
            "{{ contact.first_name|safe }}": "filter “safe” is not allowed",
            "{{ contact.first_name|escapejs }}": "filter “escapejs” is not allowed",
            "{{ request.user }}": "not a merge field",
            "{{ company.secret }}": "company has no field",
            "{{ contact.first_name|default:settings.SECRET_KEY }}": "not a merge field",
            "{% if settings.DEBUG %}x{% endif %}": "not a merge field",
            "{% if not contact.__dict__ %}x{% endif %}": "underscore",
            "{% if contact.first_name %}never closed": "missing its {% endif %}",
        }
        for source, message in refused.items():
            with self.subTest(source=source), self.assertRaises(ValidationError) as caught:
                compile_merge("<p>one</p>\n<p>two</p>\n" + source, html=True)
            self.assertIn(message, caught.exception.messages[0])
            self.assertTrue(caught.exception.messages[0].startswith("Line 3"), caught.exception.messages[0])

    def test_lookups_cannot_reach_methods(self):
        # Contexts are plain dicts, and no lookup may go deeper than root.field (a method of a value).
        self.assertEqual(self.render("{{ contact.delete }}", {"contact": {}}), "")
        with self.assertRaises(ValidationError):
            compile_merge("{{ contact.email.delete }}", html=True)

    def test_size_limit(self):
        with self.assertRaises(ValidationError):
            compile_merge("x" * 200_001, html=True)


class ContextTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        PropertyDefinition.objects.create(object_type="contact", key="renewal-date", label="Renewal", type="date")
        PropertyDefinition.objects.create(object_type="contact", key="plan", label="Plan", type="text")
        cls.company = make_company(name="Acme", domain="acme.example", industry="Software", country="France")
        cls.contacts = [
            make_contact(
                first_name=f"P{i}",
                last_name=XSS,
                title="CTO",
                company=cls.company,
                owner=cls.cast["bob"],
                custom={"plan": "Pro", "renewal-date": "2026-03-09"},
            )
            for i in range(3)
        ]
        cls.bare = make_contact(first_name="", last_name="", custom={})

    def test_fields_in_a_constant_number_of_queries(self):
        ids = [c.pk for c in self.contacts] + [self.bare.pk]
        with self.assertNumQueries(2):
            contexts = recipient_contexts(ids)
        with self.assertNumQueries(2):
            recipient_contexts(ids[:1])
        ctx = contexts[self.contacts[0].pk]
        self.assertEqual(ctx["contact"]["first_name"], "P0")
        self.assertEqual(ctx["contact"]["full_name"], f"P0 {XSS}")
        self.assertEqual(ctx["contact"]["lifecycle_stage"], "Lead")
        self.assertEqual(ctx["contact"]["plan"], "Pro")
        self.assertEqual(ctx["contact"]["renewal_date"], datetime.date(2026, 3, 9))
        self.assertEqual(
            ctx["company"], {"name": "Acme", "domain": "acme.example", "industry": "Software", "country": "France"}
        )
        self.assertEqual(ctx["owner"]["full_name"], "Bob Seller")
        self.assertEqual(ctx["owner"]["first_name"], "Bob")
        self.assertEqual(ctx["owner"]["email"], "bob@example.com")
        self.assertEqual(contexts[self.bare.pk]["company"]["name"], "")

    def test_contexts_hold_only_plain_values(self):
        ctx = recipient_contexts([self.contacts[0].pk])[self.contacts[0].pk]

        def walk(value):
            if isinstance(value, dict):
                for k, v in value.items():
                    self.assertIsInstance(k, str)
                    walk(v)
            else:
                self.assertIsInstance(value, str | int | float | datetime.date)

        walk(ctx)

    def test_rendered_for_a_contact(self):
        template = compile_merge(
            '<p>Hi {{ contact.first_name|default:"there" }} {{ contact.last_name }} of {{ company.name }}, '
            'plan {{ contact.plan }}, renews {{ contact.renewal_date|date:"Y-m-d" }}</p>',
            html=True,
        )
        out = template.render(sample_context(self.contacts[1]))
        self.assertIn("Hi P1 &lt;script&gt;", out)
        self.assertIn("of Acme, plan Pro, renews 2026-03-09", out)
        self.assertIn("Hi there", template.render(sample_context(self.bare)))

    def test_sample_context_links_go_nowhere(self):
        ctx = sample_context()
        self.assertEqual(ctx["unsubscribe_url"], "#unsubscribe")
        self.assertEqual(ctx["contact"]["first_name"], "Ada")

    def test_campaign_name(self):
        class FakeCampaign:  # an EmailCampaign's campaigns.Campaign holds the name
            name = "Spring launch"

        class FakeEmailCampaign:
            campaign = FakeCampaign()

        ctx = recipient_contexts([self.bare.pk], campaign=FakeEmailCampaign())[self.bare.pk]
        self.assertEqual(ctx["campaign"], {"name": "Spring launch"})
