"""Writes for users and teams: creating, inviting, editing, deactivating; every one audited.

The last active admin cannot be demoted or deactivated (someone must be able to reach the settings). What a
deactivated user owns is the CRM's business: `crm.services.users.deactivate_owner` reassigns their records
and then calls `deactivate_user` here, in one transaction.
"""

import smtplib
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from smarketing.accounts.access import require_admin
from smarketing.accounts.hours import clean_hours, summary
from smarketing.accounts.models import Role, Team, TeamKind, User
from smarketing.accounts.tokens import invite_tokens
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin

DEFAULT_TEAMS = [("Marketing", TeamKind.MARKETING), ("Sales", TeamKind.SALES), ("RevOps", TeamKind.REVOPS)]
ADMINS_ONLY = "Only admins can manage users and teams."
USER_FIELDS = ("full_name", "role", "team", "time_zone", "working_hours")
AUDIT_NAMES = {
    "full_name": "name",
    "role": "role",
    "team": "team",
    "time_zone": "time zone",
    "working_hours": "working hours",
}


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


def _check_new_user(email: str, role: str) -> str:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}. Roles: {', '.join(Role.values)}."})
    email = User.objects.normalize_email(email or "").strip().lower()
    if not email:
        raise ValidationError({"email": "An email address is required."})
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": f"A user with email {email} already exists."})
    return email


@transaction.atomic
def create_user(*, email: str, password: str, team: Team | None, role: str, full_name: str = "", actor=None) -> User:
    email = _check_new_user(email, role)
    user = User.objects.create_user(email, password, team=team, role=role, full_name=full_name)
    record_audit(actor=actor, action="create", obj=user, origin=Origin.SYSTEM if actor is None else Origin.UI)
    return user


def invitation_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return settings.SITE_URL + reverse("invite_accept", args=[uid, invite_tokens.make_token(user)])


def _send_invitation(user: User, actor) -> None:
    context = {
        "user": user,
        "inviter": actor,
        "link": invitation_link(user),
        "days": settings.INVITE_TIMEOUT // 86400,
        "site_url": settings.SITE_URL,
    }
    subject = render_to_string("accounts/email/invite_subject.txt", context).strip()
    body = render_to_string("accounts/email/invite_body.txt", context)
    try:
        send_mail(subject, body, None, [user.email], fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        # Raised inside the caller's transaction: the invitation is not saved, so the admin can simply retry.
        raise ValidationError(
            f"The invitation email could not be sent ({exc}). Nothing was saved; check the mail settings."
        )


@transaction.atomic
def invite_user(*, actor, email: str, role: str, team: Team | None, full_name: str = "") -> User:
    """Create the account with no usable password and email a single-use link to set one."""
    require_admin(actor, ADMINS_ONLY)
    email = _check_new_user(email, role)
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, None, team=team, role=role, full_name=(full_name or "").strip())
    except IntegrityError:  # two admins inviting the same address at once
        raise ValidationError({"email": f"A user with email {email} already exists."})
    _send_invitation(user, actor)
    record_audit(
        actor=actor,
        action="invite",
        obj=user,
        object_repr=user.email,
        changes={"role": (None, user.get_role_display()), "team": (None, str(team or ""))},
    )
    return user


@transaction.atomic
def resend_invitation(user: User, *, actor) -> None:
    """A fresh link; the earlier ones stop working (the new unusable password changes what they signed)."""
    require_admin(actor, ADMINS_ONLY)
    if not user.is_invited:
        raise ValidationError(f"{user} has already set a password or is deactivated; there is no invitation to resend.")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    _send_invitation(user, actor)
    record_audit(actor=actor, action="invite_resent", obj=user, object_repr=user.email)


def _lock_active_admins() -> set[int]:
    # Locks every active admin row, so two admins demoting each other at the same moment cannot both succeed
    # and leave nobody (SQLite serialises writers anyway; on PostgreSQL this is what makes the check hold).
    # Taken before the edited user's own row, in id order, so two such writes queue instead of deadlocking.
    admins = User.objects.select_for_update().filter(role=Role.ADMIN, is_active=True).order_by("pk")
    return set(admins.values_list("pk", flat=True))


def _require_another_admin(user: User, what: str, admins: set[int]) -> None:
    if user.role == Role.ADMIN and user.is_active and admins <= {user.pk}:
        raise ValidationError(
            f"{user} is the last active admin and cannot be {what}. Make someone else an admin first."
        )


def _label(name: str, value) -> str:
    if name == "role":
        return Role(value).label if value in Role.values else str(value)
    if name == "team":
        return str(Team.objects.filter(pk=value).first() or "") if value else ""
    if name == "working_hours":
        return summary(value)
    return value


@transaction.atomic
def update_user(user: User, *, actor, data: dict) -> User:
    """Change a user's name, role, team, time zone or working hours (only the keys given)."""
    require_admin(actor, ADMINS_ONLY)
    unknown = set(data) - set(USER_FIELDS)
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    admins = _lock_active_admins()
    current = User.objects.select_for_update().get(pk=user.pk)
    clean = dict(data)
    errors = {}
    if "role" in clean and clean["role"] not in Role.values:
        errors["role"] = "Choose a role."
    if "time_zone" in clean and clean["time_zone"] not in zoneinfo.available_timezones():
        errors["time_zone"] = f"{clean['time_zone']!r} is not a time zone."
    if "working_hours" in clean:
        try:
            clean["working_hours"] = clean_hours(clean["working_hours"])
        except ValidationError as exc:
            errors["working_hours"] = exc.messages[0]
    if "full_name" in clean:
        clean["full_name"] = (clean["full_name"] or "").strip()[:150]
    if "team" in clean:
        clean["team"] = getattr(clean["team"], "pk", clean["team"]) or None
    if errors:
        raise ValidationError(errors)
    if clean.get("role", current.role) != Role.ADMIN:
        _require_another_admin(current, "made a " + Role(clean["role"]).label.lower(), admins)
    changes, changed = {}, []
    for name, value in clean.items():
        attname = "team_id" if name == "team" else name
        old = getattr(current, attname)
        if old != value:
            changes[AUDIT_NAMES[name]] = (_label(name, old), _label(name, value))
            setattr(current, attname, value)
            changed.append(name)
    if changes:
        current.save(update_fields=changed)
        record_audit(actor=actor, action="update", obj=current, changes=changes, object_repr=current.email)
    return current


@transaction.atomic
def deactivate_user(user: User, *, actor) -> User:
    """Stop a user from logging in or using API tokens; their records and history stay as they are."""
    require_admin(actor, ADMINS_ONLY)
    admins = _lock_active_admins()
    current = User.objects.select_for_update().get(pk=user.pk)
    if current.pk == getattr(actor, "pk", None):
        raise ValidationError("You cannot deactivate yourself; ask another admin.")
    if not current.is_active:
        return current
    _require_another_admin(current, "deactivated", admins)
    current.is_active = False
    current.save(update_fields=["is_active"])
    record_audit(
        actor=actor, action="deactivate", obj=current, object_repr=current.email, changes={"active": ("Yes", "No")}
    )
    return current


@transaction.atomic
def reactivate_user(user: User, *, actor) -> User:
    require_admin(actor, ADMINS_ONLY)
    current = User.objects.select_for_update().get(pk=user.pk)
    if current.is_active:
        return current
    current.is_active = True
    current.save(update_fields=["is_active"])
    record_audit(
        actor=actor, action="reactivate", obj=current, object_repr=current.email, changes={"active": ("No", "Yes")}
    )
    return current


def record_password_set(user: User, *, how: str) -> None:
    """Audit a password set through a link (`how`: "invite_accepted" or "password_reset"); the user acts."""
    record_audit(actor=user, action=how, obj=user, object_repr=user.email)


def _check_team(name: str, kind: str, *, exclude: int | None = None) -> str:
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "A team needs a name."
    elif len(name) > 100:
        errors["name"] = "At most 100 characters."
    elif Team.objects.filter(name__iexact=name).exclude(pk=exclude).exists():
        errors["name"] = f"There is already a team called {name}."
    if kind not in TeamKind.values:
        errors["kind"] = "Choose marketing, sales or RevOps."
    if errors:
        raise ValidationError(errors)
    return name


@transaction.atomic
def create_team(*, actor, name: str, kind: str) -> Team:
    require_admin(actor, ADMINS_ONLY)
    name = _check_team(name, kind)
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name, kind=kind)
    except IntegrityError:
        raise ValidationError({"name": f"There is already a team called {name}."})
    record_audit(actor=actor, action="create", obj=team, changes={"kind": (None, team.get_kind_display())})
    return team


@transaction.atomic
def update_team(team: Team, *, actor, name: str, kind: str, members=None) -> Team:
    """Rename, change the kind, and (when `members` is given) set who is on the team.

    A user belongs to one team: adding someone moves them from their old team; removing leaves them on none.
    """
    require_admin(actor, ADMINS_ONLY)
    current = Team.objects.select_for_update().get(pk=team.pk)
    name = _check_team(name, kind, exclude=current.pk)
    changes = {}
    if current.name != name:
        changes["name"] = (current.name, name)
    if current.kind != kind:
        changes["kind"] = (current.get_kind_display(), TeamKind(kind).label)
    current.name, current.kind = name, kind
    if changes:
        try:
            with transaction.atomic():
                current.save(update_fields=["name", "kind"])
        except IntegrityError:
            raise ValidationError({"name": f"There is already a team called {name}."})
    if members is not None:
        wanted = {getattr(m, "pk", m) for m in members}
        had = set(current.members.values_list("pk", flat=True))
        added = User.objects.filter(pk__in=wanted - had).order_by("email")
        removed = User.objects.filter(pk__in=had - wanted).order_by("email")
        names_added, names_removed = [str(u) for u in added], [str(u) for u in removed]
        added.update(team=current)
        removed.update(team=None)
        if names_added:
            changes["members added"] = (None, ", ".join(names_added))
        if names_removed:
            changes["members removed"] = (", ".join(names_removed), None)
    if changes:
        record_audit(actor=actor, action="update", obj=current, changes=changes)
    return current
