"""Webhook endpoints and their delivery log, for admins."""

import json

from django.conf import settings
from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from smarketing.core.events import event_label
from smarketing.core.queries import SortOption, keyset_page
from smarketing.webhooks import access, services
from smarketing.webhooks.forms import EndpointForm
from smarketing.webhooks.models import ALL_EVENTS, Delivery, Endpoint

NEWEST_FIRST = SortOption("Newest first", ("-created_at", "-id"))
STATUSES = dict(Delivery.Status.choices)


def endpoint_list(request):
    access.require_admin(request.user)
    latest = Delivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-id")
    endpoints = (
        Endpoint.objects.select_related("created_by")
        .annotate(last_status=Subquery(latest.values("status")[:1]), last_at=Subquery(latest.values("created_at")[:1]))
        .order_by("-id")
    )
    return render(
        request,
        "webhooks/endpoint_list.html",
        {"endpoints": endpoints, "all_events": ALL_EVENTS, "statuses": STATUSES},
    )


def endpoint_create(request):
    access.require_admin(request.user)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        endpoint = services.create_endpoint(
            actor=request.user,
            url=data["url"],
            description=data["description"],
            events=data["event_list"],
            active=data["active"],
        )
        messages.success(request, "Endpoint added. Use its signing secret to verify deliveries.")
        return redirect("webhooks:endpoint_detail", endpoint_id=endpoint.id)
    return render(request, "webhooks/endpoint_form.html", {"form": form, "endpoint": None})


def endpoint_edit(request, endpoint_id):
    access.require_admin(request.user)
    endpoint = get_object_or_404(Endpoint, id=endpoint_id)
    form = EndpointForm(request.POST or None, initial=EndpointForm.initial_for(endpoint))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.update_endpoint(
            endpoint,
            actor=request.user,
            url=data["url"],
            description=data["description"],
            events=data["event_list"],
            active=data["active"],
        )
        messages.success(request, "Endpoint saved.")
        return redirect("webhooks:endpoint_detail", endpoint_id=endpoint.id)
    return render(request, "webhooks/endpoint_form.html", {"form": form, "endpoint": endpoint})


def endpoint_detail(request, endpoint_id):
    """The endpoint and its delivery log, newest first, keyset-paginated, filterable by status."""
    access.require_admin(request.user)
    endpoint = get_object_or_404(Endpoint.objects.select_related("created_by"), id=endpoint_id)
    status = request.GET.get("status", "")
    deliveries = Delivery.objects.filter(endpoint=endpoint).defer("request_body", "lock_token")
    if status in STATUSES:
        deliveries = deliveries.filter(status=status)
    else:
        status = ""
    page = keyset_page(deliveries, NEWEST_FIRST, request.GET.get("after"), settings.PAGE_SIZE)
    return render(
        request,
        "webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "page": page,
            "status": status,
            "statuses": STATUSES,
            "event_labels": [event_label(e) for e in endpoint.events if e != ALL_EVENTS],
            "all_events": ALL_EVENTS in endpoint.events,
        },
    )


@require_POST
def endpoint_delete(request, endpoint_id):
    access.require_admin(request.user)
    endpoint = get_object_or_404(Endpoint, id=endpoint_id)
    services.delete_endpoint(endpoint, actor=request.user)
    messages.success(request, f"Endpoint {endpoint.url} deleted, with its delivery log.")
    return redirect("webhooks:endpoint_list")


@require_POST
def endpoint_test(request, endpoint_id):
    access.require_admin(request.user)
    endpoint = get_object_or_404(Endpoint, id=endpoint_id)
    services.send_test_event(endpoint, actor=request.user)
    messages.success(request, "Test event queued; it appears below once a worker sends it.")
    return redirect("webhooks:endpoint_detail", endpoint_id=endpoint.id)


@require_POST
def endpoint_rotate_secret(request, endpoint_id):
    access.require_admin(request.user)
    endpoint = get_object_or_404(Endpoint, id=endpoint_id)
    services.rotate_secret(endpoint, actor=request.user)
    messages.success(request, "New signing secret created; deliveries are signed with it from now on.")
    return redirect("webhooks:endpoint_detail", endpoint_id=endpoint.id)


def delivery_detail(request, delivery_id):
    access.require_admin(request.user)
    delivery = get_object_or_404(Delivery.objects.select_related("endpoint"), id=delivery_id)
    try:
        body = json.dumps(json.loads(delivery.request_body), indent=2, sort_keys=True)
    except ValueError:
        body = delivery.request_body
    return render(request, "webhooks/delivery_detail.html", {"delivery": delivery, "request_body": body})


@require_POST
def delivery_redeliver(request, delivery_id):
    access.require_admin(request.user)
    delivery = get_object_or_404(Delivery, id=delivery_id)
    if services.redeliver(delivery, actor=request.user):
        messages.success(request, "Delivery queued again.")
    else:
        messages.error(request, "This delivery is still being sent; wait for it to finish.")
    return redirect("webhooks:delivery_detail", delivery_id=delivery.id)
