"""Delete (with a confirmation page) and merge of two records."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from smarketing.crm import access, queries, services
from smarketing.crm.columns import custom_display
from smarketing.crm.models import LIFECYCLE_ORDER, ObjectType, PropertyDefinition
from smarketing.crm.views.lists.common import KINDS, Kind


@require_http_methods(["GET", "POST"])
def contact_delete(request, pk):
    return _delete(request, KINDS["contact"], pk)


@require_http_methods(["GET", "POST"])
def company_delete(request, pk):
    return _delete(request, KINDS["company"], pk)


@require_http_methods(["GET", "POST"])
def deal_delete(request, pk):
    return _delete(request, KINDS["deal"], pk)


def _delete(request, kind: Kind, pk: int):
    """GET asks for confirmation (for plain links and browsers without JS); only POST deletes."""
    obj = get_object_or_404(kind.model, pk=pk)
    if request.method == "GET":
        access.require(request.user, "delete", obj)
        return render(request, "crm/form_delete.html", {"kind": kind, "obj": obj})
    name = str(obj)
    services.delete_record(obj, actor=request.user)  # PermissionDenied becomes a 403
    messages.success(request, f"Deleted {kind.label} “{name}”.")
    return redirect(kind.url("list"))


@require_http_methods(["GET", "POST"])
def contact_merge(request, pk):
    return _merge(request, KINDS["contact"], pk)


@require_http_methods(["GET", "POST"])
def company_merge(request, pk):
    return _merge(request, KINDS["company"], pk)


MERGE_ROWS = {
    "contact": [
        ("Email", "email"),
        ("First name", "first_name"),
        ("Last name", "last_name"),
        ("Job title", "title"),
        ("Phone", "phone"),
        ("Company", "company"),
        ("Owner", "owner"),
        ("Lifecycle stage", "lifecycle_stage"),
        ("Lead status", "lead_status"),
        ("First source", "first_source"),
        ("Consent", "consent_status"),
    ],
    "company": [
        ("Name", "name"),
        ("Domain", "domain"),
        ("Industry", "industry"),
        ("Employees", "employees"),
        ("Annual revenue", "annual_revenue"),
        ("Country", "country"),
        ("Owner", "owner"),
    ],
}


def _shown(obj, name: str) -> str:
    display = getattr(obj, f"get_{name}_display", None)
    value = getattr(obj, name)
    if value in (None, ""):
        return ""
    return str(display() if display else value)


def _merge_rows(kind: Kind, primary, duplicate, definitions) -> list[dict]:
    """Each field of both records and the value the merged record will have (mirrors services.merge_records)."""
    rows = []
    for label, name in MERGE_ROWS[kind.key]:
        mine, theirs = _shown(primary, name), _shown(duplicate, name)
        result = mine or theirs
        if name in ("email", "domain"):
            result = mine
        if name == "lifecycle_stage":
            order = {s: i for i, s in enumerate(LIFECYCLE_ORDER)}
            further = order.get(duplicate.lifecycle_stage, -1) > order.get(primary.lifecycle_stage, -1)
            result = theirs if further else mine
        rows.append({"label": label, "primary": mine, "duplicate": theirs, "result": result})
    for d in definitions:
        mine = custom_display(d, primary.custom.get(d.key))
        theirs = custom_display(d, duplicate.custom.get(d.key))
        result = mine if d.key in primary.custom else theirs
        rows.append({"label": d.label, "primary": mine, "duplicate": theirs, "result": result})
    return rows


def _likely_duplicates(kind: Kind, obj) -> list:
    """A few records that look like the same one (same name), found through indexed keys."""
    if not obj.name_key:
        return []
    qs = kind.model.objects.filter(name_key=obj.name_key).exclude(pk=obj.pk).order_by("id")
    return list(qs.select_related(*kind.related)[:5])


def _merge(request, kind: Kind, pk: int):
    user = request.user
    primary = get_object_or_404(kind.model.objects.select_related(*kind.related), pk=pk)
    access.require(user, "merge", primary)
    if request.method == "POST":
        raw = request.POST.get("duplicate_id", "")
        duplicate = get_object_or_404(kind.model, pk=int(raw)) if raw.isdigit() and len(raw) < 19 else None
        if duplicate is None:
            raise Http404("No duplicate chosen")
        name = str(duplicate)
        try:
            kept = services.merge_records(primary, duplicate, actor=user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(kind.url("merge"), primary.pk)
        messages.success(request, f"Merged “{name}” into “{kept}”. Its timeline and associations moved here.")
        return redirect(kind.url("detail"), kept.pk)

    text = request.GET.get("duplicate", "").strip()[:300]
    duplicate, error = None, ""
    if text:
        try:
            found = queries.resolve_contact(text) if kind.key == "contact" else queries.resolve_company(text)
        except queries.BadValue as exc:
            error = f"{exc}."
        else:
            if found.pk == primary.pk:
                error = "That is this record; pick the other one."
            else:
                duplicate = kind.model.objects.select_related(*kind.related).get(pk=found.pk)
    definitions = list(PropertyDefinition.objects.filter(object_type=ObjectType(kind.key)))
    context = {
        "kind": kind,
        "primary": primary,
        "duplicate": duplicate,
        "text": text,
        "error": error,
        "rows": _merge_rows(kind, primary, duplicate, definitions) if duplicate else [],
        "suggestions": _likely_duplicates(kind, primary) if not duplicate else [],
    }
    return render(request, "crm/form_merge.html", context)
