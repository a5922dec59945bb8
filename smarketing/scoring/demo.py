"""The demo's lead scoring: a primary "Default" group (fit on title, company size and country; engagement on
pricing views, webinars, forms, email clicks and unsubscribes) and a product-line group, scored over the seeded
history by the same set-based recompute a rule edit runs, so every contact has scores and a history line."""

import time
from collections.abc import Callable

from smarketing.accounts.access import system_actor
from smarketing.core.models import Origin
from smarketing.scoring import services
from smarketing.scoring.models import Dimension, ScoreGroup

FIT, ENGAGEMENT = Dimension.FIT, Dimension.ENGAGEMENT
GROUPS = [
    {
        "group": {
            "name": "Default",
            "description": "Who the contact is and what they did, across every product",
            "is_primary": True,
            "half_life_days": 30,
            "fit_cap": 60,
            "engagement_cap": 100,
            "mql_threshold": 70,
        },
        "rules": [
            (FIT, "Director or above", {"field": "title", "operator": "contains", "value": "director"}, 15, None),
            (FIT, "Vice president", {"field": "title", "operator": "contains", "value": "vp"}, 20, None),
            (FIT, "Company of 200+", {"field": "company.employees", "operator": "gte", "value": 200}, 15, None),
            (
                FIT,
                "Based in the US",
                {"field": "company.country", "operator": "equals", "value": "United States"},
                5,
                None,
            ),
            (ENGAGEMENT, "Viewed the pricing page", {"kinds": ["page_viewed"], "url_contains": "/pricing"}, 10, 3),
            (ENGAGEMENT, "Attended a webinar", {"kinds": ["webinar_attended"]}, 15, 2),
            (ENGAGEMENT, "Submitted a form", {"kinds": ["form_submitted"]}, 20, 2),
            (ENGAGEMENT, "Clicked a marketing email", {"kinds": ["email_clicked"]}, 5, 4),
            (ENGAGEMENT, "Unsubscribed", {"kinds": ["unsubscribed"]}, -50, 1),
        ],
    },
    {
        "group": {
            "name": "Automation product",
            "description": "Interest in the marketing automation product line",
            "half_life_days": 45,
            "engagement_cap": 80,
        },
        "rules": [
            (
                ENGAGEMENT,
                "Viewed the automation pages",
                {"kinds": ["page_viewed"], "url_contains": "/automation"},
                10,
                3,
            ),
            (
                ENGAGEMENT,
                "Viewed the email marketing pages",
                {"kinds": ["page_viewed"], "url_contains": "/email-marketing"},
                5,
                3,
            ),
        ],
    },
]


def seed_scoring(out: Callable[[str], None] = print) -> None:
    """Create the demo's groups and rules (once: a second seed reuses them), then recompute every score."""
    started = time.monotonic()
    actor = system_actor(Origin.SEED)
    for spec in GROUPS:
        if ScoreGroup.objects.filter(name=spec["group"]["name"]).exists():
            continue
        group = services.create_group(actor, **spec["group"])
        for dimension, name, condition, points, max_times in spec["rules"]:
            services.create_rule(
                actor, group, dimension=dimension, name=name, condition=condition, points=points, max_times=max_times
            )
    stats = services.run_recompute(actor=actor)
    out(f"Lead scores computed in {time.monotonic() - started:.1f} s: {stats.as_dict()}")
