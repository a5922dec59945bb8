"""Importing contacts and companies a chunk at a time with bulk writes.

Per chunk: look up every existing record the rows mention (locked FOR UPDATE, two or three queries), decide each
row's outcome in memory, then write new records, updates, lifecycle history, touchpoints and outbox events in a
few bulk statements. The effects match the CRM services (crm.services.create_contact, update_record,
change_lifecycle_stage): normalized emails and domains, name keys, a LifecycleChange row and a
contact_created touchpoint per new contact, lifecycle/owner touchpoints and events per change. Instead of one
audit entry per record, the import writes one summary entry (see runner.finish).
"""

from operator import itemgetter

from django.utils import timezone

from smarketing.core.models import Origin
from smarketing.crm import kinds as Kind
from smarketing.crm import payloads, summaries
from smarketing.crm.lifecycle_rules import lifecycle_move
from smarketing.crm.models import Company, Contact, LifecycleChange, LifecycleStage
from smarketing.crm.normalize import company_search_key, contact_search_keys, email_domain
from smarketing.dataio.importer.bulk import Table, fetch
from smarketing.dataio.importer.context import (
    ChunkResult,
    Job,
    Writes,
    all_attnames,
    duplicate_reason,
    identities,
)
from smarketing.timeline.models import Team

CONTACT_ATTNAMES = all_attnames(Contact)
COMPANY_ATTNAMES = all_attnames(Company)

# Columns an import may change on an existing record (written together; the rows are locked meanwhile).
CONTACT_UPDATE = [
    "email", "first_name", "last_name", "name_key", "last_key", "title", "phone", "company_id", "owner_id",
    "lifecycle_stage", "lifecycle_changed_at", "lead_status", "external_id", "first_source", "first_utm_source",
    "first_utm_medium", "first_utm_campaign", "custom", "updated_at",
]  # fmt: skip
COMPANY_UPDATE = [
    "name", "name_key", "domain", "industry", "employees", "annual_revenue", "country", "owner_id",
    "external_id", "custom", "updated_at",
]  # fmt: skip
# Parsed values that are stored as they are (the rest need lookups or history).
CONTACT_PLAIN = [
    "email", "first_name", "last_name", "title", "phone", "owner_id", "lead_status", "external_id",
    "first_source", "first_utm_source", "first_utm_medium", "first_utm_campaign",
]  # fmt: skip
COMPANY_PLAIN = ["name", "domain", "industry", "employees", "annual_revenue", "country", "owner_id", "external_id"]
LIFECYCLE_FIELDS = ["contact_id", "from_stage", "to_stage", "changed_at", "actor_id", "origin", "reason"]


def _defaults(model, attnames) -> dict:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    values = {}
    for name in attnames:
        field = fields[name]
        values[name] = None if name == "id" else field.get_default()
    return values


def _company_id(ref):
    return ref["id"] if isinstance(ref, dict) else ref


def _same_company(a, b) -> bool:
    """Companies are ids of stored ones or dicts (whose id is None until the chunk writes them)."""
    if a is b:
        return True
    a_id, b_id = _company_id(a), _company_id(b)
    return a_id is not None and a_id == b_id


class Planner:
    """Shared bookkeeping: new and changed records of one chunk and how each row ended."""

    model = None
    attnames: list[str] = []
    update_fields: list[str] = []
    plain: list[str] = []
    object_name = ""

    def __init__(self, job: Job, result: ChunkResult, writes: Writes):
        self.job, self.result, self.writes = job, result, writes
        self.now = timezone.now()
        self.new: list[dict] = []
        self.changed: dict[int, dict] = {}  # id -> state of existing records this chunk changed
        self.defaults = _defaults(self.model, self.attnames)

    def fresh(self, values: dict) -> dict:
        state = dict(self.defaults)
        state.update(created_at=values.get("created_at") or self.now, updated_at=self.now, custom={})
        state["_new"] = True
        state["_changes"] = {}
        return state

    def apply(self, state: dict, values: dict) -> dict:
        """Copy differing plain values and custom properties into `state`; returns {field: (old, new)}."""
        changes = {}
        for name in self.plain:
            if name in values and state[name] != values[name]:
                changes[name] = (state[name], values[name])
                state[name] = values[name]
        if "custom" in values:
            merged = {**state["custom"], **values["custom"]}
            if merged != state["custom"]:
                changes["custom"] = (state["custom"], merged)
                state["custom"] = merged
        return changes

    def mark(self, record, state: dict, changes: dict) -> None:
        if state.get("_new"):
            self.result.updated += 1 if changes else 0
            self.result.unchanged += 0 if changes else 1
            self.result.outcome(record, "updated" if changes else "unchanged", state)
            return
        if not changes:
            self.result.unchanged += 1
            self.result.outcome(record, "unchanged", state)
            return
        self.result.updated += 1
        self.result.outcome(record, "updated", state, dict(changes))
        state.setdefault("_changes", {})
        for name, (old, new) in changes.items():
            first_old = state["_changes"].get(name, (old, None))[0]
            state["_changes"][name] = (first_old, new)
        self.changed[state["id"]] = state

    def write_records(self) -> None:
        table = Table(self.model, self.attnames)
        ids = table.allocate_ids(len(self.new))
        for state, pk in zip(self.new, ids, strict=True):
            state["id"] = pk
        self.before_insert()
        row_of = itemgetter(*self.attnames)
        table.insert([row_of(state) for state in self.new])
        rows = []
        for state in self.changed.values():
            state["updated_at"] = self.now
            self.before_update(state)
            rows.append([state[name] for name in self.update_fields] + [state["id"]])
        Table(self.model, self.update_fields).update(rows)
        for state in self.changed.values():
            state["version"] += 1
        if not self.job.send_events:
            return
        for state in self.new:
            self.writes.event(
                f"{self.object_name}.created",
                self.model,
                state["id"],
                payloads.record_values(self.model, state),
                self.now,
            )
        for state in self.changed.values():
            data = payloads.updated(payloads.record_values(self.model, state), state["_changes"])
            self.writes.event(f"{self.object_name}.updated", self.model, state["id"], data, self.now)

    def before_insert(self) -> None:
        pass

    def before_update(self, state: dict) -> None:
        pass


class CompanyCache:
    """Companies an import has already met, by domain and by name key; only ones known to exist.

    Contact files name the same companies over and over; remembering them spares two lookups per row. An
    entry can only go stale if someone deletes or merges that company during the import: then the chunk fails
    its foreign-key check at commit, the runner clears this cache and does the chunk again.
    """

    LIMIT = 200_000

    def __init__(self):
        self.by_domain: dict[str, dict] = {}
        self.by_name: dict[str, dict] = {}

    def clear(self) -> None:
        self.by_domain.clear()
        self.by_name.clear()

    def remember(self, state: dict) -> None:
        if len(self.by_name) >= self.LIMIT:
            self.clear()
        row = {"id": state["id"], "name": state["name"], "name_key": state["name_key"], "domain": state["domain"]}
        if row["domain"]:
            self.by_domain[row["domain"]] = row
        self.by_name.setdefault(row["name_key"], row)


class CompanyResolver:
    """Finds the company a contact or deal row names (by domain, then name) and creates missing ones."""

    def __init__(self, job: Job, result: ChunkResult, writes: Writes):
        self.job, self.result, self.writes = job, result, writes
        self.by_domain: dict[str, dict] = {}
        self.by_name: dict[str, dict] = {}
        self.new: list[dict] = []
        self.now = timezone.now()
        self.defaults = _defaults(Company, COMPANY_ATTNAMES)

    def load(self, domains: set[str], names: set[str]) -> None:
        """Companies with these domains or name keys: from the import's cache, else from the database."""
        cache = self.job.companies
        missing_domains, missing_names = set(), set()
        for domain in domains:
            if (row := cache.by_domain.get(domain)) is not None:
                self.by_domain[domain] = row
            else:
                missing_domains.add(domain)
        for name in names:
            if (row := cache.by_name.get(name)) is not None:
                self.by_name[name] = row
            else:
                missing_names.add(name)
        fields = ["id", "name", "name_key", "domain"]
        for row in fetch(Company, fields, {"domain": missing_domains, "name_key": missing_names}, lock=False):
            cache.remember(row)
            if row["domain"] in missing_domains:
                self.by_domain[row["domain"]] = row
            if row["name_key"] in missing_names:
                self.by_name.setdefault(row["name_key"], row)

    def find(self, name: str | None, domain: str | None, mail_domain: str | None, create: bool) -> dict | None:
        """Domain beats name; with neither, the email's domain finds an existing one; `create` makes missing ones."""
        if domain:
            found = self.by_domain.get(domain)
            if found is None and name:
                by_name = self.by_name.get(company_search_key(name))
                found = by_name if by_name is not None and not by_name["domain"] else None
            return found or (self._create(name or domain, domain) if create else None)
        if name:
            # The company the row names, even when the email's domain belongs to another one (a subsidiary, an
            # agency); a new company takes the email's domain when no other company has it.
            found = self.by_name.get(company_search_key(name))
            if found is None and create:
                free = mail_domain if mail_domain and mail_domain not in self.by_domain else None
                found = self._create(name, free)
            return found
        if mail_domain:
            return self.by_domain.get(mail_domain)
        return None

    def _create(self, name: str, domain: str | None) -> dict:
        state = dict(self.defaults)
        state.update(
            name=name,
            name_key=company_search_key(name),
            domain=domain,
            custom={},
            created_at=self.now,
            updated_at=self.now,
        )
        self.new.append(state)
        if domain:
            self.by_domain[domain] = state
        self.by_name.setdefault(state["name_key"], state)
        return state

    def write(self) -> None:
        table = Table(Company, COMPANY_ATTNAMES)
        for state, pk in zip(self.new, table.allocate_ids(len(self.new)), strict=True):
            state["id"] = pk
        row_of = itemgetter(*COMPANY_ATTNAMES)
        table.insert([row_of(state) for state in self.new])
        self.result.companies_created += len(self.new)
        for state in self.new:
            self.job.companies.remember(state)
        new, self.new = self.new, []
        if not self.job.send_events:
            return
        for state in new:
            self.writes.event("company.created", Company, state["id"], payloads.record_values(Company, state), self.now)


# ---------------------------------------------------------------------------------------------------------
# Contacts


class ContactPlanner(Planner):
    model = Contact
    attnames = CONTACT_ATTNAMES
    update_fields = CONTACT_UPDATE
    plain = CONTACT_PLAIN
    object_name = "contact"

    @staticmethod
    def resolve_companies(job: Job, rows: list, result: ChunkResult, writes: Writes) -> "CompanyResolver":
        """Find the companies the rows name, by domain or name, and create the missing ones.

        The runner commits this in a short transaction of its own before the chunk's: so a chunk never creates
        a company another chunk (running on another connection) cannot see yet. A row rejected later in its
        chunk may therefore leave behind the company it named.
        """
        resolver = CompanyResolver(job, result, writes)
        domains, names = set(), set()
        for _, values in rows:
            if values.get("company_domain"):
                domains.add(values["company_domain"])
            if values.get("company_name"):
                names.add(company_search_key(values["company_name"]))
            if values.get("email") and (mail_domain := email_domain(values["email"])):
                domains.add(mail_domain)
        resolver.load(domains, names)
        for _, values in rows:
            name, domain = values.get("company_name"), values.get("company_domain")
            if name or domain:
                mail = email_domain(values["email"]) if values.get("email") else None
                resolver.find(name, domain, mail, create=True)
        resolver.write()
        writes.flush()
        return resolver

    def run(self, rows: list, companies: "CompanyResolver", on_locked=None) -> None:
        """`rows`: (record, values) pairs whose cells parsed cleanly; `companies` from resolve_companies()."""
        emails = {v["email"] for _, v in rows if "email" in v}
        ext_ids = {v["external_id"] for _, v in rows if "external_id" in v}
        self.by_email, self.by_ext = {}, {}
        for state in fetch(Contact, self.attnames, {"email": emails, "external_id": ext_ids}, lock=True):
            self.by_email[state["email"]] = state
            if state["external_id"]:
                self.by_ext[state["external_id"]] = state
        if on_locked is not None:
            on_locked()
        self.companies = companies
        companies.result, companies.writes = self.result, self.writes
        self.transitions: list[tuple[dict, str, str]] = []
        self.owner_changes: list[dict] = []
        for record, values in rows:
            self.row(record, values)
        companies.write()  # normally nothing left: only if a row's stored email named another domain
        self.write_records()
        self.write_history()
        self.writes.flush()

    def row(self, record, values: dict) -> None:
        keys = identities("contact", values)
        earlier = self.job.duplicate_of(self.result, keys)
        if earlier is not None:
            self.result.reject(record, duplicate_reason(*earlier))
            return
        before = len(self.result.rejected)
        self._row(record, values)
        if len(self.result.rejected) == before:
            for identity in keys:
                self.result.claimed[identity] = record.row_number

    def _row(self, record, values: dict) -> None:
        email, ext = values.get("email"), values.get("external_id")
        by_ext = self.by_ext.get(ext) if ext else None
        by_email = self.by_email.get(email) if email else None
        if by_ext is not None and by_email is not None and by_ext is not by_email:
            self.result.reject(
                record, f"External ID {ext} belongs to {by_ext['email']}, but {email} is another contact's email."
            )
            return
        state = by_ext if by_ext is not None else by_email
        if state is None:
            if not email:
                self.result.reject(record, "Email: required to create a contact (no contact has this External ID).")
                return
            self.create(record, values)
            return
        if not state.get("_new") and not self.job.may_edit(state["owner_id"]):
            self.result.reject(record, f"You may not change {state['email']}: it belongs to another owner.")
            return
        stage = values.get("lifecycle_stage")
        old_stage = state["lifecycle_stage"]
        move = lifecycle_move(old_stage, stage) if stage and not state.get("_new") else None
        # A file gives no reason per row, so a move the service would refuse without one is refused here too.
        if move is not None and move.refusal(reason="", allow_backward=False):
            self.result.reject(
                record,
                f"Lifecycle stage would move back from {summaries.stage_label(old_stage)} to "
                f"{summaries.stage_label(stage)}. Moving a contact back needs a reason: change it on the contact's "
                "page.",
            )
            return
        old_email, old_owner = state["email"], state["owner_id"]
        changes = self.apply(state, values)
        company = self.company_for(values, state)
        if company is not None and not _same_company(company, state["company_id"]):
            changes["company_id"] = (state["company_id"], company)
            state["company_id"] = company
        if stage and stage != old_stage:
            changes["lifecycle_stage"] = (old_stage, stage)
            state["lifecycle_stage"] = stage
            if not state.get("_new"):
                state["lifecycle_changed_at"] = self.now
                self.transitions.append((state, old_stage, stage))
        if changes:
            state["name_key"], state["last_key"] = contact_search_keys(
                state["first_name"], state["last_name"], state["email"]
            )
        if "email" in changes:
            self.by_email.pop(old_email, None)
            self.by_email[state["email"]] = state
        if "external_id" in changes and state["external_id"]:
            self.by_ext[state["external_id"]] = state
        if "owner_id" in changes and not state.get("_new") and state["owner_id"] != old_owner:
            self.owner_changes.append(state)
        self.mark(record, state, changes)

    def create(self, record, values: dict) -> None:
        state = self.fresh(values)
        self.apply(state, values)
        stage = values.get("lifecycle_stage") or LifecycleStage.LEAD
        state["lifecycle_stage"] = stage
        state["lifecycle_changed_at"] = state["created_at"]
        state["company_id"] = self.company_for(values, state)
        state["name_key"], state["last_key"] = contact_search_keys(
            state["first_name"], state["last_name"], state["email"]
        )
        self.new.append(state)
        self.by_email[state["email"]] = state
        if state["external_id"]:
            self.by_ext[state["external_id"]] = state
        self.result.created += 1
        self.result.outcome(record, "created", state)

    def company_for(self, values: dict, state: dict):
        """The company a row names; with no company columns, the email domain's company for a contact without one."""
        name, domain = values.get("company_name"), values.get("company_domain")
        mail = email_domain(state["email"]) if state.get("email") else None
        if name or domain:
            return self.companies.find(name, domain, mail, create=True)
        if state["company_id"] is None and mail:
            return self.companies.find(None, None, mail, create=False)
        return None

    def before_insert(self) -> None:
        for state in self.new:
            state["company_id"] = _company_id(state["company_id"])

    def before_update(self, state: dict) -> None:
        state["company_id"] = _company_id(state["company_id"])
        if "company_id" in state["_changes"]:
            old, new = state["_changes"]["company_id"]
            state["_changes"]["company_id"] = (_company_id(old), _company_id(new))

    def write_history(self) -> None:
        actor_id = self.job.actor_id()
        reason = self.job.summary_source
        history = []
        for state in self.new:
            history.append(
                (state["id"], "", state["lifecycle_stage"], state["created_at"], actor_id, Origin.IMPORT, reason)
            )
            self.writes.touch(
                at=state["created_at"],
                kind=Kind.CONTACT_CREATED,
                team=Team.SYSTEM,
                contact_id=state["id"],
                company_id=state["company_id"],
                actor_id=actor_id,
                source=state["first_source"],
                summary=summaries.contact_created(state["lifecycle_stage"]),
                details={"origin": Origin.IMPORT, "import_id": self.job.imp.pk},
            )
        for state, old, new in self.transitions:
            history.append((state["id"], old, new, self.now, actor_id, Origin.IMPORT, reason))
            move = lifecycle_move(old, new)
            self.writes.touch(
                at=self.now,
                kind=Kind.LIFECYCLE_CHANGED,
                team=Team.SYSTEM,
                contact_id=state["id"],
                company_id=state["company_id"],
                actor_id=actor_id,
                summary=summaries.lifecycle_changed(old, new, backward=move.backward),
                details={"from": old, "to": new, "reason": reason, "origin": Origin.IMPORT},
            )
            self.writes.event(
                "contact.lifecycle_changed" if self.job.send_events else "",
                Contact,
                state["id"],
                payloads.lifecycle_changed(state["id"], state["email"], old, new, reason),
                self.now,
            )
        Table(LifecycleChange, LIFECYCLE_FIELDS).insert(history)
        if self.owner_changes:
            names = self.job.owner_names()
            for state in self.owner_changes:
                owner = names.get(state["owner_id"])
                self.writes.touch(
                    at=self.now,
                    kind=Kind.OWNER_CHANGED,
                    team=Team.SYSTEM,
                    contact_id=state["id"],
                    company_id=state["company_id"],
                    actor_id=actor_id,
                    summary=summaries.owner_changed(owner),
                )


# ---------------------------------------------------------------------------------------------------------
# Companies


class CompanyPlanner(Planner):
    model = Company
    attnames = COMPANY_ATTNAMES
    update_fields = COMPANY_UPDATE
    plain = COMPANY_PLAIN
    object_name = "company"

    def run(self, rows: list, on_locked=None) -> None:
        ext_ids = {v["external_id"] for _, v in rows if "external_id" in v}
        domains = {v["domain"] for _, v in rows if v.get("domain")}
        names = {company_search_key(v["name"]) for _, v in rows if v.get("name")}
        self.by_ext, self.by_domain, self.by_name = {}, {}, {}
        where = {"domain": domains, "name_key": names, "external_id": ext_ids}
        for state in fetch(Company, self.attnames, where, lock=True):
            self._index(state)
        if on_locked is not None:
            on_locked()
        self.owner_changes: list[dict] = []
        for record, values in rows:
            self.row(record, values)
        self.write_records()
        actor_id = self.job.actor_id()
        if self.owner_changes:
            names = self.job.owner_names()
            for state in self.owner_changes:
                owner = names.get(state["owner_id"])
                self.writes.touch(
                    at=self.now,
                    kind=Kind.OWNER_CHANGED,
                    team=Team.SYSTEM,
                    company_id=state["id"],
                    actor_id=actor_id,
                    summary=summaries.owner_changed(owner),
                )
        self.writes.flush()

    def _index(self, state: dict) -> None:
        if state["external_id"]:
            self.by_ext.setdefault(state["external_id"], state)
        if state["domain"]:
            self.by_domain.setdefault(state["domain"], state)
        self.by_name.setdefault(state["name_key"], state)

    def row(self, record, values: dict) -> None:
        keys = identities("company", values)
        earlier = self.job.duplicate_of(self.result, keys)
        if earlier is not None:
            self.result.reject(record, duplicate_reason(*earlier))
            return
        before = len(self.result.rejected)
        self._row(record, values)
        if len(self.result.rejected) == before:
            for identity in keys:
                self.result.claimed[identity] = record.row_number

    def _row(self, record, values: dict) -> None:
        ext, domain, name = values.get("external_id"), values.get("domain"), values.get("name")
        by_ext = self.by_ext.get(ext) if ext else None
        by_domain = self.by_domain.get(domain) if domain else None
        if by_ext is not None and by_domain is not None and by_ext is not by_domain:
            self.result.reject(
                record, f"External ID {ext} belongs to {by_ext['name']}, but {domain} is another company's domain."
            )
            return
        state = by_ext if by_ext is not None else by_domain
        if state is None and name:
            by_name = self.by_name.get(company_search_key(name))
            # Same name and no domain on either side (or none stored yet): the same company.
            if by_name is not None and (not domain or not by_name["domain"]):
                state = by_name
        if state is None:
            if not name and not domain:
                self.result.reject(record, "Name: required to create a company.")
                return
            state = self.fresh(values)
            self.apply(state, values)
            state["name"] = name or domain
            state["name_key"] = company_search_key(state["name"])
            self.new.append(state)
            self._index(state)
            self.result.created += 1
            self.result.outcome(record, "created", state)
            return
        if not state.get("_new") and not self.job.may_edit(state["owner_id"]):
            self.result.reject(record, f"You may not change {state['name']}: it belongs to another owner.")
            return
        old_owner = state["owner_id"]
        changes = self.apply(state, values)
        if "name" in changes:
            state["name_key"] = company_search_key(state["name"])
        if "domain" in changes and state["domain"]:
            self.by_domain[state["domain"]] = state
        if "owner_id" in changes and not state.get("_new") and state["owner_id"] != old_owner:
            self.owner_changes.append(state)
        self.mark(record, state, changes)
