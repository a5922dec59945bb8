"""Quick changes on a record page that confirm with a toast and offer an Undo: the owner, the contacts on a
deal, and the Undo itself (also for a completed task and a stage move, offered by work.py and board.py).

Every change and every undo goes through crm.services, so the permission checks, the history, the audit
entries and the events are the same as for any other write. An Undo is a signed token (core.toasts) posted
back here; it names what to restore and refuses when the record has changed since.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from smarketing.accounts.models import User
from smarketing.core.toasts import UndoRefused, add_toast, read_undo_token
from smarketing.crm import access, services
from smarketing.crm.models import Contact, Deal, DealContact, Stage, Task
from smarketing.crm.views.records.common import (
    add_errors,
    get_record,
    record_url,
    safe_next,
    undo_offer,
    wants_json,
)
from smarketing.crm.views.records.forms import DealContactForm, OwnerForm
from smarketing.crm.views.records.pages import render_deal


@require_POST
def deal_contact_add(request, pk: int):
    deal = get_record("deal", pk)
    access.require(request.user, "edit", deal)  # refuse before judging the form: no errors for a 403
    form = DealContactForm(request.POST)
    if form.is_valid():
        contact, role = form.cleaned_data["q"], form.cleaned_data["role"]
        try:
            link = services.add_deal_contact(deal, contact, role=role, actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            response = redirect(f"{record_url('deal', deal)}#deal-contacts")
            return add_toast(request, response, f"Added {contact} to “{deal.name}” as {link.get_role_display()}.")
    return render_deal(request, deal, contact_form=form, status=400)


@require_POST
def deal_contact_remove(request, pk: int, contact_id: int):
    deal = get_record("deal", pk)
    link = DealContact.objects.select_related("contact").filter(deal=deal, contact_id=contact_id).first()
    response = redirect(f"{record_url('deal', deal)}#deal-contacts")
    if link is None:
        messages.info(request, "That contact was not on this deal any more.")
        return response
    services.remove_deal_contact(deal, link.contact, actor=request.user)  # PermissionDenied: 403 page
    undo = undo_offer(request, "deal_contact", deal=deal.pk, contact=link.contact_id, role=link.role)
    return add_toast(request, response, f"Removed {link.contact} from “{deal.name}”.", **undo)


@require_POST
def change_owner(request, kind: str, pk: int):
    obj = get_record(kind, pk)
    access.require(request.user, "reassign", obj)
    form = OwnerForm(request.POST)
    response = redirect(record_url(kind, obj))
    if not form.is_valid():
        messages.error(request, "Choose an active user who can edit records; the owner was not changed.")
        return response
    owner = form.cleaned_data["owner"]
    before = obj.owner_id
    if owner is None and before is None or owner is not None and owner.pk == before:
        return response
    updated = services.update_record(obj, actor=request.user, data={"owner": owner.pk if owner else None})
    who = owner.display_name if owner else "nobody (unassigned)"
    message = f"Owner of “{obj}” set to {who}."
    if not access.can(request.user, "reassign", updated):
        # A member who hands a record over may not take it back: an Undo here would only be refused.
        return add_toast(request, response, f"{message} Only {who} or a manager can change it now.")
    undo = undo_offer(request, "owner", kind=kind, pk=obj.pk, before=before, after=owner.pk if owner else None)
    return add_toast(request, response, message, **undo)


# ---------------------------------------------------------------------------------------------------------
# Undo


def _undo_task(request, data: dict) -> tuple[str, str]:
    task = get_object_or_404(Task.objects.select_related("contact", "company", "deal"), pk=data["task"])
    services.reopen_task(task, actor=request.user)
    if task.deal_id:
        where = record_url("deal", task.deal)
    elif task.contact_id:
        where = record_url("contact", task.contact)
    elif task.company_id:
        where = record_url("company", task.company)
    else:
        where = reverse("task_list")
    return f"Task “{task.title}” is open again.", where


def _undo_move(request, data: dict) -> tuple[str, str]:
    deal = get_record("deal", data["deal"])
    if deal.stage_id != data["to"]:
        raise UndoRefused(f"“{deal.name}” has moved since; it stays in {deal.stage.name}.")
    back = get_object_or_404(Stage, pk=data["from"], pipeline_id=deal.pipeline_id)
    # Moving back is a move like any other: recorded in the stage history and on the timeline.
    services.move_deal_stage(deal, back, actor=request.user, reason="Undone: moved back")
    return f"Moved “{deal.name}” back to {back.name}.", record_url("deal", deal)


def _undo_owner(request, data: dict) -> tuple[str, str]:
    obj = get_record(data["kind"], data["pk"])
    if obj.owner_id != data["after"]:
        raise UndoRefused(f"The owner of “{obj}” has changed since; it was left as it is.")
    services.update_record(obj, actor=request.user, data={"owner": data["before"]})
    before = User.objects.filter(pk=data["before"]).first() if data["before"] else None
    return f"Owner of “{obj}” is {before.display_name if before else 'nobody (unassigned)'} again.", record_url(
        data["kind"], obj
    )


def _undo_deal_contact(request, data: dict) -> tuple[str, str]:
    deal = get_object_or_404(Deal, pk=data["deal"])
    contact = get_object_or_404(Contact, pk=data["contact"])
    services.add_deal_contact(deal, contact, role=data["role"], actor=request.user)
    return f"{contact} is on “{deal.name}” again.", f"{record_url('deal', deal)}#deal-contacts"


UNDO_ACTIONS = {"task": _undo_task, "move": _undo_move, "owner": _undo_owner, "deal_contact": _undo_deal_contact}


@require_POST
def undo(request):
    """Honour a toast's Undo: a signed, short-lived token for this user (core.toasts), never a GET."""
    json = wants_json(request)
    try:
        action, data = read_undo_token(request.POST.get("token", ""), request.user)  # another user's: 403
        handler = UNDO_ACTIONS.get(action)
        if handler is None:
            raise UndoRefused("That undo is not valid; nothing was changed.")
        message, where = handler(request, data)
    except (UndoRefused, ValidationError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        if json:
            return JsonResponse({"ok": False, "error": text}, status=400)
        messages.error(request, text)
        return redirect(safe_next(request, reverse("home")))
    if json:
        return JsonResponse({"ok": True, "message": message})
    messages.success(request, message)
    return redirect(safe_next(request, where))
