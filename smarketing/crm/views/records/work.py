"""The task list and completing tasks (the "my work" home page is metrics.views.home)."""

from urllib.parse import urlencode

from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from smarketing.core.queries import SortOption, keyset_page
from smarketing.core.toasts import add_toast
from smarketing.crm import services
from smarketing.crm.models import Task
from smarketing.crm.views.records.common import completable, is_htmx, safe_next, undo_offer

TASK_PAGE_SIZE = 50
# Keyset sorts need NOT NULL columns, so open tasks come in two runs: dated ones by (due_at, id), then the
# undated ones by id. "Soonest first, undated last" then holds on every database without a computed column.
TASK_SORT_DUE = SortOption("Due date", ("due_at", "id"))
TASK_SORT_UNDATED = SortOption("Newest", ("-id",))
TASK_SORT_DONE = SortOption("Completed", ("-completed_at", "-id"))


def task_list(request):
    user = request.user
    who = request.GET.get("who", "mine")
    who = who if who in ("mine", "all") else "mine"
    state = request.GET.get("state", "open")
    state = state if state in ("open", "done", "overdue") else "open"
    cursor = request.GET.get("cursor") or None
    qs = Task.objects.select_related("owner", "contact", "company", "deal")
    if who == "mine":
        qs = qs.filter(owner=user)
    open_tasks = qs.filter(completed_at__isnull=True)
    undated_qs = open_tasks.filter(due_at__isnull=True)
    tasks, undated, next_query = [], [], None
    if state == "done":
        page = keyset_page(qs.filter(completed_at__isnull=False), TASK_SORT_DONE, cursor, TASK_PAGE_SIZE)
        tasks = page.rows
        next_query = {"cursor": page.next_cursor} if page.next_cursor else None
    elif state == "open" and request.GET.get("phase") == "undated":
        page = keyset_page(undated_qs, TASK_SORT_UNDATED, cursor, TASK_PAGE_SIZE)
        undated = page.rows
        next_query = {"phase": "undated", "cursor": page.next_cursor} if page.next_cursor else None
    else:
        dated = open_tasks.filter(due_at__isnull=False)
        if state == "overdue":
            dated = dated.filter(due_at__lt=timezone.now())
        page = keyset_page(dated, TASK_SORT_DUE, cursor, TASK_PAGE_SIZE)
        tasks = page.rows
        if page.next_cursor:
            next_query = {"cursor": page.next_cursor}
        elif state == "open":
            # The last page of dated tasks goes on with the first undated ones.
            rest = keyset_page(undated_qs, TASK_SORT_UNDATED, None, TASK_PAGE_SIZE)
            undated = rest.rows
            next_query = {"phase": "undated", "cursor": rest.next_cursor} if rest.next_cursor else None
    filters = {"who": who, "state": state}
    base = reverse("task_list")
    context = {
        "tasks": completable(tasks, user),
        "undated": completable(undated, user),
        "who": who,
        "state": state,
        "next_page": f"{base}?{urlencode({**filters, **next_query})}" if next_query else None,
        "first_page": f"{base}?{urlencode(filters)}" if cursor else None,
        "who_tabs": [(v, label, v == who, urlencode({"who": v, "state": state})) for v, label in WHO_TABS],
        "state_tabs": [(v, label, v == state, urlencode({"who": who, "state": v})) for v, label in STATE_TABS],
    }
    return render(request, "crm/task_list.html", context)


WHO_TABS = [("mine", "My tasks"), ("all", "Everyone's")]
STATE_TABS = [("open", "Open"), ("overdue", "Overdue"), ("done", "Done")]


@require_POST
def task_complete(request, pk: int):
    task = get_object_or_404(Task.objects.select_related("owner", "contact", "company", "deal"), pk=pk)
    task = services.complete_task(task, actor=request.user)  # PermissionDenied: core.errors answers 403
    if is_htmx(request):
        response = render(request, "crm/task_item.html", {"task": task, "now": timezone.now(), "just_done": True})
    else:
        response = redirect(safe_next(request, reverse("task_list")))
    return add_toast(request, response, f"Task “{task.title}” completed.", **undo_offer(request, "task", task=task.pk))
