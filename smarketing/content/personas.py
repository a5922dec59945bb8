"""Which buyer persona a contact is, and so which personas a deal speaks to: pure functions over rows the caller
has already read, so a list of contacts costs one query for the personas whatever its length.

A contact's persona is its custom property "persona" when that names a Persona (case-insensitively), otherwise
the first Persona, by position, one of whose `title_keywords` appears in the contact's job title. A keyword
may be a phrase ("head of marketing"); it matches whole words in order, so "cto" does not match "director".
A "persona" value naming no Persona (a persona since renamed) falls back to the title, rather than to none.
"""

import re
from collections.abc import Iterable

from smarketing.content.models import Persona

PROPERTY = "persona"  # the contact custom property (crm PropertyDefinition key) that names a persona
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    return _WORD.findall(str(text or "").lower())


def keywords(persona: Persona) -> list[list[str]]:
    """The persona's keywords, each as its list of words: "cmo, head of marketing" → [["cmo"], ["head", ...]]."""
    return [w for w in (words(part) for part in str(persona.title_keywords or "").split(",")) if w]


def _contains(title_words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(title_words[i : i + n] == phrase for i in range(len(title_words) - n + 1))


def persona_for(contact, personas: list[Persona]) -> Persona | None:
    """`contact`'s persona among `personas` (all of them, in position order: `load_personas()`)."""
    custom = contact.custom if isinstance(getattr(contact, "custom", None), dict) else {}
    named = str(custom.get(PROPERTY) or "").strip().casefold()
    if named:
        for persona in personas:
            if persona.name.casefold() == named:
                return persona
    title = words(getattr(contact, "title", ""))
    if not title:
        return None
    for persona in personas:
        if any(_contains(title, phrase) for phrase in keywords(persona)):
            return persona
    return None


def personas_for_contacts(contacts: Iterable, personas: list[Persona]) -> dict[int, Persona]:
    """{contact id: persona} for the contacts that have one."""
    found = {}
    for contact in contacts:
        persona = persona_for(contact, personas)
        if persona is not None:
            found[contact.pk] = persona
    return found


def deal_personas(contacts: Iterable, personas: list[Persona]) -> list[Persona]:
    """The personas of a deal's contacts, each once, in position order."""
    ids = {p.pk for p in personas_for_contacts(contacts, personas).values()}
    return [p for p in personas if p.pk in ids]


def load_personas() -> list[Persona]:
    """Every persona in position order: the one query persona resolution needs."""
    return list(Persona.objects.order_by("position", "name"))
