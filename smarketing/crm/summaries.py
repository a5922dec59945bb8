"""The one-line summary of each CRM touch, as the timeline shows it.

Used by the services, the importer and the demo generator, so a touch reads the same whoever wrote it.
"""

from decimal import Decimal

from smarketing.crm.models import LifecycleStage

STAGE_LABELS = dict(LifecycleStage.choices)


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage)


def contact_created(stage: str) -> str:
    return f"Contact created ({stage_label(stage)})"


def lifecycle_changed(from_stage: str, to_stage: str, *, backward: bool) -> str:
    verb = "recycled" if backward else "moved"
    return f"Lifecycle {verb}: {stage_label(from_stage)} → {stage_label(to_stage)}"


def owner_changed(owner_name: str | None) -> str:
    return f"Owner set to {owner_name}" if owner_name else "Owner removed"


def money(amount: Decimal, currency: str) -> str:
    return f"{Decimal(amount):,.2f} {currency}"


def deal_created(name: str, amount: Decimal, currency: str) -> str:
    return f"Deal created: {name} ({money(amount, currency)})"[:300]


def deal_stage_changed(name: str, from_stage: str, to_stage: str, reason: str = "") -> str:
    summary = f"{name}: {from_stage} → {to_stage}"
    return (summary + f" ({reason})" if reason else summary)[:300]


def task_created(title: str) -> str:
    return f"Task: {title}"[:300]


def task_completed(title: str) -> str:
    return f"Task done: {title}"[:300]


def task_reopened(title: str) -> str:
    return f"Task reopened: {title}"[:300]


def note_added(excerpt: str) -> str:
    return f"Note: {excerpt}"[:300]
