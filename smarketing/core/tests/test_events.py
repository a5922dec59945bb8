"""The catalogue of declared events: each app declares its own, publish() refuses the rest."""

from unittest import mock

from django.test import TestCase

from smarketing.core import events
from smarketing.core.models import Event
from smarketing.testing import make_cast
from smarketing.webhooks.forms import EndpointForm


class DeclaredEventTests(TestCase):
    def test_each_app_declares_its_own_events(self):
        owners = {e.name: e.declared_by for e in events.event_types()}
        self.assertEqual(owners["deal.won"], "smarketing.crm.events")
        self.assertEqual(owners["contact.created"], "smarketing.crm.events")
        self.assertEqual(owners["contact.erased"], "smarketing.privacy.events")
        self.assertEqual(events.event_label("deal.won"), "Deal won")

    def test_publish_refuses_an_undeclared_name(self):
        user = make_cast()["alice"]
        with self.assertRaisesMessage(ValueError, "unknown event 'contact.creatd'"):
            events.publish("contact.creatd", user, {})
        self.assertFalse(Event.objects.exists())

    def test_an_event_declared_by_one_app_only_is_publishable_and_offered_to_webhooks(self):
        user = make_cast()["alice"]
        with mock.patch.dict(events._catalogue):
            events.declare_events({"quote.sent": "Quote sent"}, declared_by="smarketing.quotes.events")
            events.publish("quote.sent", user, {"id": 1})
            self.assertIn(("quote.sent", "Quote sent"), EndpointForm().fields["events"].choices)
            form = EndpointForm(data={"url": "https://93.184.215.14/hook", "events": ["quote.sent"], "active": "on"})
            self.assertTrue(form.is_valid(), form.errors)
            self.assertEqual(form.cleaned_data["event_list"], ["quote.sent"])
        self.assertEqual(Event.objects.get().name, "quote.sent")
        self.assertNotIn("quote.sent", [e.name for e in events.event_types()])

    def test_two_apps_cannot_declare_the_same_name(self):
        with mock.patch.dict(events._catalogue):
            with self.assertRaisesMessage(ValueError, "already declared by smarketing.crm.events"):
                events.declare_events({"deal.won": "Won!"}, declared_by="smarketing.other.events")
