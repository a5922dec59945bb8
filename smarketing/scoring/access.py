"""Who may do what with lead scoring, on top of the platform rules in `accounts/access.py`.

| action                                   | admin | manager | member | read-only | system |
|------------------------------------------|-------|---------|--------|-----------|--------|
| view groups, rules, scores and histories | yes   | yes     | yes    | yes       | yes    |
| create, edit, delete groups and rules    | yes   | yes     | no     | no        | yes    |
| recompute now                            | yes   | yes     | no     | no        | yes    |
| adjust a contact's score by hand         | yes   | yes     | yes    | no        | yes    |

The rules decide who becomes an MQL and lands in a rep's queue: changing them is a decision for managers,
not for whoever opens the page. Adjusting one contact is part of everyday work, like editing the contact.
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.access import can_write, is_manager_or_admin, is_person, is_system


def can_view(user: Any) -> bool:
    return is_system(user) or is_person(user)


def can_edit(user: Any) -> bool:
    return is_manager_or_admin(user)


def can_adjust(user: Any) -> bool:
    return can_write(user)


def require_view(user: Any) -> None:
    if not can_view(user):
        raise PermissionDenied("Sign in to see lead scoring.")


def require_edit(user: Any) -> None:
    if not can_edit(user):
        raise PermissionDenied("Only managers and admins can change the scoring rules.")


def require_adjust(user: Any) -> None:
    if not can_adjust(user):
        raise PermissionDenied("Read-only users cannot adjust scores.")
