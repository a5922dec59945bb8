"""Segments (stored conditions, evaluated in the database) and static lists (contacts added by hand or import).

One condition engine for the whole product: campaigns, workflows, scoring, KPIs and the calendar all read
audiences through `segments.queries`. A segment's `definition` is data, validated against the schema in
`segments/schema.py` and compiled to parameterized SQL from allow-listed fields and operators: never pickled,
evaluated, or passed to `filter(**user_dict)`.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Segment(models.Model):
    """A dynamic audience: the contacts matching a stored condition tree, computed when asked."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # {"op": "and"|"or", "not": false, "rules": [{"field": ..., "operator": ..., "value": ...} | group, ...]}
    definition = models.JSONField(default=dict)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    archived = models.BooleanField(default=False)
    # The last count computed (list pages show it without recounting; the detail page recounts).
    last_count = models.PositiveIntegerField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ContactList(models.Model):
    """A static list: contacts added by hand, by a bulk action on the contact list, by CSV import or the API."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    """One contact on one static list."""

    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="list_memberships")
    added_at = models.DateTimeField(default=timezone.now)
    # ui, api, import, workflow, ... (core.models.Origin)
    origin = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact_list", "contact"], name="list_member_unique")]
        # The unique constraint's index serves "members of a list"; this one serves "lists of a contact".
        indexes = [models.Index(fields=["contact", "contact_list"], name="list_member_contact_idx")]

    def __str__(self) -> str:
        return f"contact {self.contact_id} on list {self.contact_list_id}"
