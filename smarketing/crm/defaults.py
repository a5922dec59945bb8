"""The data a fresh install starts with: the three teams and a default sales pipeline."""

DEFAULT_PIPELINE = "Sales pipeline"

# name, probability %, team, target days, exit criteria, outcome
DEFAULT_STAGES = [
    ("Appointment scheduled", 10, "sales", 7, ["contacts"], "open"),
    ("Qualified to buy", 25, "sales", 14, ["amount", "close_date"], "open"),
    ("Presentation scheduled", 40, "sales", 14, [], "open"),
    ("Decision maker bought-in", 60, "sales", 21, [], "open"),
    ("Contract sent", 80, "sales", 14, [], "open"),
    ("Closed won", 100, "sales", None, [], "won"),
    ("Closed lost", 0, "sales", None, [], "lost"),
]


def install_defaults(Team, Pipeline, Stage) -> None:
    """Idempotent; takes model classes so a data migration can pass its historical models."""
    for name, kind in (("Marketing", "marketing"), ("Sales", "sales"), ("RevOps", "revops")):
        Team.objects.get_or_create(name=name, defaults={"kind": kind})
    if Pipeline.objects.exists():
        return
    pipeline = Pipeline.objects.create(name=DEFAULT_PIPELINE, is_default=True, position=0)
    for position, (name, probability, team, days, criteria, outcome) in enumerate(DEFAULT_STAGES):
        Stage.objects.create(
            pipeline=pipeline,
            name=name,
            position=position,
            probability=probability,
            team=team,
            target_days=days,
            exit_criteria=criteria,
            outcome=outcome,
        )


def default_pipeline():
    from smarketing.crm.models import Pipeline

    return Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.order_by("position", "id").first()
