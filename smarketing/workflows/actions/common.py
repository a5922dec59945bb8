"""Helpers the action modules share (no action is registered here)."""

from django.core.exceptions import ValidationError

from smarketing.accounts.access import system_actor
from smarketing.core.models import Origin


def actor():
    """Who a workflow step acts as: the system, recorded with the workflow origin (never a person's rights)."""
    return system_actor(Origin.WORKFLOW)


def step_reason(ctx) -> str:
    """The words histories record for a change a step made: "Workflow 'Nurture', step s3"."""
    return f"Workflow '{ctx.workflow.name}', step {ctx.step.get('id', '?')}"[:300]


def params_of(ctx) -> dict:
    return ctx.step.get("params") or {}


def integer(params: dict, key: str, *, label: str, required: bool = True, low=None, high=None):
    raw = params.get(key)
    if raw in (None, ""):
        if required:
            raise ValidationError({key: f"Choose {label}."})
        return None
    if isinstance(raw, bool):
        raise ValidationError({key: f"{label.capitalize()}: {raw!r} is not a number."})
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValidationError({key: f"{label.capitalize()}: {raw!r} is not a number."}) from None
    if low is not None and value < low or high is not None and value > high:
        raise ValidationError({key: f"{label.capitalize()}: a number from {low} to {high}."})
    return value


def text(params: dict, key: str, *, label: str, max_length: int, required: bool = False) -> str:
    raw = params.get(key)
    value = "" if raw is None else str(raw).strip()
    if "\x00" in value:
        raise ValidationError({key: f"{label.capitalize()} contains a NUL character."})
    if required and not value:
        raise ValidationError({key: f"Write {label}."})
    if len(value) > max_length:
        raise ValidationError({key: f"{label.capitalize()}: at most {max_length} characters."})
    return value


def boolean(params: dict, key: str, default: bool = False) -> bool:
    raw = params.get(key, default)
    if isinstance(raw, str):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return bool(raw)


def only(params: dict, allowed: set[str]) -> None:
    """Unknown keys are an error (a typo in an API payload must not be silently ignored)."""
    unknown = set(params or {}) - allowed
    if unknown:
        raise ValidationError({k: "Unknown setting for this step." for k in sorted(unknown)})


def would(description: str) -> str:
    """ "Set plan to Pro" → "Would set plan to Pro" (the dry run's words)."""
    return f"Would {description[:1].lower()}{description[1:]}" if description else "Would do nothing"
