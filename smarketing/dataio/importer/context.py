"""What every chunk of an import needs: the mapped columns, cell cleaning, owners, permissions, shared writes."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError

from smarketing.accounts.access import SystemActor, system_actor
from smarketing.accounts.models import User
from smarketing.core import events
from smarketing.core.audit import actor_user
from smarketing.core.models import Origin
from smarketing.crm import access
from smarketing.crm.models import DealStatus, PropertyDefinition
from smarketing.crm.normalize import company_search_key, normalize_domain, normalize_email
from smarketing.crm.properties import clean_value
from smarketing.crm.services.common import assignable_users
from smarketing.crm.sources import normalize_source
from smarketing.dataio.fields import Target, targets
from smarketing.dataio.importer.bulk import Table
from smarketing.dataio.models import Import
from smarketing.dataio.values import (
    find_email,
    parse_currency,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_lead_status,
    parse_lifecycle,
    split_name,
    zone_of,
)
from smarketing.timeline.services import record_touches

MAX_AMOUNT = Decimal("1e12")
# Keys of a row's parsed values that are notes about the row, not fields; runner.split() takes them out.
WARNINGS = "_warnings"  # things the outcome reports, the row is imported all the same
UNKNOWN_SOURCE = "_unknown_source"  # a source value the mapping table does not know (kept as it is)


@dataclass
class ChunkResult:
    """What one chunk did; added to the Import's totals in the chunk's own transaction."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, list[str]]] = field(default_factory=list)
    companies_created: int = 0
    padded: int = 0
    warnings: dict[int, list[str]] = field(default_factory=dict)  # row number -> notes (see runner.split)
    unknown_sources: dict[str, int] = field(default_factory=dict)  # source values kept as they were -> rows
    # Rows worth a line on the result page: (row number, outcome, the record's state, {field: (before, after)}).
    # The state is the planner's dict, so a new record's id is read once the chunk has allocated it.
    outcomes: list[tuple[int, str, dict, dict]] = field(default_factory=list)
    # Identities the chunk's imported rows claimed: (kind, value) -> row number (see Job.duplicate_of).
    claimed: dict[tuple[str, str], int] = field(default_factory=dict)

    def reject(self, record, reason: str) -> None:
        self.rejected.append((record.row_number, reason, record.cells or []))

    def outcome(self, record, outcome: str, state: dict, changes: dict | None = None) -> None:
        """Note an imported row when it has something to report: an update's changes, or warnings."""
        if changes or record.row_number in self.warnings:
            self.outcomes.append((record.row_number, outcome, state, changes or {}))

    @property
    def warned(self) -> int:
        """Rows that were imported with a warning (a rejected row is counted as rejected only)."""
        return sum(1 for number, _, _, _ in self.outcomes if number in self.warnings)


IDENTITY_LABELS = {"email": "email", "external_id": "External ID", "domain": "domain", "name": "name"}


def duplicate_reason(row: int, identity: tuple[str, str]) -> str:
    kind, value = identity
    return (
        f"Duplicate of row {row}: both rows have the {IDENTITY_LABELS.get(kind, kind)} {value[:100]}. Row {row} was "
        "imported and this row was not, so it overwrote nothing; combine the two rows and import this one again if "
        "it holds more."
    )


def identities(object_type: str, values: dict) -> list[tuple[str, str]]:
    """What makes two contact (or company) rows of one file the same record; deals have their own (DealPlanner)."""
    keys = [("external_id", values["external_id"])] if values.get("external_id") else []
    if object_type == "contact":
        if values.get("email"):
            keys.insert(0, ("email", values["email"]))
    elif values.get("domain"):
        keys.append(("domain", values["domain"]))
    elif values.get("name"):
        keys.append(("name", company_search_key(values["name"])))
    return keys


def all_attnames(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


class Job:
    """One import being run: its mapping resolved to targets, and caches valid for the whole run."""

    def __init__(self, imp: Import, actor: User | None):
        self.imp = imp
        # No person (the uploader was deleted): the import runs as the system, recorded as origin "import".
        self.actor: User | SystemActor = actor if actor is not None else system_actor(Origin.IMPORT)
        self.object_type = imp.object_type
        self.tz = zone_of(getattr(actor, "time_zone", None))
        self.order = imp.resolved_date_order or "mdy"
        self.definitions = list(PropertyDefinition.objects.filter(object_type=imp.object_type))
        by_name = {t.name: t for t in targets(imp.object_type, self.definitions)}
        self.columns: list[tuple[int, Target]] = [
            (index, by_name[name]) for index, name in enumerate(imp.mapping) if name and name in by_name
        ]
        self.mapped = {target.name for _, target in self.columns}
        self._cleaning = [(index, target, target.kind in ("text", "external_id")) for index, target in self.columns]
        self.send_events = imp.send_events
        from smarketing.dataio.importer.records import CompanyCache

        self.companies = CompanyCache()
        # Loaded here, not on first use: cleaning runs in a reader thread that must not query the database.
        self._owners = self._load_owners() if "owner" in self.mapped else {}
        self._owner_cache: dict[str, int] = {}
        self.summary_source = f"Import #{imp.pk}" if imp.pk else "Import"
        # Identity (("email", "a@b.com"), ("external_id", "17"), ...) -> the row that imported it, for the rows
        # of committed chunks: a later row with the same identity is a duplicate, not an update of the first.
        # Bounded like the company cache; a resume fills it again from the rows before the resume point.
        self.seen: dict[tuple[str, str], int] = {}

    SEEN_LIMIT = 500_000

    def duplicate_of(self, result: ChunkResult, keys: list[tuple[str, str]]) -> tuple[int, tuple[str, str]] | None:
        """The earlier row of this file (this chunk or a committed one) that imported one of `keys`."""
        for identity in keys:
            row = result.claimed.get(identity) or self.seen.get(identity)
            if row is not None:
                return row, identity
        return None

    def remember(self, result: ChunkResult) -> None:
        """After a chunk committed: its rows' identities count for the chunks after it."""
        if len(self.seen) + len(result.claimed) > self.SEEN_LIMIT:
            self.seen.clear()
        self.seen.update(result.claimed)

    # -- permissions ------------------------------------------------------------------------------------

    def may_edit(self, owner_id) -> bool:
        """May the importing person change a record with this owner? (The command line acts as its --user.)"""
        return access.can_for_owner(self.actor, "edit", owner_id)

    # -- owners -------------------------------------------------------------------------------------------

    @staticmethod
    def _load_owners() -> dict[str, int]:
        owners = {}
        for pk, email, name in assignable_users().values_list("id", "email", "full_name"):
            owners[email.lower()] = pk
            if name:
                owners.setdefault(" ".join(name.lower().split()), pk)
        return owners

    def owner_id(self, raw: str) -> int | None:
        """The assignable user a cell names by email or full name; None when nobody does."""
        try:
            return self._owner_cache[raw]
        except KeyError:
            found = self._owner_cache[raw] = self._find_owner(raw)
            return found

    def _find_owner(self, raw: str) -> int | None:
        text = " ".join(raw.strip().lower().split())
        found = self._owners.get(text)
        if found is None and (email := find_email(text)):
            found = self._owners.get(email)
        return found

    def owner_names(self) -> dict[int, str]:
        return {user.pk: str(user) for user in User.objects.all()}

    # -- cleaning -----------------------------------------------------------------------------------------

    def clean(self, cells: list[str]) -> tuple[dict, list[str]]:
        """Parsed values of the mapped, non-empty cells of a row, and the problems found (empty when valid).

        Empty cells are left out: an import never clears a stored value.
        """
        values, problems = {}, []
        for index, target, plain in self._cleaning:
            raw = cells[index]
            if not raw or raw.isspace():
                continue
            raw = raw.strip()
            if plain and (target.max_length is None or len(raw) <= target.max_length):
                values[target.name] = raw  # most columns are plain text: no call, no parsing
                continue
            try:
                self._clean_one(target, raw, values)
            except ValueError as exc:
                problems.append(f"{target.label}: {exc}.")
            except ValidationError as exc:
                message = exc.messages[0]
                problems.append(message if target.definition else f"{target.label}: {message}")
        return values, problems

    def _clean_one(self, target: Target, raw: str, values: dict) -> None:
        kind = target.kind
        name = target.name
        if kind == "text" or kind == "external_id":
            if target.max_length and len(raw) > target.max_length:
                raise ValueError(f"at most {target.max_length} characters (this one has {len(raw):,})")
            values[name] = raw
        elif kind == "email":
            values[name] = normalize_email(raw)
        elif kind == "full_name":
            first, last = split_name(raw)
            if len(first) > 100 or len(last) > 100:
                raise ValueError("at most 100 characters for first and last name")
            values["first_name"] = first
            if last:
                values["last_name"] = last
        elif kind == "company_name":
            if len(raw) > 200:
                raise ValueError("at most 200 characters")
            values[name] = raw
        elif kind in ("company_domain", "domain"):
            values[name] = normalize_domain(raw)
        elif kind == "owner":
            owner = self.owner_id(raw)
            if owner is None:
                # Nothing is lost: the row is imported without an owner and its outcome says why.
                values.setdefault(WARNINGS, []).append(
                    f"Owner: no active user has the email or name “{raw[:60]}”, so the record has no owner "
                    "(read-only users own no records). Assign it, or invite that user and import again."
                )
            else:
                values["owner_id"] = owner
        elif kind == "source":
            source, known = normalize_source(raw)
            if len(source) > (target.max_length or 50):
                raise ValueError(f"at most {target.max_length or 50} characters (this one has {len(source):,})")
            values[name] = source
            if not known:
                values[UNKNOWN_SOURCE] = source
        elif kind == "lifecycle":
            values[name] = parse_lifecycle(raw)
        elif kind == "lead_status":
            values[name] = parse_lead_status(raw)
        elif kind == "datetime":
            values[name] = parse_datetime(raw, order=self.order, tz=self.tz)
        elif kind == "date":
            values[name] = parse_date(raw, order=self.order, tz=self.tz)
        elif kind == "money":
            amount = parse_decimal(raw)
            if amount < 0 or amount >= MAX_AMOUNT:
                raise ValueError("must be a positive amount below 1,000,000,000,000")
            values[name] = amount.quantize(Decimal("0.01"))
        elif kind == "integer":
            number = parse_int(raw)
            if number < 0 or number > 2_000_000_000:
                raise ValueError(f"{number:,} is out of range")
            values[name] = number
        elif kind == "currency":
            values[name] = parse_currency(raw)
        elif kind == "deal_status":
            status = raw.lower()
            if status not in DealStatus.values:
                raise ValueError(f"“{raw[:40]}” is not open, won or lost")
            values[name] = status
        elif kind in ("stage", "pipeline"):
            values[name] = raw
        elif kind == "contact_email":
            email = find_email(raw)
            if email is None:
                raise ValueError(f"no email address in “{raw[:60]}”")
            values[name] = normalize_email(email)
        elif kind in ("custom", "custom_date"):
            if kind == "custom_date":
                raw = parse_date(raw, order=self.order, tz=self.tz).isoformat()
            value = clean_value(target.definition, raw)
            if value is not None:
                values.setdefault("custom", {})[target.definition.key] = value
        else:  # pragma: no cover - a target kind without a cleaner is a programming error
            raise ValueError(f"cannot import into {kind}")

    # -- shared writes ------------------------------------------------------------------------------------

    def actor_id(self):
        user = actor_user(self.actor)
        return user.pk if user is not None else None


EVENT_FIELDS = ["name", "occurred_at", "object_type", "object_id", "payload"]


class Writes:
    """Rows collected while planning a chunk, written in bulk at its end (events last, then the commit hooks)."""

    def __init__(self):
        self.touches: list[dict] = []
        self.events: list[tuple] = []

    def touch(
        self,
        *,
        at,
        kind,
        team,
        summary,
        contact_id=None,
        company_id=None,
        deal_id=None,
        actor_id=None,
        source="",
        details=None,
    ):
        """Collect a touch for timeline.services.record_touches (its arguments, with plain ids)."""
        self.touches.append(
            {
                "occurred_at": at,
                "kind": kind,
                "team": team,
                "summary": summary,
                "contact": contact_id,
                "company": company_id,
                "deal": deal_id,
                "actor": actor_id,
                "source": source,
                "details": details,
            }
        )

    def event(self, name: str, model, object_id, data: dict, at) -> None:
        if not name:
            return  # the import was asked not to send events
        events.check_declared(name)
        object_type = f"{model._meta.app_label}.{model._meta.model_name}"
        self.events.append((name, at, object_type, str(object_id), data))

    def flush(self) -> None:
        from smarketing.core.models import Event

        record_touches(self.touches)
        if self.events:
            Table(Event, EVENT_FIELDS).insert(self.events)
            # What core.events.publish does after each event, once per chunk: the outbox consumers (webhooks and
            # any other) are woken after this chunk commits. The rows get their seq from the outbox sequencer.
            events.notify_on_commit()
        self.touches, self.events = [], []
