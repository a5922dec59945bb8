"""The kinds of the test app: everything a pillar adds to the timeline, and nothing outside this folder."""

from smarketing.timeline.kinds import TouchKind
from smarketing.timeline.models import Team, Touchpoint

DEMO_BOOKED = "kindapp_demo_booked"  # API clients may record it; its own template and icon
SURVEY_ANSWERED = "kindapp_survey_answered"  # written by the app only; the generic item

decorated: list[list[int]] = []  # the ids each call of the hook saw, so tests can count the calls


def attach_slots(touches: list[Touchpoint]) -> None:
    decorated.append([touch.pk for touch in touches])
    for touch in touches:
        touch.slot = touch.details.get("slot", "") if isinstance(touch.details, dict) else ""


KINDS = [
    TouchKind(
        DEMO_BOOKED,
        "Demo booked (test app)",
        Team.MARKETING,
        icon="✦",
        template="kindapp/demo_booked.html",
        api_creatable=True,
        decorate=attach_slots,
    ),
    TouchKind(SURVEY_ANSWERED, "Survey answered (test app)", Team.SALES),
]
