"""Segments and static lists for the demo: a few saved segments a marketer would have built (valid definitions,
evaluated live like any other) and static lists filled from the seeded history, loaded with the rest.

Lists are filled per generated chunk from the chunk's rows (`SegmentsDemo.rows`): badge scans from the
`event_attended` touches, webinar attendees from `webinar_attended`, the customer advisory board from a share
of the customers; membership dates are the touch times, so a list's history agrees with the timelines.
"""

import random

from smarketing.crm.demo.common import COLUMNS as CRM_COLUMNS
from smarketing.crm.demo.common import Chunk, Clock, Ids
from smarketing.segments.models import ContactList, ListMembership, Segment
from smarketing.segments.schema import validate_definition

MEMBER_COLUMNS = "id contact_list_id contact_id added_at origin".split()
TABLES = {"listmember": (ListMembership, MEMBER_COLUMNS)}

# key, name, description, the touch kind that puts a contact on it (None: chosen from the customers)
LISTS = [
    ("badges", "Trade show badge scans", "Everyone whose badge we scanned at a booth (imported after each event).",
     "event_attended"),
    ("webinar", "Webinar attendees", "Attended at least one live webinar (imported from the webinar tool).",
     "webinar_attended"),
    ("cab", "Customer advisory board", "Customers who agreed to preview launches and give feedback.", None),
]  # fmt: skip

_CUSTOMER = {"customer", "evangelist"}


def segment_definitions(lists: dict[str, int]) -> list[tuple[str, str, str, dict]]:
    """key, name, description, definition (seg's schema) of the demo's saved segments."""
    granted = {"field": "consent_status", "operator": "equals", "value": "granted"}
    return [
        (
            "newsletter",
            "Newsletter audience",
            "Everyone who agreed to hear from us and is not a customer yet.",
            {
                "op": "and",
                "negate": False,
                "rules": [
                    granted,
                    {"field": "lifecycle_stage", "operator": "not_in", "value": ["customer", "evangelist", "other"]},
                ],
            },
        ),
        (
            "engaged",
            "Engaged: clicked twice in 30 days",
            "Clicked any campaign email at least twice in the last 30 days.",
            {
                "op": "and",
                "negate": False,
                "rules": [{"event": {"kinds": ["email_clicked"], "min_count": 2, "within_days": 30}}],
            },
        ),
        (
            "mql",
            "MQLs to nurture",
            "Marketing-qualified leads we may email.",
            {
                "op": "and",
                "negate": False,
                "rules": [granted, {"field": "lifecycle_stage", "operator": "equals", "value": "mql"}],
            },
        ),
        (
            "new_leads",
            "New leads, last 30 days",
            "Created in the last 30 days: the welcome series.",
            {
                "op": "and",
                "negate": False,
                "rules": [
                    granted,
                    {"field": "created_at", "operator": "within_last_days", "value": 30},
                    {"field": "lifecycle_stage", "operator": "in", "value": ["subscriber", "lead"]},
                ],
            },
        ),
        (
            "pricing",
            "Viewed pricing since their last sales call",
            "Worth a follow-up: they looked at /pricing after we last spoke.",
            {
                "op": "and",
                "negate": False,
                "rules": [
                    {"event": {"kinds": ["page_viewed"], "url_contains": "/pricing", "since": "last_sales_call"}},
                ],
            },
        ),
        (
            "webinar_prospects",
            "Webinar prospects",
            "Attended a webinar or scanned at a booth, not customers.",
            {
                "op": "and",
                "negate": False,
                "rules": [
                    {
                        "op": "or",
                        "negate": False,
                        "rules": [
                            {"field": "list", "operator": "in", "value": lists["webinar"]},
                            {"field": "list", "operator": "in", "value": lists["badges"]},
                        ],
                    },
                    {"field": "list", "operator": "not_in", "value": lists["cab"]},
                ],
            },
        ),
    ]


class SegmentsDemo:
    """Set-up once per seed (`prepare`: lists and segments, reused by name), list members per chunk (`rows`)."""

    def __init__(self, people: dict, *, seed: int, clock: Clock, ids: Ids):
        self.people = people
        self.seed = seed
        self.clock = clock
        self.ids = ids
        self.lists: dict[str, int] = {}
        self.segments: dict[str, int] = {}

    def prepare(self) -> None:
        owner = self.people.get("maya")
        existing = {c.name: c.id for c in ContactList.objects.filter(name__in=[n for _, n, *_ in LISTS])}
        for key, name, description, _kind in LISTS:
            if name not in existing:
                existing[name] = ContactList.objects.create(name=name, description=description, owner=owner).id
            self.lists[key] = existing[name]
        definitions = segment_definitions(self.lists)
        existing = {s.name: s.id for s in Segment.objects.filter(name__in=[d[1] for d in definitions])}
        for key, name, description, definition in definitions:
            if name not in existing:
                existing[name] = Segment.objects.create(
                    name=name, description=description, definition=validate_definition(definition), owner=owner
                ).id
            self.segments[key] = existing[name]
        self.by_kind = {kind: self.lists[key] for key, _n, _d, kind in LISTS if kind}

    def rows(self, chunk: Chunk) -> None:
        """Adds `listmember` rows: one per contact and list (the first qualifying touch dates it)."""
        touch = CRM_COLUMNS["touch"]
        i_at, i_contact, i_kind = touch.index("occurred_at"), touch.index("contact_id"), touch.index("kind")
        by_kind = self.by_kind
        take = self.ids.take
        seen: set[tuple[int, int]] = set()
        out = []
        for row in chunk.rows["touch"]:
            list_id = by_kind.get(row[i_kind])
            if list_id is None or (list_id, row[i_contact]) in seen:
                continue
            seen.add((list_id, row[i_contact]))
            out.append((take("listmember"), list_id, row[i_contact], row[i_at], "import"))
        contact = CRM_COLUMNS["contact"]
        i_id, i_stage = contact.index("id"), contact.index("lifecycle_stage")
        i_changed = contact.index("lifecycle_changed_at")
        first = chunk.rows["contact"][0][i_id] if chunk.rows["contact"] else 0
        rnd = random.Random(f"{self.seed}-lists-{first}").random
        cab = self.lists["cab"]
        for row in chunk.rows["contact"]:
            if row[i_stage] in _CUSTOMER and rnd() < 0.3:
                out.append((take("listmember"), cab, row[i_id], row[i_changed], "ui"))
        chunk.rows["listmember"] = out
