"""Segment pages (list, builder with live count, detail with members) and static list pages.

Views parse and render; every write goes through `segments.services`, which checks access and raises
PermissionDenied (the styled 403 page).
"""

import time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from smarketing.campaigns.models import Campaign
from smarketing.core.models import Origin
from smarketing.core.queries import Page, SortOption, keyset_page, parse_ids
from smarketing.crm.queries import active_users, build_list, suggest_contacts
from smarketing.segments import access, builder, importing, queries, schema, services
from smarketing.segments.models import ContactList, ListMembership, Segment

PAGE_SIZE = 50
MEMBERS_SORT = SortOption("Newest first", ("-id",))
ADDED_SORT = SortOption("Recently added", ("-added_at", "-id"))
BULK_MAX = 1000


# -- segments -----------------------------------------------------------------------------------------


@require_GET
def segment_list(request):
    access.require_view(request.user)
    archived = request.GET.get("archived") == "1"
    segments = Segment.objects.filter(archived=archived).select_related("owner").order_by("name", "id")
    return render(
        request,
        "segments/segment_list.html",
        {"segments": segments, "archived": archived, "can_edit": access.can_edit(request.user)},
    )


def _builder_context(request, *, tree: dict, segment: Segment | None = None) -> dict:
    fields = schema.all_fields()
    groups: dict[str, list] = {}
    for f in fields.values():
        groups.setdefault(f.group, []).append(f)
    other_segments = Segment.objects.filter(archived=False).only("id", "name")
    if segment is not None:
        other_segments = other_segments.exclude(pk=segment.pk)
    return {
        "tree": builder.view_tree(tree, fields),
        "field_groups": list(groups.items()),
        "users": active_users(),
        "lists": list(ContactList.objects.filter(archived=False).only("id", "name")),
        "other_segments": list(other_segments),
        "event_kinds": sorted(schema.event_kinds().items(), key=lambda kv: kv[1]),
        "campaigns": list(Campaign.objects.order_by("-id").only("id", "name")[:200]),
        "segment": segment,
        "max_depth": schema.MAX_DEPTH - 1,
    }


def _count_context(tree: dict, segment: Segment | None) -> dict:
    """The live count (or the reason there is none yet), and how long it took."""
    try:
        definition = schema.validate_definition(tree, segment_id=segment.pk if segment else None)
    except ValidationError as exc:
        return {"count_error": exc.messages[0]}
    started = time.perf_counter()
    value = queries.count(definition)
    return {"count": value, "count_ms": round((time.perf_counter() - started) * 1000)}


def segment_create(request):
    access.require_edit(request.user)
    return _segment_form(request, None)


def segment_edit(request, segment_id: int):
    segment = get_object_or_404(Segment, pk=segment_id)
    access.require_edit(request.user)
    return _segment_form(request, segment)


def _segment_form(request, segment: Segment | None):
    if request.method == "POST" and request.POST.get("action") and not request.POST.get("save"):
        # Without JavaScript the builder's buttons post the whole form here: apply the button, show it again.
        tree = builder.apply_action(builder.parse(request.POST), request.POST["action"])
        context = _builder_context(request, tree=tree, segment=segment)
        context.update({"name": request.POST.get("name", ""), "description": request.POST.get("description", "")})
        context.update(_count_context(tree, segment))
        return render(request, "segments/segment_form.html", context)
    if request.method == "POST":
        tree = builder.parse(request.POST)
        name = request.POST.get("name", "")
        description = request.POST.get("description", "")
        try:
            if segment is None:
                segment = services.create_segment(request.user, name=name, description=description, definition=tree)
                messages.success(request, f"Segment “{segment.name}” saved.")
            else:
                services.update_segment(request.user, segment, name=name, description=description, definition=tree)
                messages.success(request, "Segment saved.")
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"definition": exc.messages}
            context = _builder_context(request, tree=tree, segment=segment)
            context.update({"errors": errors, "name": name, "description": description})
            return render(request, "segments/segment_form.html", context, status=400)
        queries.record_count(segment)
        return redirect("segments:segment_detail", segment_id=segment.pk)
    tree = segment.definition if segment else schema.empty_definition()
    if segment is None and not tree["rules"]:
        tree = {**tree, "rules": [{"field": "lifecycle_stage", "operator": "in", "value": []}]}
    context = _builder_context(request, tree=tree, segment=segment)
    context.update(
        {"name": segment.name if segment else "", "description": segment.description if segment else "", "errors": {}}
    )
    context.update(_count_context(tree, segment))
    return render(request, "segments/segment_form.html", context)


def _segment_from_post(request) -> Segment | None:
    raw = request.POST.get("segment_id", "")
    return get_object_or_404(Segment, pk=int(raw)) if raw.isdigit() else None


@require_POST
def builder_update(request):
    """htmx: apply an add/remove button to the posted tree; answers the tree and, out of band, the count."""
    access.require_view(request.user)
    segment = _segment_from_post(request)
    tree = builder.apply_action(builder.parse(request.POST), request.POST.get("action", ""))
    context = _builder_context(request, tree=tree, segment=segment)
    context.update(_count_context(tree, segment))
    context["oob"] = True
    return render(request, "segments/_builder_update.html", context)


@require_POST
def builder_count(request):
    """htmx: the live count of the posted tree (debounced by the page)."""
    access.require_view(request.user)
    segment = _segment_from_post(request)
    return render(request, "segments/_count.html", _count_context(builder.parse(request.POST), segment))


@require_GET
def segment_detail(request, segment_id: int):
    access.require_view(request.user)
    segment = get_object_or_404(Segment.objects.select_related("owner"), pk=segment_id)
    fields = schema.all_fields()
    problem = ""
    # The members come after the page (htmx) unless asked for (a later page, `?members=1` without JavaScript):
    # evaluating an activity segment reads its touches, a few hundred ms at 20M touchpoints.
    inline = bool(request.GET.get("after")) or request.GET.get("members") == "1"
    page = None
    try:
        members = queries.members(segment).select_related("company", "owner")  # compiled, not run
        if inline:
            page = keyset_page(members, MEMBERS_SORT, request.GET.get("after"), PAGE_SIZE)
    except ValidationError as exc:
        # A saved segment whose list or segment was removed some other way: say so, let them fix it.
        problem, page = exc.messages[0], Page(rows=[], next_cursor=None, has_previous=False)
    if request.htmx and inline:
        return render(
            request,
            "segments/_members.html",
            {"segment": segment, "page": page, "can_edit": access.can_edit(request.user)},
        )
    context = {
        "problem": problem,
        "segment": segment,
        "summary": builder.describe(segment.definition or {}, fields, _names(segment.definition or {})),
        "page": page,
        "can_edit": access.can_edit(request.user),
    }
    return render(request, "segments/segment_detail.html", context)


@require_GET
def segment_recount(request, segment_id: int):
    """The figure of a segment's page, counted now (htmx, after the page): the count is remembered for the segment
    list, which never recounts."""
    access.require_view(request.user)
    segment = get_object_or_404(Segment, pk=segment_id)
    try:
        queries.record_count(segment)
    except ValidationError:
        pass  # the page already says what needs fixing; the last figure stays
    return render(request, "segments/_figure.html", {"segment": segment, "fresh": True})


def _names(definition: dict) -> dict:
    """Names of the lists, segments and campaigns a definition mentions, in three queries at most."""
    wanted: dict[str, set] = {"list": set(), "segment": set(), "campaign": set()}

    def walk(node):
        for child in node.get("rules", []):
            if "rules" in child:
                walk(child)
            elif "event" in child:
                if child["event"].get("campaign"):
                    wanted["campaign"].add(child["event"]["campaign"])
            elif child.get("field") in ("list", "segment"):
                wanted[child["field"]].add(child["value"])

    walk(definition)
    names = {}
    for kind, model in (("list", ContactList), ("segment", Segment), ("campaign", Campaign)):
        if wanted[kind]:
            names.update(
                {(kind, pk): name for pk, name in model.objects.filter(pk__in=wanted[kind]).values_list("pk", "name")}
            )
    return names


@require_POST
def segment_archive(request, segment_id: int):
    segment = get_object_or_404(Segment, pk=segment_id)
    archived = request.POST.get("archived", "1") == "1"
    services.archive_segment(request.user, segment, archived)
    messages.success(request, "Segment archived." if archived else "Segment restored.")
    return redirect("segments:segment_detail", segment_id=segment.pk)


# -- static lists -------------------------------------------------------------------------------------


@require_GET
def list_list(request):
    access.require_view(request.user)
    archived = request.GET.get("archived") == "1"
    # Each list's size is counted on its own, index-only on the (list, contact) index: a correlated COUNT(*), not
    # a join of every membership to the lists (96 ms for 305k members in 3 lists at 1M contacts; now ~25 ms).
    from django.db.models import Count, IntegerField, OuterRef, Subquery

    size = (
        ListMembership.objects.filter(contact_list=OuterRef("pk"))
        .order_by()
        .values("contact_list")
        .annotate(n=Count("*"))
        .values("n")
    )
    lists = (
        ContactList.objects.filter(archived=archived)
        .select_related("owner")
        .annotate(members=Coalesce(Subquery(size, output_field=IntegerField()), 0))
        .order_by("name", "id")
    )
    return render(
        request,
        "segments/list_list.html",
        {"lists": lists, "archived": archived, "can_edit": access.can_edit(request.user)},
    )


def list_create(request):
    access.require_edit(request.user)
    errors = {}
    if request.method == "POST":
        try:
            contact_list = services.create_list(
                request.user, name=request.POST.get("name", ""), description=request.POST.get("description", "")
            )
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, f"List “{contact_list.name}” created. Add contacts to it below.")
            return redirect("segments:list_detail", list_id=contact_list.pk)
    return render(
        request,
        "segments/list_form.html",
        {"errors": errors, "name": request.POST.get("name", ""), "description": request.POST.get("description", "")},
        status=400 if errors else 200,
    )


@require_GET
def list_detail(request, list_id: int):
    access.require_view(request.user)
    contact_list = get_object_or_404(ContactList.objects.select_related("owner"), pk=list_id)
    memberships = ListMembership.objects.filter(contact_list=contact_list).select_related(
        "contact", "contact__company", "contact__owner"
    )
    page = keyset_page(memberships, ADDED_SORT, request.GET.get("after"), PAGE_SIZE)
    context = {
        "contact_list": contact_list,
        "page": page,
        "can_edit": access.can_edit(request.user),
        "report": request.session.pop(f"list-import-{contact_list.pk}", None),
    }
    return render(request, "segments/list_detail.html", context)


@require_GET
def list_search(request, list_id: int):
    """htmx: contacts matching the typed name or email, to add by hand."""
    access.require_view(request.user)
    contact_list = get_object_or_404(ContactList, pk=list_id)
    term = request.GET.get("q", "").strip()[:100]
    found = suggest_contacts(term) if len(term) >= 2 else []
    on_list = set(
        ListMembership.objects.filter(contact_list=contact_list, contact_id__in=[c.pk for c in found]).values_list(
            "contact_id", flat=True
        )
    )
    return render(
        request,
        "segments/_list_search.html",
        {"contact_list": contact_list, "found": found, "on_list": on_list, "term": term},
    )


@require_POST
def list_add(request, list_id: int):
    contact_list = get_object_or_404(ContactList, pk=list_id)
    ids = parse_ids(request.POST.getlist("ids"), BULK_MAX)
    added = services.add_to_list(request.user, contact_list, ids, Origin.UI)
    messages.success(request, f"{added} contact{'s' if added != 1 else ''} added." if added else "Already on the list.")
    return redirect("segments:list_detail", list_id=contact_list.pk)


@require_POST
def list_remove(request, list_id: int):
    contact_list = get_object_or_404(ContactList, pk=list_id)
    ids = parse_ids(request.POST.getlist("ids"), BULK_MAX)
    if not ids:
        messages.warning(request, "Tick at least one contact first.")
        return redirect("segments:list_detail", list_id=contact_list.pk)
    removed = services.remove_from_list(request.user, contact_list, ids, Origin.UI)
    messages.success(request, f"{removed} contact{'s' if removed != 1 else ''} removed from the list.")
    return redirect("segments:list_detail", list_id=contact_list.pk)


@require_POST
def list_import(request, list_id: int):
    """CSV of email addresses: the known contacts are added, the rest are reported (nobody is created)."""
    contact_list = get_object_or_404(ContactList, pk=list_id)
    access.require_edit(request.user)
    upload = request.FILES.get("file")
    if upload is None:
        messages.warning(request, "Choose a CSV file with an email column first.")
        return redirect("segments:list_detail", list_id=contact_list.pk)
    try:
        report = importing.import_emails(request.user, contact_list, upload)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("segments:list_detail", list_id=contact_list.pk)
    request.session[f"list-import-{contact_list.pk}"] = report
    messages.success(request, f"{report['added']} added from {report['rows']} rows.")
    return redirect("segments:list_detail", list_id=contact_list.pk)


@require_POST
def list_archive(request, list_id: int):
    contact_list = get_object_or_404(ContactList, pk=list_id)
    archived = request.POST.get("archived", "1") == "1"
    services.update_list(request.user, contact_list, archived=archived)
    messages.success(request, "List archived." if archived else "List restored.")
    return redirect("segments:list_detail", list_id=contact_list.pk)


@require_POST
def bulk_add(request):
    """The contact list's bulk action: the ticked rows, or every contact matching the list's filter."""
    back = _contact_list_back(request)
    raw = request.POST.get("contact_list", "")
    contact_list = ContactList.objects.filter(pk=int(raw), archived=False).first() if raw.isdigit() else None
    if contact_list is None:
        messages.error(request, "Choose the list to add the contacts to.")
        return redirect(back)
    if request.POST.get("scope") == "all":
        # The filter comes back from the page's own URL (the "next" field), parsed by the contact list's
        # allow-listed filters exactly as the page did: the same rows the marketer saw, never an ad-hoc query.
        query = back.partition("?")[2]
        records = build_list("contact", request.user, QueryDict(query))
        added = services.add_matching_to_list(request.user, contact_list, records.queryset, Origin.UI)
    else:
        ids = parse_ids(request.POST.getlist("ids"), BULK_MAX)
        if not ids:
            messages.warning(request, "Select at least one row first.")
            return redirect(back)
        added = services.add_to_list(request.user, contact_list, ids, Origin.UI)
    url = reverse("segments:list_detail", args=[contact_list.pk])
    messages.success(request, f"{added} contact{'s' if added != 1 else ''} added to “{contact_list.name}”.")
    return redirect(back if request.POST.get("stay") else url)


def _contact_list_back(request) -> str:
    list_url = reverse("contact_list")
    target = request.POST.get("next", "")
    if target.startswith(list_url) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return list_url
