"""A user leaving: what they own in the CRM, reassigned or kept, and then the account deactivated.

Lives in crm (floor 2) because accounts (floor 1) cannot know about records; it calls both floors' services.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from smarketing.accounts import services as accounts
from smarketing.accounts.access import require_admin
from smarketing.accounts.models import User
from smarketing.core.audit import record_audit
from smarketing.crm.models import Company, Contact, Deal, Task
from smarketing.crm.services.common import NOT_ASSIGNABLE, assignable_users
from smarketing.crm.services.records import assign_owner

OWNED = ((Contact, "contacts"), (Company, "companies"), (Deal, "deals"))


def owned_counts(user: User) -> dict[str, int]:
    """Records and open tasks `user` owns; each count is a range of an (owner, …) index."""
    counts = {label: model.objects.filter(owner=user).count() for model, label in OWNED}
    counts["open tasks"] = Task.objects.filter(owner=user, completed_at__isnull=True).count()
    return counts


@transaction.atomic
def deactivate_owner(user: User, *, actor, reassign_to: User | None = None) -> dict[str, int]:
    """Deactivate `user`; with `reassign_to`, first hand their records and open tasks over. Returns what moved.

    Records go through `assign_owner` (the per-record owner change: audit entry, timeline touch, event), so a
    reassignment reads on each record like any other. Without `reassign_to` the records stay owned by the
    deactivated user, which the lists and record pages show as such, and can be reassigned later.
    """
    require_admin(actor, accounts.ADMINS_ONLY)
    moved = {}
    if reassign_to is not None:
        if reassign_to.pk == user.pk or not assignable_users().filter(pk=reassign_to.pk).exists():
            raise ValidationError({"reassign_to": NOT_ASSIGNABLE})
        for model, label in OWNED:
            moved[label] = 0
            while True:  # assign_owner handles at most 5,000 records per call
                changed = assign_owner(model.objects.filter(owner=user), owner=reassign_to, actor=actor)
                moved[label] += changed
                if not changed:
                    break
        moved["open tasks"] = Task.objects.filter(owner=user, completed_at__isnull=True).update(owner=reassign_to)
        moved_text = ", ".join(f"{n} {label}" for label, n in moved.items() if n) or "nothing"
        record_audit(
            actor=actor,
            action="reassign",
            obj=user,
            object_repr=user.email,
            changes={"records": (None, f"{moved_text} to {reassign_to}")},
        )
    accounts.deactivate_user(user, actor=actor)
    return moved
