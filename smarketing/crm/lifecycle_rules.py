"""What a lifecycle move means: forward, backward (a recycle, which needs a reason), or no move at all.

Pure functions over stage values, no database: the service (crm.services.change_lifecycle_stage), the importer
and the demo generator ask the same questions here, so they cannot disagree about what counts as backward.
"""

from dataclasses import dataclass

from smarketing.crm.models import LIFECYCLE_ORDER, LifecycleStage

RECYCLE_NEEDS_REASON = "Moving a contact back to an earlier stage (recycling) needs a reason."


@dataclass(frozen=True)
class LifecycleMove:
    """A move from one stage to another; `backward` moves (recycles) need allow_backward and a reason."""

    from_stage: str
    to_stage: str
    backward: bool

    @property
    def verb(self) -> str:
        return "recycled" if self.backward else "moved"

    def refusal(self, *, reason: str, allow_backward: bool) -> str | None:
        """Why this move may not happen with this reason and permission, or None when it may."""
        if self.backward and not (allow_backward and (reason or "").strip()):
            return RECYCLE_NEEDS_REASON
        return None


def is_stage(value: str) -> bool:
    return value in LifecycleStage.values


def rank(stage: str) -> int | None:
    """Position on the funnel; None for stages off it ("other"), which may be entered or left freely."""
    return LIFECYCLE_ORDER.index(stage) if stage in LIFECYCLE_ORDER else None


def lifecycle_move(from_stage: str, to_stage: str) -> LifecycleMove | None:
    """The move from `from_stage` to `to_stage`, or None when they are the same stage."""
    if from_stage == to_stage:
        return None
    old, new = rank(from_stage), rank(to_stage)
    return LifecycleMove(from_stage, to_stage, backward=old is not None and new is not None and new < old)


def is_backward(from_stage: str, to_stage: str) -> bool:
    move = lifecycle_move(from_stage, to_stage)
    return move is not None and move.backward


def promotes(current: str, target: str) -> bool:
    """Does reaching `target` (a deal making its contact an opportunity, a win a customer) move `current` up?

    A stage off the funnel counts as a lead: a deal still makes such a contact an opportunity.
    """
    current_rank = rank(current)
    if current_rank is None:
        current_rank = LIFECYCLE_ORDER.index(LifecycleStage.LEAD)
    return current_rank < LIFECYCLE_ORDER.index(target)
