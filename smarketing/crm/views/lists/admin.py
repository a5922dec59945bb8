"""Admin pages: custom property definitions and the audit log."""

import json
import re
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.accounts.models import User
from smarketing.core.models import AuditEntry
from smarketing.core.queries import SortOption, keyset_page
from smarketing.crm import access, services
from smarketing.crm.forms import PropertyDefinitionForm
from smarketing.crm.models import ObjectType, PropertyDefinition


@require_http_methods(["GET", "POST"])
def property_list(request):
    access.require_admin(request.user, "Only admins can open this page.")
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
    access.require_admin(request.user, "Only admins can open this page.")
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
    access.require_admin(request.user, "Only admins can open this page.")
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
