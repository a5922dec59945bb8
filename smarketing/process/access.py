"""Who may do what with the handoff, on top of the platform rules in `accounts/access.py`.

| action                                         | admin | manager          | member        | read-only | system |
|------------------------------------------------|-------|------------------|---------------|-----------|--------|
| see their own handoff inbox                    | yes   | yes              | yes           | yes       | -      |
| accept, reject, log the first touch            | yes   | their team's     | their own     | no        | yes    |
| see the team queue, breaches, reassign         | yes   | their team's     | no            | no        | yes    |
| see the handoff report (rejections, SLA)       | yes   | yes              | yes           | yes       | yes    |
| change the SLA, routing, reasons, commitments  | yes   | no               | no            | no        | yes    |

The decision is the owner's: "their manager" is a manager of the team the handoff's owner belongs to (or of
the team it was routed to, when it has no owner).
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.access import can_write, is_admin, is_person, is_system, role_of
from smarketing.accounts.models import Role


def _team_of(handoff) -> int | None:
    owner = handoff.owner if handoff.owner_id else None
    if owner is not None and owner.team_id:
        return owner.team_id
    return handoff.team_id


def manages(user: Any, handoff) -> bool:
    return (
        is_person(user)
        and role_of(user) == Role.MANAGER
        and user.team_id is not None
        and user.team_id == _team_of(handoff)
    )


def can_decide(user: Any, handoff) -> bool:
    if is_system(user) or is_admin(user):
        return True
    if not can_write(user):
        return False
    return handoff.owner_id == user.pk or manages(user, handoff)


def require_decide(user: Any, handoff) -> None:
    if not can_decide(user, handoff):
        raise PermissionDenied("Only the lead's owner, their manager or an admin can accept or reject it.")


def can_see_team(user: Any) -> bool:
    return is_system(user) or is_admin(user) or (is_person(user) and role_of(user) == Role.MANAGER)


def require_team_view(user: Any) -> None:
    if not can_see_team(user):
        raise PermissionDenied("Only managers and admins see the team's handoff queue.")


def require_reassign(user: Any, handoff) -> None:
    if not (is_system(user) or is_admin(user) or manages(user, handoff)):
        raise PermissionDenied("Only the owner's manager or an admin can reassign a lead.")


def require_settings(user: Any) -> None:
    if not (is_system(user) or is_admin(user)):
        raise PermissionDenied("Only admins can change the handoff's SLA, routing and reasons.")


def team_queue(user: Any, queryset):
    """The handoffs a queue page shows `user`: an admin every team's, a manager their own team's."""
    if is_system(user) or is_admin(user):
        return queryset
    if can_see_team(user) and user.team_id:
        return queryset.filter(team_id=user.team_id)
    return queryset.none()
