"""Bulk actions on selected list rows: assign, lifecycle move, delete, CSV export."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from smarketing.accounts.models import User
from smarketing.core.audit import record_audit
from smarketing.core.csvsafe import defuse
from smarketing.crm import access, services
from smarketing.crm.models import LifecycleStage, ObjectType, PropertyDefinition
from smarketing.crm.views.lists.common import KINDS, Kind, back_url, selected_ids


@require_POST
def contact_bulk(request):
    return _bulk(request, KINDS["contact"])


@require_POST
def company_bulk(request):
    return _bulk(request, KINDS["company"])


@require_POST
def deal_bulk(request):
    return _bulk(request, KINDS["deal"])


def _bulk(request, kind: Kind):
    action = request.POST.get("action", "")
    ids = selected_ids(request.POST)
    back = back_url(request, kind)
    if action not in ("assign", "lifecycle", "export", "delete") or (action == "lifecycle" and kind.key != "contact"):
        messages.error(request, "Unknown bulk action.")
        return redirect(back)
    if not ids:
        messages.warning(request, "Select at least one row first.")
        return redirect(back)
    selected = kind.model.objects.filter(pk__in=ids)
    if action == "export":
        return _export(request, kind, selected)
    if action == "assign":
        _bulk_assign(request, kind, selected)
    elif action == "lifecycle":
        _bulk_lifecycle(request, selected)
    else:
        _bulk_delete(request, kind, selected)
    return redirect(back)


def _report(request, updated: int, skipped: int, extra: list[str] = ()) -> None:
    parts = [f"{updated} updated"]
    if skipped:
        parts.append(f"{skipped} skipped (no permission)")
    parts.extend(extra)
    level = messages.success if updated else messages.warning
    level(request, ", ".join(parts) + ".")


def _bulk_assign(request, kind: Kind, selected) -> None:
    user = request.user
    access.require(user, "reassign")
    raw = request.POST.get("owner", "")
    if raw == "none":
        owner = None
    else:
        owner = User.objects.filter(pk=int(raw), is_active=True).first() if raw.isdigit() else None
        if owner is None:
            messages.error(request, "Choose an owner (or “Unassigned”) to assign the selected records to.")
            return
    total = selected.count()
    allowed = selected.for_user(user, "reassign").count()
    changed = services.assign_owner(selected, owner=owner, actor=user)
    unchanged = allowed - changed
    _report(request, changed, total - allowed, [f"{unchanged} already had that owner"] if unchanged else [])


def _bulk_lifecycle(request, selected) -> None:
    user = request.user
    access.require(user, "edit")
    stage = request.POST.get("lifecycle_stage", "")
    reason = request.POST.get("reason", "").strip()[:300]
    if stage not in LifecycleStage.values:
        messages.error(request, "Choose the lifecycle stage to move the selected contacts to.")
        return
    total = selected.count()
    allowed = list(selected.for_user(user, "edit").order_by("id"))
    updated = needs_reason = unchanged = 0
    for contact in allowed:
        try:
            change = services.change_lifecycle_stage(contact, stage, actor=user, reason=reason, allow_backward=True)
        except ValidationError:
            needs_reason += 1  # a backward move without a reason: the service refuses it
            continue
        if change is None:
            unchanged += 1
        else:
            updated += 1
    extra = []
    if needs_reason:
        extra.append(f"{needs_reason} skipped (moving back to an earlier stage needs a reason)")
    if unchanged:
        extra.append(f"{unchanged} already in that stage")
    _report(request, updated, total - len(allowed), extra)


def _bulk_delete(request, kind: Kind, selected) -> None:
    user = request.user
    access.require(user, "delete")
    total = selected.count()
    deleted = 0
    for obj in selected.for_user(user, "delete").order_by("id"):
        services.delete_record(obj, actor=user)
        deleted += 1
    skipped = total - deleted
    messages.success(request, f"{deleted} deleted" + (f", {skipped} skipped (no permission)." if skipped else "."))


# CSV columns per kind: header and how to read the value from a row (related rows are select_related).
EXPORT_COLUMNS = {
    "contact": [
        ("id", lambda c: c.pk),
        ("email", lambda c: c.email),
        ("first_name", lambda c: c.first_name),
        ("last_name", lambda c: c.last_name),
        ("title", lambda c: c.title),
        ("phone", lambda c: c.phone),
        ("company", lambda c: c.company.name if c.company else ""),
        ("company_domain", lambda c: (c.company.domain or "") if c.company else ""),
        ("lifecycle_stage", lambda c: c.lifecycle_stage),
        ("lead_status", lambda c: c.lead_status),
        ("owner_email", lambda c: c.owner.email if c.owner else ""),
        ("first_source", lambda c: c.first_source),
        ("consent_status", lambda c: c.consent_status),
        ("created_at", lambda c: c.created_at.isoformat()),
    ],
    "company": [
        ("id", lambda c: c.pk),
        ("name", lambda c: c.name),
        ("domain", lambda c: c.domain or ""),
        ("industry", lambda c: c.industry),
        ("employees", lambda c: c.employees if c.employees is not None else ""),
        ("annual_revenue", lambda c: c.annual_revenue if c.annual_revenue is not None else ""),
        ("country", lambda c: c.country),
        ("owner_email", lambda c: c.owner.email if c.owner else ""),
        ("created_at", lambda c: c.created_at.isoformat()),
    ],
    "deal": [
        ("id", lambda d: d.pk),
        ("name", lambda d: d.name),
        ("pipeline", lambda d: d.pipeline.name),
        ("stage", lambda d: d.stage.name),
        ("status", lambda d: d.status),
        ("amount", lambda d: d.amount),
        ("currency", lambda d: d.currency),
        ("close_date", lambda d: d.close_date.isoformat() if d.close_date else ""),
        ("company", lambda d: d.company.name if d.company else ""),
        ("owner_email", lambda d: d.owner.email if d.owner else ""),
        ("source", lambda d: d.source),
        ("created_at", lambda d: d.created_at.isoformat()),
    ],
}


class _Echo:
    """csv.writer target that hands each formatted line back instead of buffering it."""

    def write(self, value):
        return value


def _export(request, kind: Kind, selected):
    user = request.user
    access.require(user, "export")
    definitions = list(PropertyDefinition.objects.filter(object_type=ObjectType(kind.key)))
    columns = EXPORT_COLUMNS[kind.key]
    rows = selected.for_user(user, "export").select_related(*kind.related).order_by("id")
    first = rows.first()
    if first is None:
        messages.warning(request, "Nothing to export.")
        return redirect(back_url(request, kind))
    record_audit(
        actor=user,
        action="export",
        obj=first,
        object_repr=f"CSV export of {len(selected_ids(request.POST))} {kind.plural}",
        changes={"ids": (None, selected_ids(request.POST))},
    )

    def lines():
        writer = csv.writer(_Echo())
        yield writer.writerow([name for name, _ in columns] + [f"custom.{d.key}" for d in definitions])
        for obj in rows.iterator(chunk_size=500):
            cells = [get(obj) for _, get in columns] + [obj.custom.get(d.key, "") for d in definitions]
            # Cells a spreadsheet would run as formulas (=, +, -, @ ...) are defused to text.
            yield writer.writerow([defuse(cell if isinstance(cell, str) else str(cell)) for cell in cells])

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind.plural}-{stamp}.csv"'
    return response
