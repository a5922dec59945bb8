"""What the navigation needs to know about mail (base.html: `{% load mail_nav %}`)."""

from django import template
from django.conf import settings

from smarketing.mail import access

register = template.Library()


@register.simple_tag(takes_context=True)
def mail_nav(context) -> dict:
    user = context.get("user")
    return {
        "viewer": bool(settings.MAIL_VIEWER) and access.can_view_captured_mail(user),
        "suppressions": access.can_manage_suppressions(user),
    }
