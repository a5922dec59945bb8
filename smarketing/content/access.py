"""Who may see and change what in the content library and the messaging guide (on accounts/access.py).

| rule                                         | admin | manager              | member        | read-only | system |
|----------------------------------------------|-------|----------------------|---------------|-----------|--------|
| see the library, the guide, download files   | yes   | yes                  | yes           | yes       | yes    |
| add an asset or a message                    | yes   | yes                  | yes           | no        | yes    |
| edit, upload a version, submit, retire       | all   | own, own team's      | own           | no        | yes    |
| approve / request changes                    | yes   | if a named reviewer  | if a named reviewer | no  | yes    |
| ...on their own asset or message             | if allow_self_approval is set (only an admin sets it)       |
| share with a contact (approved assets only)  | yes   | yes                  | yes           | no        | yes    |
| revoke a share link                          | all   | own, own team's      | own           | no        | yes    |
| see an asset's report                        | yes   | yes                  | yes           | yes       | yes    |

Everyone sees the whole library (drafts too): alignment means marketing's work in progress is visible to sales.
Only approved assets appear in the stage panel and can be shared outside.
Each condition is on its own line so a change to one rule is a one-line diff.
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.access import can_write, is_admin, is_person, is_system, role_of
from smarketing.accounts.models import Role


def can_see(user: Any) -> bool:
    return is_system(user) or is_person(user)


def require_see(user: Any) -> None:
    if not can_see(user):
        raise PermissionDenied("Sign in to see the content library.")


def can_create(user: Any) -> bool:
    return can_write(user)


def require_create(user: Any) -> None:
    if not can_create(user):
        raise PermissionDenied("Read-only users cannot add content.")


def _owner_of(obj: Any):
    return getattr(obj, "owner", None) or getattr(obj, "shared_by", None)


def can_edit(user: Any, obj: Any) -> bool:
    """An asset, a message or a share: its owner (or sharer), their team's manager, or an admin."""
    if is_system(user) or is_admin(user):
        return True
    if not can_write(user):
        return False
    owner = _owner_of(obj)
    if owner is None:
        return False
    if owner.pk == user.pk:
        return True
    return role_of(user) == Role.MANAGER and user.team_id is not None and owner.team_id == user.team_id


def require_edit(user: Any, obj: Any) -> None:
    if not can_edit(user, obj):
        raise PermissionDenied("Only its owner, their manager or an admin can change this.")


def can_review(user: Any, obj: Any, reviewer_ids: set[int] | None = None) -> bool:
    """`obj` is an Asset or a Message; `reviewer_ids` saves a query when the caller has them."""
    if is_system(user):
        return True
    if not can_write(user):
        return False
    if obj.owner_id == user.pk:
        return bool(obj.allow_self_approval)  # an admin's switch is the permission, named reviewer or not
    if is_admin(user):
        return True
    if reviewer_ids is None:
        reviewer_ids = set(obj.reviewers.values_list("pk", flat=True))
    return user.pk in reviewer_ids


def require_review(user: Any, obj: Any) -> None:
    if obj.owner_id == getattr(user, "pk", None) and not obj.allow_self_approval and not is_system(user):
        raise PermissionDenied("You cannot approve your own content unless an admin allows it.")
    if not can_review(user, obj):
        raise PermissionDenied("Only a named reviewer or an admin can approve this.")


def can_allow_self_approval(user: Any) -> bool:
    return is_system(user) or is_admin(user)


def can_share(user: Any) -> bool:
    return is_system(user) or can_write(user)


def require_share(user: Any) -> None:
    if not can_share(user):
        raise PermissionDenied("Read-only users cannot share content.")
