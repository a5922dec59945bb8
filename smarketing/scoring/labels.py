"""Words for the codes lead scoring stores."""

from smarketing.core.labels import declare_labels

declare_labels(
    "audit_action",
    {
        "score_group_create": "Score group created",
        "score_group_update": "Score group changed",
        "score_group_delete": "Score group deleted",
        "score_rule_create": "Scoring rule created",
        "score_rule_update": "Scoring rule changed",
        "score_rule_delete": "Scoring rule deleted",
        "score_recompute": "Scores recomputed",
        "score_adjust": "Score adjusted",
    },
)
