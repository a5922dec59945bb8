"""Who may import and export, built on the CRM's record rules (crm/access.py) and the platform's roles.

| action                           | admin | manager | member | read-only |
|----------------------------------|-------|---------|--------|-----------|
| import (own or unowned records)  | yes   | yes     | yes    | no        |
| export                           | yes   | yes     | no     | no        |
| see everyone's imports/exports   | yes   | no      | no     | no        |
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.access import is_admin
from smarketing.crm import access as crm_access


def can_import(user: Any) -> bool:
    return crm_access.can(user, "edit")


def require_importer(user: Any) -> None:
    if not can_import(user):
        raise PermissionDenied("Importing needs permission to edit records.")


def can_export(user: Any) -> bool:
    return crm_access.can(user, "export")


def require_exporter(user: Any) -> None:
    if not can_export(user):
        raise PermissionDenied("Exporting needs a manager or admin role.")


def sees_everyones_files(user: Any) -> bool:
    """Admins see every import and export; others only their own."""
    return is_admin(user)
