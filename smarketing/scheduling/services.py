"""Every important write of scheduling: booking, rescheduling, canceling, outcomes, and the booker's manage token.

    meeting = book(meeting_type, starts_at=..., booker={"name", "email", "time_zone", "answers", "consent",
                   "consent_text"}, link=None)

No double booking: a meeting holds its hosts' time with HostHold rows. On PostgreSQL the `hold_no_overlap`
exclusion constraint refuses an overlapping active hold at INSERT (a concurrent uncommitted one makes the INSERT
wait for its outcome), so the loser's IntegrityError becomes SlotTaken (round robin first tries the next free
host). On SQLite every write transaction is BEGIN IMMEDIATE (settings), so the overlap query just before the
INSERT, in the same transaction, cannot be raced. Both databases run that query; a Meeting never exists without
its holds (both are written in one savepoint).
"""

import hashlib
import logging
import uuid
from datetime import timedelta
from html import escape

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.scheduling import availability, ics, kinds, payloads
from smarketing.scheduling.models import Assignment, HostHold, LocationKind, Meeting, MeetingTypeHost
from smarketing.timeline.services import record_touch

logger = logging.getLogger(__name__)

_MANAGE_SALT = "smarketing.scheduling.manage"
MAX_ANSWER = 1000
TAKEN = "That time was just taken. Pick another."
# The consent wording of the booking page and of book.json: the words a booker agrees to are ours, never the
# client's, so the evidence stored with a consent (the touch's details) is what was shown.
CONSENT_TEXT = "Yes, send me occasional emails with news and offers. I can unsubscribe at any time."


def move_on_contact_merge(primary_id: int, duplicate_id: int) -> None:
    """A merged contact's meetings and booking links follow the survivor."""
    from smarketing.scheduling.models import BookingLink

    Meeting.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)
    BookingLink.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)


class SlotTaken(Exception):
    """Someone else booked this host's time first (the database refused the overlapping hold)."""


def can_manage_meeting(user, meeting) -> bool:
    """Record an outcome, move or cancel as staff: the host, their team's managers, admins (scheduling/access.py)."""
    from smarketing.scheduling import access

    return access.can_act_on_meeting(user, meeting)


def _require_manage(user, meeting) -> None:
    if not can_manage_meeting(user, meeting):
        raise PermissionDenied("Only the host, their managers and admins can change this meeting.")


# -- validation ------------------------------------------------------------------------------------------------


def _zone_name(name) -> str:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(str(name or "UTC"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "UTC"  # a browser's odd zone is no reason to refuse a booking
    return str(name or "UTC")


def clean_booker(meeting_type, booker: dict) -> dict:
    """The booker's values, validated: ValidationError with a fixed message per field (nothing typed echoed)."""
    from smarketing.mail.message import check_address

    errors = {}
    name = str(booker.get("name") or "").strip()
    if not name:
        errors["name"] = "Please give your name."
    elif len(name) > 200 or "\x00" in name:
        errors["name"] = "At most 200 characters."
    email = str(booker.get("email") or "").strip().lower()
    try:
        validate_email(email)
        check_address(email, "email")
    except (ValidationError, ValueError):
        errors["email"] = "Please give a valid email address."
    raw_answers = booker.get("answers") or {}
    if not isinstance(raw_answers, dict):
        raw_answers = {}
    answers = {}
    for question in meeting_type.questions or []:
        key = question.get("key")
        value = str(raw_answers.get(key) or "").strip().replace("\x00", "")
        if question.get("required") and not value:
            errors[key] = "This field is required."
        elif len(value) > MAX_ANSWER:
            errors[key] = f"At most {MAX_ANSWER} characters."
        elif value:
            answers[key] = value
    if errors:
        raise ValidationError(errors)
    consent = bool(booker.get("consent"))
    return {
        "name": name,
        "email": email,
        "time_zone": _zone_name(booker.get("time_zone")),
        "answers": answers,
        "consent": consent,
        "consent_text": str(booker.get("consent_text") or "")[:1000] if consent else "",
    }


def _duration(meeting_type, duration) -> int:
    options = meeting_type.durations or [30]
    if duration is None:
        return options[0]
    if duration not in options:
        raise ValidationError({"duration": "Choose one of the offered durations."})
    return int(duration)


def _check_link(link, meeting_type, now) -> None:
    if link is None:
        return
    if link.meeting_type_id != meeting_type.pk:
        raise ValidationError({"link": "This booking link is for another meeting type."})
    if link.used_at is not None or link.expires_at <= now:
        raise ValidationError({"link": "This booking link was already used or has expired."})


# -- choosing the host -------------------------------------------------------------------------------------------


def host_order(meeting_type, free: list[int], *, contact=None) -> list[list[int]]:
    """The host sets to try, best first: each a list of user ids whose first is the organizer.

    Personal: the owner. Collective: everyone free, together. Round robin / weighted: every free host, in the order
    routing's one `pick` gives (the next is tried when the database refuses the first). Owner first: the contact's
    owner when free, then round robin.
    """
    from smarketing.process.routing import pick

    if meeting_type.assignment == Assignment.PERSONAL or not meeting_type.is_team:
        return [[meeting_type.owner_id]] if meeting_type.owner_id in free else []
    rows = {r.user_id: r for r in MeetingTypeHost.objects.filter(meeting_type=meeting_type, user_id__in=free)}
    candidates = [uid for uid in free if uid in rows and rows[uid].weight > 0]
    if meeting_type.assignment == Assignment.COLLECTIVE:
        return [candidates] if candidates and len(candidates) == len(free) else []
    order = []
    if meeting_type.assignment == Assignment.OWNER_FIRST and contact is not None and contact.owner_id in candidates:
        order.append(contact.owner_id)
    rest = [c for c in candidates if c not in order]
    weighted = meeting_type.assignment == Assignment.WEIGHTED
    while rest:
        chosen = pick(
            rest,
            last_at={uid: rows[uid].last_booked_at for uid in rest},
            counts={uid: rows[uid].booked_count for uid in rest},
            weights={uid: rows[uid].weight for uid in rest},
            weighted=weighted,
        )
        if chosen is None:
            break
        order.append(chosen)
        rest.remove(chosen)
    return [[uid] for uid in order]


# -- holds -----------------------------------------------------------------------------------------------------


def _overlapping(user_ids, start, end, *, exclude_meeting=None) -> bool:
    holds = HostHold.objects.filter(user_id__in=user_ids, active=True, starts_at__lt=end, ends_at__gt=start)
    if exclude_meeting is not None:
        holds = holds.exclude(meeting_id=exclude_meeting)
    return holds.exists()


def _visibly_taken(meeting_type, starts_at, ends_at) -> bool:
    """Do committed holds already cover every host who could take this time (any host, for collective)?

    One query: the refusal most racers get, so it is kept cheap (the booking itself is decided in the transaction).
    """
    start, end = availability.hold_range(meeting_type, starts_at, ends_at)
    holds = HostHold.objects.filter(active=True, starts_at__lt=end, ends_at__gt=start)
    if not meeting_type.is_team:
        owner = meeting_type.owner  # loaded with the type (select_related) by the booking views
        return owner is not None and owner.is_active and holds.filter(user_id=owner.pk).exists()
    busy_by_host = dict(
        MeetingTypeHost.objects.filter(meeting_type=meeting_type, weight__gt=0, user__is_active=True)
        .annotate(busy=Exists(holds.filter(user_id=OuterRef("user_id"))))
        .values_list("user_id", "busy")
    )
    if meeting_type.assignment == Assignment.COLLECTIVE:
        return any(busy_by_host.values())
    return bool(busy_by_host) and all(busy_by_host.values())


IN_FLIGHT_SECONDS = 10  # the longest a booking's in-flight claim outlives a crashed request


def _in_flight_key(meeting_type, starts_at) -> str | None:
    """The cache key of a booking in flight for one slot of a personal or collective type (one set of hosts: a
    rival for the same start can only lose); None for team types, whose racers may take the next host."""
    if meeting_type.assignment not in (Assignment.PERSONAL, Assignment.COLLECTIVE):
        return None
    return f"meet:inflight:{meeting_type.pk}:{starts_at.timestamp():.0f}"


SLOT_LOCK = 0x5D17_0003  # first key of the PostgreSQL advisory lock on one type's slot; the second is _slot_key


def _slot_key(meeting_type, starts_at) -> int:
    raw = hashlib.sha256(f"{meeting_type.pk}:{starts_at.timestamp():.0f}".encode()).digest()
    return int.from_bytes(raw[:4], "big") % 2**31  # an int4


def _claim_slot(meeting_type, starts_at) -> None:
    """PostgreSQL: let one booking of this type's slot at a time past this point, for the rest of the transaction.

    A visitor racing an uncommitted rival would otherwise compute the slot, then wait at the exclusion constraint
    until the rival commits, only to be refused: with one host (a personal or collective type) there is no one
    else to try, so a racer that finds the slot claimed is refused at once (pg_try_advisory_xact_lock). A team's
    racers wait for the claim instead (pg_advisory_xact_lock), then see the winner's hold and take the next host.
    The exclusion constraint stays the guarantee (overlapping slots of other types, other starts); this only makes
    the common race cheap. SQLite needs nothing: BEGIN IMMEDIATE already runs one booking at a time.
    """
    if connection.vendor != "postgresql":
        return
    single = meeting_type.assignment in (Assignment.PERSONAL, Assignment.COLLECTIVE)
    with connection.cursor() as cursor:
        if single:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [SLOT_LOCK, _slot_key(meeting_type, starts_at)])
            if not cursor.fetchone()[0]:
                raise SlotTaken(TAKEN)
        else:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SLOT_LOCK, _slot_key(meeting_type, starts_at)])


def _is_overlap(exc: IntegrityError) -> bool:
    return "hold_no_overlap" in str(exc)


def _try_insert(meeting_type, host_ids: list[int], fields: dict) -> Meeting | None:
    """The meeting and its hosts' holds in one savepoint, or None when one of the hosts' time is taken."""
    start, end = availability.hold_range(meeting_type, fields["starts_at"], fields["ends_at"])
    # SQLite: BEGIN IMMEDIATE makes this check and the INSERT one serialized step. PostgreSQL: a cheap early
    # answer; the exclusion constraint is the guarantee for what this cannot see (uncommitted rivals).
    if _overlapping(host_ids, start, end):
        return None
    try:
        with transaction.atomic():
            meeting = Meeting.objects.create(host_id=host_ids[0], **fields)
            HostHold.objects.bulk_create(
                [HostHold(meeting=meeting, user_id=uid, starts_at=start, ends_at=end) for uid in host_ids]
            )
    except IntegrityError as exc:
        if not _is_overlap(exc):
            raise
        return None
    return meeting


def _location(meeting_type, room: str) -> str:
    detail = (meeting_type.location_detail or "").strip()
    if meeting_type.location_kind == LocationKind.VIDEO:
        return detail.replace("{meeting}", room)[:500] if detail else "Video call"
    if meeting_type.location_kind == LocationKind.PHONE:
        return detail[:500] or "Phone call"
    return detail[:500]


# -- the contact -----------------------------------------------------------------------------------------------


def _find_contact(email: str, link):
    from smarketing.crm.models import Contact

    if link is not None and link.contact_id:
        return Contact.objects.select_related("company").filter(pk=link.contact_id).first()
    # Contacts' emails are stored lowercased (crm.normalize), so this is the case-insensitive match, on the index.
    return Contact.objects.select_related("company").filter(email=email).first()


def _empty(value) -> bool:
    return value is None or value == ""


def _mapped(meeting_type, answers: dict) -> tuple[dict, dict, str]:
    """(contact fields, custom properties, company name) the answers fill, by the questions' `maps_to`."""
    values, custom, company = {}, {}, ""
    for question in meeting_type.questions or []:
        value = answers.get(question.get("key"))
        target = (question.get("maps_to") or "").removeprefix("contact.")
        if not value or not target:
            continue
        if target.startswith("custom."):
            custom[target.removeprefix("custom.")] = value
        elif target == "company.name":
            company = value[:200]
        elif target in ("phone", "title"):
            values[target] = value
    return values, custom, company


def _company(actor, name: str):
    from smarketing.crm import services as crm
    from smarketing.crm.models import Company
    from smarketing.crm.normalize import company_search_key

    found = Company.objects.filter(name_key=company_search_key(name)).order_by("id").first()
    return found or crm.create_company(actor=actor, data={"name": name}, origin=Origin.BOOKING)


def _save_contact(meeting_type, clean: dict, contact, host_id: int, now, actor):
    """Create the booker's contact (owned by the host) or fill its empty fields; consent recorded when ticked."""
    from smarketing.crm import services as crm
    from smarketing.crm.models import ConsentStatus, LegalBasis

    first, _, last = clean["name"].partition(" ")
    values, custom, company_name = _mapped(meeting_type, clean["answers"])
    data = {"first_name": first[:100], "last_name": last.strip()[:100], "time_zone": clean["time_zone"], **values}
    if clean["consent"] and (contact is None or contact.consent_status != ConsentStatus.GRANTED):
        data.update(
            consent_status=ConsentStatus.GRANTED,
            consent_basis=LegalBasis.CONSENT,
            consent_at=now,
            consent_source=f"Booking page “{meeting_type.name}”, consent ticked"[:200],
        )
    if contact is None:
        if custom:
            data["custom"] = custom
        if company_name:
            data["company"] = _company(actor, company_name)
        from smarketing.crm.services.common import assignable_users

        data.update(email=clean["email"], first_source="booking", first_touch_at=now)
        owner = assignable_users().filter(pk=host_id).first()  # the host owns a new contact, if they may own
        if owner is not None:
            data["owner"] = owner
        data.update(last_source="booking", last_touch_at=now)
        return crm.create_contact(actor=actor, data=data, origin=Origin.BOOKING, reason="Booked a meeting")
    # A known contact: never overwrite what is known with what a visitor typed; fill only the empty fields.
    fill = {k: v for k, v in data.items() if k.startswith("consent_") or _empty(getattr(contact, k, None))}
    fill_custom = {k: v for k, v in custom.items() if _empty((contact.custom or {}).get(k))}
    if fill_custom:
        fill["custom"] = fill_custom  # merged into the stored ones by crm (clean_custom's `existing`)
    if company_name and not contact.company_id:
        fill["company"] = _company(actor, company_name)
    fill.update(last_source="booking", last_touch_at=now)
    return crm.update_record(contact, actor=actor, data=fill, origin=Origin.BOOKING)


# -- booking ---------------------------------------------------------------------------------------------------


def book(meeting_type, *, starts_at, duration=None, booker: dict, link=None, meta=None) -> Meeting:
    """Book a slot: contact created or updated (consent), meeting, holds, touch, event, emails. Raises SlotTaken,
    availability.SlotUnavailable or ValidationError (with field messages for the booker)."""

    now = timezone.now()
    clean = clean_booker(meeting_type, booker)
    minutes = _duration(meeting_type, duration)
    _check_link(link, meeting_type, now)
    actor = system_actor(Origin.BOOKING)
    claim = _in_flight_key(meeting_type, starts_at)
    if claim is not None and not cache.add(claim, 1, IN_FLIGHT_SECONDS):
        # Someone is booking this very slot right now (in this process; in any, with CACHE_REDIS_URL): refused
        # without touching the database. Only a refusal is decided here; the claim goes when that booking ends.
        raise SlotTaken(TAKEN)
    try:
        return _book_slot(meeting_type, starts_at, minutes, clean, link, now, actor)
    finally:
        if claim is not None:
            cache.delete(claim)


def _book_slot(meeting_type, starts_at, minutes: int, clean: dict, link, now, actor) -> Meeting:
    from smarketing.scheduling.models import BookingLink

    if _visibly_taken(meeting_type, starts_at, starts_at + timedelta(minutes=minutes)):
        # The common loser of a race: the winner's hold is committed. One indexed query, no slot computation and
        # (on SQLite) no write lock; only a refusal is decided here, the booking itself is decided below.
        raise SlotTaken(TAKEN)
    with transaction.atomic():
        _claim_slot(meeting_type, starts_at)
        # Inside the transaction: on SQLite (BEGIN IMMEDIATE) what check_slot reads cannot change before we write.
        free = availability.check_slot(meeting_type, starts_at, minutes)
        existing = _find_contact(clean["email"], link)
        order = host_order(meeting_type, free, contact=existing)
        if not order:
            raise availability.SlotUnavailable("no host is free for this time")
        if link is not None:
            # One-off: a conditional UPDATE, so two bookings through one link cannot both pass.
            claimed = BookingLink.objects.filter(pk=link.pk, used_at__isnull=True, expires_at__gt=now).update(
                used_at=now
            )
            if not claimed:
                raise ValidationError({"link": "This booking link was already used or has expired."})
        room = uuid.uuid4().hex
        fields = {
            "meeting_type": meeting_type,
            "deal_id": link.deal_id if link is not None else None,
            "title": f"{meeting_type.name} with {clean['name']}"[:200],
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(minutes=minutes),
            "booker_name": clean["name"],
            "booker_email": clean["email"],
            "booker_time_zone": clean["time_zone"],
            "location": _location(meeting_type, room),
            "answers": _answers_by_label(meeting_type, clean["answers"]),
            "uid": f"{room}@smarketing",
            "created_at": now,
        }
        # The time is claimed first, the contact written after: under a race the losers fail at the hold (or
        # wait there for the winner's outcome) before doing the contact's work, and roll back nothing big.
        meeting = None
        for hosts in order:
            meeting = _try_insert(meeting_type, hosts, fields)
            if meeting is not None:
                break
        if meeting is None:
            raise SlotTaken(TAKEN)
        contact = _save_contact(meeting_type, clean, existing, meeting.host_id, now, actor)
        Meeting.objects.filter(pk=meeting.pk).update(contact=contact)
        meeting.contact = contact
        MeetingTypeHost.objects.filter(meeting_type=meeting_type, user_id__in=hosts).update(
            last_booked_at=now, booked_count=F("booked_count") + 1
        )
        details = {"consent_text": clean["consent_text"]} if clean["consent"] else {}
        _touch(meeting, kinds.MEETING_BOOKED, actor, now, **details)
        publish("meeting.booked", meeting, payloads.meeting(meeting))
        _notify_host(meeting, kinds.NOTIFY_BOOKED, f"{clean['name']} booked {meeting_type.name}", actor)
        _send_invitations(meeting, kind="booking_confirmation", method="REQUEST")
    return meeting


def _answers_by_label(meeting_type, answers: dict) -> dict:
    labels = {q.get("key"): q.get("label") or q.get("key") for q in meeting_type.questions or []}
    return {labels.get(key, key): value for key, value in answers.items()}


def _touch(meeting, kind: str, actor, now, **extra) -> None:
    if meeting.contact_id is None:
        return
    record_touch(
        kind=kind,
        contact=meeting.contact_id,
        deal=meeting.deal_id,
        actor=actor,
        source="booking",
        summary=payloads.touch_summary(kind, meeting.title),
        details=payloads.touch_details(meeting, **extra),
        occurred_at=now,
    )


def _notify_host(meeting, kind: str, title: str, actor) -> None:
    from smarketing.notifications.services import notify

    when = meeting.starts_at.astimezone(_zone(meeting.host.time_zone))
    notify(
        meeting.host,
        kind=kind,
        title=title[:200],
        body=f"{when:%a %d %b %Y, %H:%M} ({meeting.host.time_zone})",
        url=reverse("scheduling:meeting", args=[meeting.pk]),
        actor=actor,
        about=meeting,
    )


# -- moving, canceling, outcomes -------------------------------------------------------------------------------


def reschedule(meeting, *, starts_at, actor=None) -> Meeting:
    """Move a meeting to another offered slot (same UID, SEQUENCE + 1, new invitation); the booker (actor=None,
    through their signed link) or the host's side (checked)."""
    if actor is not None:
        _require_manage(actor, meeting)
    meeting_type = meeting.meeting_type
    if meeting_type is None:
        raise ValidationError("Its meeting type was deleted; book a new meeting instead.")
    now = timezone.now()
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().select_related("host").get(pk=meeting.pk)
        if meeting.status != Meeting.Status.BOOKED:
            raise ValidationError("Only a booked meeting can be moved.")
        minutes = int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)
        hosts = list(meeting.holds.values_list("user_id", flat=True))
        # The meeting's own holds must not block its new time: released first, inside this transaction.
        meeting.holds.update(active=False)
        # ...and it does not count against its own day's max_per_day either.
        free = availability.check_slot(meeting_type, starts_at, minutes, ignore_meeting=meeting.pk)
        if any(uid not in free for uid in hosts):
            raise availability.SlotUnavailable("the host is not free then")
        ends_at = starts_at + timedelta(minutes=minutes)
        start, end = availability.hold_range(meeting_type, starts_at, ends_at)
        if _overlapping(hosts, start, end, exclude_meeting=meeting.pk):
            raise SlotTaken(TAKEN)
        try:
            with transaction.atomic():
                meeting.holds.update(starts_at=start, ends_at=end, active=True)
        except IntegrityError as exc:
            if not _is_overlap(exc):
                raise
            raise SlotTaken(TAKEN) from None
        previous = meeting.starts_at
        meeting.starts_at, meeting.ends_at = starts_at, ends_at
        meeting.sequence += 1
        meeting.manage_nonce = _new_nonce()
        meeting.reminder_sent_at = None  # the new time gets its own reminder
        meeting.save(update_fields=["starts_at", "ends_at", "sequence", "manage_nonce", "reminder_sent_at"])
        who = actor or system_actor(Origin.BOOKING)
        _touch(meeting, kinds.MEETING_RESCHEDULED, who, now, previous_starts_at=previous.isoformat())
        publish("meeting.rescheduled", meeting, payloads.meeting(meeting, previous_starts_at=previous.isoformat()))
        if actor is None:
            _notify_host(meeting, kinds.NOTIFY_CHANGED, f"{meeting.booker_name} moved {meeting.title}", who)
        _send_invitations(meeting, kind="booking_update", method="REQUEST")
    return meeting


def cancel(meeting, *, reason: str = "", actor=None) -> Meeting:
    """Cancel: holds released, METHOD:CANCEL sent to both sides, a touch and `meeting.canceled`. A second cancel
    changes nothing."""
    if actor is not None:
        _require_manage(actor, meeting)
    now = timezone.now()
    with transaction.atomic():
        # Conditional UPDATE: two cancels at once (the booker's link and the host's button) cancel once.
        claimed = Meeting.objects.filter(pk=meeting.pk, status=Meeting.Status.BOOKED).update(
            status=Meeting.Status.CANCELED,
            canceled_at=now,
            cancel_reason=(reason or "")[:500],
            sequence=F("sequence") + 1,
        )
        meeting = Meeting.objects.select_related("host").get(pk=meeting.pk)
        if not claimed:
            return meeting
        HostHold.objects.filter(meeting=meeting).update(active=False)
        who = actor or system_actor(Origin.BOOKING)
        _touch(meeting, kinds.MEETING_CANCELED, who, now, reason=meeting.cancel_reason)
        publish("meeting.canceled", meeting, payloads.meeting(meeting, reason=meeting.cancel_reason))
        if actor is None:
            _notify_host(meeting, kinds.NOTIFY_CHANGED, f"{meeting.booker_name} canceled {meeting.title}", who)
        _send_invitations(meeting, kind="booking_cancel", method="CANCEL")
    return meeting


OUTCOMES = {
    Meeting.Status.HELD: (kinds.MEETING_HELD, "meeting.held"),
    Meeting.Status.NO_SHOW: (kinds.MEETING_NO_SHOW, "meeting.no_show"),
}


def record_outcome(meeting, *, outcome: str, actor) -> Meeting:
    """The host records held or no-show (Meeting.Status.HELD / NO_SHOW) once the meeting has started: a touch and
    its event. Recording the same outcome again changes nothing; the other one corrects it."""
    _require_manage(actor, meeting)
    if outcome not in OUTCOMES:
        raise ValidationError({"outcome": "Choose held or no-show."})
    now = timezone.now()
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().select_related("host").get(pk=meeting.pk)
        if meeting.status == Meeting.Status.CANCELED:
            raise ValidationError({"outcome": "The meeting was canceled."})
        if meeting.starts_at > now:
            raise ValidationError({"outcome": "You can record the outcome once the meeting has started."})
        if meeting.status == outcome:
            return meeting
        meeting.status, meeting.outcome_at = outcome, now
        meeting.save(update_fields=["status", "outcome_at"])
        kind, event = OUTCOMES[outcome]
        _touch(meeting, kind, actor, now)
        publish(event, meeting, payloads.meeting(meeting))
    return meeting


# -- the booker's links ----------------------------------------------------------------------------------------


def _new_nonce() -> str:
    from smarketing.scheduling.models import new_token

    return new_token()[:32]


def manage_token(meeting) -> str:
    """The signed, opaque token of the booker's reschedule/cancel links (scoped to this meeting and its nonce)."""
    return signing.dumps([meeting.pk, meeting.manage_nonce], salt=_MANAGE_SALT)


def meeting_for_token(token: str):
    """The meeting a manage token is for, or None when forged, stale (nonce replaced) or the meeting is gone."""
    try:
        pk, nonce = signing.loads(str(token)[:500], salt=_MANAGE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(pk, int) or not isinstance(nonce, str):
        return None
    return Meeting.objects.select_related("meeting_type", "host", "contact").filter(pk=pk, manage_nonce=nonce).first()


def manage_url(meeting) -> str:
    return settings.SMARKETING_BASE_URL + reverse("meet:manage", args=[manage_token(meeting)])


# -- emails ------------------------------------------------------------------------------------------------------


def _zone(name):
    import zoneinfo

    return zoneinfo.ZoneInfo(_zone_name(name))


def _when(meeting, tz_name: str) -> str:
    local = meeting.starts_at.astimezone(_zone(tz_name))
    return f"{local:%A %d %B %Y, %H:%M} ({_zone_name(tz_name)})"


SUBJECTS = {
    "booking_confirmation": "Confirmed: {title}",
    "booking_update": "Updated: {title}",
    "booking_cancel": "Canceled: {title}",
    "booking_reminder": "Reminder: {title}",
}


def _send_invitations(meeting, *, kind: str, method: str) -> None:
    """The booker's and the host's emails, each with the .ics; queued in the caller's transaction (sent after it
    commits, never for a rolled-back booking)."""
    calendar = ics.invitation(meeting, method)
    send_booker_email(meeting, kind=kind, method=method, calendar=calendar)
    host = meeting.host
    if host.email and host.is_active:
        from smarketing.mail.services import send_transactional

        text = f"{meeting.title}\n{_when(meeting, host.time_zone)}\n{meeting.location}\n\n"
        text += f"{settings.SMARKETING_BASE_URL}{reverse('scheduling:meeting', args=[meeting.pk])}\n"
        send_transactional(
            kind=kind,
            to_email=host.email,
            subject=SUBJECTS[kind].format(title=meeting.title)[:300],
            text=text,
            calendar=calendar,
            calendar_method=method,
        )


def send_booker_email(meeting, *, kind: str, method: str = "REQUEST", calendar: bytes | None = None) -> None:
    """The booker's email of `kind`: the time in their zone, the type's text, the manage links and the .ics."""
    from smarketing.mail.services import send_transactional

    if not meeting.booker_email:
        return
    mt = meeting.meeting_type
    lines = [meeting.title, _when(meeting, meeting.booker_time_zone)]
    if meeting.location:
        lines.append(meeting.location)
    extra = ""
    if kind == "booking_confirmation" and mt is not None:
        extra = mt.confirmation_text
    elif kind == "booking_reminder" and mt is not None:
        extra = mt.reminder_text
    if kind == "booking_cancel":
        extra = "This meeting was canceled."
    link = manage_url(meeting)
    text = "\n".join(lines) + "\n\n" + (extra + "\n\n" if extra else "")
    if kind != "booking_cancel":
        text += f"Reschedule or cancel: {link}\n"
    html = "".join(f"<p>{escape(line)}</p>" for line in lines)
    if extra:
        html += f"<p>{escape(extra)}</p>"
    if kind != "booking_cancel":
        html += f'<p><a href="{escape(link)}">Reschedule</a> · <a href="{escape(link)}">Cancel</a></p>'
    send_transactional(
        kind=kind,
        to_email=meeting.booker_email,
        subject=SUBJECTS[kind].format(title=meeting.title)[:300],
        text=text,
        html=html,
        calendar=calendar if calendar is not None else ics.invitation(meeting, method),
        calendar_method=method,
    )


# -- meeting types (the API's writes; the settings page's form does the same checks) ------------------------------

TYPE_FIELDS = (
    "name slug description location_kind location_detail assignment durations questions buffer_before buffer_after "
    "min_notice max_days_ahead max_per_day slot_interval confirmation_text reminder_text reminder_minutes is_active"
).split()
RESERVED_SLUGS = {"l", "m", "feed", "embed", "static"}
TEAM_MODES = {Assignment.ROUND_ROBIN, Assignment.WEIGHTED, Assignment.COLLECTIVE, Assignment.OWNER_FIRST}


def _clean_type(data: dict, *, team) -> dict:
    errors = {}
    durations = data.get("durations")
    if durations is not None:
        if not durations or len(durations) > 6 or any(not isinstance(d, int) or not 5 <= d <= 480 for d in durations):
            errors["durations"] = "One to six durations, whole minutes from 5 to 480."
    if "slug" in data:
        data["slug"] = str(data["slug"]).lower()
        if data["slug"] in RESERVED_SLUGS:
            errors["slug"] = "That address is reserved; choose another."
    if "assignment" in data:
        if team is None and data["assignment"] != Assignment.PERSONAL:
            errors["assignment"] = "A personal type has one host: its owner."
        elif team is not None and data["assignment"] not in TEAM_MODES:
            errors["assignment"] = "Choose how a team type assigns its bookings."
    for n, question in enumerate(data.get("questions") or [], 1):
        if not isinstance(question, dict) or not str(question.get("key") or "").isidentifier():
            errors["questions"] = f"Question {n}: give a key of letters, digits and underscores."
    if errors:
        raise ValidationError(errors)
    return data


def _set_hosts(meeting_type, hosts: list[dict]) -> None:
    from smarketing.crm.services.common import assignable_users

    members = set(assignable_users().filter(team_id=meeting_type.team_id).values_list("pk", flat=True))
    wanted = {int(h["user"]): int(h.get("weight", 1)) for h in hosts}
    if not wanted or not set(wanted) <= members:
        raise ValidationError({"hosts": "Hosts are active members of the type's team who can own records."})
    MeetingTypeHost.objects.filter(meeting_type=meeting_type).exclude(user_id__in=wanted).delete()
    for user_id, weight in wanted.items():
        MeetingTypeHost.objects.update_or_create(
            meeting_type=meeting_type, user_id=user_id, defaults={"weight": max(0, min(weight, 100))}
        )


def save_meeting_type(
    *, actor, data: dict, meeting_type=None, team=None, hosts: list[dict] | None = None, origin: str = Origin.UI
):
    """Create (meeting_type=None) or change a meeting type: the owner's own, a team's by its managers and admins
    (scheduling/access.py), audited. `hosts` ([{"user": id, "weight": 1}]) for team types."""
    from smarketing.core.audit import record_audit
    from smarketing.scheduling import access
    from smarketing.scheduling.models import MeetingType

    unknown = set(data) - set(TYPE_FIELDS)
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    creating = meeting_type is None
    if creating:
        access.require_create_type(actor, team)
        meeting_type = MeetingType(owner=None if team else actor, team=team)
        if team is not None:
            data.setdefault("assignment", Assignment.ROUND_ROBIN)
    else:
        access.require_manage_type(actor, meeting_type)
    data = _clean_type(dict(data), team=meeting_type.team)
    for name, value in data.items():
        setattr(meeting_type, name, value)
    meeting_type.full_clean(exclude=["owner", "team"])
    with transaction.atomic():
        try:
            with transaction.atomic():
                meeting_type.save()
        except IntegrityError:
            raise ValidationError({"slug": "Another meeting type has this address."}) from None
        if meeting_type.team_id and (hosts is not None or creating):
            _set_hosts(meeting_type, hosts or [])
        record_audit(actor=actor, action="create" if creating else "update", obj=meeting_type, origin=origin)
    return meeting_type
