"""The messaging guide's pages under /content/guide/ (the list, a message: new, edit, detail, submit, review,
retire, comment) and the stage panel of deal and contact pages (/content/panel/<kind>/<pk>/).

Views parse and render; every write goes through content/guide.py, which checks content/access.py and raises
PermissionDenied (the styled 403 page).
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.content import access, guide, panels, queries_guide
from smarketing.content.forms_guide import MessageForm
from smarketing.content.forms_library import CommentForm, ReviewForm
from smarketing.content.models import Message, MessageKind, Review, Status
from smarketing.core.toasts import add_toast


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


# -- the guide -------------------------------------------------------------------------------------------------


@login_required
@require_GET
def guide_list(request):
    access.require_see(request.user)
    g = queries_guide.guide(request.GET)
    context = {
        "g": g,
        "kinds": MessageKind.choices,
        "status_filters": queries_guide.STATUS_FILTERS,
        "can_create": access.can_create(request.user),
    }
    return render(request, "content/guide.html", context)


# -- a message -------------------------------------------------------------------------------------------------


def _form_page(request, form, message=None, status=200):
    return render(request, "content/message_form.html", {"form": form, "message": message}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def message_new(request):
    access.require_create(request.user)
    can_self = access.can_allow_self_approval(request.user)
    if request.method == "GET":
        initial = {"kind": request.GET.get("kind", "")} if request.GET.get("kind") in MessageKind.values else {}
        return _form_page(request, MessageForm(initial=initial, can_self_approve=can_self))
    form = MessageForm(request.POST, can_self_approve=can_self)
    if form.is_valid():
        try:
            message = guide.create_message(request.user, **form.service_fields())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            text = f"“{message.title}” added as a draft. Submit it for review when it is ready."
            return add_toast(request, redirect("content:message_detail", message.pk), text)
    return _form_page(request, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def message_edit(request, pk: int):
    message = get_object_or_404(Message.objects.select_related("owner"), pk=pk)
    access.require_edit(request.user, message)
    can_self = access.can_allow_self_approval(request.user)
    if request.method == "GET":
        form = MessageForm(initial=MessageForm.initial_for(message), can_self_approve=can_self)
        return _form_page(request, form, message)
    form = MessageForm(request.POST, can_self_approve=can_self)
    if form.is_valid():
        was_approved = message.status == Status.APPROVED
        try:
            updated = guide.update_message(message, request.user, **form.service_fields())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            text = "Saved."
            if was_approved and guide.has_pending(updated):
                text = "Saved as a new revision: sales keeps seeing the approved text until this one is approved."
            return add_toast(request, redirect("content:message_detail", message.pk), text)
    return _form_page(request, form, message, status=400)


@login_required
@require_GET
def message_detail(request, pk: int):
    access.require_see(request.user)
    page = queries_guide.message_page(pk)
    if page is None:
        raise Http404("No such message.")
    user = request.user
    message = page.message
    can_edit = access.can_edit(user, message)
    waiting = guide.awaiting_review(message, page.latest.pk if page.latest else None)
    context = {
        "p": page,
        "message": message,
        "can_edit": can_edit and message.status != Status.RETIRED,
        "can_retire": can_edit and message.status != Status.RETIRED,
        # An approved message's pending revision may be submitted again: it stays approved meanwhile.
        "can_submit": can_edit and (message.status == Status.DRAFT or page.pending),
        "can_review": waiting and access.can_review(user, message, page.reviewer_ids),
        "waiting": waiting,
        "is_owner": message.owner_id == user.pk,
        "can_comment": guide.can_comment(user),
        "review_form": ReviewForm(),
        "comment_form": CommentForm(),
    }
    return render(request, "content/message_detail.html", context)


@login_required
@require_POST
def message_submit(request, pk: int):
    message = get_object_or_404(Message, pk=pk)
    try:
        revision = guide.submit_message(message, request.user)
    except ValidationError as exc:
        return add_toast(request, redirect("content:message_detail", pk), _errors(exc), level="error")
    return add_toast(
        request, redirect("content:message_detail", pk), f"Revision {revision.number} sent to its reviewers."
    )


@login_required
@require_POST
def message_review(request, pk: int):
    message = get_object_or_404(Message.objects.select_related("owner"), pk=pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return add_toast(request, redirect("content:message_detail", pk), "Approve or request changes.", level="error")
    try:
        row = guide.review_message(message, request.user, form.cleaned_data["decision"], form.cleaned_data["comment"])
    except ValidationError as exc:
        return add_toast(request, redirect("content:message_detail", pk), _errors(exc), level="error")
    if row.decision == Review.Decision.APPROVED:
        text = f"Revision {row.revision.number} approved: sales sees it now."
    else:
        text = f"Changes requested on revision {row.revision.number}; {message.owner.display_name} is told."
    return add_toast(request, redirect("content:message_detail", pk), text)


@login_required
@require_POST
def message_retire(request, pk: int):
    message = get_object_or_404(Message, pk=pk)
    message = guide.retire_message(message, request.user)
    return add_toast(
        request, redirect("content:message_detail", pk), f"“{message.title}” retired: sales no longer sees it."
    )


@login_required
@require_POST
def message_comment(request, pk: int):
    message = get_object_or_404(Message, pk=pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return add_toast(request, redirect("content:message_detail", pk), "Write a comment first.", level="error")
    try:
        guide.add_message_comment(message, request.user, form.cleaned_data["body"])
    except ValidationError as exc:
        return add_toast(request, redirect("content:message_detail", pk), _errors(exc), level="error")
    return redirect(reverse("content:message_detail", args=[pk]) + "#comments")


# -- the stage panel -------------------------------------------------------------------------------------------


@login_required
@require_GET
def panel(request, kind: str, pk: int):
    """The card htmx swaps into a deal's or contact's page; without htmx, the same card on a page of its own (the
    placeholder's link, for browsers without JavaScript)."""
    from smarketing.crm.models import Contact, Deal

    access.require_see(request.user)
    if kind == "deal":
        record = get_object_or_404(Deal.objects.select_related("stage", "company"), pk=pk)
        data = panels.deal_panel(record)
    elif kind == "contact":
        record = get_object_or_404(Contact.objects.select_related("company"), pk=pk)
        data = panels.contact_panel(record)
    else:
        raise Http404("No content panel for this kind of record.")
    context = {
        "panel": data,
        "kind": kind,
        "record": record,
        "record_url": reverse(f"{kind}_detail", args=[pk]),
        "can_share": access.can_share(request.user) and data.share_contact_id is not None,
        "title": panels.TITLE,
    }
    template = "content/panel.html" if request.htmx else "content/panel_page.html"
    return render(request, template, context)
