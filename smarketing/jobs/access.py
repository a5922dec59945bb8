"""Who may see and run background jobs: admins (and the system), per the platform rules in accounts/access.py."""

from typing import Any

from smarketing.accounts import access as platform


def require_admin(user: Any) -> None:
    platform.require_admin(user, "Only admins see background jobs.")
