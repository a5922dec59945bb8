"""Who may see and change what in scheduling, on top of the platform rules (accounts/access.py).

| rule                                  | admin | manager                 | member              | read-only | system |
|---------------------------------------|-------|-------------------------|---------------------|-----------|--------|
| see a meeting type                    | all   | own, own team's         | own, own team's     | as member | yes    |
| change a personal type                | all   | their own               | their own           | no        | yes    |
| create / change a team type           | all   | of their own team       | no                  | no        | yes    |
| see a meeting                         | all   | own, their team's hosts | own (as a host)     | own       | yes    |
| act on a meeting (held, move, cancel) | all   | own, their team's hosts | own (as a host)     | no        | yes    |
| send a booking link                   | with a type they host or manage                 | no        | —      |

Each condition is on its own line so a change to one rule is a one-line diff.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from smarketing.accounts.access import can_write, is_admin, is_person, is_system, role_of
from smarketing.accounts.models import Role


def _manages_team(user: Any, team_id: int | None) -> bool:
    return role_of(user) == Role.MANAGER and team_id is not None and user.team_id == team_id


def visible_types(user: Any, queryset):
    """The meeting types `user` may see: their own, their team's, the ones they host; admins see all."""
    if is_admin(user):
        return queryset
    if not is_person(user):
        return queryset.none()
    mine = Q(owner_id=user.pk) | Q(host_rows__user_id=user.pk)
    if user.team_id:
        mine |= Q(team_id=user.team_id) | Q(owner__team_id=user.team_id)
    return queryset.filter(mine).distinct()


def can_manage_type(user: Any, meeting_type) -> bool:
    """Change or deactivate a type: the owner of a personal type; managers of a team type's team; admins."""
    if is_system(user):
        return True
    if not can_write(user):
        return False
    if is_admin(user):
        return True
    if meeting_type.team_id is not None:
        return _manages_team(user, meeting_type.team_id)
    return meeting_type.owner_id == user.pk


def can_create_team_types(user: Any) -> bool:
    return is_admin(user) or (can_write(user) and role_of(user) == Role.MANAGER and user.team_id is not None)


def require_manage_type(user: Any, meeting_type) -> None:
    if not can_manage_type(user, meeting_type):
        if not can_write(user):
            raise PermissionDenied("Read-only users cannot change meeting types.")
        raise PermissionDenied("Only the type's owner (or, for a team type, the team's managers) can change it.")


def require_create_type(user: Any, team=None) -> None:
    if not can_write(user):
        raise PermissionDenied("Read-only users cannot create meeting types.")
    if team is not None and not (is_admin(user) or _manages_team(user, team.pk)):
        raise PermissionDenied("Only admins and the team's managers create its meeting types.")


def visible_meetings(user: Any, queryset):
    """Meetings `user` may open: their own as host; managers their team's hosts'; admins all."""
    if is_admin(user):
        return queryset
    if not is_person(user):
        return queryset.none()
    mine = Q(host_id=user.pk)
    if role_of(user) == Role.MANAGER and user.team_id:
        mine |= Q(host__team_id=user.team_id)
    return queryset.filter(mine)


def can_act_on_meeting(user: Any, meeting) -> bool:
    """Record held / no-show, reschedule or cancel: the host, their team's managers, admins."""
    if is_system(user):
        return True
    if not can_write(user):
        return False
    if is_admin(user):
        return True
    if meeting.host_id == user.pk:
        return True
    return _manages_team(user, getattr(meeting.host, "team_id", None))


def require_act_on_meeting(user: Any, meeting) -> None:
    if not can_act_on_meeting(user, meeting):
        raise PermissionDenied("Only the host, their managers and admins can change this meeting.")


def linkable_types(user: Any, queryset):
    """The types a user may send a one-off booking link for: the ones they own, host or manage."""
    if not can_write(user):
        return queryset.none()
    if is_admin(user):
        return queryset.filter(is_active=True)
    mine = Q(owner_id=user.pk) | Q(host_rows__user_id=user.pk)
    if role_of(user) == Role.MANAGER and user.team_id:
        mine |= Q(team_id=user.team_id)
    return queryset.filter(mine, is_active=True).distinct()


def require_send_link(user: Any, meeting_type) -> None:
    from smarketing.scheduling.models import MeetingType

    if not linkable_types(user, MeetingType.objects.filter(pk=meeting_type.pk)).exists():
        raise PermissionDenied("You can send links only for meeting types you host or manage.")


def require_write_self(user: Any) -> None:
    """A host's own hours, overrides and busy blocks: any person who may write."""
    if not can_write(user) or not is_person(user):
        raise PermissionDenied("Read-only users cannot change their availability.")
