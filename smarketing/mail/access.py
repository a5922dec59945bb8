"""Who may see and change the mail settings: the suppression list, sender identities, the demo mail viewer.

| rule                               | admin | manager | member (marketing) | member (other) | read-only | system |
|------------------------------------|-------|---------|--------------------|----------------|-----------|--------|
| `can_manage_suppressions`          | yes   | yes     | yes                | no             | no        | yes    |
| `can_manage_senders`               | yes   | no      | no                 | no             | no        | yes    |
| `can_view_captured_mail` (demo)    | yes   | yes     | yes                | yes            | yes       | yes    |

The suppression list belongs to marketing (they answer for deliverability) and to admins; a sender identity
decides under whose name and how fast mail leaves, so only admins change it.
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.access import is_admin, is_manager_or_admin, is_person, is_system
from smarketing.accounts.models import Role


def _in_marketing(user: Any) -> bool:
    team = getattr(user, "team", None)
    return getattr(team, "kind", None) == "marketing"


def can_manage_suppressions(user: Any) -> bool:
    if is_system(user):
        return True
    if not is_person(user):
        return False
    if is_manager_or_admin(user):
        return True
    return user.role == Role.MEMBER and _in_marketing(user)


def require_manage_suppressions(user: Any) -> None:
    if not can_manage_suppressions(user):
        raise PermissionDenied("Only admins, managers and marketing can manage the suppression list.")


def can_manage_senders(user: Any) -> bool:
    return is_admin(user)


def require_manage_senders(user: Any) -> None:
    if not can_manage_senders(user):
        raise PermissionDenied("Only admins can change sender identities.")


def can_view_captured_mail(user: Any) -> bool:
    return is_system(user) or is_person(user)
