"""Every write to segments and static lists: checked, audited, set-based for members.

Adding members is one `INSERT ... SELECT` per batch of ids (or one for "everyone matching this filter"), with
`ON CONFLICT DO NOTHING` against the (list, contact) unique constraint: adding a contact twice is a no-op,
two people adding the same contacts at once cannot collide, and ids that are not contacts are skipped rather
than failing the batch.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from smarketing.core.audit import actor_user, record_audit
from smarketing.core.models import Origin
from smarketing.crm.models import Contact
from smarketing.segments import access, schema
from smarketing.segments.models import ContactList, ListMembership, Segment

# Ids per INSERT: well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
ID_BATCH = 5000
MAX_NAME = 200


def _clean_name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": "Give it a name."})
    if len(name) > MAX_NAME:
        raise ValidationError({"name": f"At most {MAX_NAME} characters."})
    return name


def _clean_description(text) -> str:
    text = (text or "").strip() if isinstance(text, str) else ""
    if len(text) > 2000:
        raise ValidationError({"description": "At most 2000 characters."})
    return text


def _user(actor):
    return actor_user(actor)


# -- segments -----------------------------------------------------------------------------------------


@transaction.atomic
def create_segment(actor, *, name: str, definition: dict | None = None, description: str = "") -> Segment:
    access.require_edit(actor)
    try:
        clean = schema.validate_definition(definition)
    except ValidationError as exc:
        raise ValidationError({"definition": exc.messages}) from None
    segment = Segment.objects.create(
        name=_clean_name(name), description=_clean_description(description), definition=clean, owner=_user(actor)
    )
    record_audit(actor=actor, action="create", obj=segment)
    return segment


@transaction.atomic
def update_segment(actor, segment: Segment, **fields) -> Segment:
    """Change name, description and/or definition (validated; a segment cannot come to include itself)."""
    access.require_edit(actor)
    unknown = set(fields) - {"name", "description", "definition"}
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
    changes = {}
    if "name" in fields:
        changes["name"] = (segment.name, _clean_name(fields["name"]))
    if "description" in fields:
        changes["description"] = (segment.description, _clean_description(fields["description"]))
    if "definition" in fields:
        try:
            clean = schema.validate_definition(fields["definition"], segment_id=segment.pk)
        except ValidationError as exc:
            raise ValidationError({"definition": exc.messages}) from None
        changes["definition"] = (segment.definition, clean)
    changes = {k: v for k, v in changes.items() if v[0] != v[1]}
    if not changes:
        return segment
    for key, (_old, new) in changes.items():
        setattr(segment, key, new)
    segment.updated_at = timezone.now()
    if "definition" in changes:
        # The remembered figure described the old conditions.
        segment.last_count, segment.counted_at = None, None
    segment.save()
    record_audit(actor=actor, action="update", obj=segment, changes=changes)
    return segment


@transaction.atomic
def archive_segment(actor, segment: Segment, archived: bool = True) -> Segment:
    access.require_edit(actor)
    if segment.archived != archived:
        segment.archived = archived
        segment.updated_at = timezone.now()
        segment.save(update_fields=["archived", "updated_at"])
        record_audit(actor=actor, action="archive" if archived else "restore", obj=segment)
    return segment


@transaction.atomic
def delete_segment(actor, segment: Segment) -> None:
    """Delete a segment no other segment refers to (those would silently lose a condition)."""
    access.require_edit(actor)
    users = [
        s.name
        for s in Segment.objects.exclude(pk=segment.pk).only("name", "definition")
        if segment.pk in schema.referenced_segments(s.definition or {})
    ]
    if users:
        raise ValidationError(f"Used by the segment {users[0]!r}: remove that rule first.")
    record_audit(actor=actor, action="delete", obj=segment)
    segment.delete()


# -- static lists -------------------------------------------------------------------------------------


@transaction.atomic
def create_list(actor, *, name: str, description: str = "") -> ContactList:
    access.require_edit(actor)
    contact_list = ContactList.objects.create(
        name=_clean_name(name), description=_clean_description(description), owner=_user(actor)
    )
    record_audit(actor=actor, action="create", obj=contact_list)
    return contact_list


@transaction.atomic
def update_list(actor, contact_list: ContactList, **fields) -> ContactList:
    access.require_edit(actor)
    unknown = set(fields) - {"name", "description", "archived"}
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
    changes = {}
    if "name" in fields:
        changes["name"] = (contact_list.name, _clean_name(fields["name"]))
    if "description" in fields:
        changes["description"] = (contact_list.description, _clean_description(fields["description"]))
    if "archived" in fields:
        changes["archived"] = (contact_list.archived, bool(fields["archived"]))
    changes = {k: v for k, v in changes.items() if v[0] != v[1]}
    if changes:
        for key, (_old, new) in changes.items():
            setattr(contact_list, key, new)
        contact_list.save()
        record_audit(actor=actor, action="update", obj=contact_list, changes=changes)
    return contact_list


@transaction.atomic
def delete_list(actor, contact_list: ContactList) -> None:
    access.require_edit(actor)
    users = [
        s.name for s in Segment.objects.only("name", "definition") if _names_list(s.definition or {}, contact_list.pk)
    ]
    if users:
        raise ValidationError(f"Used by the segment {users[0]!r}: remove that rule first.")
    record_audit(actor=actor, action="delete", obj=contact_list)
    contact_list.delete()


def _names_list(definition: dict, list_id: int) -> bool:
    for node in definition.get("rules", []):
        if "rules" in node:
            if _names_list(node, list_id):
                return True
        elif node.get("field") == "list" and node.get("value") == list_id:
            return True
    return False


def _insert_members(contact_list: ContactList, select_sql: str, params: list, origin: str) -> int:
    """INSERT the contacts `select_sql` selects (one column of contact ids); returns how many were new."""
    table = ListMembership._meta.db_table
    contacts = Contact._meta.db_table
    q = connection.ops.quote_name
    sql = (
        f"INSERT INTO {q(table)} (contact_list_id, contact_id, added_at, origin) "
        f"SELECT %s, c.id, %s, %s FROM {q(contacts)} c WHERE c.id IN ({select_sql}) "
        "ON CONFLICT (contact_list_id, contact_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        # As the ORM stores it (SQLite keeps naive UTC text, a raw aware value is text in another form).
        added_at = connection.ops.adapt_datetimefield_value(timezone.now())
        cursor.execute(sql, [contact_list.pk, added_at, origin, *params])
        return max(cursor.rowcount, 0)


def _clean_ids(contact_ids: Iterable) -> list[int]:
    ids = set()
    for raw in contact_ids:
        if isinstance(raw, bool):
            raise ValidationError(f"{raw!r} is not a contact id.")
        try:
            ids.add(int(raw))
        except (TypeError, ValueError):
            raise ValidationError(f"{raw!r} is not a contact id.") from None
    return sorted(ids)


@transaction.atomic
def add_to_list(actor, contact_list: ContactList, contact_ids: Iterable, origin: str = Origin.UI) -> int:
    """Add contacts by id; returns how many were not on the list yet. Ids that are no contact are skipped."""
    access.require_edit(actor)
    ids = _clean_ids(contact_ids)
    added = 0
    for start in range(0, len(ids), ID_BATCH):
        chunk = ids[start : start + ID_BATCH]
        added += _insert_members(contact_list, ", ".join(["%s"] * len(chunk)), chunk, origin)
    if added:
        record_audit(
            actor=actor, action="add_members", obj=contact_list, changes={"members": [None, added]}, origin=origin
        )
    return added


@transaction.atomic
def add_matching_to_list(actor, contact_list: ContactList, contacts: QuerySet, origin: str = Origin.UI) -> int:
    """Add every contact of a queryset (the contact list's "all matching this filter") in one statement."""
    access.require_edit(actor)
    sql, params = contacts.order_by().values("pk").query.sql_with_params()
    added = _insert_members(contact_list, sql, list(params), origin)
    if added:
        record_audit(
            actor=actor, action="add_members", obj=contact_list, changes={"members": [None, added]}, origin=origin
        )
    return added


@transaction.atomic
def remove_from_list(actor, contact_list: ContactList, contact_ids: Iterable, origin: str = Origin.UI) -> int:
    """Remove contacts by id; returns how many were on the list."""
    access.require_edit(actor)
    ids = _clean_ids(contact_ids)
    removed = 0
    for start in range(0, len(ids), ID_BATCH):
        chunk = ids[start : start + ID_BATCH]
        deleted, _ = ListMembership.objects.filter(contact_list=contact_list, contact_id__in=chunk).delete()
        removed += deleted
    if removed:
        record_audit(
            actor=actor, action="remove_members", obj=contact_list, changes={"members": [removed, None]}, origin=origin
        )
    return removed


def move_on_contact_merge(primary_id: int, duplicate_id: int) -> None:
    """A merged contact's list memberships the survivor does not have already."""
    have = ListMembership.objects.filter(contact_id=primary_id).values("contact_list_id")
    ListMembership.objects.filter(contact_id=duplicate_id).exclude(contact_list_id__in=have).update(
        contact_id=primary_id
    )
