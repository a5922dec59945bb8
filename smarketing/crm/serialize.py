"""Plain-dict snapshots of CRM records, used in event payloads and privacy exports."""

from smarketing.crm.models import Company, Contact, Deal


def _value(value):
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def record_dict(obj) -> dict:
    """Every concrete field (foreign keys as ids), plus custom properties."""
    return values_dict(type(obj), {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields})


def values_dict(model, values: dict) -> dict:
    """record_dict of a row given as {attname: value} (what bulk writers hold instead of model instances)."""
    data = {"id": values["id"], "object": model._meta.model_name}
    for field in model._meta.concrete_fields:
        if field.name in ("name_key", "last_key"):
            continue
        data[field.attname] = _value(values[field.attname])
    return data


def contact_dict(contact: Contact) -> dict:
    return record_dict(contact)


def company_dict(company: Company) -> dict:
    return record_dict(company)


def deal_dict(deal: Deal) -> dict:
    data = record_dict(deal)
    data["stage_name"] = deal.stage.name if deal.stage_id else None
    return data
