"""Bulk actions on selected list rows: assign, lifecycle move, delete (exports are dataio's)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from smarketing.accounts.models import User
from smarketing.crm import access, services
from smarketing.crm.models import LifecycleStage
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
    # Exporting the ticked rows is dataio's: the Export button posts the same form to dataio:export.
    if action not in ("assign", "lifecycle", "delete") or (action == "lifecycle" and kind.key != "contact"):
        messages.error(request, "Unknown bulk action.")
        return redirect(back)
    if not ids:
        messages.warning(request, "Select at least one row first.")
        return redirect(back)
    selected = kind.model.objects.filter(pk__in=ids)
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
