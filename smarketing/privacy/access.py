"""Who may export or erase a person's data: admins, per accounts/access.py."""

from typing import Any

from smarketing.accounts import access as platform


def require_admin(user: Any) -> None:
    platform.require_admin(user, "Only admins can handle privacy requests.")
