"""set_property: set (or clear) one built-in or custom property of the contact, through crm's update_record."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from smarketing.core.bulk import bulk_insert
from smarketing.core.models import Origin
from smarketing.workflows.actions import Action, StepContext, StepOutcome, action
from smarketing.workflows.actions.common import actor, boolean, only, params_of, would

# The built-in fields a workflow may set. Not email (identity), lifecycle stage and owner (their own steps, with
# their own rules), nor consent: a workflow must never grant marketing consent on someone's behalf.
BUILTIN = {
    "first_name": "First name",
    "last_name": "Last name",
    "title": "Job title",
    "phone": "Phone",
    "lead_status": "Lead status",
    "first_source": "First source",
    "last_source": "Last source",
}


def _definitions() -> dict:
    from smarketing.crm.models import ObjectType, PropertyDefinition

    return {d.key: d for d in PropertyDefinition.objects.filter(object_type=ObjectType.CONTACT)}


def field_choices() -> list[tuple[str, str]]:
    """(key, label) of every settable property, for the builder."""
    return list(BUILTIN.items()) + [(f"custom.{k}", d.label) for k, d in _definitions().items()]


def _label(field: str) -> str:
    if field.startswith("custom."):
        definition = _definitions().get(field[7:])
        return definition.label if definition else field[7:]
    return BUILTIN.get(field, field)


def _data(params: dict) -> dict:
    field, value = params["field"], (None if params.get("clear") else params.get("value"))
    if field.startswith("custom."):
        return {"custom": {field[7:]: value}}
    return {field: "" if value is None else value}


@action("set_property", label="Set or clear a property")
class SetProperty(Action):
    def validate(self, params: dict) -> dict:
        from smarketing.crm.models import Contact, ObjectType
        from smarketing.crm.properties import clean_custom
        from smarketing.crm.services.records import _prepare

        params = dict(params or {})
        only(params, {"field", "value", "clear"})
        field = str(params.get("field") or "").strip()
        clear = boolean(params, "clear")
        value = params.get("value")
        if isinstance(value, str):
            value = value.strip()
        if field.startswith("custom."):
            definitions = _definitions()
            if field[7:] not in definitions:
                raise ValidationError({"field": "Choose a property to set."})
            if not clear:
                if value in (None, ""):
                    raise ValidationError({"value": "Give the value to set, or choose to clear the property."})
                cleaned = clean_custom(ObjectType.CONTACT, {field[7:]: value}, defs=list(definitions.values()))
                value = cleaned.get(field[7:])
        elif field in BUILTIN:
            if not clear:
                if value in (None, ""):
                    raise ValidationError({"value": "Give the value to set, or choose to clear the property."})
                try:
                    value = _prepare(Contact, {field: value})[field]
                except ValidationError as exc:
                    raise ValidationError({"value": exc.message_dict.get(field, exc.messages)[0]}) from None
        else:
            raise ValidationError({"field": "Choose a property to set."})
        return {"field": field, "value": None if clear else value, "clear": clear}

    def describe(self, params: dict) -> str:
        label = _label(params.get("field", ""))
        if params.get("clear"):
            return f"Clear {label}"
        return f"Set {label} to {params.get('value')}"

    def _current(self, contact, field: str):
        if field.startswith("custom."):
            return (contact.custom or {}).get(field[7:])
        return getattr(contact, field)

    def run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.crm.services.records import update_record

        params = params_of(ctx)
        contact = ctx.contact
        before = self._current(contact, params["field"])
        updated = update_record(contact, actor=actor(), data=_data(params), origin=Origin.WORKFLOW)
        after = self._current(updated, params["field"])
        label = _label(params["field"])
        if before == after:
            summary = f"{label} was already {'empty' if after in (None, '') else after}"
        elif params.get("clear"):
            summary = f"Cleared {label}"
        else:
            summary = f"Set {label} to {after}"
        return StepOutcome(summary=summary[:500], result={"field": params["field"], "from": before, "to": after})

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        return StepOutcome(summary=would(self.describe(params_of(ctx))))

    def run_batch(self, ctxs: list[StepContext]) -> list[StepOutcome]:
        """The same step for many contacts at once (a big enrollment): one UPDATE of a built-in column for the
        batch, then the contact.updated events in one INSERT and one audit entry. Custom properties (a JSON
        merge the databases spell differently) and anything unusual go row by row through run()."""
        if not ctxs:
            return []
        params = params_of(ctxs[0])
        if params["field"].startswith("custom."):
            return [self.run(ctx) for ctx in ctxs]
        from smarketing.core.audit import record_audit
        from smarketing.core.events import check_declared, notify_on_commit
        from smarketing.core.models import Event
        from smarketing.crm import payloads
        from smarketing.crm.models import Contact

        field = params["field"]
        value = "" if params.get("clear") else params.get("value")
        ids = [ctx.contact.pk for ctx in ctxs]
        now = timezone.now()
        label = _label(field)
        check_declared("contact.updated")
        with transaction.atomic():
            # One conditional UPDATE changes, locks and names the rows that differ (a SELECT … FOR UPDATE first
            # would write every row twice: its lock, then the change), then one read of what it changed.
            changed_ids = _update_where_different(Contact, ids, field, value, now)
            changing = list(Contact.objects.filter(pk__in=changed_ids).order_by("pk"))
            if changing:
                bulk_insert(
                    [
                        Event(
                            name="contact.updated",
                            occurred_at=now,
                            object_type="crm.contact",
                            object_id=str(contact.pk),
                            payload=payloads.updated(payloads.record(contact), [field]),
                        )
                        for contact in changing
                    ]
                )
                notify_on_commit()
                record_audit(
                    actor=actor(),
                    action="bulk_update",
                    obj=ctxs[0].workflow,
                    origin=Origin.WORKFLOW,
                    changes={field: (None, value), "contacts": (None, len(changing))},
                )
        outcomes = []
        for ctx in ctxs:
            if ctx.contact.pk in changed_ids:
                setattr(ctx.contact, field, value)
                summary = f"Cleared {label}" if params.get("clear") else f"Set {label} to {value}"
            else:
                summary = f"{label} was already {value or 'empty'}"
            outcomes.append(StepOutcome(summary=summary[:500], result={"field": field, "to": value}))
        return outcomes


def _update_where_different(model, ids: list[int], field: str, value, now) -> set[int]:
    """UPDATE `field` = value (and the version, updated_at) of the rows among `ids` where it differs (NULL
    included); returns their ids. The value goes through the field's own preparation, as the ORM's update."""
    from django.db import connection

    quote = connection.ops.quote_name
    column = model._meta.get_field(field)
    stamp = model._meta.get_field("updated_at")
    prepared = column.get_db_prep_save(value, connection)
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {quote(column.column)} = %s, version = version + 1, "
        f"{quote(stamp.column)} = %s WHERE id IN ({', '.join(['%s'] * len(ids))}) "
        f"AND ({quote(column.column)} IS NULL OR {quote(column.column)} <> %s) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [prepared, stamp.get_db_prep_save(now, connection), *ids, prepared])
        return {row[0] for row in cursor.fetchall()}
