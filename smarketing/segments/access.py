"""Who may do what with segments and static lists, on top of the platform rules in `accounts/access.py`.

| action                      | admin | manager | member of a marketing team | other member | read-only | system |
|-----------------------------|-------|---------|----------------------------|--------------|-----------|--------|
| view segments, lists, counts| yes   | yes     | yes                        | yes          | yes       | yes    |
| create, edit, archive       | yes   | yes     | yes                        | no           | no        | yes    |
| add / remove list members   | yes   | yes     | yes                        | no           | no        | yes    |

Audiences are marketing's tool: a sales rep reads them (which segment is this lead in?) but does not reshape
the audience of the next campaign.
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.access import is_manager_or_admin, is_person, is_system, role_of
from smarketing.accounts.models import Role, TeamKind


def can_view(user: Any) -> bool:
    return is_system(user) or is_person(user)


def can_edit(user: Any) -> bool:
    if is_manager_or_admin(user):
        return True
    # A member edits audiences when their team is a marketing team.
    team = getattr(user, "team", None)
    return role_of(user) == Role.MEMBER and team is not None and team.kind == TeamKind.MARKETING


def require_view(user: Any) -> None:
    if not can_view(user):
        raise PermissionDenied("Sign in to see segments and lists.")


def require_edit(user: Any) -> None:
    if not can_edit(user):
        raise PermissionDenied("Only marketing, managers and admins can change segments and lists.")
