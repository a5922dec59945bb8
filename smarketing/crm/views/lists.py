"""CRM list pages with search, filters and bulk actions; create/edit/merge/delete; the admin pages.

Every read of a list goes through crm.queries (allow-listed parameters); every write goes through
crm.services, which check permissions again. Views only translate between HTTP and those two.
"""

import csv
import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.accounts.models import User
from smarketing.core.audit import record_audit
from smarketing.core.csvsafe import defuse
from smarketing.core.models import AuditEntry
from smarketing.core.queries import SortOption, keyset_page
from smarketing.crm import access, queries, services
from smarketing.crm.forms import FORMS, PropertyDefinitionForm, rebase_after_conflict
from smarketing.crm.models import (
    LIFECYCLE_ORDER,
    Company,
    Contact,
    Deal,
    LifecycleStage,
    ObjectType,
    PropertyDefinition,
)

BULK_MAX = 500  # ids per bulk request; a page shows 50, so this only bounds hostile posts
CUSTOM_COLUMNS = 4  # custom properties shown as list columns (all of them are in exports)


@dataclass(frozen=True)
class Kind:
    """What differs between the contact, company and deal pages."""

    key: str
    model: type
    label: str
    plural: str
    related: tuple[str, ...]

    def url(self, suffix: str) -> str:
        return f"{self.key}_{suffix}"

    # URL names, for {% url kind.detail obj.pk %} in templates.
    list = property(lambda self: self.url("list"))
    create = property(lambda self: self.url("create"))
    bulk = property(lambda self: self.url("bulk"))
    detail = property(lambda self: self.url("detail"))
    edit = property(lambda self: self.url("edit"))
    delete = property(lambda self: self.url("delete"))
    merge = property(lambda self: self.url("merge"))


KINDS = {
    "contact": Kind("contact", Contact, "contact", "contacts", ("company", "owner")),
    "company": Kind("company", Company, "company", "companies", ("owner",)),
    "deal": Kind("deal", Deal, "deal", "deals", ("stage", "pipeline", "company", "owner")),
}


# ---------------------------------------------------------------------------------------------------------
# Lists


@require_GET
def contact_list(request):
    return _list_page(request, KINDS["contact"])


@require_GET
def company_list(request):
    return _list_page(request, KINDS["company"])


@require_GET
def deal_list(request):
    return _list_page(request, KINDS["deal"])


def _list_page(request, kind: Kind):
    user = request.user
    users = queries.active_users()
    definitions = list(PropertyDefinition.objects.filter(object_type=ObjectType(kind.key)))
    records = queries.build_list(kind.key, user, request.GET, users=users, definitions=definitions)
    page = records.page(request.GET.get("after") or None)
    columns = definitions[:CUSTOM_COLUMNS]
    for row in page.rows:
        row.custom_cells = [_custom_display(d, row.custom.get(d.key)) for d in columns]
    params = records.params()
    after = request.GET.get("after")
    current = urlencode([*params, ("after", after)] if after and page.has_previous else params)
    list_url = reverse(kind.list)
    context = {
        "kind": kind,
        "records": records,
        "page": page,
        "columns": columns,
        "users": users,
        "query": urlencode(params),
        "next_query": urlencode([*params, ("after", page.next_cursor)]) if page.next_cursor else "",
        "can_edit": access.can(user, "edit"),
        "can_export": access.can(user, "export"),
        "can_delete": access.can(user, "delete"),
        "lifecycle_choices": LifecycleStage.choices,
        "list_url": list_url,
        "current_url": list_url + (f"?{current}" if current else ""),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = f"crm/list_{kind.plural}_rows.html" if partial else f"crm/list_{kind.plural}.html"
    response = render(request, template, context)
    if partial:
        # The address bar gets the accepted parameters only, not every empty field of the filter form.
        response["HX-Push-Url"] = context["current_url"]
    # The same URL answers a full page or the rows partial; caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _custom_display(definition: PropertyDefinition, value) -> str:
    if value is None or value == "":
        return ""
    if definition.type == PropertyDefinition.Type.BOOLEAN:
        return "Yes" if value else "No"
    return str(value)


@require_GET
def record_lookup(request, kind: str):
    """Suggestions for a company or contact box: <option>s for its <datalist>, refreshed as the user types."""
    term = next((request.GET[n] for n in ("q", "company", "primary_contact", "duplicate") if request.GET.get(n)), "")
    if kind == "company":
        options = [(queries.company_label(c), c.industry or "") for c in queries.suggest_companies(term)]
    elif kind == "contact":
        options = [(c.email, c.full_name) for c in queries.suggest_contacts(term)]
    else:
        raise Http404("Unknown lookup")
    return render(request, "crm/list_lookup_options.html", {"options": options})


# ---------------------------------------------------------------------------------------------------------
# Bulk actions


@require_POST
def contact_bulk(request):
    return _bulk(request, KINDS["contact"])


@require_POST
def company_bulk(request):
    return _bulk(request, KINDS["company"])


@require_POST
def deal_bulk(request):
    return _bulk(request, KINDS["deal"])


def _selected_ids(post) -> list[int]:
    ids = []
    for raw in post.getlist("ids")[:BULK_MAX]:
        if raw.isdigit() and len(raw) < 19:
            ids.append(int(raw))
    return sorted(set(ids))


def _back(request, kind: Kind) -> str:
    """Where to return after a bulk action: the list with its filters, never another site."""
    list_url = reverse(kind.url("list"))
    target = request.POST.get("next", "")
    if target.startswith(list_url) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return list_url


def _bulk(request, kind: Kind):
    action = request.POST.get("action", "")
    ids = _selected_ids(request.POST)
    back = _back(request, kind)
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
        return redirect(_back(request, kind))
    record_audit(
        actor=user,
        action="export",
        obj=first,
        object_repr=f"CSV export of {len(_selected_ids(request.POST))} {kind.plural}",
        changes={"ids": (None, _selected_ids(request.POST))},
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


# ---------------------------------------------------------------------------------------------------------
# Create and edit


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


# ---------------------------------------------------------------------------------------------------------
# Delete and merge


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
        mine = _custom_display(d, primary.custom.get(d.key))
        theirs = _custom_display(d, duplicate.custom.get(d.key))
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


# ---------------------------------------------------------------------------------------------------------
# Admin: custom properties and the audit log


def _require_admin(user) -> None:
    if not access.is_admin(user):
        raise PermissionDenied("Only admins can open this page.")


@require_http_methods(["GET", "POST"])
def property_list(request):
    _require_admin(request.user)
    bound = request.method == "POST"
    form = PropertyDefinitionForm(request.POST if bound else None, initial={"object_type": request.GET.get("type")})
    if bound and form.is_valid():
        data = form.cleaned_data
        try:
            definition = services.define_property(
                actor=request.user,
                object_type=data["object_type"],
                key=data["key"].strip(),
                label=data["label"],
                type=data["type"],
                choices=data["choices"],
                position=data.get("position") or 0,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            kind = definition.get_object_type_display().lower()
            messages.success(request, f"Added the {kind} property “{definition}”.")
            return redirect("property_list")
    groups = {value: {"label": label, "items": []} for value, label in ObjectType.choices}
    for definition in PropertyDefinition.objects.all():
        groups[definition.object_type]["items"].append(definition)
    return render(request, "crm/admin_properties.html", {"form": form, "groups": groups.values()})


@require_POST
def property_delete(request, pk):
    _require_admin(request.user)
    definition = get_object_or_404(PropertyDefinition, pk=pk)
    services.delete_property(definition, actor=request.user)
    messages.success(
        request,
        f"Deleted the property “{definition}”. Values already stored on records stay in their data "
        "(and in exports of the audit log) but are no longer shown or editable.",
    )
    return redirect("property_list")


AUDIT_TYPES = [
    ("crm.contact", "Contacts"),
    ("crm.company", "Companies"),
    ("crm.deal", "Deals"),
    ("crm.propertydefinition", "Custom properties"),
]
AUDIT_LINKS = {"crm.contact": "contact_detail", "crm.company": "company_detail", "crm.deal": "deal_detail"}
AUDIT_ORDER = SortOption("Newest first", ("-at", "-id"))
_TYPE_RE = re.compile(r"^[a-z_]{1,30}\.[a-z_]{1,30}$")


def _audit_value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)[:500]
    return str(value)[:500]


@require_GET
def audit_log(request):
    _require_admin(request.user)
    users = list(User.objects.order_by("full_name", "email"))
    qs = AuditEntry.objects.select_related("actor")
    notes, params = [], []
    object_type = request.GET.get("type", "")
    if object_type:
        if _TYPE_RE.match(object_type):
            qs = qs.filter(object_type=object_type)
            params.append(("type", object_type))
        else:
            notes.append("Unknown record type ignored.")
    object_id = request.GET.get("object", "")
    if object_id:
        if object_id.isdigit() and object_type:
            qs = qs.filter(object_id=object_id)
            params.append(("object", object_id))
        else:
            notes.append("Record filter ignored: it needs a record type and a numeric id.")
    actor = request.GET.get("actor", "")
    if actor:
        ids = {str(u.pk) for u in users}
        if actor in ids:
            qs = qs.filter(actor_id=int(actor))
            params.append(("actor", actor))
        elif actor == "system":
            qs = qs.filter(actor__isnull=True)
            params.append(("actor", actor))
        else:
            notes.append("Unknown user ignored.")
    page = keyset_page(qs, AUDIT_ORDER, request.GET.get("after") or None, 50)
    for entry in page.rows:
        entry.change_rows = [(field, _audit_value(pair[0]), _audit_value(pair[1])) for field, pair in _pairs(entry)]
        link = AUDIT_LINKS.get(entry.object_type)
        entry.link = reverse(link, args=[entry.object_id]) if link and entry.object_id.isdigit() else ""
    context = {
        "page": page,
        "users": users,
        "types": AUDIT_TYPES,
        "selected": {"type": object_type, "actor": actor, "object": object_id},
        "notes": notes,
        "query": urlencode(params),
        "next_query": urlencode([*params, ("after", page.next_cursor)]) if page.next_cursor else "",
    }
    return render(request, "crm/admin_audit.html", context)


def _pairs(entry):
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    for field, pair in changes.items():
        if isinstance(pair, list | tuple) and len(pair) == 2:
            yield field, pair
        else:
            yield field, (None, pair)
