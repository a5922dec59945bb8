"""Demo notifications: what the demo's people would have been told in the last days, so the bell is not empty.

Written in bulk after the seed, about records the seed made (tasks assigned by a colleague, mentions in
notes), in the app only: the seed never sends email. Deterministic, and skipped for anyone who has
notifications already, so a second seed adds none.
"""

import datetime

from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.models import User
from smarketing.crm import kinds as Kind
from smarketing.crm.models import Deal, DealStatus, Task
from smarketing.notifications.models import EmailState, Notification

PER_USER = 6


def seed_notifications(people: dict[str, User | None]) -> int:
    """A handful of notifications for each demo person who has none; returns how many were written."""
    manager, marketer = people.get("riley"), people.get("maya")
    now = timezone.now()
    rows = []
    for key in ("sam", "jordan", "taylor", "riley", "maya", "alex"):
        user = people.get(key)
        if user is None or Notification.objects.filter(user=user).exists():
            continue
        assigner = people.get("alex") if key == "riley" else manager
        mentioner = marketer if key != "maya" else manager
        tasks = list(
            Task.objects.filter(owner=user, completed_at__isnull=True)
            .select_related("deal", "contact")
            .order_by("id")[:3]
        )
        deals = list(Deal.objects.filter(owner=user, status=DealStatus.OPEN).order_by("id")[:3])
        items = []
        for task in tasks:
            record = task.deal or task.contact
            items.append(
                (
                    Kind.NOTIFY_TASK_ASSIGNED,
                    f"{assigner.display_name if assigner else 'Smarketing'} assigned you a task: {task.title}",
                    f"On {record}" if record else "",
                    _path(record) if record else reverse("task_list"),
                    assigner,
                    record,
                )
            )
        for deal in deals:
            items.append(
                (
                    Kind.NOTIFY_MENTIONED,
                    f"{mentioner.display_name if mentioner else 'A colleague'} mentioned you in a note on {deal}",
                    f"@{user.display_name} the champion asked for the security questionnaire; "
                    "can you send it this week?",
                    _path(deal),
                    mentioner,
                    deal,
                )
            )
        for i, (kind, title, body, url, actor, about) in enumerate(items[:PER_USER]):
            at = now - datetime.timedelta(hours=5 + 11 * i)
            rows.append(
                Notification(
                    user=user,
                    kind=kind,
                    title=title[:200],
                    body=body,
                    url=url,
                    actor=actor if actor is not None and actor.pk != user.pk else None,
                    object_type=f"crm.{about._meta.model_name}" if about is not None else "",
                    object_id=str(about.pk) if about is not None else "",
                    created_at=at,
                    read_at=at + datetime.timedelta(hours=1) if i >= 2 else None,  # the two newest are unread
                    email_state=EmailState.IN_APP,
                )
            )
    Notification.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _path(record) -> str:
    return reverse(f"{record._meta.model_name}_detail", args=[record.pk])
