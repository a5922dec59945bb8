"""Who may see and change notifications: each person their own, nobody anyone else's (not even an admin).

A notification can quote a record the reader may see and a colleague may not have been meant to read about,
so the center is private like a mailbox. Built on the platform rules in accounts/access.py.
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.access import is_person


def require_person(user: Any) -> None:
    if not is_person(user):
        raise PermissionDenied("Only a signed-in person has notifications.")


def require_own(user: Any, notification) -> None:
    require_person(user)
    if notification.user_id != user.pk:
        raise PermissionDenied("This notification belongs to someone else.")


def require_self(actor: Any, user) -> None:
    """A person's notification settings are theirs to change."""
    require_person(actor)
    if actor.pk != user.pk:
        raise PermissionDenied("You can change only your own notification settings.")
