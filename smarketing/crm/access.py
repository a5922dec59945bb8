"""The CRM's access rules for owned records, built on the platform rules in `accounts/access.py`.

Everyone sees the shared CRM (alignment means shared visibility). What a user may change depends on role
and ownership:

| action        | admin | manager | member                        | read-only | inactive | system |
|---------------|-------|---------|-------------------------------|-----------|----------|--------|
| view          | all   | all     | all                           | all       | none     | all    |
| edit fields   | all   | all     | own or unowned records        | none      | none     | all    |
| reassign      | all   | all     | own or unowned records        | none      | none     | all    |
| delete        | all   | all     | none                          | none      | none     | all    |
| merge         | all   | all     | none                          | none      | none     | all    |
| export        | all   | all     | none                          | none      | none     | all    |
| log activity  | all   | all     | all (anyone's record)         | none      | none     | all    |
| admin pages   | yes   | no      | no                            | no        | no       | yes    |
| saved views   | own   | own     | own; sees its team's shared   | own       | none     | -      |

"Log activity" is a note, a task or a logged call/email/meeting: a member may log one on a record owned by
someone else (a rep talks to a colleague's contact; marketing notes a conversation on sales' deal), but may
change the record's fields only when it is their own or unowned. Changing a task or note afterwards follows
`accounts.access.can_change_task` / `can_change_note`.

Saved list views and column choices are a person's own way of looking at the shared lists, not records: any
active person (read-only users too) keeps their own, shares one with their team, and changes only their own.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q

from smarketing.accounts.access import (
    can_log_activity,
    can_write,
    is_admin,
    is_manager_or_admin,
    is_person,
    is_system,
    require_admin,
    require_log_activity,
    require_write,
)

__all__ = [
    "ACTIONS",
    "OwnedQuerySet",
    "PermissionDenied",
    "can",
    "can_change_view",
    "can_for_owner",
    "can_log_activity",
    "is_admin",
    "require",
    "require_admin",
    "require_log_activity",
    "require_property_admin",
    "require_view_owner",
    "require_view_saver",
    "visible_views",
    "require_write",
]

ACTIONS = ("view", "edit", "reassign", "delete", "merge", "export")


def _scope(user: Any, action: str) -> str:
    """'all', 'own' (own or unowned) or 'none'."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if is_system(user):
        return "all"
    if not is_person(user):  # anonymous or deactivated: not even view
        return "none"
    if action == "view" or is_manager_or_admin(user):
        return "all"
    if can_write(user) and action in ("edit", "reassign"):
        return "own"
    return "none"


class OwnedQuerySet(models.QuerySet):
    def for_user(self, user, action: str = "view"):
        scope = _scope(user, action)
        if scope == "all":
            return self
        if scope == "own":
            return self.filter(Q(owner=user) | Q(owner__isnull=True))
        return self.none()


def can_for_owner(user: Any, action: str, owner_id: int | None) -> bool:
    """May `user` do `action` to a record owned by `owner_id` (None: unowned)? For rows not loaded as models."""
    scope = _scope(user, action)
    if scope == "all":
        return True
    return scope == "own" and owner_id in (None, user.pk)


def can(user: Any, action: str, obj=None) -> bool:
    """May `user` do `action` (to `obj`, when given; without one: to some record)?"""
    if obj is None:
        return _scope(user, action) != "none"
    return can_for_owner(user, action, obj.owner_id)


def require(user: Any, action: str, obj=None) -> None:
    if not can(user, action, obj):
        raise PermissionDenied(f"You may not {action} this record.")


def require_property_admin(user: Any) -> None:
    require_admin(user, "Only admins can define custom properties.")


def visible_views(user: Any, kind: str | None = None) -> models.QuerySet:
    """The saved views (of list `kind`, or of every list) that `user` sees: their own, and those shared with
    their team."""
    from smarketing.crm.models import SavedView

    if not is_person(user):
        return SavedView.objects.none()
    shown = Q(owner=user)
    if user.team_id is not None:
        shown |= Q(team_id=user.team_id)
    views = SavedView.objects.filter(shown)
    return views if kind is None else views.filter(kind=kind)


def can_change_view(user: Any, view) -> bool:
    """Rename, update, share or delete a saved view: its owner only (a shared view is still theirs)."""
    return is_person(user) and view.owner_id == user.pk


def require_view_saver(user: Any) -> None:
    if not is_person(user):
        raise PermissionDenied("Log in to save views and columns.")


def require_view_owner(user: Any, view) -> None:
    if not can_change_view(user, view):
        raise PermissionDenied("Only the person who saved this view can change or delete it.")
