"""Email campaign services: create and edit, then the one-way trip draft → (scheduled →) sending → sent.

Every state change is a conditional UPDATE on the campaign's status (`WHERE status IN (...)`), so a double click,
two browser tabs or two workers change it once: the loser's UPDATE matches no row and it does nothing. Starting
to send freezes the content (email/audience.py) and creates every send set-based in the same transaction, so a
campaign either has all its recipients or none.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from smarketing.campaigns.models import Campaign, Channel
from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.email import access
from smarketing.email.models import CampaignStatus, EmailCampaign, EmailSend, ScheduleKind, SendStatus

CAMPAIGN_FIELDS = (
    "goal template topic sender requires_consent subject subject_b preheader schedule_kind scheduled_at "
    "local_time ab_test_percent ab_window_hours ab_metric report_window_days"
).split()
AUDIENCE_FIELDS = ("include_segments", "include_lists", "exclude_segments", "exclude_lists")
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
AB_METRICS = ("opens", "clicks")
# The earliest a wall-clock time happens anywhere (UTC+14, Kiribati): a local-time campaign starts then.
EARLIEST_ZONE = ZoneInfo("Etc/GMT-14")


def _person(actor):
    from smarketing.core.audit import actor_user

    return actor_user(actor)


def _unique_utm(name: str, exclude_pk=None) -> str:
    base = slugify(name)[:180] or "email"
    slug, n = base, 1
    taken = Campaign.objects.filter(utm_campaign=slug)
    while (taken.exclude(pk=exclude_pk) if exclude_pk else taken).exists():
        n += 1
        slug = f"{base}-{n}"
        taken = Campaign.objects.filter(utm_campaign=slug)
    return slug


def _apply(ec: EmailCampaign, fields: dict) -> dict:
    """Copy the allowed fields onto the campaign; return {field: (old, new)} for the audit entry."""
    changes = {}
    for name in CAMPAIGN_FIELDS:
        if name in fields:
            old, new = getattr(ec, name), fields[name]
            if name in ("subject", "subject_b", "preheader", "goal"):
                new = (new or "").strip()
            if old != new:
                changes[name] = (old, new)
                setattr(ec, name, new)
    # Picking a template copies its subject and preheader unless the marketer wrote their own.
    template = fields.get("template")
    if template is not None and not ec.subject:
        ec.subject = template.subject
    if template is not None and not ec.preheader:
        ec.preheader = template.preheader
    return changes


def _set_audience(ec: EmailCampaign, fields: dict, changes: dict) -> None:
    for name in AUDIENCE_FIELDS:
        if name in fields:
            old = sorted(getattr(ec, name).values_list("pk", flat=True))
            getattr(ec, name).set(fields[name] or [])
            new = sorted(getattr(ec, name).values_list("pk", flat=True))
            if old != new:
                changes[name] = (old, new)


def create_campaign(actor, *, name: str, owner=None, origin: str = Origin.UI, **fields) -> EmailCampaign:
    """A draft email campaign and its `campaigns.Campaign` (channel email, a unique utm_campaign, the owner's
    team), so touches and the calendar see it from the start."""
    access.require_create_campaign(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the campaign a name."})
    unknown = set(fields) - set(CAMPAIGN_FIELDS) - set(AUDIENCE_FIELDS)
    if unknown:
        raise TypeError(f"unknown campaign fields: {sorted(unknown)}")
    owner = owner or _person(actor)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name[:200],
            channel=Channel.EMAIL,
            owner=owner,
            owner_team=getattr(owner, "team", None),
            utm_campaign=_unique_utm(name),
        )
        ec = EmailCampaign(campaign=campaign, subject="")
        _apply(ec, fields)
        clean_campaign(ec)
        ec.save()
        _set_audience(ec, fields, {})
        record_audit(actor=actor, action="create", obj=ec, origin=origin, object_repr=name)
    return ec


def update_campaign(actor, ec: EmailCampaign, *, origin: str = Origin.UI, name=None, **fields) -> EmailCampaign:
    """Edit a draft or scheduled campaign. A campaign that started sending is frozen."""
    access.require_change_campaign(actor, ec)
    unknown = set(fields) - set(CAMPAIGN_FIELDS) - set(AUDIENCE_FIELDS)
    if unknown:
        raise TypeError(f"unknown campaign fields: {sorted(unknown)}")
    with transaction.atomic():
        current = EmailCampaign.objects.select_for_update().select_related("campaign").get(pk=ec.pk)
        if current.status not in EDITABLE:
            raise ValidationError("This campaign has started sending; its content and audience can no longer change.")
        changes = _apply(current, fields)
        if name is not None and name.strip() and name.strip() != current.campaign.name:
            changes["name"] = (current.campaign.name, name.strip())
            current.campaign.name = name.strip()[:200]
            current.campaign.save(update_fields=["name"])
        clean_campaign(current)
        current.updated_at = timezone.now()
        current.save()
        _set_audience(current, fields, changes)
        if changes:
            record_audit(actor=actor, action="update", obj=current, changes=changes, origin=origin)
    return current


def clean_campaign(ec: EmailCampaign) -> None:
    """Checks that hold for a draft too (each in words a marketer understands)."""
    errors = {}
    if not 0 <= ec.ab_test_percent <= 100:
        errors["ab_test_percent"] = "Choose a test share between 0 and 100 %."
    if ec.ab_metric not in AB_METRICS:
        errors["ab_metric"] = "The winner is picked by opens or by clicks."
    if not 1 <= ec.ab_window_hours <= 168:
        errors["ab_window_hours"] = "Choose a test window between 1 hour and 7 days."
    if ec.schedule_kind not in ScheduleKind.values:
        errors["schedule_kind"] = "Choose when to send."
    if errors:
        raise ValidationError(errors)


def ready_problems(ec: EmailCampaign, now: datetime | None = None) -> dict[str, str]:
    """What still keeps the campaign from being sent ({field: sentence}); empty when it can go."""
    now = now or timezone.now()
    problems = {}
    if not ec.subject.strip():
        problems["subject"] = "Write a subject line."
    if ec.template_id is None:
        problems["template"] = "Pick the email to send (a template)."
    if ec.sender_id is None:
        problems["sender"] = "Choose who the email is from (a sender identity)."
    if not (ec.include_segments.exists() or ec.include_lists.exists()):
        problems["audience"] = "Choose at least one segment or list to send to."
    if ec.ab_test_percent and not ec.subject_b.strip():
        problems["subject_b"] = "Write subject B for the A/B test, or set the test share to 0."
    if ec.subject_b.strip() and ec.ab_test_percent and ec.ab_test_percent < 2:
        problems["ab_test_percent"] = "An A/B test needs at least 2 % of the audience."
    if ec.ab_test_percent and ec.schedule_kind == ScheduleKind.LOCAL:
        problems["schedule_kind"] = "An A/B test cannot be combined with sending at each recipient's local time."
    if ec.schedule_kind == ScheduleKind.AT and (ec.scheduled_at is None or ec.scheduled_at <= now):
        problems["scheduled_at"] = "Pick a moment in the future."
    if ec.schedule_kind == ScheduleKind.LOCAL and (ec.scheduled_at is None or ec.local_time is None):
        problems["local_time"] = "Pick the day and the local time."
    return problems


def default_zone(ec: EmailCampaign) -> ZoneInfo:
    """Where "9:00" means for recipients whose time zone is unknown: the campaign owner's zone."""
    owner = ec.campaign.owner
    return zone_or_none(getattr(owner, "time_zone", "") or "UTC") or ZoneInfo("UTC")


def zone_or_none(name: str) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_moment(ec: EmailCampaign, zone: ZoneInfo) -> datetime:
    """The campaign's day and local time as an instant in one time zone."""
    return datetime.combine(ec.scheduled_at.date(), ec.local_time or time(9), tzinfo=zone)


def start_moment(ec: EmailCampaign) -> datetime:
    """When a scheduled campaign starts sending: its moment, or for local time the first zone's morning."""
    if ec.schedule_kind == ScheduleKind.LOCAL:
        return local_moment(ec, EARLIEST_ZONE)
    return ec.scheduled_at


def send(actor, ec: EmailCampaign, *, origin: str = Origin.UI) -> EmailCampaign:
    """The "Send" button: start now, or schedule (a periodic job starts it when its moment comes)."""
    access.require_change_campaign(actor, ec)
    problems = ready_problems(ec)
    if problems:
        raise ValidationError(problems)
    if ec.schedule_kind == ScheduleKind.NOW or start_moment(ec) <= timezone.now():
        return start_sending(actor, ec, origin=origin)
    with transaction.atomic():
        changed = EmailCampaign.objects.filter(pk=ec.pk, status=CampaignStatus.DRAFT).update(
            status=CampaignStatus.SCHEDULED, updated_at=timezone.now()
        )
        if changed:
            record_audit(actor=actor, action="schedule", obj=ec, origin=origin)
    ec.refresh_from_db()
    return ec


def unschedule(actor, ec: EmailCampaign, *, origin: str = Origin.UI) -> EmailCampaign:
    """Back to draft before a scheduled campaign starts."""
    access.require_change_campaign(actor, ec)
    with transaction.atomic():
        if EmailCampaign.objects.filter(pk=ec.pk, status=CampaignStatus.SCHEDULED).update(
            status=CampaignStatus.DRAFT, updated_at=timezone.now()
        ):
            record_audit(actor=actor, action="unschedule", obj=ec, origin=origin)
    ec.refresh_from_db()
    return ec


def start_sending(actor, ec: EmailCampaign, *, origin: str = Origin.UI) -> EmailCampaign:
    """Draft/scheduled → sending, once: freeze the content and the audience, then wake the senders.

    The conditional UPDATE is the lock: on PostgreSQL a second caller waits for the first's row lock and then
    matches nothing; on SQLite writers are serialized. The loser gets the campaign back unchanged.
    """
    from smarketing.email import audience, tasks

    access.require_change_campaign(actor, ec)
    problems = ready_problems(ec, now=timezone.now() - timedelta(days=3650))  # a due schedule is fine
    problems.pop("scheduled_at", None)
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    with transaction.atomic():
        started = EmailCampaign.objects.filter(pk=ec.pk, status__in=EDITABLE).update(
            status=CampaignStatus.SENDING, started_at=now, updated_at=now
        )
        if not started:
            ec.refresh_from_db()
            return ec
        ec.refresh_from_db()
        audience.freeze_content(ec)
        total = audience.freeze_audience(ec, now=now)
        EmailCampaign.objects.filter(pk=ec.pk).update(recipients_total=total, html=ec.html, text=ec.text)
        ec.recipients_total = total
        ec.campaign.starts_at = ec.campaign.starts_at or now
        ec.campaign.save(update_fields=["starts_at"])
        record_audit(actor=actor, action="send", obj=ec, origin=origin, changes={"recipients": (None, total)})
        publish("campaign.sending", ec, {"campaign_id": ec.campaign_id, "recipients": total})
        transaction.on_commit(lambda: tasks.wake_senders(ec.pk))
    return ec


def pause(actor, ec: EmailCampaign, *, origin: str = Origin.UI, reason: str = "") -> EmailCampaign:
    """Stop sending after the message in flight; the senders hand their unsent claims back."""
    access.require_change_campaign(actor, ec)
    with transaction.atomic():
        if EmailCampaign.objects.filter(pk=ec.pk, status=CampaignStatus.SENDING).update(
            status=CampaignStatus.PAUSED, updated_at=timezone.now()
        ):
            record_audit(actor=actor, action="pause", obj=ec, origin=origin, changes={"reason": (None, reason)})
    ec.refresh_from_db()
    return ec


def resume(actor, ec: EmailCampaign, *, origin: str = Origin.UI) -> EmailCampaign:
    from smarketing.email import tasks

    access.require_change_campaign(actor, ec)
    with transaction.atomic():
        if EmailCampaign.objects.filter(pk=ec.pk, status=CampaignStatus.PAUSED).update(
            status=CampaignStatus.SENDING, updated_at=timezone.now()
        ):
            record_audit(actor=actor, action="resume", obj=ec, origin=origin)
            transaction.on_commit(lambda: tasks.wake_senders(ec.pk))
    ec.refresh_from_db()
    return ec


def cancel(actor, ec: EmailCampaign, *, origin: str = Origin.UI) -> EmailCampaign:
    """Stop for good: every send not yet made becomes cancelled (messages already sent stay sent)."""
    access.require_change_campaign(actor, ec)
    now = timezone.now()
    with transaction.atomic():
        live = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED)
        if EmailCampaign.objects.filter(pk=ec.pk, status__in=live).update(
            status=CampaignStatus.CANCELLED, finished_at=now, updated_at=now
        ):
            # Claimed sends ('sending') are left to their sender, which sees the cancel between messages.
            EmailSend.objects.filter(campaign_id=ec.pk, status=SendStatus.QUEUED).update(status=SendStatus.CANCELLED)
            record_audit(actor=actor, action="cancel", obj=ec, origin=origin)
    ec.refresh_from_db()
    return ec


def send_test(actor, ec: EmailCampaign, to: str, *, contact=None):
    """Send the campaign's email to one address (yourself) on the transactional stream, marked as a test: no
    send row, no tracking, never in the campaign's figures. Merge fields are filled as for `contact` (or left to
    their fallbacks)."""
    from smarketing.email import merge, rendering
    from smarketing.mail.services import send_transactional

    access.require_change_campaign(actor, ec)
    to = (to or "").strip()
    if not to or "\n" in to or "\r" in to or "@" not in to:
        raise ValidationError({"to": "Enter the address to send the test to."})
    template = ec.template
    if template is None:
        raise ValidationError({"template": "Pick the email to send (a template) first."})
    html, text = rendering.compile_email(
        mode=template.mode, blocks=template.blocks, html=template.html, preheader=ec.preheader
    )
    rendered = rendering.CompiledEmail(subject=ec.subject, html=html, text=text).render(
        merge.sample_context(contact, campaign=ec)
    )
    return send_transactional(
        kind="campaign_test",
        to_email=to,
        subject=f"[Test] {rendered.subject}"[:300],
        text=rendered.text,
        html=rendered.html,
    )


def progress(ec: EmailCampaign) -> dict[str, int]:
    """Sends of one campaign by status: one grouped query on the claim index (never a table-wide count)."""
    counts = dict.fromkeys(SendStatus.values, 0)
    rows = EmailSend.objects.filter(campaign_id=ec.pk).values_list("status").order_by()
    from django.db.models import Count

    for status, n in rows.annotate(n=Count("id")).values_list("status", "n"):
        counts[status] = n
    counts["total"] = sum(counts[s] for s in SendStatus.values)
    done = counts["sent"] + counts["failed"] + counts["suppressed"] + counts["cancelled"]
    counts["done"] = done
    counts["percent"] = int(100 * done / counts["total"]) if counts["total"] else 0
    return counts


def move_on_contact_merge(primary_id: int, duplicate_id: int) -> None:
    """A merged contact's sends (but a campaign's second send to the survivor: that one keeps its counts and no
    contact) and its preference-center choices when the survivor has none."""
    from smarketing.email.models import EmailPreference

    taken = EmailSend.objects.filter(contact_id=primary_id, step_run__isnull=True).values("campaign_id")
    EmailSend.objects.filter(contact_id=duplicate_id).exclude(step_run__isnull=True, campaign_id__in=taken).update(
        contact_id=primary_id
    )
    if not EmailPreference.objects.filter(contact_id=primary_id).exists():
        EmailPreference.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)
