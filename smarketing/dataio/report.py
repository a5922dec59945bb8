"""The result page's lines for reported rows: each changed field with its label, before → after, in words."""

from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist

from smarketing.accounts.models import User
from smarketing.crm.models import Company, Contact, Deal, ObjectType, PropertyDefinition
from smarketing.crm.sources import source_label
from smarketing.dataio.models import ReportedRow

MODELS = {ObjectType.CONTACT: Contact, ObjectType.COMPANY: Company, ObjectType.DEAL: Deal}
# Keys a planner reports that are not the model's own field names.
ALIASES = {"owner": "owner_id", "company": "company_id"}
EMPTY = "(empty)"


@dataclass
class Change:
    label: str
    before: str
    after: str


def describe_rows(rows: list[ReportedRow], object_type: str) -> list[ReportedRow]:
    """Attach `.change_list` (a list of Change) to each row; two queries at most, whatever the number of rows."""
    model = MODELS[object_type]
    user_ids, company_ids = set(), set()
    for row in rows:
        for name, pair in row.changes.items():
            field = ALIASES.get(name, name)
            target = user_ids if field == "owner_id" else company_ids if field == "company_id" else None
            if target is not None:
                target.update(value for value in pair if isinstance(value, int))
    users = {user.pk: str(user) for user in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    companies = dict(Company.objects.filter(pk__in=company_ids).values_list("pk", "name")) if company_ids else {}
    properties = {
        d.key: d.label for d in PropertyDefinition.objects.filter(object_type=object_type)
    } if any(name.startswith("custom:") for row in rows for name in row.changes) else {}  # fmt: skip
    for row in rows:
        row.change_list = [
            Change(_label(model, name, properties), *(_value(model, name, v, users, companies) for v in pair))
            for name, pair in row.changes.items()
        ]
    return rows


def _label(model, name: str, properties: dict) -> str:
    if name.startswith("custom:"):
        key = name.removeprefix("custom:")
        return properties.get(key, key)
    if name == "stage_id":
        return "Stage"
    if name == "contact":
        return "Contact added"
    if name == "first_source":
        return "Original source"
    if name == "external_id":
        return "External ID"
    try:
        field = model._meta.get_field(ALIASES.get(name, name).removesuffix("_id"))
    except FieldDoesNotExist:
        return name.replace("_", " ").capitalize()
    label = str(field.verbose_name)
    return label[:1].upper() + label[1:]


def _value(model, name: str, value, users: dict, companies: dict) -> str:
    if value is None or value == "":
        return EMPTY
    field = ALIASES.get(name, name)
    if field == "owner_id":
        return users.get(value, f"user #{value}")
    if field == "company_id":
        return companies.get(value, f"company #{value}")
    if name in ("first_source", "source"):
        return source_label(value)
    if name == "stage_id" or name.startswith("custom:") or name == "contact":
        return "yes" if value is True else "no" if value is False else str(value)
    try:
        choices = dict(model._meta.get_field(field).choices or ())
    except FieldDoesNotExist:
        choices = {}
    return str(choices.get(value, value))
