"""The payload of each CRM outbox event, built once for the services, the importer and future set-based jobs.

A record's payload is its snapshot (crm.serialize): from a saved instance, or from the {attname: value} row a
bulk writer holds.
"""

from smarketing.crm.serialize import record_dict, values_dict


def record(obj) -> dict:
    """`<object>.created` / `.deleted`-style snapshot of a saved record."""
    return record_dict(obj)


def record_values(model, values: dict) -> dict:
    """The same snapshot from a row of attribute values."""
    return values_dict(model, values)


def updated(snapshot: dict, changed) -> dict:
    """`<object>.updated`: the snapshot and the names of the fields that changed."""
    return {**snapshot, "changed": sorted(changed)}


def lifecycle_changed(contact_id: int, email: str, from_stage: str, to_stage: str, reason: str) -> dict:
    return {"id": contact_id, "email": email, "from": from_stage, "to": to_stage, "reason": reason}


def deal_stage_changed(snapshot: dict, from_stage: str, to_stage: str) -> dict:
    """`deal.stage_changed` (and `deal.won` / `deal.lost`): the deal's snapshot and the stage names."""
    return {**snapshot, "from_stage": from_stage, "to_stage": to_stage}


def merged(snapshot: dict, merged_id: int) -> dict:
    return {**snapshot, "merged_id": merged_id}
