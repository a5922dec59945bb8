"""Every write to notifications: `notify()` (what every pillar calls), read marks, preferences, email delivery.

    from smarketing.notifications.services import notify

    notify(owner, kind=TASK_ASSIGNED, title="Sam assigned you a task: Call Ada", url="/deals/12/", actor=sam,
           about=deal)

notify() stores the notification (shown in the recipient's notification center at once) and, when the
recipient's preference for that kind says so, enqueues one email job after the surrounding transaction
commits, so a rolled-back change notifies nobody. See docs/notifications.md.
"""

import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import is_person
from smarketing.core.audit import actor_user, object_type_of, record_audit
from smarketing.core.models import Origin
from smarketing.notifications import access, catalogue
from smarketing.notifications.models import EmailState, Notification, Preference

# What a failed email attempt may raise that goes away by itself (the SMTP server down or slow); the job
# retries these with backoff. Anything else is a bug and fails the job at once.
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, OSError)


def _safe_path(url: str) -> str:
    """Notifications link inside the app only: "/deals/12/", never another site (the open view redirects there)."""
    url = (url or "").strip()
    if url and (not url.startswith("/") or url.startswith("//") or "\\" in url or len(url) > 500):
        raise ValueError(f"a notification links to a path inside the app, like /deals/12/, not {url[:60]!r}")
    return url


def wants_email(user, kind: catalogue.NotificationKind) -> bool:
    """The user's choice for this kind, or the kind's default when they never chose."""
    choice = Preference.objects.filter(user=user, kind=kind.key).values_list("email", flat=True).first()
    return kind.email_default if choice is None else choice


def email_choices(user) -> dict[str, bool]:
    """Every declared kind → does the user get it by email (their choice, or the kind's default)? One query."""
    stored = dict(Preference.objects.filter(user=user).values_list("kind", "email"))
    return {k.key: stored.get(k.key, k.email_default) for k in catalogue.all_kinds()}


def notify(
    user,
    *,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    actor: Any = None,
    about: Model | None = None,
) -> Notification | None:
    """Tell `user` something: stored for the notification center, emailed if their preference says so.

    Returns None, storing nothing, when there is no one to tell: a deactivated user, or the person who did
    the thing themselves (nobody is notified of their own action). Raises ValueError for an undeclared kind,
    an empty title or a link outside the app: those are mistakes in the calling code.
    """
    declared = catalogue.get_kind(kind)
    title = " ".join((title or "").split())
    if not title:
        raise ValueError("a notification needs a title")
    url = _safe_path(url)
    if not is_person(user):
        return None
    by = actor_user(actor)
    if by is not None and by.pk == user.pk:
        return None
    email = bool(user.email) and wants_email(user, declared)
    notification = Notification.objects.create(
        user=user,
        kind=declared.key,
        title=title[:200],
        body=(body or "").strip()[:5000],
        url=url,
        actor=by,
        object_type=object_type_of(about) if about is not None else "",
        object_id=str(about.pk) if about is not None else "",
        email_state=EmailState.PENDING if email else EmailState.IN_APP,
    )
    if email:
        from smarketing.notifications.tasks import send_notification_email

        pk = notification.pk
        transaction.on_commit(lambda: send_notification_email.enqueue(pk))
    return notification


def mark_read(user, notification: Notification) -> bool:
    """Mark one of the user's notifications read; True if it was unread (a double click changes nothing)."""
    access.require_own(user, notification)
    now = timezone.now()
    changed = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
    if changed:
        notification.read_at = now
    return bool(changed)


def mark_all_read(user) -> int:
    """Mark every unread notification of the user read; returns how many were unread."""
    access.require_person(user)
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def set_preferences(user, *, actor, email_by_kind: dict[str, bool], origin: str = Origin.UI) -> int:
    """Save which kinds the user wants by email; audited. Returns how many choices changed."""
    access.require_self(actor, user)
    kinds = {k.key: k for k in catalogue.all_kinds()}
    unknown = sorted(set(email_by_kind) - set(kinds))
    if unknown:
        raise ValueError(f"unknown notification kinds: {', '.join(unknown)}")
    stored = dict(Preference.objects.filter(user=user).values_list("kind", "email"))
    changes = {}
    for key, email in email_by_kind.items():
        before = stored.get(key, kinds[key].email_default)
        if bool(email) != before:
            changes[f"notify_by_email.{key}"] = (before, bool(email))
        if stored.get(key) != bool(email):
            Preference.objects.update_or_create(user=user, kind=key, defaults={"email": bool(email)})
    if changes:
        record_audit(actor=actor, action="update", obj=user, changes=changes, origin=origin)
    return len(changes)


def deliver_email(notification_id: int) -> str:
    """Send one notification's email, exactly once, whatever the number of jobs or workers racing for it.

    The conditional UPDATE pending → sending is the claim: exactly one caller's update matches, the others
    return "skipped". The state after sending is recorded with a second conditional update. A worker killed
    between sending and recording leaves the row "sending", and nothing sends it again: a lost email is
    better than a duplicate. A transient SMTP failure records "failed" with the error and raises, so the job
    retries with backoff (a failed row may be claimed again; a sent one never).
    """
    claimed = Notification.objects.filter(
        pk=notification_id, email_state__in=(EmailState.PENDING, EmailState.FAILED)
    ).update(email_state=EmailState.SENDING)
    if not claimed:
        return "skipped"
    notification = Notification.objects.select_related("user").get(pk=notification_id)
    user = notification.user
    if not is_person(user) or not user.email:
        Notification.objects.filter(pk=notification_id).update(email_state=EmailState.IN_APP)
        return "skipped"
    try:
        _email(notification).send()
    except TRANSIENT_MAIL_ERRORS as exc:
        Notification.objects.filter(pk=notification_id, email_state=EmailState.SENDING).update(
            email_state=EmailState.FAILED, email_error=f"{type(exc).__name__}: {exc}"[:300]
        )
        raise
    Notification.objects.filter(pk=notification_id, email_state=EmailState.SENDING).update(
        email_state=EmailState.SENT, emailed_at=timezone.now(), email_error=""
    )
    return "sent"


def _email(notification: Notification) -> EmailMessage:
    lines = [notification.body] if notification.body else []
    if notification.url:
        lines.append(f"Open it: {settings.SITE_URL}{notification.url}")
    lines.append(
        f"You get this email because of your notification settings: "
        f"{settings.SITE_URL}{reverse('notifications:preferences')}"
    )
    return EmailMessage(
        subject=notification.title,
        body="\n\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.user.email],
    )
