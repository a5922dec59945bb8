"""The rejection reasons a new install starts with (migration 0002) and the demo uses; admins edit the list."""

REASONS = [
    "Not a fit (size, industry or country)",
    "No budget",
    "Bad timing",
    "Not a decision maker",
    "Student, job seeker or personal use",
    "Competitor or partner",
    "Invalid contact details",
    "Duplicate of another lead",
    "Other",
]


def install_reasons(RejectionReason) -> None:
    """Idempotent; takes the model class so the data migration can pass its historical model."""
    for position, label in enumerate(REASONS):
        RejectionReason.objects.get_or_create(label=label, defaults={"position": position})
