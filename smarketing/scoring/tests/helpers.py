"""Scoring test data made through the real services: a Default group with fit and engagement rules."""

from datetime import timedelta

from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.forms.kinds import PAGE_VIEWED
from smarketing.scoring import services
from smarketing.timeline.services import record_touch

SYSTEM = system_actor()


def default_group(**options):
    group = services.create_group(SYSTEM, name="Default", half_life_days=options.pop("half_life_days", 0), **options)
    director = services.create_rule(
        SYSTEM,
        group,
        dimension="fit",
        name="Director",
        condition={"field": "title", "operator": "contains", "value": "director"},
        points=20,
    )
    pricing = services.create_rule(
        SYSTEM,
        group,
        dimension="engagement",
        name="Viewed pricing",
        condition={"kinds": [PAGE_VIEWED], "url_contains": "/pricing"},
        points=10,
    )
    return group, director, pricing


def view(contact, url="/pricing", *, days_ago=0, summary=None):
    return record_touch(
        kind=PAGE_VIEWED,
        contact=contact,
        summary=summary or f"Viewed {url}",
        details={"url": f"https://example.com{url}"},
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )
