"""Who may do what with email campaigns, on top of the platform rules (accounts/access.py).

| rule                               | admin | manager | member              | read-only | system |
|------------------------------------|-------|---------|---------------------|-----------|--------|
| see campaigns and their progress   | yes   | yes     | yes                 | yes       | yes    |
| create a campaign                  | yes   | yes     | yes                 | no        | yes    |
| edit, send, pause, resume, cancel  | yes   | yes     | their own campaigns | no        | yes    |

Sending reaches real inboxes, so a member changes only the campaigns they own; managers and admins any.
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.access import can_write, is_manager_or_admin, require_write


def can_change_campaign(user: Any, email_campaign) -> bool:
    if is_manager_or_admin(user):
        return True
    return can_write(user) and email_campaign.campaign.owner_id == getattr(user, "pk", None)


def require_create_campaign(user: Any) -> None:
    require_write(user)


def require_change_campaign(user: Any, email_campaign) -> None:
    if not can_change_campaign(user, email_campaign):
        raise PermissionDenied("Only the campaign's owner, managers and admins can change or send this campaign.")


def can_create_campaign(user: Any) -> bool:
    return can_write(user)
