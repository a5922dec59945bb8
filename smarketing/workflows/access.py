"""Who may do what with workflows, on top of the platform rules in `accounts/access.py`.

| action                               | admin | manager | marketing member | other member | read-only | system |
|--------------------------------------|-------|---------|------------------|--------------|-----------|--------|
| view workflows, enrollments, dry run | yes   | yes     | yes              | yes          | yes       | yes    |
| create, edit, activate, pause        | yes   | marketing manager | no     | no           | no        | yes    |
| enroll / unenroll contacts by hand   | yes   | marketing manager | no     | no           | no        | yes    |
| archive                              | yes   | marketing manager | no     | no           | no        | yes    |

A workflow writes to many records at once on everyone's behalf (emails, owners, lifecycle stages), so
changing one is for marketing's managers and admins; everyone may look at what it does and why.
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.access import is_admin, is_person, is_system, role_of
from smarketing.accounts.models import Role, TeamKind


def can_view(user: Any) -> bool:
    return is_system(user) or is_person(user)


def can_edit(user: Any) -> bool:
    if is_admin(user):
        return True
    team = getattr(user, "team", None)
    return role_of(user) == Role.MANAGER and team is not None and team.kind == TeamKind.MARKETING


def require_view(user: Any) -> None:
    if not can_view(user):
        raise PermissionDenied("Sign in to see workflows.")


def require_edit(user: Any) -> None:
    if not can_edit(user):
        raise PermissionDenied("Only marketing managers and admins can change workflows.")
