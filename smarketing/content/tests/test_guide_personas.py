"""Persona resolution: the "persona" property first, then the first persona by position whose keywords are words
of the job title; a deal's personas are its contacts'."""

from types import SimpleNamespace

from django.test import SimpleTestCase, TestCase

from smarketing.accounts.access import system_actor
from smarketing.content.models import Persona
from smarketing.content.personas import deal_personas, load_personas, persona_for, personas_for_contacts
from smarketing.crm.services import define_property
from smarketing.testing import make_contact


def contact(pk=1, title="", **custom):
    return SimpleNamespace(pk=pk, title=title, custom=custom)


class PersonaForTests(SimpleTestCase):
    def setUp(self):
        self.cfo = Persona(pk=1, name="CFO", title_keywords="cfo, finance, chief financial officer", position=1)
        self.cmo = Persona(
            pk=2, name="Head of Marketing", title_keywords="cmo, head of marketing, marketing", position=2
        )
        self.it = Persona(pk=3, name="IT Director", title_keywords="cto, it", position=3)
        self.all = [self.cfo, self.cmo, self.it]

    def test_the_property_wins_over_the_title(self):
        self.assertEqual(persona_for(contact(title="CFO", persona="head of marketing"), self.all), self.cmo)

    def test_an_unknown_property_falls_back_to_the_title(self):
        self.assertEqual(persona_for(contact(title="VP Finance", persona="Retired persona"), self.all), self.cfo)

    def test_title_keywords_match_whole_words_and_phrases(self):
        cases = [
            ("Chief Financial Officer", self.cfo),
            ("Head of Marketing, EMEA", self.cmo),
            ("CTO", self.it),
            ("Director", None),  # "cto" is not a word of "director"
            ("Marketing and finance lead", self.cfo),  # both match: the first by position wins
            ("Head of Sales", None),
            ("", None),
        ]
        for title, expected in cases:
            with self.subTest(title=title):
                self.assertEqual(persona_for(contact(title=title), self.all), expected)

    def test_position_order_decides(self):
        reordered = [self.cmo, self.cfo, self.it]
        self.assertEqual(persona_for(contact(title="Marketing and finance lead"), reordered), self.cmo)

    def test_a_deal_has_its_contacts_personas_once_in_order(self):
        contacts = [contact(1, "CTO"), contact(2, "CFO"), contact(3, "Finance manager"), contact(4, "Intern")]
        self.assertEqual(deal_personas(contacts, self.all), [self.cfo, self.it])
        self.assertEqual(set(personas_for_contacts(contacts, self.all)), {1, 2, 3})


class PersonaFromTheDatabaseTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        Persona.objects.create(name="CFO", title_keywords="cfo, finance", position=1)
        Persona.objects.create(name="IT Director", title_keywords="it, cto", position=0)
        define_property(actor=system_actor(), object_type="contact", key="persona", label="Persona", type="text")

    def test_contacts_resolve_with_one_query(self):
        contacts = [
            make_contact(None, title="CFO"),
            make_contact(None, title="IT manager"),
            make_contact(None, title="CTO", custom={"persona": "CFO"}),
        ]
        with self.assertNumQueries(1):
            personas = load_personas()
            found = personas_for_contacts(contacts, personas)
        self.assertEqual([found[c.pk].name for c in contacts], ["CFO", "IT Director", "CFO"])
