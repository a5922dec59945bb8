"""Showing touches: what the timeline templates need on each touch, whatever app declared its kind."""

from smarketing.timeline import kinds
from smarketing.timeline.models import Touchpoint


def _text(details: dict, key: str) -> str:
    value = details.get(key)
    return value if isinstance(value, str) else ""


def decorate_touches(touches: list[Touchpoint]) -> None:
    """Attach the label, icon and template of each touch's kind and the texts its details carry.

    Render the touches with `timeline/touch.html`. Each kind's own `decorate` hook runs once for all its touches
    on the page, so a page costs the same number of queries however many rows it shows.
    """
    by_kind: dict[str, list[Touchpoint]] = {}
    for touch in touches:
        details = touch.details if isinstance(touch.details, dict) else {}
        # The keys every writer may use (the API documents `body` and `outcome`); only strings are shown.
        touch.body_text = _text(details, "body")
        touch.outcome = _text(details, "outcome")
        touch.reason = _text(details, "reason")
        declared = kinds.find_kind(touch.kind)
        touch.kind_label = kinds.label(touch.kind)
        touch.kind_icon = declared.icon if declared else ""
        touch.item_template = (declared.template if declared else "") or kinds.GENERIC_TEMPLATE
        if declared is not None and declared.decorate is not None:
            by_kind.setdefault(touch.kind, []).append(touch)
    for key, group in by_kind.items():
        kinds.get_kind(key).decorate(group)
