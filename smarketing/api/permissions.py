"""Who may call what. Roles live in accounts.access, record rules in crm.access and the services; these add
the token scope."""

from rest_framework import permissions

from smarketing.accounts import access
from smarketing.api.models import ApiToken


class TokenScopePermission(permissions.BasePermission):
    """A read-scoped token may only read, whatever its user's role."""

    message = "This token is read-only; create a read_write token to make changes."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        token = request.auth
        return not isinstance(token, ApiToken) or token.can_write


class AdminWritesPermission(permissions.BasePermission):
    """Everyone reads; only admins change (settings-like resources such as property definitions)."""

    message = "Only admins can change this."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or access.is_admin(request.user)
