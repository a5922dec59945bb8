"""The global suppression list: addresses marketing mail must never go to, whatever the contact record says.

The sender checks it at send time (set-based, `suppressed_sql()` in a NOT EXISTS, or `suppressed()` for one
batch), so an address suppressed a second ago is skipped by the very next send. Transactional mail ignores it.

`suppress()`/`unsuppress()` are the system's own calls (feedback rules, unsubscribes); the suppression page
goes through `add_by_hand()`/`remove()`, which check the person and write the audit entry.
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.mail import access
from smarketing.mail.models import Suppression, SuppressionReason

# SQLite refuses more than 32766 bound parameters (999 before 3.32); a batch of a few thousand addresses stays
# one query, a larger iterable a few.
_CHUNK = 5000


def normalize(email: str) -> str:
    """The form every address is stored and compared in: trimmed, without angle brackets, lowercased.

    Lowercasing the local part is technically lossy (RFC 5321 lets it be case-sensitive) but no real mailbox
    provider distinguishes case, and a bounce for "Ann@X.com" must suppress "ann@x.com".
    """
    email = (email or "").strip()
    if email.startswith("<") and email.endswith(">"):
        email = email[1:-1].strip()
    return email.lower()


def suppress(email: str, reason: str, source: str = "") -> bool:
    """Add `email` to the list; True when it was added, False when it was already there (its first reason and
    source are kept: the earliest evidence is the one worth showing)."""
    email = normalize(email)
    if not email:
        return False
    if reason not in SuppressionReason.values:
        raise ValueError(f"unknown suppression reason {reason!r}")
    try:
        # A savepoint: a concurrent suppress of the same address hits the unique constraint without breaking
        # the caller's transaction (a feedback notice and an unsubscribe can race).
        with transaction.atomic():
            Suppression.objects.create(email=email, reason=reason, source=source[:200])
    except IntegrityError:
        return False
    return True


def unsuppress(email: str) -> bool:
    """Remove `email` from the list; True when it was there."""
    deleted, _ = Suppression.objects.filter(email=normalize(email)).delete()
    return bool(deleted)


def suppressed(emails: Iterable[str]) -> dict[str, str]:
    """{normalized email: reason} for the given addresses that are suppressed, in one query per 5,000."""
    wanted = sorted({normalize(e) for e in emails if e})
    found: dict[str, str] = {}
    for i in range(0, len(wanted), _CHUNK):
        rows = Suppression.objects.filter(email__in=wanted[i : i + _CHUNK]).values_list("email", "reason")
        found.update(rows)
    return found


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email=normalize(email)).exists()


def suppressed_sql() -> str:
    """SQL selecting the column `email` of the suppression table, for set-based sends:
    `... AND NOT EXISTS (SELECT 1 FROM (<this>) s WHERE s.email = LOWER(c.email))` or `LOWER(c.email) NOT IN (<this>)`.
    Stored addresses are normalized (lowercase), so compare against LOWER(TRIM(...)) of the other side."""
    return f"SELECT email FROM {Suppression._meta.db_table}"


# -- the suppression page's writes (a person, checked and audited) -------------------------------------------


def add_by_hand(actor, email: str, note: str = "") -> tuple[Suppression, bool]:
    """A person adds an address (reason "manual"); returns (row, created). An existing row is left as it was."""
    access.require_manage_suppressions(actor)
    email = normalize(email)
    with transaction.atomic():
        created = suppress(email, SuppressionReason.MANUAL, note or "Added by hand")
        row = Suppression.objects.get(email=email)
        if created:
            record_audit(
                actor=actor, action="suppress", obj=row, origin=Origin.UI, changes={"reason": [None, row.reason]}
            )
    return row, created


def remove(actor, suppression: Suppression) -> None:
    """A person removes an address from the list (mail may go to it again); the audit keeps who, when and why
    it had been suppressed, since the row itself is gone."""
    access.require_manage_suppressions(actor)
    with transaction.atomic():
        record_audit(
            actor=actor,
            action="unsuppress",
            obj=suppression,
            origin=Origin.UI,
            changes={"reason": [suppression.reason, None], "source": [suppression.source, None]},
        )
        suppression.delete()
