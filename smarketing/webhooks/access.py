"""Who may manage webhook endpoints and read their deliveries: admins, per accounts/access.py."""

from typing import Any

from smarketing.accounts import access as platform


def require_admin(user: Any) -> None:
    platform.require_admin(user, "Only admins manage webhooks.")
