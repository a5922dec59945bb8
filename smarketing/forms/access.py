"""Who may do what with forms and their submissions, on top of the platform rules (accounts/access.py).

| action                               | admin | manager | marketing member | other member | read-only | system |
|--------------------------------------|-------|---------|------------------|--------------|-----------|--------|
| see forms, overview, submissions     | yes   | yes     | yes              | yes          | yes       | yes    |
| create, edit, publish, archive, copy | yes   | yes     | yes              | no           | no        | yes    |
| export submissions (dataio's rule)   | yes   | yes     | no               | no           | no        | yes    |

Forms are marketing's tool, like segments: a sales rep reads what a lead filled in but does not reshape the
form on the website. Exporting personal data in bulk stays the platform's export rule (`dataio/access.py`).
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.access import is_manager_or_admin, is_person, is_system, role_of
from smarketing.accounts.models import Role, TeamKind


def can_view(user: Any) -> bool:
    return is_system(user) or is_person(user)


def can_build(user: Any) -> bool:
    if is_manager_or_admin(user):
        return True
    team = getattr(user, "team", None)
    return role_of(user) == Role.MEMBER and team is not None and team.kind == TeamKind.MARKETING


def require_view(user: Any) -> None:
    if not can_view(user):
        raise PermissionDenied("Sign in to see forms.")


def require_build(user: Any) -> None:
    if not can_build(user):
        raise PermissionDenied("Only marketing, managers and admins can build and publish forms.")
