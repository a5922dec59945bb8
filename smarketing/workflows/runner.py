"""The workflow runner: claims due enrollments, runs each one's next step exactly once, and moves it along.

A pass (`run_once`):

1. Claim. Up to WORKFLOW_BATCH_SIZE active enrollments whose `next_run_at` has come, of active workflows, whose
   lease is free or expired, get this pass's token in `claimed_by` and a lease in `claimed_until`, with a
   conditional UPDATE (`... WHERE claimed_until IS NULL OR claimed_until < now`): two runners cannot both win
   a row. On PostgreSQL the candidates are read FOR UPDATE SKIP LOCKED, so a second runner takes the next rows
   instead of queueing behind the first. A runner that dies leaves its lease to expire; the next pass takes
   the rows over.
2. Goal. Enrollments whose contact now matches the workflow's goal leave (GOAL_MET): one query per workflow.
3. Step. The claimed enrollments at the same step of the same workflow run together. Each step a contact
   reaches is one StepRun row, unique per (enrollment, step id), inserted in the same transaction as the
   action's effect and the enrollment's move: a duplicate key means the step ran already (a runner whose lease
   expired mid-batch, a replay), so it is not run again. An action with `run_batch(ctxs)` does the whole group
   in one transaction (StepRuns bulk-inserted, one UPDATE for the moves); when that transaction fails, the
   group is run again one enrollment at a time, each in its own savepoint, so one bad row fails alone.
4. Failure. An action that raises (or returns status "failed") is retried MAX_ATTEMPTS times with a growing
   delay, then the enrollment ends FAILED; the StepRun keeps the error and the attempts.
5. Waits. A `wait_until` in the future leaves the StepRun WAITING and sets `next_run_at`; when that comes, the
   StepRun becomes DONE and the enrollment moves on. It is all rows, so a restart loses nothing.

Steps that follow each other without a wait run in the same pass (up to MAX_STEPS_PER_PASS), so an enrollment
goes from its trigger to its first wait in one claim.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from smarketing.core.bulk import bulk_insert
from smarketing.workflows import actions, services
from smarketing.workflows import definition as wfdef
from smarketing.workflows.actions import StepContext, StepOutcome
from smarketing.workflows.models import Enrollment, EnrollmentStatus, StepRun, StepStatus, Workflow, WorkflowStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=10))  # after the 1st and the 2nd failure
MAX_STEPS_PER_PASS = 50  # an enrollment's steps run back to back in one pass at most this many times
DONE_STATES = (StepStatus.DONE, StepStatus.SKIPPED)


class StepFailed(Exception):
    """An action reported failure (StepOutcome status "failed") rather than raising."""


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}"


# -- claiming ----------------------------------------------------------------------------------------------------


def _due(now: datetime, workflows: list[int]):
    # The active workflows as plain ids, not a join: the query is then exactly the partial index
    # enrollment_due_idx (status 'active', by next_run_at) walked in order up to the LIMIT, whatever the
    # planner's statistics say (a join with stale statistics sorted a million rows for every claim).
    return Enrollment.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=EnrollmentStatus.ACTIVE,
        next_run_at__lte=now,
        workflow_id__in=workflows,
    )


def claim(*, limit: int | None = None, now: datetime | None = None, worker: str = "") -> tuple[str, list[int]]:
    """Lease up to `limit` due enrollments to a fresh token; returns (token, the ids it won)."""
    now = now or timezone.now()
    limit = limit or settings.WORKFLOW_BATCH_SIZE
    token = f"{(worker or worker_name())[:48]}:{uuid.uuid4().hex[:12]}"
    until = now + timedelta(seconds=settings.WORKFLOW_LEASE_SECONDS)
    workflows = list(Workflow.objects.filter(status=WorkflowStatus.ACTIVE).values_list("pk", flat=True))
    if not workflows:
        return token, []
    with transaction.atomic():
        candidates = _due(now, workflows).order_by("next_run_at")
        if connection.vendor == "postgresql":
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = list(candidates.values_list("pk", flat=True)[:limit])
        if not ids:
            return token, []
        # Conditional: on SQLite (no row locks) another runner may have read the same candidates; the lease
        # condition lets exactly one UPDATE take each row.
        _due(now, workflows).filter(pk__in=ids).update(claimed_by=token, claimed_until=until)
    # By primary key: claimed_by has no index (a million-row scan per claim at scale).
    return token, list(Enrollment.objects.filter(pk__in=ids, claimed_by=token).values_list("pk", flat=True))


def release(token: str, ids: list[int]) -> None:
    Enrollment.objects.filter(pk__in=ids, claimed_by=token).update(claimed_by="", claimed_until=None)


# -- running -----------------------------------------------------------------------------------------------------


def run_once(*, limit: int | None = None, now: datetime | None = None, worker: str = "") -> int:
    """One pass: claim a batch and run it. Returns how many enrollments it claimed."""
    token, ids = claim(limit=limit, now=now, worker=worker)
    if not ids:
        return 0
    try:
        process(token, ids)
    finally:
        release(token, ids)
    return len(ids)


def run_due(*, budget_seconds: float = 50, now: datetime | None = None) -> int:
    """Passes until nothing is due or the time budget is spent (a job must not hold a worker forever)."""
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < budget_seconds:
        claimed = run_once(now=now)
        total += claimed
        if not claimed:
            break
    return total


def process(token: str, ids: list[int]) -> None:
    pending = list(
        Enrollment.objects.filter(pk__in=ids, claimed_by=token, status=EnrollmentStatus.ACTIVE).select_related(
            "workflow", "contact"
        )
    )
    for _ in range(MAX_STEPS_PER_PASS):
        if not pending:
            return
        pending = _round(pending)


def _round(pending: list[Enrollment]) -> list[Enrollment]:
    """Run the next step of each enrollment; returns those that go straight on to another step."""
    now = timezone.now()
    by_workflow: dict[int, list[Enrollment]] = defaultdict(list)
    for enrollment in pending:
        by_workflow[enrollment.workflow_id].append(enrollment)
    following: list[Enrollment] = []
    for enrollments in by_workflow.values():
        workflow = enrollments[0].workflow
        enrollments = _leave_at_goal(workflow, enrollments, now)
        groups: dict[str, list[Enrollment]] = defaultdict(list)
        finished = []
        for enrollment in enrollments:
            step_id = enrollment.current_step or wfdef.first_step_id(workflow.definition)
            if step_id is None or wfdef.find_step(workflow.definition, step_id) is None:
                finished.append(enrollment)  # the end of the workflow (or of what an edit left of it)
            else:
                groups[step_id].append(enrollment)
        if finished:
            with transaction.atomic():
                services.end_enrollments(
                    workflow, [(e.pk, e.contact_id) for e in finished], EnrollmentStatus.COMPLETED, now=now
                )
        for step_id, group in groups.items():
            following += _run_step(workflow, wfdef.find_step(workflow.definition, step_id), group, now)
    return following


def _leave_at_goal(workflow, enrollments: list[Enrollment], now: datetime) -> list[Enrollment]:
    if not workflow.goal:
        return enrollments
    from smarketing.segments.queries import matching

    contact_ids = [e.contact_id for e in enrollments]
    met = set(matching(workflow.goal, now=now, validate=False).filter(pk__in=contact_ids).values_list("pk", flat=True))
    if not met:
        return enrollments
    leaving = [e for e in enrollments if e.contact_id in met]
    with transaction.atomic():
        services.end_enrollments(
            workflow, [(e.pk, e.contact_id) for e in leaving], EnrollmentStatus.GOAL_MET, "Reached the goal", now=now
        )
    return [e for e in enrollments if e.contact_id not in met]


def _context(workflow, enrollment, step, now, run=None) -> StepContext:
    return StepContext(
        workflow=workflow, enrollment=enrollment, contact=enrollment.contact, step=step, now=now, step_run=run
    )


def _run_step(workflow, step: dict, group: list[Enrollment], now: datetime) -> list[Enrollment]:
    existing = {
        run.enrollment_id: run
        for run in StepRun.objects.filter(enrollment__in=[e.pk for e in group], step_id=step["id"])
    }
    fresh = [e for e in group if e.pk not in existing]
    following: list[Enrollment] = []
    for enrollment in group:
        run = existing.get(enrollment.pk)
        if run is None:
            continue
        if run.status in DONE_STATES:
            # It ran before (a replay after a lost lease): move on by what it decided, never run it again.
            with transaction.atomic():
                outcome = StepOutcome(status=run.status, branch=(run.result or {}).get("branch"))
                following += _advance(workflow, step, [(enrollment, outcome)], now)
        elif run.status == StepStatus.WAITING:
            with transaction.atomic():
                if StepRun.objects.filter(pk=run.pk, status=StepStatus.WAITING).update(
                    status=StepStatus.DONE, finished_at=now
                ):
                    following += _advance(workflow, step, [(enrollment, StepOutcome())], now)
        else:  # FAILED: a retry
            following += _run_one(workflow, step, enrollment, now, retry=run)
    if not fresh:
        return following
    action = actions.get(step["type"])
    if hasattr(action, "run_batch") and len(fresh) > 1:
        try:
            return following + _run_batch(workflow, step, action, fresh, now)
        except Exception:
            logger.info("workflow %s step %s: batch failed, running one by one", workflow.pk, step["id"], exc_info=True)
    for enrollment in fresh:
        following += _run_one(workflow, step, enrollment, now)
    return following


def _run_batch(workflow, step, action, group: list[Enrollment], now: datetime) -> list[Enrollment]:
    # The StepRuns go in after the action, with their outcome, in the same transaction: a duplicate key (one of
    # them ran elsewhere meanwhile) rolls the batch back, the action's writes included, and the caller runs the
    # group again row by row. So batch contexts have no step_run: an action that needs one as an idempotency
    # key (an email, a webhook) implements run() only.
    with transaction.atomic():
        outcomes = action.run_batch([_context(workflow, e, step, now) for e in group])
        if len(outcomes) != len(group):
            raise RuntimeError(f"{step['type']}.run_batch returned {len(outcomes)} outcomes for {len(group)}")
        if any(outcome.status == StepStatus.FAILED for outcome in outcomes):
            raise StepFailed("a row of the batch failed")
        runs = []
        for enrollment, outcome in zip(group, outcomes, strict=True):
            run = StepRun(enrollment=enrollment, step_id=step["id"], step_type=step["type"], started_at=now)
            _fill(run, outcome, now)
            runs.append(run)
        bulk_insert(runs)
        return _advance(workflow, step, list(zip(group, outcomes, strict=True)), now)


def _fill(run: StepRun, outcome: StepOutcome, now: datetime) -> None:
    waiting = outcome.wait_until is not None and outcome.wait_until > now
    run.status = (
        StepStatus.WAITING if waiting else (outcome.status if outcome.status in DONE_STATES else StepStatus.DONE)
    )
    run.summary = (outcome.summary or "")[:500]
    run.result = {**(outcome.result or {}), **({"branch": outcome.branch} if outcome.branch else {})}
    if waiting:
        run.result["wait_until"] = outcome.wait_until.isoformat()
    run.finished_at = None if waiting else now


def _run_one(workflow, step, enrollment: Enrollment, now: datetime, retry: StepRun | None = None) -> list[Enrollment]:
    action = actions.get(step["type"])
    attempt = (retry.attempts + 1) if retry else 1
    try:
        with transaction.atomic():
            if retry is not None:
                # Conditional: of two runners retrying the same failure, one takes the attempt.
                if not StepRun.objects.filter(pk=retry.pk, status=StepStatus.FAILED, attempts=retry.attempts).update(
                    attempts=attempt, error="", started_at=now
                ):
                    return []
                run = retry
                run.attempts = attempt
            else:
                try:
                    with transaction.atomic():
                        run = StepRun.objects.create(
                            enrollment=enrollment,
                            step_id=step["id"],
                            step_type=step["type"],
                            status=StepStatus.DONE,
                            started_at=now,
                        )
                except IntegrityError:
                    return []  # another runner holds or ran this step: it moves the enrollment on
            outcome = action.run(_context(workflow, enrollment, step, now, run))
            if outcome.status == StepStatus.FAILED:
                raise StepFailed(outcome.summary or "The step failed.")
            _fill(run, outcome, now)
            run.save(update_fields=["status", "summary", "result", "finished_at", "attempts"])
            return _advance(workflow, step, [(enrollment, outcome)], now)
    except Exception as error:  # noqa: BLE001 - any failure of an action is recorded on its StepRun, not raised
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        logger.warning("workflow %s step %s enrollment %s failed: %s", workflow.pk, step["id"], enrollment.pk, error)
        _record_failure(workflow, step, enrollment, attempt, error, now)
        return []


def _record_failure(workflow, step, enrollment, attempt: int, error: Exception, now: datetime) -> None:
    with transaction.atomic():
        StepRun.objects.update_or_create(
            enrollment=enrollment,
            step_id=step["id"],
            defaults={
                "step_type": step["type"],
                "status": StepStatus.FAILED,
                "error": f"{type(error).__name__}: {error}"[:2000],
                "attempts": attempt,
                "finished_at": now,
                "summary": f"Failed (attempt {attempt} of {MAX_ATTEMPTS})",
            },
        )
        if attempt >= MAX_ATTEMPTS:
            services.end_enrollments(
                workflow,
                [(enrollment.pk, enrollment.contact_id)],
                EnrollmentStatus.FAILED,
                f"Step {step['id']} failed {attempt} times",
                now=now,
            )
        else:
            Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.ACTIVE).update(
                next_run_at=now + RETRY_DELAYS[attempt - 1]
            )


def _advance(workflow, step, done: list[tuple[Enrollment, StepOutcome]], now: datetime) -> list[Enrollment]:
    """Move enrollments past `step` by their outcomes (in the caller's transaction); returns those that go on
    at once. Conditional on the enrollment still being at this step: a runner that lost its lease never moves
    an enrollment back."""
    at_step = Q(current_step=step["id"])
    if wfdef.first_step_id(workflow.definition) == step["id"]:
        at_step |= Q(current_step="")
    waiting: dict[datetime, list[Enrollment]] = defaultdict(list)
    moving: dict[str, list[Enrollment]] = defaultdict(list)
    ending: list[Enrollment] = []
    for enrollment, outcome in done:
        if outcome.wait_until is not None and outcome.wait_until > now:
            waiting[outcome.wait_until].append(enrollment)
            continue
        following = None if outcome.end else wfdef.next_step_id(workflow.definition, step["id"], outcome.branch)
        if following is None:
            ending.append(enrollment)
        else:
            moving[following].append(enrollment)
    active = Enrollment.objects.filter(at_step, status=EnrollmentStatus.ACTIVE)
    for until, enrollments in waiting.items():
        active.filter(pk__in=[e.pk for e in enrollments]).update(current_step=step["id"], next_run_at=until)
    going_on: list[Enrollment] = []
    for following, enrollments in moving.items():
        moved = active.filter(pk__in=[e.pk for e in enrollments]).update(current_step=following, next_run_at=now)
        if moved == len(enrollments):
            for enrollment in enrollments:
                enrollment.current_step = following
            going_on += enrollments
        # Otherwise some were moved or ended elsewhere meanwhile: the next claim picks up the rest from the rows.
    if ending:
        services.end_enrollments(workflow, [(e.pk, e.contact_id) for e in ending], EnrollmentStatus.COMPLETED, now=now)
    return going_on


# -- waking ------------------------------------------------------------------------------------------------------

_wake_lock = threading.Lock()
_last_wake = 0.0
WAKE_DEBOUNCE_SECONDS = 1.0


def wake() -> None:
    """Enqueue a runner job now (debounced per process), e.g. after enrollments commit."""
    global _last_wake
    with _wake_lock:
        if time.monotonic() - _last_wake < WAKE_DEBOUNCE_SECONDS:
            return
        _last_wake = time.monotonic()
    try:
        from smarketing.workflows.tasks import run_due_enrollments

        run_due_enrollments.enqueue()
    except Exception:  # noqa: BLE001 - the periodic beat runs it anyway
        logger.warning("could not enqueue the workflow runner", exc_info=True)
