"""Shared pieces of the CRM services: errors, editable fields, who acts."""

from smarketing.accounts.access import recorded_user
from smarketing.accounts.models import Role, User
from smarketing.crm.models import (
    Company,
    Contact,
    Deal,
    ObjectType,
)
from smarketing.timeline.models import Team


class ConflictError(Exception):
    """The record changed since the caller read it; their edit was not applied."""


CONTACT_FIELDS = (
    "email first_name last_name title phone company owner lifecycle_stage lead_status external_id "
    "first_source first_utm_source first_utm_medium first_utm_campaign first_touch_at "
    "last_source last_utm_source last_utm_medium last_utm_campaign last_touch_at "
    "consent_status consent_at consent_basis consent_source time_zone"
).split()
COMPANY_FIELDS = "name domain industry employees annual_revenue country owner external_id".split()
DEAL_FIELDS = "name company amount currency close_date owner source campaign external_id".split()
EDITABLE_FIELDS = {Contact: CONTACT_FIELDS, Company: COMPANY_FIELDS, Deal: DEAL_FIELDS}
OBJECT_TYPES = {Contact: ObjectType.CONTACT, Company: ObjectType.COMPANY, Deal: ObjectType.DEAL}


def team_of(actor) -> str:
    """The timeline team of a person's touch: their team's kind, defaulting to sales."""
    person = recorded_user(actor)  # a system actor's touch counts for the person it acts for
    team = person.team if person is not None else None
    if team is not None and team.kind == "marketing":
        return Team.MARKETING
    return Team.SALES


def _user(actor):
    """The user an `actor` foreign key records: the person, or the person a system actor acts for."""
    return recorded_user(actor)


def _fk_id(value):
    return getattr(value, "pk", value) if value not in ("", None) else None


def assignable_users():
    """Who may own records: active users who can edit (read-only users cannot work what they would own).

    The one rule for the UI's owner pickers, the API and the importer; the services enforce it on every write
    that sets an owner.
    """
    return User.objects.filter(is_active=True).exclude(role=Role.READ_ONLY)


NOT_ASSIGNABLE = "Choose an active user who can edit records (not a read-only or deactivated one)."
