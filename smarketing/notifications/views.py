"""The notification center: the bell (loaded by htmx after the page, so no page pays for it), the list,
read marks (POST, htmx swaps the item and the bell) and the email preferences."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.notifications import catalogue, queries, services
from smarketing.notifications.models import Notification


def _own(request, pk: int) -> Notification:
    # Another user's notification answers 404, not 403: its existence is nobody else's business.
    return get_object_or_404(Notification, pk=pk, user_id=request.user.pk)


def _decorate(rows: list[Notification]) -> list[Notification]:
    for row in rows:
        row.kind_label = catalogue.label(row.kind)
    return rows


def _bell_context(user) -> dict:
    count = queries.unread_count(user)
    return {"unread": count, "unread_label": queries.bell_label(count)}


@require_GET
def bell(request):
    return render(request, "notifications/_bell.html", _bell_context(request.user))


@require_GET
def notification_list(request):
    show_unread = request.GET.get("show") == "unread"
    try:
        before = int(request.GET.get("before") or 0) or None
    except ValueError:
        before = None
    rows, next_before = queries.page(request.user, before=before, unread_only=show_unread)
    context = {
        "notifications": _decorate(rows),
        "next_before": next_before,
        "show_unread": show_unread,
        "paged": before is not None,
        **_bell_context(request.user),
    }
    return render(request, "notifications/list.html", context)


@require_POST
def mark_read(request, pk: int):
    notification = _own(request, pk)
    services.mark_read(request.user, notification)
    if request.htmx:
        context = {"notification": _decorate([notification])[0], "oob": True, **_bell_context(request.user)}
        return render(request, "notifications/_item_read.html", context)
    return redirect("notifications:list")


@require_POST
def open_notification(request, pk: int):
    """Follow a notification's link, marking it read on the way."""
    notification = _own(request, pk)
    services.mark_read(request.user, notification)
    if notification.url and url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
        return redirect(notification.url)
    return redirect("notifications:list")


@require_POST
def mark_all_read(request):
    changed = services.mark_all_read(request.user)
    messages.success(request, f"Marked {changed} notification{'s' if changed != 1 else ''} read.")
    return redirect("notifications:list")


@require_http_methods(["GET", "POST"])
def preferences(request):
    kinds = catalogue.all_kinds()
    current = services.email_choices(request.user)
    if request.method == "POST":
        choices, bad = {}, []
        for kind in kinds:
            value = request.POST.get(f"kind-{kind.key}", "")
            if value in ("app", "email"):
                choices[kind.key] = value == "email"
            elif value:
                bad.append(kind.label)
        if bad:
            messages.error(request, f"Choose “in the app” or “in the app and by email” for: {', '.join(bad)}.")
        else:
            changed = services.set_preferences(request.user, actor=request.user, email_by_kind=choices)
            messages.success(request, "Notification settings saved." if changed else "Nothing changed.")
            return redirect("notifications:preferences")
        current = {**current, **choices}
    rows = [(kind, current[kind.key]) for kind in kinds]
    return render(
        request, "notifications/preferences.html", {"rows": rows}, status=400 if request.method == "POST" else 200
    )
