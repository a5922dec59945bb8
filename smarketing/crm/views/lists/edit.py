"""Create and edit pages for contacts, companies and deals (optimistic locking, lifecycle reason)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from smarketing.crm import access, queries, services
from smarketing.crm.forms import FORMS, rebase_after_conflict
from smarketing.crm.views.lists.common import KINDS, Kind


@require_http_methods(["GET", "POST"])
def contact_create(request):
    return _create(request, KINDS["contact"])


@require_http_methods(["GET", "POST"])
def company_create(request):
    return _create(request, KINDS["company"])


@require_http_methods(["GET", "POST"])
def deal_create(request):
    return _create(request, KINDS["deal"])


@require_http_methods(["GET", "POST"])
def contact_edit(request, pk):
    return _edit(request, KINDS["contact"], pk)


@require_http_methods(["GET", "POST"])
def company_edit(request, pk):
    return _edit(request, KINDS["company"], pk)


@require_http_methods(["GET", "POST"])
def deal_edit(request, pk):
    return _edit(request, KINDS["deal"], pk)


def _prefill(request, kind: Kind) -> dict:
    """Initial values from links such as "New deal" on a contact page (?company=#12&contact=a@b.com)."""
    initial = {"owner": request.user.pk}
    company = request.GET.get("company", "")
    if company and kind.key in ("contact", "deal"):
        try:
            initial["company"] = queries.resolve_company(company)
        except queries.BadValue:
            pass
    contact = request.GET.get("contact", "")
    if contact and kind.key == "deal":
        try:
            person = queries.resolve_contact(contact)
        except queries.BadValue:
            pass
        else:
            initial["primary_contact"] = person.email
            if person.company_id and "company" not in initial:
                initial["company"] = person.company
    return initial


def _create(request, kind: Kind):
    user = request.user
    access.require(user, "edit")
    form_class = FORMS[kind.key]
    bound = request.method == "POST"
    form = form_class(request.POST if bound else None, initial=_prefill(request, kind))
    if bound and form.is_valid():
        data = form.service_data()
        try:
            if kind.key == "contact":
                obj = services.create_contact(actor=user, data=data)
            elif kind.key == "company":
                obj = services.create_company(actor=user, data=data)
            else:
                primary = form.cleaned_data.get("primary_contact")
                obj = services.create_deal(
                    actor=user,
                    data=data,
                    stage=form.cleaned_data["stage"],
                    contacts=[(primary, "other")] if primary else [],
                )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Created {kind.label} “{obj}”.")
            return redirect(kind.url("detail"), obj.pk)
    return render(request, "crm/form_record.html", {"kind": kind, "form": form, "obj": None})


def _edit(request, kind: Kind, pk: int):
    user = request.user
    obj = get_object_or_404(kind.model.objects.select_related(*kind.related), pk=pk)
    access.require(user, "edit", obj)
    form_class = FORMS[kind.key]
    bound = request.method == "POST"
    form = form_class(request.POST if bound else None, instance=obj)
    conflicts, theirs, conflict_message = [], [], ""
    if bound and form.is_valid():
        data = form.service_data(changed_only=True)
        try:
            with transaction.atomic():
                _save_edit(kind, obj, form, data, user)
        except services.ConflictError as exc:
            current = kind.model.objects.select_related(*kind.related).get(pk=pk)
            form, conflicts, theirs = rebase_after_conflict(form, current)
            conflict_message = str(exc)
            obj = current
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Saved {kind.label} “{obj}”." if data else "Nothing changed.")
            return redirect(kind.url("detail"), obj.pk)
    context = {
        "kind": kind,
        "form": form,
        "obj": obj,
        "conflicts": conflicts,
        "theirs": theirs,
        "conflict_message": conflict_message,
    }
    return render(request, "crm/form_record.html", context, status=409 if conflict_message else 200)


def _save_edit(kind: Kind, obj, form, data: dict, user) -> None:
    """One transaction: the field changes, then (contacts) a lifecycle move with its reason."""
    stage = data.pop("lifecycle_stage", None) if kind.key == "contact" else None
    # update_record runs even with no changed fields: it is what checks the version.
    current = services.update_record(obj, actor=user, data=data, expected_version=form.cleaned_data["version"])
    if stage:
        # The funnel only moves back (recycling) with a reason; the service enforces that.
        services.change_lifecycle_stage(
            current, stage, actor=user, reason=form.cleaned_data.get("lifecycle_reason", ""), allow_backward=True
        )
