"""Helpers shared by the record pages, the board and "my work": formatting, permission answers, lookups."""

import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.http import url_has_allowed_host_and_scheme

from smarketing.core.toasts import undo_token
from smarketing.crm import services
from smarketing.crm.models import Company, Contact, Deal, PropertyDefinition, Task

RECORD_MODELS = {"contact": Contact, "company": Company, "deal": Deal}
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def money(amount, currency: str) -> str:
    amount = Decimal(amount or 0)
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    sign = CURRENCY_SIGNS.get(currency)
    return f"{sign}{text}" if sign else f"{text} {currency}"


def duration(seconds: float | None) -> str:
    """A compact time span for stage history: "3 d 4 h", "5 h 12 min", "7 min"."""
    if seconds is None:
        return "—"
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "< 1 min"


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def is_htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


def safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


def add_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names when the form has it."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def get_record(kind: str, pk: int):
    model = RECORD_MODELS.get(kind)
    if model is None:
        raise Http404("Unknown record type")
    related = {Contact: ("company", "owner"), Company: ("owner",), Deal: ("company", "owner", "stage")}[model]
    return get_object_or_404(model.objects.select_related(*related), pk=pk)


def record_url(kind: str, obj) -> str:
    return reverse(f"{kind}_detail", args=[obj.pk])


def _format_custom(definition: PropertyDefinition, value) -> str | None:
    if value in (None, "", []):
        return None
    kind = definition.type
    if kind == PropertyDefinition.Type.BOOLEAN:
        return "Yes" if value is True else "No" if value is False else str(value)
    if kind == PropertyDefinition.Type.DATE:
        try:
            return date_format(datetime.date.fromisoformat(str(value)), "M j, Y")
        except ValueError:
            return str(value)
    if kind == PropertyDefinition.Type.NUMBER and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def custom_props(kind: str, obj) -> list[tuple[str, str | None]]:
    custom = obj.custom if isinstance(obj.custom, dict) else {}
    return [
        (d.label, _format_custom(d, custom.get(d.key))) for d in PropertyDefinition.objects.filter(object_type=kind)
    ]


def undo_offer(request, action: str, **data) -> dict:
    """The keyword arguments of core.toasts.add_toast for an Undo of `action` by this user (changes.undo)."""
    return {"undo_url": reverse("undo"), "token": undo_token(action, request.user, **data)}


def criterion_fix(deal: Deal, criterion: str, label: str = "") -> dict:
    """Where an unmet exit criterion is filled in: no message says "fill in X" without a way there."""
    if criterion == "contacts":
        return {"url": f"{reverse('deal_detail', args=[deal.pk])}#add-contact", "label": "Add a contact"}
    pillar = services.pillar_fix(deal, criterion)
    if pillar is not None:
        return pillar
    field = f"cp_{criterion.split('.', 1)[1]}" if criterion.startswith("custom.") else criterion
    return {
        "url": f"{reverse('deal_edit', args=[deal.pk])}#id_{field}",
        "label": f"Fill in {label}" if label else "Fill it in",
    }


def exit_fixes(deal: Deal, exc: ValidationError) -> list[dict]:
    """Links to meet the exit criteria an ExitCriteriaError names: "Add a contact" on the deal page, and one
    "Fill in Amount, Close date" to the edit form (at the first of those fields)."""
    fixes, fields = [], []
    for criterion, label in getattr(exc, "criteria", None) or []:
        pillar = services.pillar_fix(deal, criterion)
        if pillar is not None:
            if pillar not in fixes:
                fixes.append(pillar)
        elif criterion == "contacts":
            fixes.append(criterion_fix(deal, criterion))
        else:
            fields.append((criterion, label))
    if fields:
        fixes.append(criterion_fix(deal, fields[0][0], ", ".join(label for _, label in fields)))
    return fixes


def completable(tasks: list[Task], user) -> list[Task]:
    """Mark the tasks this user may tick off, so the page offers the button only where it works."""
    for task in tasks:
        task.can_complete = services.can_change_task(user, task)
    return tasks
