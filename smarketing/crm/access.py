"""The permission gate for CRM records. Every view and API call asks here; nothing else decides.

Everyone sees the shared CRM (alignment means shared visibility). What a user may change depends on role
and ownership:

| action   | admin | manager | member                   | read-only |
|----------|-------|---------|--------------------------|-----------|
| view     | all   | all     | all                      | all       |
| edit     | all   | all     | own or unowned records   | none      |
| reassign | all   | all     | own or unowned records   | none      |
| delete   | all   | all     | none                     | none      |
| merge    | all   | all     | none                     | none      |
| export   | all   | all     | none                     | none      |
| admin    | yes   | no      | no                       | no        |
"""

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q

from smarketing.accounts.models import Role

ACTIONS = ("view", "edit", "reassign", "delete", "merge", "export")


def _scope(user, action: str) -> str:
    """'all', 'own' (own or unowned) or 'none'."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not user.is_authenticated or not user.is_active:
        return "none"
    if action == "view":
        return "all"
    role = user.role
    if role in (Role.ADMIN, Role.MANAGER):
        return "all"
    if role == Role.MEMBER and action in ("edit", "reassign"):
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


def can(user, action: str, obj=None) -> bool:
    """May `user` do `action` (to `obj`, when given)?"""
    scope = _scope(user, action)
    if scope == "all":
        return True
    if scope == "own":
        return obj is None or obj.owner_id in (None, user.pk)
    return False


def require(user, action: str, obj=None) -> None:
    if not can(user, action, obj):
        raise PermissionDenied(f"You may not {action} this record.")


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role == Role.ADMIN)


def can_write_anything(user) -> bool:
    return can(user, "edit")
