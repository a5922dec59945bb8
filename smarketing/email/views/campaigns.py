"""Campaign pages: the list, the form in steps with a live recipient count, the review page with Send, the live
progress bar (htmx polling), pause, resume, cancel and send-a-test."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.core.queries import SortOption, keyset_page
from smarketing.email import access, services
from smarketing.email.forms import CampaignForm, SendTestForm
from smarketing.email.models import CampaignStatus, EmailCampaign

NEWEST = SortOption("Newest first", ("-id",))
STATUS_FILTERS = [("", "All")] + list(CampaignStatus.choices)


def _campaigns():
    # The frozen HTML and text can be large; no page here shows them.
    return EmailCampaign.objects.select_related("campaign", "campaign__owner", "sender").defer("html", "text")


def _report_url(ec) -> str:
    """The report part's page (metrics), when it is installed."""
    try:
        return reverse("campaign_report", args=[ec.pk])
    except NoReverseMatch:
        return ""


@login_required
@require_GET
def campaign_list(request):
    qs = _campaigns()
    status = request.GET.get("status", "")
    if status in CampaignStatus.values:
        qs = qs.filter(status=status)
    page = keyset_page(qs, NEWEST, request.GET.get("after"), 25)
    return render(
        request,
        "email/campaign_list.html",
        {
            "page": page,
            "status": status,
            "status_filters": STATUS_FILTERS,
            "can_create": access.can_create_campaign(request.user),
        },
    )


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errs in error.error_dict.items():
            for e in errs:
                form.add_error(field if field in form.fields else None, e)
    else:
        for e in error.messages:
            form.add_error(None, e)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request):
    access.require_create_campaign(request.user)
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ec = services.create_campaign(request.user, name=form.cleaned_data["name"], **form.service_fields())
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Campaign saved as a draft. Review it, send yourself a test, then send it.")
            return redirect("email:campaign_detail", ec.pk)
    return render(request, "email/campaign_form.html", {"form": form, "ec": None})


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk: int):
    ec = get_object_or_404(_campaigns(), pk=pk)
    access.require_change_campaign(request.user, ec)
    if ec.status not in services.EDITABLE:
        messages.info(request, "This campaign has started sending; it can no longer be edited.")
        return redirect("email:campaign_detail", ec.pk)
    form = CampaignForm(request.POST or None, initial=CampaignForm.initial_from(ec))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_campaign(request.user, ec, name=form.cleaned_data["name"], **form.service_fields())
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Campaign saved.")
            return redirect("email:campaign_detail", ec.pk)
    return render(request, "email/campaign_form.html", {"form": form, "ec": ec})


@login_required
@require_GET
def audience_count(request):
    """The live recipient count of the form's audience (htmx, on every change): one COUNT over the segment
    engine's SQL."""
    from smarketing.segments.queries import audience_sql

    form = CampaignForm(request.GET)
    form.is_valid()  # only the audience fields matter here; the others may still be empty
    data = form.cleaned_data
    include = list(data.get("include_segments") or []), list(data.get("include_lists") or [])
    count = None
    if include[0] or include[1]:
        sql, params = audience_sql(
            include_segments=include[0],
            include_lists=include[1],
            exclude_segments=list(data.get("exclude_segments") or []),
            exclude_lists=list(data.get("exclude_lists") or []),
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) audience", params)
            count = cursor.fetchone()[0]
    return render(request, "email/campaign_audience_count.html", {"count": count})


def _detail_context(request, ec, **extra) -> dict:
    problems = services.ready_problems(ec) if ec.status in services.EDITABLE else {}
    return {
        "ec": ec,
        "campaign": ec.campaign,
        "progress": services.progress(ec)
        if ec.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
        else None,
        "problems": problems,
        "can_change": access.can_change_campaign(request.user, ec),
        "report_url": _report_url(ec),
        "test_form": extra.pop("test_form", None) or SendTestForm(initial={"to": getattr(request.user, "email", "")}),
        "start_moment": services.start_moment(ec) if ec.schedule_kind != "now" and ec.scheduled_at else None,
        **extra,
    }


@login_required
@require_GET
def campaign_detail(request, pk: int):
    ec = get_object_or_404(_campaigns().select_related("template", "topic"), pk=pk)
    return render(request, "email/campaign_detail.html", _detail_context(request, ec))


@login_required
@require_GET
def campaign_progress(request, pk: int):
    """The progress card alone, polled every 2 s while sending: one grouped count on the claim index."""
    ec = get_object_or_404(_campaigns(), pk=pk)
    if request.headers.get("HX-Request") and ec.status != CampaignStatus.SENDING:
        # Sending ended (or was paused elsewhere): reload once, so the header, the actions and the report link
        # match; the reloaded page no longer polls.
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    return render(request, "email/campaign_progress.html", _detail_context(request, ec))


def _action(request, pk: int, func, done: str):
    ec = get_object_or_404(_campaigns(), pk=pk)
    try:
        ec = func(request.user, ec)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done.format(status=ec.get_status_display().lower()))
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("email:campaign_detail", args=[ec.pk])
        return response
    return redirect("email:campaign_detail", ec.pk)


@login_required
@require_POST
def campaign_send(request, pk: int):
    return _action(request, pk, services.send, "Campaign {status}.")


@login_required
@require_POST
def campaign_pause(request, pk: int):
    return _action(request, pk, services.pause, "Campaign {status}: nothing more goes out until you resume it.")


@login_required
@require_POST
def campaign_resume(request, pk: int):
    return _action(request, pk, services.resume, "Campaign {status}.")


@login_required
@require_POST
def campaign_cancel(request, pk: int):
    return _action(request, pk, services.cancel, "Campaign {status}: the remaining recipients get nothing.")


@login_required
@require_POST
def campaign_unschedule(request, pk: int):
    return _action(request, pk, services.unschedule, "Campaign back to {status}.")


@login_required
@require_POST
def campaign_test(request, pk: int):
    ec = get_object_or_404(_campaigns().select_related("template"), pk=pk)
    form = SendTestForm(request.POST)
    if form.is_valid():
        try:
            services.send_test(request.user, ec, form.cleaned_data["to"])
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"Test sent to {form.cleaned_data['to']}.")
            return redirect("email:campaign_detail", ec.pk)
    return render(request, "email/campaign_detail.html", _detail_context(request, ec, test_form=form), status=400)
