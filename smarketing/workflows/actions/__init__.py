"""The workflow actions: one module per action under this package, each registering itself with `@action`.

The contract between the engine (`workflows/engine.py`, `runner.py`) and the actions:

    @action("set_property", label="Set or clear a property")
    class SetProperty(Action):
        def validate(self, params: dict) -> dict: ...          # clean params or raise ValidationError (builder, API)
        def run(self, ctx: StepContext) -> StepOutcome: ...    # do it, for real, once
        def dry_run(self, ctx: StepContext) -> StepOutcome: ...  # say what run() would do; change nothing
        def describe(self, params: dict) -> str: ...           # one line for the builder ("Set plan to Pro")

Optional, for set-based work: `run_batch(self, ctxs: list[StepContext]) -> list[StepOutcome]` (one outcome per
context, in order). The runner uses it when a batch of enrollments reaches the same step at once (e.g.
set_property as one UPDATE for 500 contacts), in one transaction with the batch's StepRuns, which are inserted
after it (so its contexts have `step_run=None`: an action that needs the StepRun as an idempotency key, like an
email or a webhook, implements only `run()`); if it raises (or an
outcome says "failed"), that transaction rolls back and the runner runs the batch again with `run()`, one
enrollment at a time in its own savepoint, so one bad row fails alone and the others go on.

The engine calls `run()` inside the transaction that records the StepRun (unique per enrollment and step id),
so an action whose effect is in the database commits with its record, exactly once. An action whose effect is
outside (an email, a webhook) hands it to the sender or the webhook delivery there, in the same transaction,
with an idempotency key of the StepRun; they do the outside part after commit, once.

Flow actions (wait, if) are actions too: `StepOutcome.wait_until` parks the enrollment until then; `branch`
("yes"/"no") picks the branch the engine walks next.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError


@dataclass
class StepContext:
    workflow: object  # workflows.Workflow
    enrollment: object  # workflows.Enrollment (unsaved in a dry run)
    contact: object  # crm.Contact
    step: dict  # {"id", "type", "params"}
    now: datetime
    step_run: object | None = None  # workflows.StepRun (None in a dry run)
    dry: bool = False


@dataclass
class StepOutcome:
    status: str = "done"  # workflows.StepStatus: done, skipped, waiting, failed
    summary: str = ""  # "Sent 'Welcome' to ada@example.com", shown on the workflow and the timeline
    result: dict = field(default_factory=dict)
    wait_until: datetime | None = None
    branch: str | None = None  # "yes" / "no" for if steps
    end: bool = False  # stop the enrollment after this step (e.g. it was enrolled elsewhere and must leave)


class Action:
    type = ""
    label = ""

    def validate(self, params: dict) -> dict:
        return dict(params or {})

    def run(self, ctx: StepContext) -> StepOutcome:
        raise NotImplementedError

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        return StepOutcome(summary=f"Would: {self.describe(ctx.step.get('params') or {})}")

    def describe(self, params: dict) -> str:
        return self.label


_REGISTRY: dict[str, Action] = {}


def action(type_: str, *, label: str):
    def register(cls):
        if type_ in _REGISTRY:
            raise RuntimeError(f"Two workflow actions are called {type_!r}")
        instance = cls()
        instance.type, instance.label = type_, label
        _REGISTRY[type_] = instance
        return cls

    return register


def get(type_: str) -> Action:
    load()
    try:
        return _REGISTRY[type_]
    except KeyError:
        raise ValidationError(f"Unknown step type {type_!r}.") from None


def all_actions() -> dict[str, Action]:
    load()
    return dict(_REGISTRY)


def load() -> None:
    """Import every action module of this package once (each registers itself)."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
