"""A workflow's trigger, steps and goal: what a stored definition may contain, the check that enforces it, and
the walk the runner follows from one step to the next.

    trigger    = {"type": "form_submitted", "params": {"form": 3}}
    definition = {"steps": [step, ...]}
    step       = {"id": "s1a2b3c4", "type": "wait", "params": {...}}
               | {"id": ..., "type": "if", "params": {...}, "yes": [step, ...], "no": [step, ...]}
    goal       = a segments definition, or None

Step ids are the enrollments' bookmarks (`Enrollment.current_step`, `StepRun.step_id`): a step keeps its id
when the workflow is edited, and a new step gets a fresh random id, never one a deleted step had, so an
enrollment never lands on a different step that happens to reuse a name.

Order: the steps of a list run top to bottom; an `if` step continues with the first step of its chosen branch,
and the end of a branch continues after the `if`. The end of the top list ends the enrollment.
"""

import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from smarketing.workflows import actions

MAX_STEPS = 200
MAX_DEPTH = 5  # if-steps nested inside each other's branches
STEP_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
BRANCHES = ("yes", "no")
FLOW_TYPES = ("if",)  # steps with branches


# -- triggers ------------------------------------------------------------------------------------------------


def _integer(raw, message: str, *, minimum: int = 1, maximum: int = 10**12) -> int:
    if isinstance(raw, bool):
        raise ValidationError(message)
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int) or not minimum <= raw <= maximum:
        raise ValidationError(message)
    return raw


def _optional_int(params: dict, key: str, message: str) -> int | None:
    raw = params.get(key)
    return None if raw in (None, "") else _integer(raw, message)


def _text(raw, message: str, *, maximum: int = 200) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > maximum:
        raise ValidationError(message)
    return raw.strip()


def _no_params(params: dict) -> dict:
    return {}


def _form_params(params: dict) -> dict:
    from smarketing.forms.models import Form

    form = _optional_int(params, "form", "Choose a form.")
    if form is not None and not Form.objects.filter(pk=form).exists():
        raise ValidationError(f"Form {form} does not exist.")
    return {"form": form}


def _property_params(params: dict) -> dict:
    from smarketing.segments import schema

    field = params.get("field")
    if not isinstance(field, str) or not field:
        raise ValidationError("Choose the property that changes.")
    known = {key for key, f in schema.all_fields().items() if f.type not in (schema.LIST, schema.SEGMENT)}
    if field.startswith("company."):
        raise ValidationError("Choose a property of the contact.")
    if field not in known and field != "owner":
        raise ValidationError(f"Unknown property {field!r}.")
    value = params.get("value")
    if value in (None, ""):
        return {"field": field, "value": None}
    if not isinstance(value, str | int | float | bool):
        raise ValidationError("The value is a text, a number or yes/no.")
    return {"field": field, "value": str(value)[:200]}


def _lifecycle_params(params: dict) -> dict:
    from smarketing.crm.models import LifecycleStage

    stage = params.get("stage")
    if stage in (None, ""):
        return {"stage": None}
    if stage not in LifecycleStage.values:
        raise ValidationError(f"{stage!r} is not a lifecycle stage.")
    return {"stage": stage}


def _score_params(params: dict) -> dict:
    threshold = params.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | str):
        raise ValidationError("The score threshold is a number.")
    try:
        threshold = float(threshold)
    except ValueError:
        raise ValidationError("The score threshold is a number.") from None
    group = params.get("group")
    group = None if group in (None, "") else _text(str(group), "The score group is a name or an id.", maximum=100)
    return {"threshold": int(threshold) if threshold == int(threshold) else threshold, "group": group}


def _email_params(params: dict) -> dict:
    return {"campaign": _optional_int(params, "campaign", "Choose a campaign.")}


def _page_params(params: dict) -> dict:
    return {"url_contains": _text(params.get("url_contains"), "Type a part of the page address (at most 200).")}


def _deal_params(params: dict) -> dict:
    from smarketing.crm.models import Stage

    pipeline = _optional_int(params, "pipeline", "Choose a pipeline.")
    stage = _optional_int(params, "stage", "Choose a stage.")
    if stage is not None:
        found = Stage.objects.filter(pk=stage).values_list("pipeline_id", flat=True).first()
        if found is None:
            raise ValidationError(f"Stage {stage} does not exist.")
        pipeline = pipeline or found
    return {"pipeline": pipeline, "stage": stage}


def _segment_params(params: dict) -> dict:
    from smarketing.segments.models import Segment

    segment = _integer(params.get("segment"), "Choose a segment.")
    if not Segment.objects.filter(pk=segment).exists():
        raise ValidationError(f"Segment {segment} does not exist.")
    return {"segment": segment}


def _date_params(params: dict) -> dict:
    from smarketing.segments import schema

    field = params.get("field")
    fields = schema.all_fields()
    if not isinstance(field, str) or field not in fields or fields[field].type not in (schema.DATE, schema.DATETIME):
        raise ValidationError("Choose a date property.")
    days = _integer(params.get("days_before", 0), "Days before is a number from 0 to 365.", minimum=0, maximum=365)
    return {"field": field, "days_before": days}


@dataclass(frozen=True)
class TriggerSpec:
    """One kind of trigger: what the builder shows, its params check, and what sets it off."""

    label: str
    validate: Callable[[dict], dict]
    event: str | None = None  # the outbox event it listens to; None for manual and periodic triggers
    periodic: bool = False


TRIGGERS: dict[str, TriggerSpec] = {
    "manual": TriggerSpec("Enrolled by hand or by another workflow", _no_params),
    "contact_created": TriggerSpec("Contact is created", _no_params, event="contact.created"),
    "form_submitted": TriggerSpec("Form is submitted", _form_params, event="form.submitted"),
    "property_changed": TriggerSpec("Property changes", _property_params, event="contact.updated"),
    "lifecycle_changed": TriggerSpec("Lifecycle stage changes", _lifecycle_params, event="contact.lifecycle_changed"),
    "score_crossed": TriggerSpec("Score crosses a threshold", _score_params, event="contact.score_changed"),
    "email_opened": TriggerSpec("Marketing email is opened", _email_params, event="email.opened"),
    "email_clicked": TriggerSpec("Link in a marketing email is clicked", _email_params, event="email.clicked"),
    "page_viewed": TriggerSpec("Page is visited", _page_params, event="page.viewed"),
    "deal_stage_changed": TriggerSpec("Deal moves to a stage", _deal_params, event="deal.stage_changed"),
    # The scheduling pillar publishes it; until it declares the event, the trigger simply never fires.
    "meeting_booked": TriggerSpec("Meeting is booked", _no_params, event="meeting.booked"),
    "segment_entered": TriggerSpec("Contact enters a segment", _segment_params, periodic=True),
    "segment_left": TriggerSpec("Contact leaves a segment", _segment_params, periodic=True),
    "date_reached": TriggerSpec("A date property is near", _date_params, periodic=True),
}


def validate_trigger(trigger) -> dict:
    """The clean trigger ({"type", "params"}); an empty trigger means "manual"."""
    if trigger in (None, "", {}):
        return {"type": "manual", "params": {}}
    if not isinstance(trigger, dict):
        raise ValidationError("A trigger is an object with a type and params.")
    unknown = set(trigger) - {"type", "params"}
    if unknown:
        raise ValidationError(f"Unknown key in the trigger: {', '.join(sorted(unknown))}.")
    spec = TRIGGERS.get(trigger.get("type"))
    if spec is None:
        raise ValidationError(f"Unknown trigger {trigger.get('type')!r}.")
    params = trigger.get("params") or {}
    if not isinstance(params, dict):
        raise ValidationError("The trigger's params are an object.")
    return {"type": trigger["type"], "params": spec.validate(params)}


def validate_goal(goal) -> dict | None:
    """The clean goal (a segments definition), or None for no goal; an empty condition is no goal."""
    from smarketing.segments import schema

    if goal in (None, "", {}):
        return None
    clean = schema.validate_definition(goal)
    return clean if clean["rules"] else None


# -- steps ---------------------------------------------------------------------------------------------------


def new_step_id() -> str:
    return "s" + secrets.token_hex(4)


def validate_definition(definition) -> dict:
    """The clean definition, or ValidationError with a sentence the builder shows.

    Every step's params go through its action's `validate`; ids are kept when given (and must be unique),
    made when missing.
    """
    if definition in (None, "", {}):
        return {"steps": []}
    if not isinstance(definition, dict) or set(definition) - {"steps"}:
        raise ValidationError("A definition is an object with a list of steps.")
    seen: set[str] = set()
    count = [0]

    def steps(raw, depth: int) -> list[dict]:
        if not isinstance(raw, list):
            raise ValidationError("Steps are a list.")
        return [step(item, depth) for item in raw]

    def step(raw, depth: int) -> dict:
        if not isinstance(raw, dict):
            raise ValidationError("A step is an object with a type and params.")
        count[0] += 1
        if count[0] > MAX_STEPS:
            raise ValidationError(f"A workflow has at most {MAX_STEPS} steps.")
        type_ = raw.get("type")
        allowed = {"id", "type", "params"} | (set(BRANCHES) if type_ in FLOW_TYPES else set())
        unknown = set(raw) - allowed
        if unknown:
            raise ValidationError(f"Unknown key in a step: {', '.join(sorted(unknown))}.")
        action = actions.get(type_) if isinstance(type_, str) else None
        if action is None:
            raise ValidationError("Every step needs a type.")
        step_id = raw.get("id") or new_step_id()
        if not isinstance(step_id, str) or not STEP_ID.match(step_id):
            raise ValidationError(f"Step id {step_id!r}: letters, digits, - and _, at most 40.")
        if step_id in seen:
            raise ValidationError(f"Two steps have the id {step_id!r}.")
        seen.add(step_id)
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            raise ValidationError(f"Step {action.label!r}: its params are an object.")
        try:
            clean = {"id": step_id, "type": type_, "params": action.validate(params)}
        except ValidationError as error:
            raise ValidationError(f"{action.label}: {' '.join(error.messages)}") from None
        if type_ in FLOW_TYPES:
            if depth >= MAX_DEPTH:
                raise ValidationError(f"If-steps nest at most {MAX_DEPTH} levels deep.")
            for branch in BRANCHES:
                clean[branch] = steps(raw.get(branch) or [], depth + 1)
        return clean

    return {"steps": steps(definition.get("steps") or [], 0)}


def iter_steps(definition: dict) -> Iterator[dict]:
    """Every step, depth first in reading order (an if-step before its yes branch, then its no branch)."""

    def walk(steps):
        for step in steps:
            yield step
            for branch in BRANCHES:
                yield from walk(step.get(branch) or [])

    yield from walk((definition or {}).get("steps") or [])


def find_step(definition: dict, step_id: str) -> dict | None:
    return next((s for s in iter_steps(definition) if s["id"] == step_id), None)


def first_step_id(definition: dict) -> str | None:
    steps = (definition or {}).get("steps") or []
    return steps[0]["id"] if steps else None


def _places(definition: dict) -> dict[str, tuple[list, int, dict | None]]:
    """step id → (the list holding it, its index there, the if-step whose branch that list is)."""
    places: dict[str, tuple[list, int, dict | None]] = {}

    def walk(steps, parent):
        for index, step in enumerate(steps):
            places[step["id"]] = (steps, index, parent)
            for branch in BRANCHES:
                walk(step.get(branch) or [], step)

    walk((definition or {}).get("steps") or [], None)
    return places


def next_step_id(definition: dict, step_id: str, branch: str | None = None) -> str | None:
    """The step after `step_id` (into `branch` of an if-step when given); None at the end of the workflow."""
    places = _places(definition)
    if step_id not in places:
        return None
    steps, index, parent = places[step_id]
    if branch in BRANCHES:
        chosen = steps[index].get(branch) or []
        if chosen:
            return chosen[0]["id"]
    while True:
        if index + 1 < len(steps):
            return steps[index + 1]["id"]
        if parent is None:
            return None
        steps, index, parent = places[parent["id"]]


def surviving_step(old: dict, new: dict, step_id: str) -> str | None:
    """Where an enrollment waiting at `step_id` goes when an edit removed that step: the first step after it
    (in the old order) that the new definition still has; None when nothing after it is left."""
    kept = {s["id"] for s in iter_steps(new)}
    seen = set()
    current = step_id
    while current is not None and current not in seen:
        seen.add(current)
        current = next_step_id(old, current)
        if current in kept:
            return current
    return None


def enrolls_in(definition: dict) -> set[int]:
    """The workflows an `enroll_in_workflow` step of this definition enrolls contacts into."""
    found = set()
    for step in iter_steps(definition):
        if step["type"] == "enroll_in_workflow":
            target = (step.get("params") or {}).get("workflow")
            if isinstance(target, int) and not isinstance(target, bool):
                found.add(target)
            elif isinstance(target, str) and target.isdigit():
                found.add(int(target))
    return found


def check_loops(workflow_id: int | None, name: str, definition: dict) -> None:
    """Refuse a definition whose enroll-in-workflow steps lead back to this workflow, at any depth."""
    from smarketing.workflows.models import Workflow, WorkflowStatus

    targets = enrolls_in(definition)
    if not targets:
        return
    if workflow_id is not None and workflow_id in targets:
        raise ValidationError(f"'{name}' cannot enroll contacts into itself.")
    if workflow_id is None:
        return
    graph = {
        pk: enrolls_in(d)
        for pk, d in Workflow.objects.exclude(status=WorkflowStatus.ARCHIVED)
        .exclude(pk=workflow_id)
        .values_list("pk", "definition")
    }
    names = dict(Workflow.objects.filter(pk__in=set(graph) | targets).values_list("pk", "name"))
    # Depth-first from each target, keeping the path so the message can show the loop.
    stack = [(target, [target]) for target in sorted(targets)]
    visited = set()
    while stack:
        node, path = stack.pop()
        if node == workflow_id:
            chain = " → ".join([name] + [names.get(p, f"workflow {p}") for p in path[:-1]] + [name])
            raise ValidationError(f"These workflows would enroll contacts in a loop: {chain}.")
        if node in visited:
            continue
        visited.add(node)
        for following in sorted(graph.get(node, ())):
            stack.append((following, path + [following]))
