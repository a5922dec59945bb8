"""Stage governance: the role, checklist, required records and playbook of each step, and their enforcement.

Pipeline stages: crm's `move_deal_stage` refuses to move a deal on while the stage's checklist is unanswered or a
required record is missing (registered with crm as a StageRule in AppConfig.ready, so the board, the deal page
and the API show the same message and a link to where it is met), and a deal arriving in a stage gets the
stage's playbook tasks for its owner. Lifecycle stages: the playbook tasks go to the contact's owner when the
contact enters the stage (the outbox consumer of the handoff, on `contact.lifecycle_changed`); their checklists
bind people's moves (UI and API) forward out of the stage through crm's lifecycle rule: "Accept" in the handoff
inbox asks the MQL checklist on the card; automation (scores, workflows, imports) moves freely.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import require_admin, system_actor
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.process.models import ChecklistAnswer, ContactChecklistAnswer, StageGovernance

MAX_QUESTIONS = 12
MAX_TASKS = 8
TASK_KINDS = ("call", "email", "todo")
# Records a stage may require before a deal leaves it (besides crm's built-in fields).
RECORD_CHOICES = [
    ("meeting_held", "A meeting logged on the deal or its contacts"),
    ("role:decision_maker", "A contact with the role Decision maker"),
    ("role:champion", "A contact with the role Champion"),
    ("role:economic_buyer", "A contact with the role Economic buyer"),
]
RECORD_LABELS = dict(RECORD_CHOICES)
# What a lifecycle stage may require of the contact before people move it on.
LIFECYCLE_RECORD_CHOICES = [
    ("field:phone", "A phone number"),
    ("field:title", "A job title"),
    ("field:company", "A company"),
    ("meeting_held", "A meeting logged with the contact"),
]
LIFECYCLE_RECORD_LABELS = dict(LIFECYCLE_RECORD_CHOICES)


def for_stage(stage_id: int) -> StageGovernance | None:
    return StageGovernance.objects.filter(stage_id=stage_id).first()


def for_lifecycle(stage: str) -> StageGovernance | None:
    return StageGovernance.objects.filter(lifecycle_stage=stage).first()


# -- validation and saving ------------------------------------------------------------------------------------


def _lines(text_or_list, *, limit: int, what: str, max_length: int = 200) -> list[str]:
    items = text_or_list.splitlines() if isinstance(text_or_list, str) else list(text_or_list or [])
    cleaned = []
    for item in items:
        item = " ".join(str(item).split())
        if not item:
            continue
        if len(item) > max_length:
            raise ValidationError({what: f"At most {max_length} characters per line."})
        if item not in cleaned:
            cleaned.append(item)
    if len(cleaned) > limit:
        raise ValidationError({what: f"At most {limit} lines."})
    return cleaned


def parse_tasks(text_or_list) -> list[dict]:
    """ "Send the proposal | todo | 2" lines (or dicts from the API) → [{"title", "kind", "due_days"}]."""
    rows = text_or_list.splitlines() if isinstance(text_or_list, str) else list(text_or_list or [])
    tasks = []
    for n, row in enumerate(rows, 1):
        if isinstance(row, dict):
            title, kind, due = row.get("title"), row.get("kind", "todo"), row.get("due_days", 1)
        else:
            if not str(row).strip():
                continue
            parts = [p.strip() for p in str(row).split("|")]
            title, kind, due = parts[0], (parts[1] if len(parts) > 1 else "todo"), (parts[2] if len(parts) > 2 else 1)
        title = " ".join(str(title or "").split())
        if not title or len(title) > 200:
            raise ValidationError({"playbook_tasks": f"Task {n}: a title of 1 to 200 characters."})
        if kind not in TASK_KINDS:
            raise ValidationError({"playbook_tasks": f"Task {n}: the kind is call, email or todo."})
        try:
            due = int(due)
        except (TypeError, ValueError):
            raise ValidationError({"playbook_tasks": f"Task {n}: due in a whole number of days."}) from None
        if not 0 <= due <= 90:
            raise ValidationError({"playbook_tasks": f"Task {n}: due within 0 to 90 days."})
        tasks.append({"title": title, "kind": kind, "due_days": due})
    if len(tasks) > MAX_TASKS:
        raise ValidationError({"playbook_tasks": f"At most {MAX_TASKS} playbook tasks."})
    return tasks


def clean(data: dict, *, lifecycle: bool = False) -> dict:
    """Validate a governance edit (from the settings page or the API); unknown keys are refused."""
    allowed = {"role", "checklist", "required_records", "playbook", "playbook_tasks", "target_days"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({"__all__": f"Unknown fields: {', '.join(sorted(unknown))}."})
    out = {}
    if "role" in data:
        role = " ".join(str(data["role"] or "").split())
        if len(role) > 60:
            raise ValidationError({"role": "At most 60 characters."})
        out["role"] = role
    if "checklist" in data:
        out["checklist"] = _lines(data["checklist"], limit=MAX_QUESTIONS, what="checklist")
    if "required_records" in data:
        records = list(data["required_records"] or [])
        choices = LIFECYCLE_RECORD_CHOICES if lifecycle else RECORD_CHOICES
        bad = [r for r in records if r not in dict(choices)]
        if bad:
            raise ValidationError({"required_records": f"Unknown required records: {', '.join(map(str, bad))}."})
        out["required_records"] = [key for key, _ in choices if key in records]
    if "target_days" in data:
        value = data["target_days"]
        if value in (None, ""):
            out["target_days"] = None
        else:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationError({"target_days": "A whole number of days."}) from None
            if not lifecycle:
                raise ValidationError({"target_days": "A pipeline stage's target is set in Pipelines."})
            if not 1 <= value <= 365:
                raise ValidationError({"target_days": "From 1 to 365 days."})
            out["target_days"] = value
    if "playbook" in data:
        playbook = str(data["playbook"] or "").strip()
        if len(playbook) > 5000:
            raise ValidationError({"playbook": "At most 5,000 characters."})
        out["playbook"] = playbook
    if "playbook_tasks" in data:
        out["playbook_tasks"] = parse_tasks(data["playbook_tasks"])
    return out


@transaction.atomic
def save(*, actor, stage=None, lifecycle_stage: str | None = None, data: dict) -> StageGovernance:
    """Admins set a step's governance; the audit log keeps each change (the page shows that history)."""
    require_admin(actor, "Only admins can change the sales process.")
    fields = clean(data, lifecycle=stage is None)
    if stage is not None:
        row, _ = StageGovernance.objects.select_for_update().get_or_create(stage=stage)
    else:
        row, _ = StageGovernance.objects.select_for_update().get_or_create(lifecycle_stage=lifecycle_stage)
    changes = {k: [getattr(row, k), v] for k, v in fields.items() if getattr(row, k) != v}
    for key, value in fields.items():
        setattr(row, key, value)
    row.updated_at = timezone.now()
    row.save()
    if changes:
        record_audit(actor=actor, action="governance", obj=row, changes=changes)
    return row


# -- enforcement on deals ---------------------------------------------------------------------------------------


def _meeting_held(deal) -> bool:
    from smarketing.timeline.models import Touchpoint

    contact_ids = list(deal.deal_contacts.values_list("contact_id", flat=True))
    meetings = Touchpoint.objects.filter(kind__in=("meeting_logged",), occurred_at__gte=deal.created_at)
    return meetings.filter(deal_id=deal.pk).exists() or (
        bool(contact_ids) and meetings.filter(contact_id__in=contact_ids).exists()
    )


def deal_criteria(deal, stage) -> list[tuple[str, str, bool]]:
    """crm's StageRule.criteria: each checklist question and required record of the deal's stage, met or not."""
    row = for_stage(stage.pk)
    if row is None or (not row.checklist and not row.required_records):
        return []
    answered = set(
        ChecklistAnswer.objects.filter(deal_id=deal.pk, stage_id=stage.pk).values_list("question", flat=True)
    )
    found = [(f"checklist:{q}", q, q in answered) for q in row.checklist]
    for key in row.required_records:
        if key == "meeting_held":
            met = _meeting_held(deal)
        else:
            met = deal.deal_contacts.filter(role=key.split(":", 1)[1]).exists()
        found.append((f"record:{key}", RECORD_LABELS.get(key, key), met))
    return found


def deal_fix(deal, criterion: str) -> dict | None:
    """crm's StageRule.fix: where each of ours is met."""
    if criterion.startswith("checklist:"):
        return {"url": reverse("process:checklist", args=[deal.pk]), "label": "Answer the stage checklist"}
    if criterion == "record:meeting_held":
        return {"url": reverse("deal_detail", args=[deal.pk]) + "#quick-actions", "label": "Log the meeting"}
    if criterion.startswith("record:role:"):
        return {
            "url": reverse("deal_detail", args=[deal.pk]) + "#add-contact",
            "label": "Add the contact with that role",
        }
    return None


def _create_tasks(tasks: list[dict], *, owner, stage_name: str, **target) -> int:
    from smarketing.crm.services.activities import create_task

    made = 0
    now = timezone.now()
    for task in tasks:
        create_task(
            actor=system_actor(Origin.SYSTEM),
            title=task["title"],
            kind=task["kind"],
            owner=owner,
            due_at=now + timedelta(days=task["due_days"]),
            description=f"Playbook of {stage_name}",
            origin=Origin.SYSTEM,
            **target,
        )
        made += 1
    return made


def deal_entered(deal, stage, actor) -> None:
    """crm's StageRule.entered: the stage's playbook tasks for the deal's owner."""
    row = for_stage(stage.pk)
    if row is not None and row.playbook_tasks:
        _create_tasks(row.playbook_tasks, owner=deal.owner, stage_name=stage.name, deal=deal)


def contact_entered(contact, stage: str) -> int:
    """A contact entered a lifecycle stage: that stage's playbook tasks for its owner."""
    from smarketing.crm.models import LifecycleStage

    row = for_lifecycle(stage)
    if row is None or not row.playbook_tasks:
        return 0
    return _create_tasks(
        row.playbook_tasks, owner=contact.owner, stage_name=LifecycleStage(stage).label, contact=contact
    )


@transaction.atomic
def answer(deal, *, questions: list[str], actor) -> int:
    """The rep's answers for the deal's current stage: the questions given are "yes", the others not."""
    from smarketing.crm import access as crm_access

    crm_access.require(actor, "edit", deal)
    row = for_stage(deal.stage_id)
    asked = list(row.checklist) if row is not None else []
    yes = [q for q in questions if q in asked]
    ChecklistAnswer.objects.filter(deal_id=deal.pk, stage_id=deal.stage_id).exclude(question__in=yes).delete()
    existing = set(
        ChecklistAnswer.objects.filter(deal_id=deal.pk, stage_id=deal.stage_id).values_list("question", flat=True)
    )
    from smarketing.accounts.access import recorded_user

    ChecklistAnswer.objects.bulk_create(
        [
            ChecklistAnswer(deal_id=deal.pk, stage_id=deal.stage_id, question=q, answered_by=recorded_user(actor))
            for q in yes
            if q not in existing
        ],
        ignore_conflicts=True,
    )
    return len(yes)


# -- lifecycle stages' checklists ---------------------------------------------------------------------------------


def lifecycle_checklist(stage: str) -> list[str]:
    row = for_lifecycle(stage)
    return list(row.checklist) if row is not None else []


def lifecycle_criteria(contact, from_stage: str, to_stage: str) -> list[str]:
    """crm's lifecycle rule: what the stage the contact leaves asks that is not met: its unanswered questions,
    then its missing required records."""
    row = for_lifecycle(from_stage)
    if row is None or (not row.checklist and not row.required_records):
        return []
    unmet = []
    if row.checklist:
        answered = set(
            ContactChecklistAnswer.objects.filter(contact_id=contact.pk, lifecycle_stage=from_stage).values_list(
                "question", flat=True
            )
        )
        unmet += [q for q in row.checklist if q not in answered]
    for key in row.required_records:
        if key.startswith("field:"):
            name = key.split(":", 1)[1]
            met = bool(getattr(contact, f"{name}_id" if name == "company" else name, None))
        elif key == "meeting_held":
            from smarketing.timeline.models import Touchpoint

            met = Touchpoint.objects.filter(contact_id=contact.pk, kind="meeting_logged").exists()
        else:
            continue
        if not met:
            unmet.append(LIFECYCLE_RECORD_LABELS.get(key, key))
    return unmet


def answered_for(contact_ids, stage: str) -> dict[int, set[str]]:
    """{contact id: the questions answered yes} for the inbox's cards, in one query."""
    found: dict[int, set[str]] = {}
    rows = ContactChecklistAnswer.objects.filter(contact_id__in=list(contact_ids), lifecycle_stage=stage)
    for contact_id, question in rows.values_list("contact_id", "question"):
        found.setdefault(contact_id, set()).add(question)
    return found


@transaction.atomic
def answer_contact(contact, *, stage: str, questions: list[str], actor) -> int:
    """Answers for the contact's lifecycle stage: the questions given are "yes", the others not."""
    from smarketing.accounts.access import recorded_user
    from smarketing.crm import access as crm_access

    crm_access.require(actor, "edit", contact)
    asked = lifecycle_checklist(stage)
    yes = [q for q in questions if q in asked]
    rows = ContactChecklistAnswer.objects.filter(contact_id=contact.pk, lifecycle_stage=stage)
    rows.exclude(question__in=yes).delete()
    existing = set(rows.values_list("question", flat=True))
    ContactChecklistAnswer.objects.bulk_create(
        [
            ContactChecklistAnswer(
                contact_id=contact.pk, lifecycle_stage=stage, question=q, answered_by=recorded_user(actor)
            )
            for q in yes
            if q not in existing
        ],
        ignore_conflicts=True,
    )
    return len(yes)
