"""The hosts' pages under /scheduling/: meeting types, availability, the calendar week, a meeting, booking links.

Bookings, moves, cancellations and outcomes go through services.py (which checks and raises PermissionDenied);
the setup a host keeps for themselves is saved by the forms, each save checked by access.py.
"""

from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.accounts.access import can_write
from smarketing.core.audit import record_audit
from smarketing.core.toasts import add_toast
from smarketing.scheduling import access, availability, queries, services
from smarketing.scheduling.forms import (
    BusyBlockForm,
    ExternalCalendarForm,
    HoursForm,
    MeetingTypeForm,
    OverrideForm,
)
from smarketing.scheduling.models import (
    AvailabilityOverride,
    BookingLink,
    BusyBlock,
    Meeting,
    MeetingType,
    Schedule,
    new_token,
)
from smarketing.scheduling.views_public import parse_start, slot_days

LINK_DAYS = 14


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


# -- meeting types ------------------------------------------------------------------------------------------


@login_required
@require_GET
def type_list(request):
    """Mine and my team's types, with the public link to copy."""
    types = queries.type_list(request.user)
    return render(
        request,
        "scheduling/types.html",
        {"types": types, "can_create": can_write(request.user)},
    )


def _type_form_page(request, form, meeting_type=None, status=200):
    context = {"form": form, "mt": meeting_type}
    if meeting_type is not None and meeting_type.pk:
        context["public_url"] = queries.public_url(meeting_type)
        context["snippet"] = queries.embed_snippet(meeting_type)
    return render(request, "scheduling/type_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def type_create(request):
    access.require_create_type(request.user)
    form = MeetingTypeForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        meeting_type = form.save_as(request.user)
        return add_toast(request, redirect("scheduling:type_edit", meeting_type.pk), f"“{meeting_type}” created.")
    return _type_form_page(request, form, status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def type_edit(request, pk: int):
    meeting_type = get_object_or_404(
        access.visible_types(request.user, MeetingType.objects.select_related("owner", "team")), pk=pk
    )
    if request.method == "POST":
        access.require_manage_type(request.user, meeting_type)
    form = MeetingTypeForm(request.POST if request.method == "POST" else None, user=request.user, instance=meeting_type)
    form.read_only = not access.can_manage_type(request.user, meeting_type)
    if request.method == "POST" and form.is_valid():
        meeting_type = form.save_as(request.user)
        return add_toast(request, redirect("scheduling:type_edit", meeting_type.pk), "Saved.")
    return _type_form_page(request, form, meeting_type, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def type_active(request, pk: int):
    """Deactivate (the public page stops answering) or reactivate a type; booked meetings stay."""
    meeting_type = get_object_or_404(access.visible_types(request.user, MeetingType.objects.all()), pk=pk)
    access.require_manage_type(request.user, meeting_type)
    active = request.POST.get("active") == "1"
    with transaction.atomic():
        MeetingType.objects.filter(pk=meeting_type.pk).update(is_active=active)
        record_audit(
            actor=request.user, action="update", obj=meeting_type, changes={"active": (meeting_type.is_active, active)}
        )
    message = f"“{meeting_type}” is live again." if active else f"“{meeting_type}” is off: its page no longer books."
    return add_toast(request, redirect("scheduling:types"), message)


# -- availability -------------------------------------------------------------------------------------------


def _schedule(user) -> Schedule:
    schedule, _ = Schedule.objects.get_or_create(user=user)
    return schedule


def _availability_page(request, *, hours=None, override=None, busy=None, external=None, status=200):
    user = request.user
    schedule = _schedule(user)
    now = timezone.now()
    tz = queries.zone(user.time_zone)
    try:
        from smarketing.scheduling import external as external_module  # the booking part's fetcher, if built
    except ImportError:
        external_module = None
    context = {
        "hours_form": hours or HoursForm(user=user),
        "override_form": override or OverrideForm(),
        "busy_form": busy or BusyBlockForm(),
        "external_form": external or ExternalCalendarForm(instance=schedule),
        "schedule": schedule,
        "feed_url": queries.feed_url(schedule),
        "overrides": list(AvailabilityOverride.objects.filter(user=user, date__gte=now.astimezone(tz).date())[:60]),
        "blocks": list(
            BusyBlock.objects.filter(user=user, ends_at__gte=now, source=BusyBlock.Source.MANUAL).order_by("starts_at")[
                :60
            ]
        ),
        "external_count": BusyBlock.objects.filter(
            user=user, source=BusyBlock.Source.EXTERNAL, ends_at__gte=now
        ).count(),
        "can_refresh": external_module is not None and hasattr(external_module, "refresh"),
        "can_edit": can_write(user),
        "tz": tz,
    }
    for block in context["blocks"]:
        block.local_start = block.starts_at.astimezone(tz)
        block.local_end = block.ends_at.astimezone(tz)
    return render(request, "scheduling/availability.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def availability_page(request):
    if request.method == "GET":
        return _availability_page(request)
    access.require_write_self(request.user)
    which = request.POST.get("form")
    if which == "hours":
        form = HoursForm(request.POST, user=request.user)
        if form.is_valid():
            form.save()
            return add_toast(request, redirect("scheduling:availability"), "Weekly hours saved.")
        return _availability_page(request, hours=form, status=400)
    if which == "override":
        form = OverrideForm(request.POST)
        if form.is_valid():
            row = form.save(request.user)
            text = "a day off" if not row.ranges else "other hours"
            return add_toast(request, redirect("scheduling:availability"), f"{row.date:%b %-d} is {text}.")
        return _availability_page(request, override=form, status=400)
    if which == "busy":
        form = BusyBlockForm(request.POST)
        if form.is_valid():
            form.save(request.user)
            return add_toast(request, redirect("scheduling:availability"), "Busy time added.")
        return _availability_page(request, busy=form, status=400)
    if which == "external":
        schedule = _schedule(request.user)
        form = ExternalCalendarForm(request.POST, instance=schedule)
        if form.is_valid():
            form.save()
            if not schedule.external_calendar_url:
                BusyBlock.objects.filter(user=request.user, source=BusyBlock.Source.EXTERNAL).delete()
            return add_toast(request, redirect("scheduling:availability"), "External calendar saved.")
        return _availability_page(request, external=form, status=400)
    return redirect("scheduling:availability")


@login_required
@require_POST
def override_delete(request, pk: int):
    access.require_write_self(request.user)
    AvailabilityOverride.objects.filter(user=request.user, pk=pk).delete()
    return add_toast(request, redirect("scheduling:availability"), "Back to the usual hours that day.")


@login_required
@require_POST
def busy_delete(request, pk: int):
    access.require_write_self(request.user)
    BusyBlock.objects.filter(user=request.user, pk=pk, source=BusyBlock.Source.MANUAL).delete()
    return add_toast(request, redirect("scheduling:availability"), "Busy time removed.")


@login_required
@require_POST
def external_refresh(request):
    access.require_write_self(request.user)
    from smarketing.scheduling import external

    schedule = _schedule(request.user)
    try:
        external.refresh(schedule)
    except Exception as exc:  # the fetcher records its own error on the schedule; say it here too
        return add_toast(request, redirect("scheduling:availability"), f"Could not read it: {exc}", level="error")
    schedule.refresh_from_db()
    if schedule.external_error:
        return add_toast(request, redirect("scheduling:availability"), schedule.external_error, level="error")
    return add_toast(request, redirect("scheduling:availability"), "External calendar read.")


@login_required
@require_POST
def feed_revoke(request):
    """A new feed URL; the old one stops answering at once (for when it leaked)."""
    access.require_write_self(request.user)
    schedule = _schedule(request.user)
    schedule.feed_token = new_token()
    schedule.save(update_fields=["feed_token"])
    record_audit(actor=request.user, action="update", obj=schedule, changes={"feed URL": ("old", "new")})
    return add_toast(request, redirect("scheduling:availability"), "New feed URL made; the old one no longer works.")


# -- the calendar and a meeting -----------------------------------------------------------------------------


@login_required
@require_GET
def calendar(request):
    user = request.user
    tz = queries.zone(user.time_zone)
    monday = queries.week_start(request.GET.get("week"), tz)
    days = queries.calendar_week(user, monday)
    return render(
        request,
        "scheduling/calendar.html",
        {
            "days": days,
            "monday": monday,
            "sunday": monday + timedelta(days=6),
            "prev": (monday - timedelta(days=7)).isoformat(),
            "next": (monday + timedelta(days=7)).isoformat(),
            "this_week": queries.week_start(None, tz).isoformat(),
            "is_this_week": monday.isoformat() == queries.week_start(None, tz).isoformat(),
            "tz_name": user.time_zone or "UTC",
            "empty": not any(day.items for day in days),
        },
    )


def _visible_meeting(request, pk: int) -> Meeting:
    queryset = Meeting.objects.select_related("host", "contact", "deal", "meeting_type")
    return get_object_or_404(access.visible_meetings(request.user, queryset), pk=pk)


@login_required
@require_GET
def meeting_detail(request, pk: int):
    meeting = _visible_meeting(request, pk)
    return _meeting_page(request, meeting)


def _meeting_page(request, meeting, *, reschedule_context=None, error="", status=200):
    tz = queries.zone(request.user.time_zone)
    now = timezone.now()
    answers = []
    labels = {q.get("key"): q.get("label") for q in (meeting.meeting_type.questions if meeting.meeting_type else [])}
    for key, value in (meeting.answers or {}).items():
        answers.append((labels.get(key) or key, value))
    context = {
        "meeting": meeting,
        "local_start": meeting.starts_at.astimezone(tz),
        "local_end": meeting.ends_at.astimezone(tz),
        "booker_start": meeting.starts_at.astimezone(queries.zone(meeting.booker_time_zone)),
        "tz_name": request.user.time_zone or "UTC",
        "answers": answers,
        "can_act": access.can_act_on_meeting(request.user, meeting),
        "is_booked": meeting.status == Meeting.Status.BOOKED,
        "started": meeting.starts_at <= now,
        "upcoming": meeting.starts_at > now,
        "error": error,
        **(reschedule_context or {}),
    }
    return render(request, "scheduling/meeting.html", context, status=status)


def _act(request, meeting: Meeting, fn, message: str):
    try:
        fn()
    except PermissionDenied:
        raise
    except (services.SlotTaken, availability.SlotUnavailable):
        return add_toast(
            request,
            redirect("scheduling:meeting", meeting.pk),
            "That time was just taken. Pick another.",
            level="error",
        )
    except ValidationError as exc:
        return add_toast(request, redirect("scheduling:meeting", meeting.pk), _errors(exc), level="error")
    return add_toast(request, redirect("scheduling:meeting", meeting.pk), message)


@login_required
@require_POST
def meeting_outcome(request, pk: int):
    meeting = _visible_meeting(request, pk)
    outcome = request.POST.get("outcome")
    if outcome not in (Meeting.Status.HELD, Meeting.Status.NO_SHOW):
        return add_toast(request, redirect("scheduling:meeting", pk), "Choose held or no-show.", level="error")
    label = "held" if outcome == Meeting.Status.HELD else "a no-show"
    return _act(
        request,
        meeting,
        lambda: services.record_outcome(meeting, outcome=outcome, actor=request.user),
        f"Recorded as {label}; it is on the timeline.",
    )


@login_required
@require_POST
def meeting_cancel(request, pk: int):
    meeting = _visible_meeting(request, pk)
    reason = (request.POST.get("reason") or "").strip()[:500]
    return _act(
        request,
        meeting,
        lambda: services.cancel(meeting, reason=reason, actor=request.user),
        "Canceled; the booker gets the cancellation.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_reschedule(request, pk: int):
    """Pick a new slot of the meeting's type (in the host's zone), then confirm."""
    meeting = _visible_meeting(request, pk)
    access.require_act_on_meeting(request.user, meeting)
    if request.method == "POST":
        starts_at = parse_start(request.POST.get("start"))
        if starts_at is None:
            return add_toast(request, redirect("scheduling:meeting_reschedule", pk), "Pick a time.", level="error")
        return _act(
            request,
            meeting,
            lambda: services.reschedule(meeting, starts_at=starts_at, actor=request.user),
            "Moved; the booker gets the updated invitation.",
        )
    mt = meeting.meeting_type
    if mt is None:
        return add_toast(request, redirect("scheduling:meeting", pk), "Its meeting type is gone.", level="error")
    tz = queries.zone(request.user.time_zone)
    now = timezone.now()
    today = now.astimezone(tz).date()
    try:
        first = max(today, datetime.fromisoformat(request.GET.get("week", "")).date())
    except ValueError:
        first = today
    duration = int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)
    days = slot_days(mt, tz, first, duration, now)
    chosen = parse_start(request.GET.get("start"))
    offered = {s["iso"] for d in days for s in d["slots"]}
    base = reverse("scheduling:meeting_reschedule", args=[pk])
    context = {
        "rescheduling": True,
        "days": days,
        "first": first,
        "has_slots": bool(offered),
        "slot_base": base,
        "slot_query": f"week={first.isoformat()}",
        "prev_query": f"week={(first - timedelta(days=7)).isoformat()}" if first > today else "",
        "next_query": f"week={(first + timedelta(days=7)).isoformat()}",
        "chosen": chosen if chosen and chosen.isoformat() in offered else None,
        "chosen_local": chosen.astimezone(tz) if chosen and chosen.isoformat() in offered else None,
    }
    return _meeting_page(request, meeting, reschedule_context=context)


# -- one-off booking links ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def link_new(request):
    """From a contact or a deal page: pick one of my types → a one-off link that ties the booking back."""
    from smarketing.crm.models import Contact, Deal

    source = request.POST if request.method == "POST" else request.GET
    contact = deal = None
    if str(source.get("deal", "")).isdigit():
        deal = get_object_or_404(Deal, pk=int(source["deal"]))
    if str(source.get("contact", "")).isdigit():
        contact = get_object_or_404(Contact, pk=int(source["contact"]))
    if deal is not None and contact is None:
        first = deal.deal_contacts.select_related("contact").order_by("id").first()
        contact = first.contact if first else None
    types = list(access.linkable_types(request.user, MeetingType.objects.all()).order_by("name"))
    link = None
    if request.method == "POST":
        meeting_type = next((t for t in types if str(t.pk) == request.POST.get("meeting_type")), None)
        if meeting_type is None:
            raise PermissionDenied("You can send links only for meeting types you host or manage.")
        link = BookingLink.objects.create(
            meeting_type=meeting_type,
            created_by=request.user,
            contact=contact,
            deal=deal,
            expires_at=timezone.now() + timedelta(days=LINK_DAYS),
        )
        record_audit(actor=request.user, action="create", obj=link, object_repr=f"Booking link for {meeting_type}")
        link.url = queries.link_url(link)
    back = None
    if deal is not None:
        back = reverse("deal_detail", args=[deal.pk])
    elif contact is not None:
        back = reverse("contact_detail", args=[contact.pk])
    return render(
        request,
        "scheduling/link_new.html",
        {
            "types": types,
            "contact": contact,
            "deal": deal,
            "link": link,
            "back": back,
            "days": LINK_DAYS,
            "can_write": can_write(request.user),
        },
    )
