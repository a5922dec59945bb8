"""Who may see and change web tracking, on top of the platform rules (accounts/access.py).

| rule                                  | admin | manager | member | read-only | system |
|---------------------------------------|-------|---------|--------|-----------|--------|
| see the visits page                   | yes   | yes     | yes    | yes       | yes    |
| read the tracking settings            | yes   | yes     | no     | no        | yes    |
| change the tracking settings          | yes   | no      | no     | no        | yes    |

Like the timeline, visits are shared by both teams; the settings decide what is collected on every site, so
only admins change them.
"""

from typing import Any

from smarketing.accounts.access import is_admin, is_person, is_system, require_admin, require_manager_or_admin


def can_view_visits(user: Any) -> bool:
    return is_system(user) or is_person(user)


def require_view_settings(user: Any) -> None:
    require_manager_or_admin(user, "Only admins and managers can open the tracking settings.")


def can_change_settings(user: Any) -> bool:
    return is_admin(user)


def require_change_settings(user: Any) -> None:
    require_admin(user, "Only admins can change the tracking settings.")
