"""Lead scoring pages: groups and their rules, recompute with progress, the score distribution and the top
contacts, and each contact's score card and full history.

Views parse and render; every write goes through `scoring.services`, which checks access and raises
PermissionDenied (the styled 403 page).
"""

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from smarketing.campaigns.models import Campaign
from smarketing.core.models import Origin
from smarketing.core.queries import SortOption, keyset_page
from smarketing.crm.models import Contact
from smarketing.scoring import access, rules, services
from smarketing.scoring import recompute as rc
from smarketing.scoring.models import ContactScore, Dimension, ScoreChange, ScoreGroup, ScoringRule
from smarketing.segments import schema
from smarketing.segments.models import Segment

TOP_SHOWN = 10
HISTORY_PAGE = 50
CARD_LINES = 5
HISTORY_SORT = SortOption("Newest first", ("-occurred_at", "-id"))
# Operators that take a list of values, typed as comma-separated text in the rule form.
LIST_OPERATORS = {"in", "not_in", "between"}


def _group_or_404(group_id: int) -> ScoreGroup:
    return get_object_or_404(ScoreGroup, pk=group_id)


# -- the scoring page ---------------------------------------------------------------------------------------


@require_GET
def index(request):
    access.require_view(request.user)
    groups = list(ScoreGroup.objects.select_related("mql_segment").prefetch_related("rules"))
    chosen = None
    if request.GET.get("group", "").isdigit():
        chosen = next((g for g in groups if g.pk == int(request.GET["group"])), None)
    chosen = chosen or (groups[0] if groups else None)
    for g in groups:
        g.fit_rules = [r for r in g.rules.all() if r.dimension == Dimension.FIT]
        g.engagement_rules = [r for r in g.rules.all() if r.dimension == Dimension.ENGAGEMENT]
        for r in g.fit_rules + g.engagement_rules:
            r.words = rules.describe(r.dimension, r.condition)
    state = services.state()
    context = {"groups": groups, "chosen": chosen, "can_edit": access.can_edit(request.user), "state": state}
    if chosen is not None:
        context.update(_distribution(chosen, state))
        context["top"] = list(
            ContactScore.objects.filter(group=chosen)
            .select_related("contact")
            .order_by("-total", "-contact_id")[:TOP_SHOWN]
        )
    return render(request, "scoring/index.html", context)


def _distribution(group: ScoreGroup, state) -> dict:
    """The scores per band as the last recompute counted them (never counted on a page view)."""
    recorded = (state.distribution or {}).get(str(group.pk))
    if not recorded:
        return {"distribution": [], "scored_total": 0}
    labels = rc.band_labels()
    values = recorded["counts"]
    return {
        "distribution": list(zip(labels, values, strict=False)),
        "scored_total": sum(values),
        "counted_at": datetime.fromisoformat(recorded["at"]),
        "charts": {
            "distribution": {"type": "bar", "labels": labels, "datasets": [{"label": "Contacts", "data": values}]}
        },
    }


# -- groups ---------------------------------------------------------------------------------------------------


def _group_data(post) -> dict:
    return {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "is_primary": post.get("is_primary") == "on",
        "fit_cap": post.get("fit_cap", ""),
        "engagement_cap": post.get("engagement_cap", ""),
        "half_life_days": post.get("half_life_days", ""),
        "mql_threshold": post.get("mql_threshold", ""),
        "mql_segment": post.get("mql_segment", ""),
    }


def group_create(request):
    access.require_edit(request.user)
    return _group_form(request, None)


def group_edit(request, group_id: int):
    access.require_edit(request.user)
    return _group_form(request, _group_or_404(group_id))


def _group_form(request, group: ScoreGroup | None):
    errors: dict = {}
    values = group.__dict__ if group else {"half_life_days": 30}
    if request.method == "POST":
        data = _group_data(request.POST)
        values = {**data, "mql_segment_id": data["mql_segment"]}
        try:
            if group is None:
                group = services.create_group(request.user, **data)
                messages.success(request, f"Score group “{group.name}” created. Add its rules below.")
            else:
                if not data["is_primary"] and group.is_primary:
                    data.pop("is_primary")
                services.update_group(request.user, group, **data)
                messages.success(request, f"Score group “{group.name}” saved.")
            return redirect(f"{reverse('scoring:index')}?group={group.pk}")
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return render(
        request,
        "scoring/group_form.html",
        {
            "group": group,
            "values": values,
            "errors": errors,
            "segments": Segment.objects.filter(archived=False).only("id", "name").order_by("name"),
        },
        status=400 if errors else 200,
    )


@require_POST
def group_delete(request, group_id: int):
    group = _group_or_404(group_id)
    try:
        services.delete_group(request.user, group)
        messages.success(request, f"Score group “{group.name}” deleted.")
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("scoring:index")


# -- rules ----------------------------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _rule_condition(dimension: str, post) -> dict:
    if dimension == Dimension.ENGAGEMENT:
        condition = {"kinds": post.getlist("kinds")}
        for key in ("url_contains", "campaign", "within_days"):
            if post.get(key, "").strip():
                condition[key] = post[key].strip()
        return condition
    operator = post.get("operator", "")
    value = post.get("value", "")
    condition = {"field": post.get("field", ""), "operator": operator}
    if operator not in schema.NO_VALUE:
        condition["value"] = _split(value) if operator in LIST_OPERATORS else value.strip()
    return condition


def _rule_values(rule: ScoringRule | None, dimension: str) -> dict:
    """The form's initial values from a rule's stored condition."""
    if rule is None:
        return {"points": "", "kinds": [], "max_times": ""}
    c = rule.condition or {}
    values = {"name": rule.name, "points": rule.points, "max_times": rule.max_times or "", "active": rule.active}
    if dimension == Dimension.ENGAGEMENT:
        values.update(
            kinds=c.get("kinds", []),
            url_contains=c.get("url_contains") or "",
            campaign=c.get("campaign") or "",
            within_days=c.get("within_days") or "",
        )
    else:
        first = (c.get("rules") or [{}])[0]
        value = first.get("value", "")
        values.update(
            field=first.get("field", ""),
            operator=first.get("operator", ""),
            value=", ".join(str(v) for v in value) if isinstance(value, list) else value,
            complex=len(c.get("rules", [])) > 1 or "rules" in first or "event" in first,
        )
    return values


def rule_create(request, group_id: int):
    access.require_edit(request.user)
    group = _group_or_404(group_id)
    dimension = request.GET.get("dimension") or request.POST.get("dimension")
    if dimension not in Dimension.values:
        raise Http404("Unknown kind of rule")
    return _rule_form(request, group, None, dimension)


def rule_edit(request, rule_id: int):
    access.require_edit(request.user)
    rule = get_object_or_404(ScoringRule.objects.select_related("group"), pk=rule_id)
    return _rule_form(request, rule.group, rule, rule.dimension)


def _rule_form(request, group: ScoreGroup, rule: ScoringRule | None, dimension: str):
    errors: dict = {}
    values = _rule_values(rule, dimension)
    if request.method == "POST":
        post = request.POST
        data = {
            "name": post.get("name", ""),
            "points": post.get("points", ""),
            "active": post.get("active") == "on" or rule is None,
        }
        if dimension == Dimension.ENGAGEMENT:
            data["max_times"] = post.get("max_times", "")
        if not (rule is not None and values.get("complex") and post.get("keep_condition") == "1"):
            data["condition"] = _rule_condition(dimension, post)
        values = {**values, **{k: post.get(k, "") for k in ("name", "points", "max_times", "field", "operator")}}
        values.update(value=post.get("value", ""), kinds=post.getlist("kinds"), active=data["active"])
        values.update({k: post.get(k, "") for k in ("url_contains", "campaign", "within_days")})
        try:
            if rule is None:
                rule = services.create_rule(request.user, group, dimension=dimension, **data)
                messages.success(request, f"Rule “{rule.name}” added; the scores are being recomputed.")
            else:
                services.update_rule(request.user, rule, **data)
                messages.success(request, f"Rule “{rule.name}” saved; the scores are being recomputed.")
            return redirect(f"{reverse('scoring:index')}?group={group.pk}")
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    fields = schema.all_fields()
    return render(
        request,
        "scoring/rule_form.html",
        {
            "group": group,
            "rule": rule,
            "dimension": dimension,
            "values": values,
            "errors": errors,
            "fields": [f for f in fields.values() if f.type not in (schema.LIST, schema.SEGMENT)],
            "operators": sorted({(k, v) for f in fields.values() for k, v in f.operators.items()}),
            "kinds": sorted(schema.event_kinds().items(), key=lambda kv: kv[1]),
            "campaigns": Campaign.objects.order_by("-id").only("id", "name")[:200],
            "words": rules.describe(dimension, rule.condition) if rule else "",
        },
        status=400 if errors else 200,
    )


@require_POST
def rule_delete(request, rule_id: int):
    rule = get_object_or_404(ScoringRule, pk=rule_id)
    group_id = rule.group_id
    services.delete_rule(request.user, rule)
    messages.success(request, f"Rule “{rule.name}” deleted; the scores are being recomputed.")
    return redirect(f"{reverse('scoring:index')}?group={group_id}")


@require_POST
def rule_move(request, rule_id: int):
    rule = get_object_or_404(ScoringRule, pk=rule_id)
    services.move_rule(request.user, rule, "up" if request.POST.get("direction") == "up" else "down")
    return redirect(f"{reverse('scoring:index')}?group={rule.group_id}#rule-{rule.pk}")


# -- recompute ------------------------------------------------------------------------------------------------


@require_POST
def recompute(request):
    services.request_recompute(request.user)
    if request.htmx:
        return render(request, "scoring/_progress.html", {"state": services.state(), "can_edit": True})
    messages.success(request, "Recompute queued; the scores update in the background.")
    return redirect("scoring:index")


@require_GET
def progress(request):
    access.require_view(request.user)
    return render(
        request, "scoring/_progress.html", {"state": services.state(), "can_edit": access.can_edit(request.user)}
    )


# -- a contact's scores ---------------------------------------------------------------------------------------


def _contact(request, contact_id: int) -> Contact:
    access.require_view(request.user)
    return get_object_or_404(Contact.objects.for_user(request.user, "view"), pk=contact_id)


@require_GET
def contact_card(request, contact_id: int):
    """The score card on the contact page (loaded by htmx): each group's scores and the latest history."""
    contact = _contact(request, contact_id)
    scores = {s.group_id: s for s in ContactScore.objects.filter(contact=contact)}
    groups = list(ScoreGroup.objects.all())
    for g in groups:
        g.score = scores.get(g.pk)
    lines = list(ScoreChange.objects.filter(contact=contact).select_related("group")[:CARD_LINES])
    return render(
        request,
        "scoring/_contact_card.html",
        {
            "contact": contact,
            "groups": groups,
            "lines": lines,
            "can_adjust": access.can_adjust(request.user),
        },
    )


@require_GET
def contact_history(request, contact_id: int):
    contact = _contact(request, contact_id)
    changes = ScoreChange.objects.filter(contact=contact).select_related("group", "actor", "rule")
    group_id = request.GET.get("group", "")
    if group_id.isdigit():
        changes = changes.filter(group_id=int(group_id))
    page = keyset_page(changes, HISTORY_SORT, request.GET.get("after"), HISTORY_PAGE)
    return render(
        request,
        "scoring/contact_history.html",
        {
            "contact": contact,
            "page": page,
            "groups": ScoreGroup.objects.all(),
            "group_id": int(group_id) if group_id.isdigit() else None,
            "can_adjust": access.can_adjust(request.user),
        },
    )


@require_POST
def contact_adjust(request, contact_id: int):
    contact = _contact(request, contact_id)
    group = None
    if request.POST.get("group", "").isdigit():
        group = _group_or_404(int(request.POST["group"]))
    try:
        change = services.adjust_score(
            contact,
            points=request.POST.get("points", ""),
            reason=request.POST.get("reason", ""),
            actor=request.user,
            origin=Origin.UI,
            group=group,
        )
        if change is None:
            messages.info(request, "The score is at its cap already; nothing changed.")
        else:
            messages.success(request, f"Score adjusted: {change}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("scoring:contact_history", contact_id=contact.pk)
