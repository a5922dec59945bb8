"""Template tags other apps' pages use to offer segments' actions (the contact list's "Add to list")."""

from django import template

from smarketing.segments import access
from smarketing.segments.models import ContactList

register = template.Library()


@register.simple_tag(takes_context=True)
def open_lists(context) -> list[ContactList]:
    """The active lists, for a bulk "Add to list" menu; empty for users who may not change lists (one query)."""
    request = context.get("request")
    if request is None or not access.can_edit(request.user):
        return []
    return list(ContactList.objects.filter(archived=False).only("id", "name").order_by("name", "id")[:200])
