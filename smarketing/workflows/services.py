"""Every write to workflows and enrollments: checked, audited, set-based where many contacts are involved.

Enrollment rules (one function, `_refused`, for the per-contact path; the same rules as SQL in
`enroll_matching`): a contact is never in a workflow twice at once (also a partial unique index); "once" means
never again after a first enrollment; "again after N days" means N days after the previous one began. Each
enrollment of a contact is numbered (`sequence`), and its steps' StepRuns belong to that enrollment, so a
second enrollment runs every step again, once.

The runner (`workflows/runner.py`) moves enrollments along; this module starts and ends them and writes what
an enrollment's start and end mean everywhere else: the counters (F() updates, no count(*)), the timeline
touches, the outbox events (payloads from `workflows/payloads.py`).
"""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from smarketing.accounts.access import is_person
from smarketing.core.audit import actor_user, record_audit
from smarketing.core.bulk import bulk_insert
from smarketing.core.events import check_declared, notify_on_commit
from smarketing.core.models import Event
from smarketing.timeline.services import record_touches
from smarketing.workflows import access, actions, kinds, payloads
from smarketing.workflows import definition as wfdef
from smarketing.workflows.models import (
    Enrollment,
    EnrollmentStatus,
    Reenrollment,
    Workflow,
    WorkflowStatus,
)

MAX_NAME = 200
WRITE_BATCH = 5000  # touches and events written per INSERT after a bulk enrollment
ANALYZE_AFTER = 10_000  # enrollments at once after which PostgreSQL is asked to refresh the table's statistics
EDITABLE = ("name", "description", "trigger", "definition", "goal", "reenrollment", "reenroll_after_days")
MAX_CHAIN = 20  # enroll-in-workflow hops followed by the runtime loop guard


# -- workflows ---------------------------------------------------------------------------------------------------


def _clean(data: dict, workflow: Workflow | None) -> dict:
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Cannot set {', '.join(sorted(unknown))}.")
    clean = {}
    errors = {}
    if "name" in data or workflow is None:
        name = data.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not name:
            errors["name"] = "Give it a name."
        elif len(name) > MAX_NAME:
            errors["name"] = f"At most {MAX_NAME} characters."
        clean["name"] = name
    if "description" in data:
        text = data["description"].strip() if isinstance(data["description"], str) else ""
        if len(text) > 500:
            errors["description"] = "At most 500 characters."
        clean["description"] = text
    for key, check in (
        ("trigger", wfdef.validate_trigger),
        ("definition", wfdef.validate_definition),
        ("goal", wfdef.validate_goal),
    ):
        if key in data or (workflow is None and key != "goal"):
            try:
                clean[key] = check(data.get(key))
            except ValidationError as error:
                errors[key] = error.messages
    if "reenrollment" in data:
        if data["reenrollment"] not in Reenrollment.values:
            errors["reenrollment"] = "Choose 'once' or 'after'."
        clean["reenrollment"] = data["reenrollment"]
    if "reenroll_after_days" in data:
        days = data["reenroll_after_days"]
        if days in (None, ""):
            clean["reenroll_after_days"] = None
        elif isinstance(days, bool) or not str(days).isdigit() or not 1 <= int(days) <= 3650:
            errors["reenroll_after_days"] = "A number of days from 1 to 3650."
        else:
            clean["reenroll_after_days"] = int(days)
    reenrollment = clean.get("reenrollment", workflow.reenrollment if workflow else Reenrollment.ONCE)
    days = clean.get("reenroll_after_days", workflow.reenroll_after_days if workflow else None)
    if reenrollment == Reenrollment.AFTER and not days and "reenroll_after_days" not in errors:
        errors["reenroll_after_days"] = "Say after how many days a contact may enroll again."
    if errors:
        raise ValidationError(errors)
    return clean


def _check_loops(workflow: Workflow) -> None:
    try:
        wfdef.check_loops(workflow.pk, workflow.name, workflow.definition)
    except ValidationError as error:
        raise ValidationError({"definition": error.messages}) from None


@transaction.atomic
def create_workflow(*, actor, data: dict) -> Workflow:
    access.require_edit(actor)
    clean = _clean(data, None)
    workflow = Workflow.objects.create(owner=actor_user(actor), **clean)
    _check_loops(workflow)
    record_audit(actor=actor, action="create", obj=workflow)
    return workflow


@transaction.atomic
def update_workflow(workflow: Workflow, *, actor, data: dict) -> Workflow:
    """Change a workflow. An edit of its trigger, steps or goal bumps `version`; enrollments keep their place by
    step id, and those waiting at a removed step move on to the next step that is left."""
    access.require_edit(actor)
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    if workflow.status == WorkflowStatus.ARCHIVED:
        raise ValidationError("An archived workflow cannot be changed.")
    clean = _clean(data, workflow)
    changes = {key: (getattr(workflow, key), value) for key, value in clean.items() if getattr(workflow, key) != value}
    if not changes:
        return workflow
    old_definition = workflow.definition
    for key, (_, value) in changes.items():
        setattr(workflow, key, value)
    if {"trigger", "definition", "goal"} & set(changes):
        workflow.version = F("version") + 1
    workflow.updated_at = timezone.now()
    workflow.save()
    workflow.refresh_from_db()
    if "definition" in changes:
        _check_loops(workflow)
        _move_off_removed_steps(workflow, old_definition)
    record_audit(actor=actor, action="update", obj=workflow, changes=changes)
    return workflow


def _move_off_removed_steps(workflow: Workflow, old: dict) -> None:
    kept = {step["id"] for step in wfdef.iter_steps(workflow.definition)}
    removed = {step["id"] for step in wfdef.iter_steps(old)} - kept
    now = timezone.now()
    for step_id in sorted(removed):
        target = wfdef.surviving_step(old, workflow.definition, step_id)
        # Nothing left after it: the runner ends the enrollment at its next run (an unknown step is the end).
        if target is not None:
            Enrollment.objects.filter(workflow=workflow, status=EnrollmentStatus.ACTIVE, current_step=step_id).update(
                current_step=target, next_run_at=now
            )


def _set_status(workflow: Workflow, status: str, *, actor, action: str) -> Workflow:
    access.require_edit(actor)
    previous = workflow.status
    now = timezone.now()
    fields = {"status": status, "updated_at": now}
    if status == WorkflowStatus.ACTIVE and not workflow.activated_at:
        fields["activated_at"] = now
    Workflow.objects.filter(pk=workflow.pk).update(**fields)
    for key, value in fields.items():
        setattr(workflow, key, value)
    record_audit(actor=actor, action=action, obj=workflow, changes={"status": (previous, status)})
    return workflow


@transaction.atomic
def activate(workflow: Workflow, *, actor) -> Workflow:
    """Start enrolling and running. Refused when its enroll-in-workflow steps would loop."""
    if workflow.status == WorkflowStatus.ARCHIVED:
        raise ValidationError("An archived workflow cannot be activated.")
    # Validate again: a form, segment or workflow it names may have gone since it was saved.
    wfdef.validate_trigger(workflow.trigger)
    wfdef.validate_definition(workflow.definition)
    _check_loops(workflow)
    return _set_status(workflow, WorkflowStatus.ACTIVE, actor=actor, action="workflow_activate")


@transaction.atomic
def pause(workflow: Workflow, *, actor) -> Workflow:
    """Stop enrolling and running; enrollments keep their place and carry on when it is activated again."""
    return _set_status(workflow, WorkflowStatus.PAUSED, actor=actor, action="workflow_pause")


@transaction.atomic
def archive(workflow: Workflow, *, actor) -> Workflow:
    """Stop for good: every active enrollment leaves (EXITED)."""
    workflow = _set_status(workflow, WorkflowStatus.ARCHIVED, actor=actor, action="workflow_archive")
    active = Enrollment.objects.filter(workflow=workflow, status=EnrollmentStatus.ACTIVE)
    last = 0
    while True:
        rows = list(active.filter(pk__gt=last).order_by("pk").values_list("pk", "contact_id")[:WRITE_BATCH])
        if not rows:
            break
        end_enrollments(workflow, rows, EnrollmentStatus.EXITED, "The workflow was archived.")
        last = rows[-1][0]
    return workflow


# -- enrolling ---------------------------------------------------------------------------------------------------


def _refused(workflow: Workflow, last: dict | None, now: datetime.datetime) -> str | None:
    """Why the enrollment rules refuse a contact whose latest enrollment is `last`, or None."""
    if last is None:
        return None
    if last["status"] == EnrollmentStatus.ACTIVE:
        return "already in the workflow"
    if workflow.reenrollment == Reenrollment.ONCE:
        return "enrolled before, and this workflow enrolls only once"
    days = workflow.reenroll_after_days or 0
    if last["entered_at"] > now - datetime.timedelta(days=days):
        return f"enrolled less than {days} days ago"
    return None


def _loops_back(workflow: Workflow, contact_id: int, enrolled_by: Workflow | None) -> bool:
    """True when the contact is being enrolled by a chain of workflows that started at `workflow`."""
    if enrolled_by is None:
        return False
    current = enrolled_by.pk
    for _ in range(MAX_CHAIN):
        if current == workflow.pk:
            return True
        source = (
            Enrollment.objects.filter(workflow_id=current, contact_id=contact_id)
            .order_by("-sequence")
            .values_list("enrolled_by_workflow_id", flat=True)
            .first()
        )
        if source is None:
            return False
        current = source
    return True  # a chain this long is a loop in all but name


def enroll(
    workflow: Workflow, contact, *, actor=None, trigger_event=None, enrolled_by: Workflow | None = None
) -> Enrollment | None:
    """Enroll one contact now; None when the rules refuse (not active, already in, once, too soon, a loop)."""
    if actor is not None and is_person(actor):
        access.require_edit(actor)
    if workflow.status != WorkflowStatus.ACTIVE:
        return None
    if _loops_back(workflow, contact.pk, enrolled_by):
        return None
    created = enroll_contacts(
        workflow, {contact.pk: trigger_event}, enrolled_by=enrolled_by, contacts={contact.pk: contact}
    )
    if created and actor is not None and is_person(actor):
        record_audit(actor=actor, action="workflow_enroll", obj=created[0], object_repr=f"{contact} in {workflow.name}")
    return created[0] if created else None


def enroll_contacts(
    workflow: Workflow,
    contact_events: dict[int, int | None],
    *,
    enrolled_by: Workflow | None = None,
    contacts: dict | None = None,
    now: datetime.datetime | None = None,
) -> list[Enrollment]:
    """Enroll many contacts (contact id → the outbox event that set it off, or None) by the rules, in a few
    queries: the latest enrollment of each, one INSERT, the touches and the events. Returns those enrolled."""
    if not contact_events or workflow.status != WorkflowStatus.ACTIVE:
        return []
    now = now or timezone.now()
    latest: dict[int, dict] = {}
    for row in (
        Enrollment.objects.filter(workflow=workflow, contact_id__in=list(contact_events))
        .order_by("contact_id", "sequence")
        .values("contact_id", "status", "entered_at", "sequence")
    ):
        latest[row["contact_id"]] = row  # ordered by sequence: the last one wins
    new = [
        Enrollment(
            workflow=workflow,
            contact_id=contact_id,
            sequence=(latest[contact_id]["sequence"] + 1) if contact_id in latest else 1,
            next_run_at=now,
            trigger_event=event_id,
            enrolled_by_workflow=enrolled_by,
            entered_at=now,
        )
        for contact_id, event_id in contact_events.items()
        if _refused(workflow, latest.get(contact_id), now) is None
    ]
    if not new:
        return []
    try:
        with transaction.atomic():
            created = Enrollment.objects.bulk_create(new)
    except IntegrityError:
        # Someone enrolled one of them in between: one at a time, each in its savepoint, the loser refused.
        created = []
        for enrollment in new:
            try:
                with transaction.atomic():
                    enrollment.save(force_insert=True)
                created.append(enrollment)
            except IntegrityError:
                continue
    if created and created[0].pk is None:  # a backend that returns no ids from bulk_create
        ids = dict(
            Enrollment.objects.filter(workflow=workflow, entered_at=now, status=EnrollmentStatus.ACTIVE).values_list(
                "contact_id", "pk"
            )
        )
        for enrollment in created:
            enrollment.pk = ids.get(enrollment.contact_id)
    _after_enrolled(workflow, [(e.pk, e.contact_id, e.sequence) for e in created], enrolled_by, now, contacts)
    if created:
        wake_runner()
    return created


def _after_enrolled(workflow, rows, enrolled_by, now, contacts=None) -> None:
    """Counters, touches and events for new enrollments [(id, contact id, sequence)]."""
    if not rows:
        return
    Workflow.objects.filter(pk=workflow.pk).update(
        enrolled_count=F("enrolled_count") + len(rows), active_count=F("active_count") + len(rows)
    )
    _enrolled_facts(workflow, rows, enrolled_by, now)


def _enrolled_facts(workflow, rows, enrolled_by, now) -> None:
    summary = f"Enrolled in workflow '{workflow.name}'"
    if enrolled_by is not None:
        summary += f" by '{enrolled_by.name}'"
    _touches_and_events(
        workflow,
        "workflow.enrolled",
        kinds.WORKFLOW_ENROLLED,
        [
            (
                contact_id,
                summary,
                {"workflow": workflow.pk, "enrollment": pk},
                payloads.enrolled(
                    enrollment_id=pk,
                    workflow_id=workflow.pk,
                    workflow_name=workflow.name,
                    contact_id=contact_id,
                    sequence=sequence,
                    enrolled_by=enrolled_by.pk if enrolled_by else None,
                ),
                pk,
            )
            for pk, contact_id, sequence in rows
        ],
        now,
    )


def _touches_and_events(workflow, event_name: str, kind: str, rows, now) -> None:
    """rows: [(contact id, summary, details, payload, enrollment id)] → touches and outbox events, in bulk."""
    check_declared(event_name)
    for start in range(0, len(rows), WRITE_BATCH):
        chunk = rows[start : start + WRITE_BATCH]
        record_touches(
            {"kind": kind, "summary": summary, "contact": contact_id, "details": details, "occurred_at": now}
            for contact_id, summary, details, _, _ in chunk
        )
        bulk_insert(
            [
                Event(
                    name=event_name,
                    object_type="workflows.enrollment",
                    object_id=str(pk),
                    payload=payload,
                    occurred_at=now,
                )
                for _, _, _, payload, pk in chunk
            ]
        )
    notify_on_commit()


def _enroll_sql(workflow: Workflow, source_sql: str) -> tuple[str, str]:
    """The INSERT … SELECT of enroll_from_sql: the source's contacts, less those the rules keep out.

    Set-based on purpose: one pass over the workflow's earlier enrollments (grouped per contact: the last
    sequence, and whether one of them blocks a new one) joined to the source by hash. A subquery per contact
    looked the same on paper, but with stale statistics (a workflow whose enrollments were just emptied)
    PostgreSQL ran it on the workflow_id index alone, and each of a million probes walked the rows the
    statement itself was inserting.
    """
    table = connection.ops.quote_name(Enrollment._meta.db_table)
    if workflow.reenrollment == Reenrollment.ONCE:
        rule = "1 = 1"
    else:
        rule = "(e.status = 'active' OR e.entered_at > %s)"
    insert = f"""
        INSERT INTO {table} (workflow_id, contact_id, sequence, status, current_step, next_run_at, claimed_by,
                             claimed_until, trigger_event, enrolled_by_workflow_id, entered_at, ended_at, end_reason)
        SELECT %s, m.contact_id, COALESCE(prev.last_sequence, 0) + 1,
               'active', '', %s, '', NULL, NULL, NULL, %s, NULL, ''
        FROM ({source_sql}) m
        LEFT JOIN (SELECT e.contact_id, MAX(e.sequence) AS last_sequence,
                          MAX(CASE WHEN {rule} THEN 1 ELSE 0 END) AS blocked
                   FROM {table} e WHERE e.workflow_id = %s GROUP BY e.contact_id) prev
               ON prev.contact_id = m.contact_id
        WHERE COALESCE(prev.blocked, 0) = 0
    """
    return insert, rule


@transaction.atomic
def enroll_matching(workflow: Workflow, *, actor, definition: dict | None = None) -> int:
    """Enroll every contact matching a segments definition (default: the trigger's segment, else everyone) by
    the enrollment rules: one INSERT … SELECT, then the touches and events in batches. Returns how many."""
    from smarketing.segments.models import Segment
    from smarketing.segments.queries import segment_sql

    access.require_edit(actor)
    if workflow.status != WorkflowStatus.ACTIVE:
        raise ValidationError("Activate the workflow before enrolling contacts.")
    if definition is None:
        params = (workflow.trigger or {}).get("params") or {}
        if (workflow.trigger or {}).get("type") == "segment_entered" and params.get("segment"):
            definition = Segment.objects.values_list("definition", flat=True).get(pk=params["segment"])
        else:
            definition = {"op": "and", "negate": False, "rules": []}
    now = timezone.now()
    source_sql, source_params = segment_sql(definition, now=now)
    count = enroll_from_sql(workflow, source_sql, source_params, now=now)
    record_audit(actor=actor, action="workflow_enroll_matching", obj=workflow, changes={"enrolled": (0, count)})
    return count


def enroll_from_sql(workflow: Workflow, source_sql: str, source_params: list, *, now=None) -> int:
    """Enroll, by the rules, every contact id that `source_sql` selects (one column, `contact_id`, each once):
    one INSERT … SELECT, then the counters once and the touches and events in batches. Returns how many."""
    if workflow.status != WorkflowStatus.ACTIVE:
        return 0
    now = now or timezone.now()
    insert, rule = _enroll_sql(workflow, source_sql)
    # As the ORM stores them (SQLite keeps naive UTC text): the facts below find the new rows by entered_at.
    stored = connection.ops.adapt_datetimefield_value
    params = [workflow.pk, stored(now), stored(now), *source_params]
    if "%s" in rule:
        params.append(stored(now - datetime.timedelta(days=workflow.reenroll_after_days or 0)))
    params.append(workflow.pk)
    with connection.cursor() as cursor:
        cursor.execute(insert, params)
        count = cursor.rowcount
    if not count:
        return 0
    if count >= ANALYZE_AFTER and connection.vendor == "postgresql":
        # A big enrollment changes the table's shape at once; the runner's claims should not wait for
        # autovacuum to learn it (scoring's recompute does the same for its tables).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Enrollment._meta.db_table}")
    Workflow.objects.filter(pk=workflow.pk).update(
        enrolled_count=F("enrolled_count") + count, active_count=F("active_count") + count
    )
    new = Enrollment.objects.filter(workflow=workflow, entered_at=now, status=EnrollmentStatus.ACTIVE)
    last = 0
    while True:
        rows = list(new.filter(pk__gt=last).order_by("pk").values_list("pk", "contact_id", "sequence")[:WRITE_BATCH])
        if not rows:
            break
        _enrolled_facts(workflow, rows, None, now)
        last = rows[-1][0]
    wake_runner()
    return count


def wake_runner() -> None:
    """Enqueue a runner pass after commit, so new enrollments start without waiting for the periodic beat."""
    from smarketing.workflows import runner

    transaction.on_commit(runner.wake)


# -- ending ------------------------------------------------------------------------------------------------------


def end_enrollments(
    workflow: Workflow,
    rows: Iterable[tuple[int, int]],
    status: str,
    reason: str = "",
    *,
    now: datetime.datetime | None = None,
) -> int:
    """End active enrollments [(id, contact id)] with `status`: one conditional UPDATE (an enrollment another
    runner ended already is not ended twice), the counters, a touch and a `workflow.completed` event each."""
    rows = list(rows)
    if not rows:
        return 0
    now = now or timezone.now()
    ids = [pk for pk, _ in rows]
    ended = 0
    for start in range(0, len(ids), WRITE_BATCH):
        ended += Enrollment.objects.filter(
            pk__in=ids[start : start + WRITE_BATCH], status=EnrollmentStatus.ACTIVE
        ).update(
            status=status,
            ended_at=now,
            next_run_at=None,
            claimed_by="",
            claimed_until=None,
            end_reason=reason[:300],
        )
    if not ended:
        return 0
    if ended != len(rows):
        # A few were ended elsewhere meanwhile: write facts only for those this call ended.
        done = set(Enrollment.objects.filter(pk__in=ids, status=status, ended_at=now).values_list("pk", flat=True))
        rows = [row for row in rows if row[0] in done]
    counters = {"active_count": F("active_count") - len(rows)}
    if status == EnrollmentStatus.COMPLETED:
        counters["completed_count"] = F("completed_count") + len(rows)
    Workflow.objects.filter(pk=workflow.pk).update(**counters)
    label = EnrollmentStatus(status).label
    summary = f"{'Completed' if status == EnrollmentStatus.COMPLETED else label} workflow '{workflow.name}'"
    if status != EnrollmentStatus.COMPLETED:
        summary = f"Workflow '{workflow.name}': {label.lower()}"
    if reason:
        summary += f" ({reason})"
    _touches_and_events(
        workflow,
        "workflow.completed",
        kinds.WORKFLOW_COMPLETED,
        [
            (
                contact_id,
                summary,
                {"workflow": workflow.pk, "enrollment": pk, "status": status},
                payloads.completed(
                    enrollment_id=pk,
                    workflow_id=workflow.pk,
                    workflow_name=workflow.name,
                    contact_id=contact_id,
                    status=status,
                    reason=reason,
                ),
                pk,
            )
            for pk, contact_id in rows
        ],
        now,
    )
    return len(rows)


@transaction.atomic
def unenroll(enrollment: Enrollment, *, actor, reason: str = "") -> bool:
    """Take a contact out of a workflow (EXITED). False when it had ended already."""
    access.require_edit(actor)
    reason = (reason or "Removed by hand").strip()[:300]
    ended = end_enrollments(
        enrollment.workflow, [(enrollment.pk, enrollment.contact_id)], EnrollmentStatus.EXITED, reason
    )
    if ended:
        record_audit(actor=actor, action="workflow_unenroll", obj=enrollment, changes={"reason": ("", reason)})
        enrollment.refresh_from_db()
    return bool(ended)


# -- dry run -----------------------------------------------------------------------------------------------------


def dry_run(workflow: Workflow, contact) -> list[dict]:
    """The path the contact would take now, each step's "would …" summary. Writes nothing: waits are shown, not
    waited; if-conditions are evaluated for real against the contact; the goal is checked before each step."""
    from smarketing.segments.queries import matching

    path: list[dict] = []
    now = timezone.now()
    latest = (
        Enrollment.objects.filter(workflow=workflow, contact=contact)
        .order_by("-sequence")
        .values("status", "entered_at", "sequence")
        .first()
    )
    refused = _refused(workflow, latest, now)
    if refused:
        path.append(
            {
                "step_id": "",
                "type": "enrollment",
                "label": "Enrollment",
                "status": "skipped",
                "summary": f"Would not enroll now: {refused}.",
                "branch": None,
                "wait_until": None,
            }
        )
    goal = workflow.goal
    enrollment = Enrollment(workflow=workflow, contact=contact, entered_at=now, sequence=1)
    definition = workflow.definition or {}
    step_id = wfdef.first_step_id(definition)
    moment = now
    seen = 0
    # Inside a transaction rolled back at the end: a belt to the actions' braces (dry_run changes nothing).
    with transaction.atomic():
        while step_id is not None and seen < wfdef.MAX_STEPS:
            seen += 1
            if goal and matching(goal, now=moment, validate=False).filter(pk=contact.pk).exists():
                path.append(
                    {
                        "step_id": step_id,
                        "type": "goal",
                        "label": "Goal",
                        "status": "done",
                        "summary": "Would leave here: the contact meets the goal.",
                        "branch": None,
                        "wait_until": None,
                    }
                )
                break
            step = wfdef.find_step(definition, step_id)
            action = actions.get(step["type"])
            ctx = actions.StepContext(
                workflow=workflow, enrollment=enrollment, contact=contact, step=step, now=moment, dry=True
            )
            outcome = action.dry_run(ctx)
            path.append(
                {
                    "step_id": step_id,
                    "type": step["type"],
                    "label": action.label,
                    "status": outcome.status,
                    "summary": outcome.summary or f"Would: {action.describe(step.get('params') or {})}",
                    "branch": outcome.branch,
                    "wait_until": outcome.wait_until,
                }
            )
            if outcome.end:
                break
            if outcome.wait_until is not None and outcome.wait_until > moment:
                moment = outcome.wait_until
            step_id = wfdef.next_step_id(definition, step_id, outcome.branch)
        transaction.set_rollback(True)
    return path


def move_on_contact_merge(primary_id: int, duplicate_id: int) -> None:
    """A merged contact's enrollments in workflows the survivor was never in move to it (with their step runs);
    in a workflow both were in, the duplicate's live one ends ("left the workflow", on the survivor's
    timeline) before it goes with the duplicate."""
    have = Enrollment.objects.filter(contact_id=primary_id).values("workflow_id")
    Enrollment.objects.filter(contact_id=duplicate_id).exclude(workflow_id__in=have).update(contact_id=primary_id)
    live = Enrollment.objects.filter(contact_id=duplicate_id, status=EnrollmentStatus.ACTIVE).select_related("workflow")
    for enrollment in live:
        end_enrollments(
            enrollment.workflow,
            [(enrollment.pk, primary_id)],
            EnrollmentStatus.EXITED,
            "Merged into a contact already in this workflow",
        )
