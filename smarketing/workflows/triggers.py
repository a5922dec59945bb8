"""What enrolls contacts: outbox events (the "workflows" consumer) and the periodic checks.

Event triggers. `handle_events` gets a batch of outbox events in seq order, inside the consumer's transaction
(its enrollments commit with the cursor move: each event enrolls once, a crash replays the batch). For the
batch it reads the active workflows once, matches each event against each workflow listening to its name
(`matches`: pure, on the event's payload), looks up the contacts of deals in one query, and enrolls per
workflow with `services.enroll_contacts` (one read of earlier enrollments, one INSERT). A contact that several
events of one batch would enroll enrolls once, by the first event.

Periodic triggers (`check_periodic`, a job every 5 minutes):
- segment entered / left: the segment's members now, from the segment engine's SQL, against the workflow's
  snapshot of last time (`SegmentSnapshot`); the difference is enrolled with one INSERT … SELECT and the
  snapshot is brought up to date with one DELETE and one INSERT. The first check after activation (or after
  the trigger changed) only takes the snapshot: "entered" means entered after the workflow started.
- date reached: contacts whose date property falls on today + N days, through the segment engine's
  "between" on that day; the enrollment rules keep a contact from enrolling again the same day.
"""

import json
import logging
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from smarketing.core.events import event_types
from smarketing.workflows import definition as wfdef
from smarketing.workflows import services
from smarketing.workflows.models import SegmentSnapshot, TriggerState, Workflow, WorkflowStatus

logger = logging.getLogger(__name__)

EVENT_TRIGGERS = {spec.event: type_ for type_, spec in wfdef.TRIGGERS.items() if spec.event}
PERIODIC_TRIGGERS = tuple(type_ for type_, spec in wfdef.TRIGGERS.items() if spec.periodic)


# -- reading payloads (tolerant: each pillar names its ids its own way) ------------------------------------------


def _first(payload: dict, *keys):
    for key in keys:
        value = payload.get(key)
        if value not in (None, ""):
            return value
    return None


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def contact_of(event) -> int | None:
    """The contact an event is about (None for deals: their contacts come from the deal)."""
    payload = event.payload or {}
    if event.object_type == "crm.contact":
        # The event's object is the contact itself; its payload's "id" may be something else's (a submission).
        return _int(event.object_id) or _int(_first(payload, "id"))
    return _int(_first(payload, "contact_id", "contact"))


def matches(trigger: dict, event) -> bool:
    """Whether an event (of the trigger's event name) sets this trigger off."""
    type_, params = trigger["type"], trigger.get("params") or {}
    payload = event.payload or {}
    if type_ in ("contact_created", "meeting_booked"):
        return True
    if type_ == "form_submitted":
        form = _first(payload, "form_id", "form")
        if isinstance(form, dict):  # forms' own payload: "form": {"id": ..., "name": ..., "public_id": ...}
            form = form.get("id")
        return params.get("form") is None or _int(form) == params["form"]
    if type_ == "property_changed":
        field = params["field"]
        changed = set(payload.get("changed") or [])
        if field.startswith("custom."):
            key = field.split(".", 1)[1]
            if "custom" not in changed:
                return False
            value = (payload.get("custom") or {}).get(key)
        else:
            if field not in changed:
                return False
            value = payload.get(field, payload.get(f"{field}_id"))
        return params.get("value") is None or str(value if value is not None else "") == params["value"]
    if type_ == "lifecycle_changed":
        return params.get("stage") is None or _first(payload, "to", "to_stage") == params["stage"]
    if type_ == "score_crossed":
        group = params.get("group")
        if group is not None and str(_first(payload, "group", "group_id", "group_name")) != str(group):
            return False
        new = _number(_first(payload, "new_total", "total", "score", "new", "to"))
        old = _number(_first(payload, "old_total", "previous_total", "old", "from"))
        if new is None:
            return False
        return new >= params["threshold"] and (old is None or old < params["threshold"])
    if type_ in ("email_opened", "email_clicked"):
        return params.get("campaign") is None or _int(_first(payload, "campaign_id", "campaign")) == params["campaign"]
    if type_ == "page_viewed":
        url = str(_first(payload, "url", "path") or "")
        return params["url_contains"].lower() in url.lower()
    if type_ == "deal_stage_changed":
        if params.get("stage") is not None and _int(_first(payload, "stage_id", "stage")) != params["stage"]:
            return False
        return params.get("pipeline") is None or _int(_first(payload, "pipeline_id", "pipeline")) == params["pipeline"]
    return False


# -- the outbox consumer -----------------------------------------------------------------------------------------


def listening_workflows() -> dict[str, list[Workflow]]:
    """Active workflows by the event name their trigger listens to (undeclared events: nobody listens)."""
    declared = {t.name for t in event_types()}
    found: dict[str, list[Workflow]] = defaultdict(list)
    for workflow in Workflow.objects.filter(status=WorkflowStatus.ACTIVE).order_by("pk"):
        spec = wfdef.TRIGGERS.get((workflow.trigger or {}).get("type"))
        if spec is not None and spec.event and spec.event in declared:
            found[spec.event].append(workflow)
    return found


def handle_events(events) -> int:
    from smarketing.crm.models import Contact, DealContact

    listening = listening_workflows()
    relevant = [event for event in events if event.name in listening]
    if not relevant:
        return 0
    deal_ids = {_int(event.object_id) for event in relevant if event.object_type == "crm.deal"}
    deal_contacts: dict[int, list[int]] = defaultdict(list)
    if deal_ids:
        for deal_id, contact_id in DealContact.objects.filter(deal_id__in=deal_ids).values_list(
            "deal_id", "contact_id"
        ):
            deal_contacts[deal_id].append(contact_id)
    wanted: dict[int, dict[int, int]] = defaultdict(dict)  # workflow id → contact id → first event id
    workflows = {}
    for event in relevant:
        if event.object_type == "crm.deal":
            contacts = deal_contacts.get(_int(event.object_id), [])
        else:
            contact = contact_of(event)
            contacts = [contact] if contact else []
        if not contacts:
            continue
        for workflow in listening[event.name]:
            if matches(workflow.trigger, event):
                workflows[workflow.pk] = workflow
                for contact in contacts:
                    wanted[workflow.pk].setdefault(contact, event.pk)
    if not wanted:
        return 0
    # Events outlive their contacts (deleted, merged away): enroll only those that still exist.
    alive = set(
        Contact.objects.filter(pk__in={c for targets in wanted.values() for c in targets}).values_list("pk", flat=True)
    )
    enrolled = 0
    for workflow_id, targets in wanted.items():
        targets = {contact: event for contact, event in targets.items() if contact in alive}
        enrolled += len(services.enroll_contacts(workflows[workflow_id], targets))
    if enrolled:
        services.wake_runner()
    return enrolled


# -- periodic triggers -------------------------------------------------------------------------------------------


def _key(workflow: Workflow) -> str:
    return json.dumps(workflow.trigger, sort_keys=True)[:300]


def check_periodic() -> int:
    """Every active workflow with a periodic trigger, one transaction each. Returns how many enrolled."""
    total = 0
    for workflow in Workflow.objects.filter(status=WorkflowStatus.ACTIVE).order_by("pk"):
        type_ = (workflow.trigger or {}).get("type")
        if type_ not in PERIODIC_TRIGGERS:
            continue
        try:
            with transaction.atomic():
                if type_ == "date_reached":
                    total += check_date(workflow)
                else:
                    total += check_segment(workflow)
        except Exception:  # noqa: BLE001 - one broken trigger (a deleted segment) must not stop the others
            logger.exception("workflow %s: periodic trigger failed", workflow.pk)
    if total:
        services.wake_runner()
    return total


def check_segment(workflow: Workflow) -> int:
    from smarketing.segments.models import Segment
    from smarketing.segments.queries import segment_sql

    now = timezone.now()
    trigger = workflow.trigger
    segment_id = trigger["params"]["segment"]
    definition = Segment.objects.values_list("definition", flat=True).get(pk=segment_id)
    members_sql, members_params = segment_sql(definition, now=now)
    snapshot = connection.ops.quote_name(SegmentSnapshot._meta.db_table)
    state = TriggerState.objects.select_for_update().filter(workflow=workflow).first()
    primed = state is not None and state.key == _key(workflow)
    enrolled = 0
    if primed:
        if trigger["type"] == "segment_entered":
            source = (
                f"SELECT m.contact_id FROM ({members_sql}) m WHERE NOT EXISTS "
                f"(SELECT 1 FROM {snapshot} s WHERE s.workflow_id = %s AND s.contact_id = m.contact_id)"
            )
            params = [*members_params, workflow.pk]
        else:
            source = (
                f"SELECT s.contact_id FROM {snapshot} s WHERE s.workflow_id = %s "
                f"AND s.contact_id NOT IN (SELECT x.contact_id FROM ({members_sql}) x)"
            )
            params = [workflow.pk, *members_params]
        enrolled = services.enroll_from_sql(workflow, source, params, now=now)
    # Bring the snapshot up to date: drop who left, add who entered.
    with connection.cursor() as cursor:
        if not primed:
            cursor.execute(f"DELETE FROM {snapshot} WHERE workflow_id = %s", [workflow.pk])
        else:
            cursor.execute(
                f"DELETE FROM {snapshot} WHERE workflow_id = %s "
                f"AND contact_id NOT IN (SELECT x.contact_id FROM ({members_sql}) x)",
                [workflow.pk, *members_params],
            )
        cursor.execute(
            f"INSERT INTO {snapshot} (workflow_id, contact_id) SELECT %s, m.contact_id FROM ({members_sql}) m "
            f"WHERE NOT EXISTS (SELECT 1 FROM {snapshot} s WHERE s.workflow_id = %s AND s.contact_id = m.contact_id)",
            [workflow.pk, *members_params, workflow.pk],
        )
    if state is None:
        TriggerState.objects.create(workflow=workflow, key=_key(workflow), primed_at=now, checked_at=now)
    else:
        fields = {"checked_at": now} if primed else {"checked_at": now, "primed_at": now, "key": _key(workflow)}
        TriggerState.objects.filter(pk=state.pk).update(**fields)
    return enrolled


def check_date(workflow: Workflow) -> int:
    import datetime

    from smarketing.segments.queries import segment_sql

    now = timezone.now()
    params = workflow.trigger["params"]
    day = (timezone.localdate(now) + datetime.timedelta(days=params["days_before"])).isoformat()
    window = {
        "op": "and",
        "negate": False,
        "rules": [{"field": params["field"], "operator": "between", "value": [day, day]}],
    }
    source, source_params = segment_sql(window, now=now)
    enrolled = services.enroll_from_sql(workflow, f"SELECT m.contact_id FROM ({source}) m", source_params, now=now)
    TriggerState.objects.update_or_create(workflow=workflow, defaults={"key": _key(workflow), "checked_at": now})
    return enrolled
