"""Test-only workflow actions: each leaves a countable row (an AuditEntry named after the step) so a test can
prove a step ran, and ran once. Imported by the tests (and preloaded into real workers)."""

import os
import time

from django.core.exceptions import ValidationError

from smarketing.core.models import AuditEntry
from smarketing.workflows.actions import Action, StepOutcome, action, all_actions

MARK = "test_mark"


def marks(contact=None, step_id=None):
    rows = AuditEntry.objects.filter(action=MARK)
    if contact is not None:
        rows = rows.filter(object_id=str(contact.pk))
    if step_id is not None:
        rows = rows.filter(object_repr=step_id)
    return rows


def _entry(ctx) -> AuditEntry:
    return AuditEntry(action=MARK, object_type="crm.contact", object_id=str(ctx.contact.pk), object_repr=ctx.step["id"])


@action("test_mark", label="Test: mark")
class Mark(Action):
    def validate(self, params):
        if params.get("bad"):
            raise ValidationError("Bad params.")
        return {"note": str(params.get("note", ""))[:50]}

    def run(self, ctx):
        _entry(ctx).save()
        delay = float(os.environ.get("WORKFLOW_TEST_MARK_DELAY", "0") or 0)
        if delay:
            time.sleep(delay)  # the worker test kills a worker while it sits here, mid-batch
        return StepOutcome(summary=f"Marked {ctx.contact.pk}")

    def dry_run(self, ctx):
        return StepOutcome(summary=f"Would mark {ctx.contact.pk}")

    def describe(self, params):
        return "Mark the contact"


@action("test_batch_mark", label="Test: mark in a batch")
class BatchMark(Action):
    batches: list[int] = []

    def run(self, ctx):
        if (ctx.contact.title or "") == "poison":
            raise RuntimeError("poisoned contact")
        _entry(ctx).save()
        return StepOutcome(summary="Marked one")

    def run_batch(self, ctxs):
        BatchMark.batches.append(len(ctxs))
        if any((ctx.contact.title or "") == "poison" for ctx in ctxs):
            raise RuntimeError("poisoned batch")
        AuditEntry.objects.bulk_create([_entry(ctx) for ctx in ctxs])
        return [StepOutcome(summary="Marked in a batch") for _ in ctxs]


@action("test_fail", label="Test: always fails")
class Fail(Action):
    def run(self, ctx):
        _entry(ctx).save()  # rolled back with the failure: never counted
        raise RuntimeError("this step always fails")


@action("test_skip", label="Test: skipped")
class Skip(Action):
    def run(self, ctx):
        return StepOutcome(status="skipped", summary="Skipped: unsubscribed")


class EnrollIn(Action):
    """A stand-in until the wfactions part brings the real one (same name and params)."""

    def validate(self, params):
        return {"workflow": int(params.get("workflow") or 0)}

    def run(self, ctx):
        from smarketing.workflows import services
        from smarketing.workflows.models import Workflow

        target = Workflow.objects.get(pk=ctx.step["params"]["workflow"])
        enrolled = services.enroll(target, ctx.contact, enrolled_by=ctx.workflow)
        return StepOutcome(summary="Enrolled" if enrolled else "Not enrolled", result={"enrolled": bool(enrolled)})


# The real action comes with the wfactions part; register the stand-in only while it is absent.
if "enroll_in_workflow" not in all_actions():
    action("enroll_in_workflow", label="Enroll in another workflow")(EnrollIn)


@action("test_slow", label="Test: slow mark")
class SlowMark(Action):
    def run(self, ctx):
        _entry(ctx).save()
        time.sleep(0.5)  # a racing runner arrives while this transaction is open
        return StepOutcome(summary="Marked slowly")
