"""Notification jobs: one email per notification, retried while the mail server is down."""

from datetime import timedelta

from django_tasks import task

from smarketing.jobs.retry import retrying
from smarketing.notifications import services


@task()
@retrying(on=services.TRANSIENT_MAIL_ERRORS, max_attempts=6, base=timedelta(minutes=1))
def send_notification_email(notification_id: int) -> str:
    return services.deliver_email(notification_id)
