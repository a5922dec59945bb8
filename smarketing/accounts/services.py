"""Writes for users and teams."""

from django.core.exceptions import ValidationError
from django.db import transaction

from smarketing.accounts.models import Role, Team, TeamKind, User
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin

DEFAULT_TEAMS = [("Marketing", TeamKind.MARKETING), ("Sales", TeamKind.SALES), ("RevOps", TeamKind.REVOPS)]


def ensure_default_teams() -> dict[str, Team]:
    teams = {}
    for name, kind in DEFAULT_TEAMS:
        team, _ = Team.objects.get_or_create(name=name, defaults={"kind": kind})
        teams[name] = team
    return teams


def find_team(name: str) -> Team:
    ensure_default_teams()
    team = (
        Team.objects.filter(name__iexact=name.strip()).first() or Team.objects.filter(kind=name.strip().lower()).first()
    )
    if team is None:
        names = ", ".join(Team.objects.values_list("name", flat=True))
        raise ValidationError(f"No team called {name!r}. Teams: {names}.")
    return team


@transaction.atomic
def create_user(*, email: str, password: str, team: Team | None, role: str, full_name: str = "", actor=None) -> User:
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}. Roles: {', '.join(Role.values)}.")
    email = email.strip().lower()
    if User.objects.filter(email=email).exists():
        raise ValidationError(f"A user with email {email} already exists.")
    user = User.objects.create_user(email, password, team=team, role=role, full_name=full_name)
    record_audit(actor=actor, action="create", obj=user, origin=Origin.SYSTEM if actor is None else Origin.UI)
    return user
