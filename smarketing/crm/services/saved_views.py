"""Saved list views and column choices: create, rename, share, update and delete, each audited.

A view stores the list's accepted parameters (crm.queries.RecordList.params, so nothing a list page would
refuse is stored) and its column keys (crm.columns). Only its owner changes it; sharing gives it to the
owner's team to open, not to edit.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from smarketing.core.audit import record_audit
from smarketing.crm import access, columns
from smarketing.crm.models import ListColumns, ObjectType, PropertyDefinition, SavedView

NAME_MAX = 80
VIEWS_PER_LIST = 50  # per person and list; the views panel is a row of links, not a directory


def _definitions(kind: str) -> list[PropertyDefinition]:
    return list(PropertyDefinition.objects.filter(object_type=kind))


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("Give the view a name.")
    if len(name) > NAME_MAX:
        raise ValidationError(f"Keep the view's name under {NAME_MAX} characters.")
    return name


def _team_for(actor, shared: bool):
    if not shared:
        return None
    if actor.team_id is None:
        raise ValidationError("You belong to no team, so the view can only be private. An admin can add you to one.")
    return actor.team


def _clean_params(params) -> list[list[str]]:
    return [[str(name), str(value)] for name, value in params if name != "after"]


def _save(view: SavedView, message: str) -> None:
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError:
        raise ValidationError(message) from None


def _changes(view: SavedView) -> dict:
    return {"name": view.name, "shared": view.shared, "params": view.params, "columns": view.columns}


@transaction.atomic
def create_view(actor, *, kind: str, name: str, params, column_keys: list[str], shared: bool = False) -> SavedView:
    """Save the list as it is shown now under `name` (private, or shared with the actor's team)."""
    access.require_view_saver(actor)
    kind = ObjectType(kind)
    name = _clean_name(name)
    if SavedView.objects.filter(owner=actor, kind=kind).count() >= VIEWS_PER_LIST:
        raise ValidationError(f"You have {VIEWS_PER_LIST} saved views of this list; delete one first.")
    view = SavedView(
        kind=kind,
        name=name,
        owner=actor,
        team=_team_for(actor, shared),
        params=_clean_params(params),
        columns=columns.clean_keys(kind, column_keys, _definitions(kind)),
    )
    _save(view, f"You already have a view called “{name}”.")
    record_audit(
        actor=actor,
        action="view_created",
        obj=view,
        changes={k: (None, v) for k, v in _changes(view).items()},
        object_repr=f"Saved view “{view.name}”",
    )
    return view


@transaction.atomic
def update_view(
    actor, view: SavedView, *, name: str | None = None, shared: bool | None = None, params=None, column_keys=None
) -> SavedView:
    """Rename, share or unshare a view, or replace its filters and sort (`params`) or columns."""
    view = SavedView.objects.select_for_update().get(pk=view.pk)
    access.require_view_owner(actor, view)
    before = _changes(view)
    if name is not None:
        view.name = _clean_name(name)
    if shared is not None:
        view.team = _team_for(actor, shared)
    if params is not None:
        view.params = _clean_params(params)
    if column_keys is not None:
        view.columns = columns.clean_keys(view.kind, column_keys, _definitions(view.kind))
    after = _changes(view)
    changed = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    if not changed:
        return view
    view.updated_at = timezone.now()
    _save(view, f"You already have a view called “{view.name}”.")
    record_audit(actor=actor, action="view_updated", obj=view, changes=changed, object_repr=f"Saved view “{view.name}”")
    return view


@transaction.atomic
def delete_view(actor, view: SavedView) -> None:
    access.require_view_owner(actor, view)
    record_audit(
        actor=actor,
        action="view_deleted",
        obj=view,
        changes={k: (v, None) for k, v in _changes(view).items()},
        object_repr=f"Saved view “{view.name}”",
    )
    view.delete()


@transaction.atomic
def save_columns(actor, *, kind: str, column_keys: list[str]) -> ListColumns:
    """The actor's own columns for list `kind`, in order (known keys only, the name column first)."""
    access.require_view_saver(actor)
    kind = ObjectType(kind)
    keys = columns.clean_keys(kind, column_keys, _definitions(kind))
    choice, _ = ListColumns.objects.select_for_update().get_or_create(user=actor, kind=kind)
    before = choice.columns
    if before != keys:
        choice.columns = keys
        choice.updated_at = timezone.now()
        choice.save(update_fields=["columns", "updated_at"])
        record_audit(
            actor=actor,
            action="columns_changed",
            obj=choice,
            changes={"columns": (before or None, keys)},
            object_repr=f"{kind.label} list columns",
        )
    return choice
