"""Reads of a user's notifications: the bell's unread count and the notification center's pages."""

from smarketing.notifications.models import Notification

# The bell shows "99+" past this: counting stops there, so a neglected inbox costs the same as an empty one.
UNREAD_CAP = 99
PAGE_SIZE = 30


def unread_count(user) -> int:
    """Unread notifications, up to UNREAD_CAP + 1: one range read of the (user, read_at) index."""
    return Notification.objects.filter(user=user, read_at__isnull=True)[: UNREAD_CAP + 1].count()


def bell_label(count: int) -> str:
    return f"{UNREAD_CAP}+" if count > UNREAD_CAP else str(count)


def page(user, *, before: int | None = None, unread_only: bool = False) -> tuple[list[Notification], int | None]:
    """One page of the user's notifications, newest first, keyset on id; returns (rows, next `before` or None)."""
    rows = Notification.objects.filter(user=user).select_related("actor").order_by("-id")
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    if before:
        rows = rows.filter(id__lt=before)
    rows = list(rows[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1].pk if more else None)
