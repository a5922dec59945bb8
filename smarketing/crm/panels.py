"""Panels that higher apps add to the right column of the record pages (contact, company, deal).

crm is a lower floor and never imports the apps above it: an app registers its panel from its
AppConfig.ready(), and the record page renders each registered panel as a card whose body htmx loads after the
page (so a panel adds no query, and no wait, to the record page itself):

    register_record_panel("deal", "content", "Content for this stage", "content:panel")

`url_name` is reversed with (kind, pk). The view behind it answers an htmx request with the card (a <section
class="card"> with the id `panel-<key>`, swapped over the placeholder) and a plain request with a full page,
which is where the placeholder's link leads without JavaScript.
"""

from dataclasses import dataclass

from django.urls import reverse

KINDS = ("contact", "company", "deal")


@dataclass(frozen=True)
class RecordPanel:
    """One registered panel: on which record pages, its key (the card's id), its heading and its view."""

    kind: str
    key: str
    title: str
    url_name: str

    def url(self, pk: int) -> str:
        return reverse(self.url_name, args=[self.kind, pk])


_panels: dict[str, dict[str, RecordPanel]] = {kind: {} for kind in KINDS}


def register_record_panel(kind: str, key: str, title: str, url_name: str) -> RecordPanel:
    """Add a panel to one kind of record page; registering the same key again replaces it (panels show in the
    order they were first registered)."""
    if kind not in KINDS:
        raise ValueError(f"record panels go on {', '.join(KINDS)} pages, not {kind!r}")
    if not key or not key.replace("-", "").replace("_", "").isalnum():
        raise ValueError("a panel key is a slug: it becomes the card's id")
    panel = RecordPanel(kind=kind, key=key, title=title, url_name=url_name)
    _panels[kind][key] = panel
    return panel


def record_panels(kind: str) -> list[RecordPanel]:
    return list(_panels.get(kind, {}).values())
