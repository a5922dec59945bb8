"""The platform's access rules: roles, the system actor, and the rules every app builds its own `access.py` on.

Who acts is either a person (a `User`, from the UI or an API token) or the **system actor**
(`system_actor(origin)`): automation and bulk work — imports run without a person, workflows, the seed,
follow-up effects of a person's action (a won deal making its contacts customers). The system actor is always
allowed; it is recorded as no user (or as the person it acts for) plus its origin, in audit entries, histories
and touchpoints. Nothing else skips a check: no flag turns checks off, no stand-in user fakes an owner.

| rule                            | admin | manager | member                    | read-only | inactive | system |
|---------------------------------|-------|---------|---------------------------|-----------|----------|--------|
| `is_admin` (settings, jobs, …)  | yes   | no      | no                        | no        | no       | yes    |
| `is_manager_or_admin` (reading  | yes   | yes     | no                        | no        | no       | yes    |
|   the settings pages)           |       |         |                           |           |          |        |
| `can_write` (write at all)      | yes   | yes     | yes                       | no        | no       | yes    |
| `can_log_activity`: notes,      | yes   | yes     | yes, also on records      | no        | no       | yes    |
|   tasks, logged calls/emails/   |       |         | owned by others (the CRM  |           |          |        |
|   meetings on a record          |       |         | is shared)                |           |          |        |
| `can_change_task` (edit,        | all   | all     | tasks they own or created | no        | no       | yes    |
|   complete, delete)             |       |         |                           |           |          |        |
| `can_change_note` (edit, delete)| all   | all     | notes they wrote          | no        | no       | yes    |

"inactive" also covers anonymous callers and anything that is neither a `User` nor the system actor.

Editing a record's fields is the owning app's rule (see `crm/access.py`: members edit only their own or
unowned records). Each check answers "no" for an inactive user, even one still holding a session or token.
Services raise `PermissionDenied`; one handler turns it into the styled 403 page (`core.errors`) or, in the
API, a problem+json 403 (`api.problems`).
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from smarketing.accounts.models import Role, User
from smarketing.core.audit import actor_user
from smarketing.core.models import Origin


@dataclass(frozen=True)
class SystemActor:
    """The platform acting for itself (an import, a workflow, the seed), or for `on_behalf_of` as a follow-up.

    It looks enough like a user for the services (`pk` is None, so foreign keys record no user) and carries the
    origin that audit entries and histories record.
    """

    origin: str = Origin.SYSTEM
    on_behalf_of: User | None = None

    pk = None
    is_system_actor = True  # how core.audit and timeline recognise it without importing accounts
    is_authenticated = True
    is_active = True
    role = None
    team = None
    team_id = None

    def __post_init__(self):
        if self.origin not in Origin.values:
            raise ValueError(f"unknown origin {self.origin!r}")

    def __str__(self) -> str:
        return f"system ({self.origin})"


def system_actor(origin: str = Origin.SYSTEM, *, on_behalf_of: User | None = None) -> SystemActor:
    """The actor for automation and bulk work. `on_behalf_of`: the person whose action set it off, if any."""
    person = on_behalf_of.on_behalf_of if isinstance(on_behalf_of, SystemActor) else on_behalf_of
    return SystemActor(origin=origin, on_behalf_of=person if getattr(person, "pk", None) else None)


def is_system(actor: Any) -> bool:
    return isinstance(actor, SystemActor)


def recorded_user(actor: Any) -> User | None:
    """The user to store in an `actor` foreign key: the person, the person a system actor acts for, or None."""
    return actor_user(actor)


def is_person(user: Any) -> bool:
    """A logged-in, active person (not the system, not anonymous, not deactivated)."""
    return isinstance(user, User) and user.is_authenticated and user.is_active


def role_of(user: Any) -> str | None:
    """The role that counts: None for anyone who is not an active person."""
    return user.role if is_person(user) else None


def is_admin(user: Any) -> bool:
    return is_system(user) or role_of(user) == Role.ADMIN


def is_manager_or_admin(user: Any) -> bool:
    return is_system(user) or role_of(user) in (Role.ADMIN, Role.MANAGER)


def can_write(user: Any) -> bool:
    """May this actor write anything at all? Read-only users, inactive users and anonymous callers may not."""
    return is_system(user) or role_of(user) in (Role.ADMIN, Role.MANAGER, Role.MEMBER)


def can_log_activity(user: Any) -> bool:
    """Notes, tasks and logged calls/emails/meetings on any record, whoever owns it (the CRM is shared)."""
    return can_write(user)


def can_change_task(user: Any, task: Any) -> bool:
    """Edit, complete or delete a task: managers and admins any; members the tasks they own or created."""
    if is_manager_or_admin(user):
        return True
    return can_write(user) and user.pk in (task.owner_id, task.created_by_id)


def can_change_note(user: Any, note: Any) -> bool:
    """Edit or delete a note: managers and admins any; members the notes they wrote."""
    if is_manager_or_admin(user):
        return True
    return can_write(user) and note.author_id == user.pk


def require_admin(user: Any, message: str = "Only admins can do this.") -> None:
    """The one admin check; each app's access.py passes the sentence its pages show."""
    if not is_admin(user):
        raise PermissionDenied(message)


def require_write(user: Any) -> None:
    if not can_write(user):
        raise PermissionDenied("Read-only users cannot change anything.")


def require_log_activity(user: Any) -> None:
    if not can_log_activity(user):
        raise PermissionDenied("Read-only users cannot log activities, notes or tasks.")


def require_manager_or_admin(user: Any, message: str = "Only admins and managers can open this page.") -> None:
    """Settings pages managers may read (users, teams, pipelines); changing them stays `require_admin`."""
    if not is_manager_or_admin(user):
        raise PermissionDenied(message)
