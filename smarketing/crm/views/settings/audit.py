"""The audit log: who changed what, filterable by record type and person, in words."""

import json
import re
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from smarketing.accounts.models import User
from smarketing.core.models import AuditEntry
from smarketing.core.queries import SortOption, keyset_page
from smarketing.crm import access

AUDIT_TYPES = [
    ("crm.contact", "Contacts"),
    ("crm.company", "Companies"),
    ("crm.deal", "Deals"),
    ("crm.propertydefinition", "Custom properties"),
    ("crm.pipeline", "Pipelines"),
    ("crm.stage", "Pipeline stages"),
    ("crm.lifecyclestagesetting", "Lifecycle-stage settings"),
    ("accounts.user", "Users"),
    ("accounts.team", "Teams"),
]
# One record's type, in words, under its name in each row.
TYPE_LABELS = {
    "crm.contact": "Contact",
    "crm.company": "Company",
    "crm.deal": "Deal",
    "crm.propertydefinition": "Custom property",
    "crm.pipeline": "Pipeline",
    "crm.stage": "Pipeline stage",
    "crm.lifecyclestagesetting": "Lifecycle stage",
    "accounts.user": "User",
    "accounts.team": "Team",
}
AUDIT_LINKS = {
    "crm.contact": "contact_detail",
    "crm.company": "company_detail",
    "crm.deal": "deal_detail",
    "crm.pipeline": "settings_pipeline",
    "crm.stage": "settings_stage",
    "crm.propertydefinition": "property_edit",
    "accounts.user": "settings_user",
    "accounts.team": "settings_team",
}
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
        entry.type_label = TYPE_LABELS.get(entry.object_type, entry.object_type)
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
