"""Importing deals a chunk at a time with bulk writes, writing the rows the CRM services write.

Per chunk: look up the deals, their contact links and the contacts the rows name (locked FOR UPDATE, a few
queries), decide each row's outcome in memory with the services' rules (the importing person's rights per row,
exit criteria when an existing deal moves on, won/lost status, the primary contact promoted to opportunity and a
win's contacts to customer), then write deals, links, stage history, lifecycle history, audit entries,
touchpoints and outbox events in a few bulk statements. A row the rules refuse is rejected with the services'
message and leaves nothing behind. The effects match crm.services.create_deal, update_record, move_deal_stage,
add_deal_contact and lifecycle.promote; tests/test_import_deals_bulk.py compares them.
"""

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.accounts.models import User
from smarketing.core.audit import actor_origin, actor_user, jsonable
from smarketing.core.models import AuditEntry, Origin
from smarketing.crm import access, payloads, summaries
from smarketing.crm import kinds as Kind
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.lifecycle_rules import lifecycle_move, promotes
from smarketing.crm.models import (
    Contact,
    Deal,
    DealContact,
    DealStageChange,
    DealStatus,
    LifecycleChange,
    LifecycleStage,
    Pipeline,
    Stage,
)
from smarketing.crm.normalize import company_search_key
from smarketing.crm.services.common import team_of
from smarketing.dataio.importer.bulk import Table, fetch
from smarketing.dataio.importer.context import ChunkResult, Job, Writes, all_attnames, duplicate_reason
from smarketing.dataio.importer.records import LIFECYCLE_FIELDS, CompanyResolver, _defaults
from smarketing.dataio.values import key
from smarketing.timeline.models import Team

PLAIN = ["name", "amount", "currency", "close_date", "source", "external_id"]
DEAL_ATTNAMES = all_attnames(Deal)
# Columns an import may change on an existing deal (written together; the rows are locked meanwhile).
DEAL_UPDATE = [
    "name", "amount", "currency", "close_date", "source", "external_id", "owner_id", "company_id", "custom",
    "stage_id", "stage_entered_at", "status", "closed_at", "close_reason", "version", "updated_at",
]  # fmt: skip
CONTACT_FIELDS = ["id", "email", "first_name", "last_name", "company_id", "lifecycle_stage", "version"]
CONTACT_PROMOTE = ["lifecycle_stage", "lifecycle_changed_at", "version", "updated_at"]
STAGE_CHANGE_FIELDS = ["deal_id", "from_stage_id", "to_stage_id", "changed_at", "actor_id", "origin", "seconds_in_from"]
AUDIT_FIELDS = ["at", "actor_id", "origin", "action", "object_type", "object_id", "object_repr", "changes"]


class Stages:
    """Pipelines and their stages by normalized name, loaded once per import."""

    def __init__(self):
        self.pipelines = {}
        self.stages: dict[int, dict[str, Stage]] = {}
        self.ordered: dict[int, list[Stage]] = {}
        for pipeline in Pipeline.objects.all():
            self.pipelines[key(pipeline.name)] = pipeline
        for stage in Stage.objects.order_by("pipeline_id", "position"):
            self.stages.setdefault(stage.pipeline_id, {})[key(stage.name)] = stage
            self.ordered.setdefault(stage.pipeline_id, []).append(stage)
        self.default = default_pipeline()

    def pipeline(self, raw: str | None) -> Pipeline:
        if not raw:
            if self.default is None:
                raise ValueError("Pipeline: there is no pipeline yet; create one first.")
            return self.default
        found = self.pipelines.get(key(raw))
        if found is None:
            names = ", ".join(p.name for p in self.pipelines.values())
            raise ValueError(f"Pipeline: “{raw[:60]}” is not a pipeline here (pipelines: {names}).")
        return found

    def outcome(self, pipeline: Pipeline, outcome: str) -> Stage | None:
        return next((s for s in self.ordered.get(pipeline.pk, []) if s.outcome == outcome), None)

    def stage(self, pipeline: Pipeline, raw: str | None, status: str | None) -> Stage | None:
        """The stage a row names; a won/lost status wins over an open stage (Pipedrive keeps the last open one)."""
        if status in (Stage.Outcome.WON, Stage.Outcome.LOST):
            found = self.outcome(pipeline, status)
            if found is None:
                raise ValueError(f"Status: pipeline “{pipeline.name}” has no {status} stage.")
            return found
        if not raw:
            return None
        stages = self.stages.get(pipeline.pk, {})
        found = stages.get(key(raw))
        if found is None:
            words = key(raw)
            if "won" in words:
                found = self.outcome(pipeline, Stage.Outcome.WON)
            elif "lost" in words:
                found = self.outcome(pipeline, Stage.Outcome.LOST)
        if found is None:
            names = ", ".join(s.name for s in self.ordered.get(pipeline.pk, []))
            raise ValueError(f"Stage: “{raw[:60]}” is not a stage of “{pipeline.name}” (stages: {names}).")
        return found

    def first(self, pipeline: Pipeline) -> Stage:
        return self.ordered[pipeline.pk][0]


class DealPlanner:
    """One chunk of a deal import: lookups, per-row decisions in memory, then bulk writes."""

    def __init__(self, job: Job, result: ChunkResult, writes: Writes, stages: Stages, users: dict[int, User]):
        self.job, self.result, self.writes, self.stages, self.users = job, result, writes, stages, users
        self.now = timezone.now()
        self.actor = job.actor
        self.actor_id = job.actor_id()
        self.team = team_of(job.actor)
        # What lifecycle.promote acts as: the system, following up on the importing person's row.
        self.promoter = system_actor(Origin.SYSTEM, on_behalf_of=job.actor)
        self.may_write = access.can_write(job.actor)
        self.stage_by_id = {stage.pk: stage for ordered in stages.ordered.values() for stage in ordered}
        self.defaults = _defaults(Deal, DEAL_ATTNAMES)
        self.new: list[dict] = []
        self.changed: dict[int, dict] = {}
        self.promoted: dict[int, dict] = {}
        # Writes that need the ids of new deals run once those are allocated, in the order the rows made them.
        self.later: list[Callable[[], None]] = []
        self.links: list[tuple] = []
        self.history: list[tuple] = []
        self.lifecycle: list[tuple] = []
        self.audits: list[tuple] = []

    # -- lookups -------------------------------------------------------------------------------------------

    def run(self, rows: list) -> None:
        self.load(rows)
        companies = CompanyResolver(self.job, self.result, self.writes)
        companies.load(
            {v["company_domain"] for _, v in rows if v.get("company_domain")},
            {company_search_key(v["company_name"]) for _, v in rows if v.get("company_name")},
        )
        planned = []
        for record, values in rows:
            try:
                plan = self.plan(values, companies)
            except ValueError as exc:
                self.result.reject(record, str(exc))
                continue
            planned.append((record, values, plan))
        companies.write()  # before the rows: a deal's company needs its id
        for record, values, plan in planned:
            keys = self.identities(values, plan)
            earlier = self.job.duplicate_of(self.result, keys)
            if earlier is not None:
                self.result.reject(record, duplicate_reason(*earlier))
                continue
            self.last = None
            refusal = self.row(values, plan)
            if refusal:
                self.result.reject(record, refusal)
                continue
            for identity in keys:
                self.result.claimed[identity] = record.row_number
            if self.last is not None:
                self.result.outcome(record, *self.last)
        self.write()

    @staticmethod
    def identities(values: dict, plan: dict) -> list[tuple[str, str]]:
        """What makes two rows the same deal: the External ID, else the name within the same company."""
        if values.get("external_id"):
            return [("external_id", values["external_id"])]
        if values.get("name"):
            company = plan["company"]
            company_key = company["name_key"] if isinstance(company, dict) else str(company)
            return [("name", f"{values['name']} ({company_key})" if company is not None else values["name"])]
        return []

    def load(self, rows: list) -> None:
        ext_ids = {v["external_id"] for _, v in rows if "external_id" in v}
        names = {v["name"] for _, v in rows if "name" in v}
        emails = {v["contact_email"] for _, v in rows if "contact_email" in v}
        self.by_ext: dict[str, dict] = {}
        self.by_name: dict[tuple[str, int | None], dict] = {}
        found = fetch(Deal, DEAL_ATTNAMES, {"external_id": ext_ids, "name": names}, lock=True)
        for state in found:
            state["_contacts"] = []
            if state["external_id"]:
                self.by_ext[state["external_id"]] = state
            if state["name"] in names:
                self.by_name.setdefault((state["name"], state["company_id"]), state)
        by_id = {state["id"]: state for state in found}
        linked = set()
        # Integer keys go through the ORM: bulk.fetch sends its values as text, which suits text columns only.
        links = DealContact.objects.filter(deal_id__in=list(by_id)).order_by("id").values_list("deal_id", "contact_id")
        for deal_id, contact_id in links if by_id else ():
            by_id[deal_id]["_contacts"].append(contact_id)  # in id order: the first is the primary contact
            linked.add(contact_id)
        self.contacts: dict[int, dict] = {}
        self.by_email: dict[str, dict] = {}
        contacts = []
        if emails or linked:
            wanted = Q(email__in=list(emails)) | Q(id__in=list(linked))
            contacts = Contact.objects.filter(wanted).order_by("id").select_for_update().values(*CONTACT_FIELDS)
        for contact in contacts:
            self.contacts[contact["id"]] = contact
            self.by_email[contact["email"]] = contact

    def plan(self, values: dict, companies: CompanyResolver) -> dict:
        """Everything a row needs resolved before it is decided; raises ValueError to reject it."""
        pipeline = self.stages.pipeline(values.get("pipeline"))
        stage = self.stages.stage(pipeline, values.get("stage"), values.get("status"))
        contact = None
        if "contact_email" in values:
            contact = self.by_email.get(values["contact_email"])
            if contact is None:
                raise ValueError(
                    f"Contact email: no contact has the email {values['contact_email']}; import contacts first."
                )
        company = None
        if values.get("company_name") or values.get("company_domain"):
            company = companies.find(values.get("company_name"), values.get("company_domain"), None, create=True)
        elif contact is not None and contact["company_id"]:
            company = contact["company_id"]
        return {"pipeline": pipeline, "stage": stage, "contact": contact, "company": company}

    # -- decisions -----------------------------------------------------------------------------------------

    def row(self, values: dict, plan: dict) -> str | None:
        """Decide one row; returns why it is rejected, or None once its outcome is counted."""
        company_id = _company_id(plan["company"])
        state = self.by_ext.get(values.get("external_id")) if values.get("external_id") else None
        if state is None and values.get("name"):
            state = self.by_name.get((values["name"], company_id))
        if state is None:
            return self.create(values, plan, company_id)
        return self.update(state, values, plan, company_id)

    def create(self, values: dict, plan: dict, company_id) -> str | None:
        """crm.services.create_deal, with the source system's dates kept (created, and closed for closed deals)."""
        if not self.may_write:
            return "Read-only users cannot change anything."
        if not values.get("name"):
            return "Deal name: required to create a deal (no deal has this External ID)."
        pipeline, stage = plan["pipeline"], plan["stage"] or self.stages.first(plan["pipeline"])
        state = dict(self.defaults)
        created = values.get("created_at") or self.now
        state.update(
            pipeline_id=pipeline.pk,
            stage_id=stage.pk,
            custom=dict(values.get("custom") or {}),
            created_at=created,
            stage_entered_at=created,
            updated_at=self.now,
            _new=True,
            _contacts=[],
        )
        for name in PLAIN:
            if name in values:
                state[name] = values[name]
        if "owner_id" in values:
            state["owner_id"] = values["owner_id"]
        state["company_id"] = company_id
        if stage.outcome != Stage.Outcome.OPEN:
            state.update(status=stage.outcome, closed_at=self.now)
            if values.get("close_date"):
                state["closed_at"] = dt.datetime.combine(values["close_date"], dt.time(12), tzinfo=self.job.tz)
            if values.get("close_reason"):
                state["close_reason"] = values["close_reason"][:200]
        self.new.append(state)
        contact = plan["contact"]
        if contact is not None:
            state["_contacts"].append(contact["id"])
        self.by_name.setdefault((state["name"], company_id), state)
        if state["external_id"]:
            self.by_ext[state["external_id"]] = state
        touch_company = company_id if company_id is not None else (contact or {}).get("company_id")

        def created_rows():
            self.history.append((state["id"], None, stage.pk, created, self.actor_id, Origin.IMPORT, None))
            if contact is not None:
                self.links.append((state["id"], contact["id"], DealContact.Role.OTHER))
            self.touch(
                kind=Kind.DEAL_CREATED,
                team=self.team,
                deal=state["id"],
                contact=contact["id"] if contact else None,
                company=touch_company,
                actor=self.actor,
                occurred_at=created,
                summary=summaries.deal_created(state["name"], state["amount"], state["currency"]),
            )
            self.audit(self.actor, Origin.IMPORT, "create", Deal, state["id"], state["name"])
            self.event("deal.created", state["id"], payloads.record_values(Deal, state))

        self.later.append(created_rows)
        if contact is not None:
            self.promote(contact, LifecycleStage.OPPORTUNITY, "Deal created")
        self.result.created += 1
        self.last = ("created", state, {})
        return None

    def update(self, state: dict, values: dict, plan: dict, company_id) -> str | None:
        """update_record, then move_deal_stage, then add_deal_contact, as the service path ran them."""
        if not state.get("_new") and not self.job.may_edit(state["owner_id"]):
            return f"You may not change the deal “{state['name']}”: it belongs to another owner."
        changes = {
            name: (state[name], values[name]) for name in PLAIN if name in values and state[name] != values[name]
        }
        if "owner_id" in values and values["owner_id"] != state["owner_id"]:
            if not state.get("_new") and not access.can_for_owner(self.actor, "reassign", state["owner_id"]):
                return "You may not reassign this record."
            changes["owner"] = (state["owner_id"], values["owner_id"])
        if company_id is not None and company_id != state["company_id"]:
            changes["company"] = (state["company_id"], company_id)
        if "custom" in values and {**state["custom"], **values["custom"]} != state["custom"]:
            changes["custom"] = (state["custom"], {**state["custom"], **values["custom"]})
        stage = plan["stage"]
        if stage is not None and stage.pipeline_id != state["pipeline_id"]:
            return "Stage: the deal is in another pipeline; imports do not move deals between pipelines."
        moving = stage is not None and stage.pk != state["stage_id"]
        contact = plan["contact"]
        link = contact is not None and contact["id"] not in state["_contacts"]
        if not changes and not moving and not link:
            self.result.unchanged += 1
            self.last = ("unchanged", state, {})
            return None
        after = dict(state)
        for name, (_, new) in changes.items():
            after[{"owner": "owner_id", "company": "company_id"}.get(name, name)] = new
        if moving:
            refusal = self.exit_refusal(after, self.stage_by_id[state["stage_id"]], stage)
            if refusal:
                return refusal
        old_stage_id = state["stage_id"]
        state.update(after)
        if changes:
            self.apply_update(state, changes)
        if moving:
            self.move(state, stage, values.get("close_reason") or self.job.summary_source)
        if link:
            state["_contacts"].append(contact["id"])
            self.later.append(lambda: self.links.append((state["id"], contact["id"], DealContact.Role.OTHER)))
            self.later.append(
                lambda: self.audit(
                    self.actor,
                    Origin.IMPORT,
                    "associate",
                    Deal,
                    state["id"],
                    state["name"],
                    {"contact": (None, contact["id"])},
                )
            )
        if not state.get("_new"):
            self.changed[state["id"]] = state
        self.result.updated += 1
        reported = dict(changes)
        if moving:
            reported["stage_id"] = (self.stage_by_id[old_stage_id].name, stage.name)
        if link:
            reported["contact"] = (None, contact["email"])
        self.last = ("updated", state, reported)
        return None

    def exit_refusal(self, deal: dict, from_stage: Stage, to_stage: Stage) -> str | None:
        """move_deal_stage's rule: a deal leaves an open stage for a later one (or a win) only with its exit
        criteria filled; it may always be marked lost."""
        moving_on = to_stage.outcome != Stage.Outcome.LOST and (
            to_stage.position > from_stage.position or to_stage.outcome == Stage.Outcome.WON
        )
        if not moving_on or from_stage.outcome != Stage.Outcome.OPEN:
            return None
        missing = missing_criteria(deal, from_stage, self.job.definitions)
        if missing:
            return f"Before leaving “{from_stage.name}”, fill in: {', '.join(missing)}."
        return None

    def apply_update(self, state: dict, changes: dict) -> None:
        state["version"] += 1
        state["updated_at"] = self.now
        snapshot = payloads.updated(payloads.record_values(Deal, state), changes)
        owner = self.users.get(state["owner_id"]) if "owner" in changes and state["owner_id"] else None

        def updated_rows():
            self.audit(self.actor, Origin.IMPORT, "update", Deal, state["id"], state["name"], changes)
            self.event("deal.updated", state["id"], {**snapshot, "id": state["id"]})
            if "owner" in changes:
                self.touch(
                    kind=Kind.OWNER_CHANGED,
                    team=Team.SYSTEM,
                    deal=state["id"],
                    actor=self.actor,
                    summary=summaries.owner_changed(str(owner) if owner else None),
                )

        self.later.append(updated_rows)

    def move(self, state: dict, to_stage: Stage, reason: str) -> None:
        """move_deal_stage: history with the seconds spent in the stage left, the touch, events, a win's promotions."""
        from_stage = self.stage_by_id[state["stage_id"]]
        reason = reason.strip()
        seconds = max(int((self.now - state["stage_entered_at"]).total_seconds()), 0)
        state.update(stage_id=to_stage.pk, stage_entered_at=self.now, updated_at=self.now)
        state["version"] += 1
        if to_stage.outcome == Stage.Outcome.OPEN:
            state.update(status=DealStatus.OPEN, closed_at=None)
        else:
            state.update(status=to_stage.outcome, closed_at=self.now, close_reason=reason[:200])
        primary = self.contacts.get(state["_contacts"][0]) if state["_contacts"] else None
        company = state["company_id"] if state["company_id"] is not None else (primary or {}).get("company_id")
        kind = {Stage.Outcome.WON: Kind.DEAL_WON, Stage.Outcome.LOST: Kind.DEAL_LOST}.get(
            to_stage.outcome, Kind.DEAL_STAGE_CHANGED
        )
        details = {"from": from_stage.pk, "to": to_stage.pk, "reason": reason, "amount": str(state["amount"])}
        payload = payloads.deal_stage_changed(payloads.record_values(Deal, state), from_stage.name, to_stage.name)
        summary = summaries.deal_stage_changed(state["name"], from_stage.name, to_stage.name, reason)

        def moved_rows():
            row = (state["id"], from_stage.pk, to_stage.pk, self.now, self.actor_id, Origin.IMPORT, seconds)
            self.history.append(row)
            self.touch(
                kind=kind,
                team=self.team,
                deal=state["id"],
                contact=primary["id"] if primary else None,
                company=company,
                actor=self.actor,
                occurred_at=self.now,
                summary=summary,
                details=details,
            )
            stage_change = {"stage": (from_stage.name, to_stage.name)}
            self.audit(self.actor, Origin.IMPORT, "stage", Deal, state["id"], state["name"], stage_change)
            self.event("deal.stage_changed", state["id"], {**payload, "id": state["id"]})
            if to_stage.outcome != Stage.Outcome.OPEN:
                self.event(f"deal.{to_stage.outcome}", state["id"], {**payload, "id": state["id"]})

        self.later.append(moved_rows)
        if to_stage.outcome == Stage.Outcome.WON:
            for contact_id in state["_contacts"]:
                self.promote(self.contacts[contact_id], LifecycleStage.CUSTOMER, "Deal won")

    def promote(self, contact: dict, to_stage: str, reason: str) -> None:
        """lifecycle.promote: move the contact up to `to_stage` as the system, unless it is there or beyond."""
        old = contact["lifecycle_stage"]
        if not promotes(old, to_stage):
            return
        contact.update(lifecycle_stage=to_stage, lifecycle_changed_at=self.now, updated_at=self.now)
        contact["version"] += 1
        self.promoted[contact["id"]] = contact
        actor = self.promoter
        self.lifecycle.append((contact["id"], old, to_stage, self.now, actor_user(actor) and actor_user(actor).pk,
                               Origin.SYSTEM, reason[:300]))  # fmt: skip
        self.touch(
            kind=Kind.LIFECYCLE_CHANGED,
            team=Team.SYSTEM,
            contact=contact["id"],
            company=contact["company_id"],
            actor=actor,
            occurred_at=self.now,
            summary=summaries.lifecycle_changed(old, to_stage, backward=lifecycle_move(old, to_stage).backward),
            details={"from": old, "to": to_stage, "reason": reason, "origin": Origin.SYSTEM},
        )
        payload = payloads.lifecycle_changed(contact["id"], contact["email"], old, to_stage, reason)
        self.writes.event("contact.lifecycle_changed" if self.job.send_events else "", Contact, contact["id"], payload,
                          self.now)  # fmt: skip
        name = f"{contact['first_name']} {contact['last_name']}".strip() or contact["email"]
        changes = {"lifecycle_stage": (old, to_stage)}
        self.audit(actor, Origin.SYSTEM, "lifecycle", Contact, contact["id"], name, changes)

    # -- rows to write ---------------------------------------------------------------------------------------

    def touch(self, **fields) -> None:
        """A touch for timeline.services.record_touches; the actor as an object, so the person is recorded."""
        self.writes.touches.append(fields)

    def event(self, name: str, deal_id: int, data: dict) -> None:
        if self.job.send_events:
            self.writes.event(name, Deal, deal_id, data, self.now)

    def audit(self, actor, origin: str, action: str, model, object_id, text: str, changes: dict | None = None) -> None:
        """core.audit.record_audit's row, collected."""
        user = actor_user(actor)
        self.audits.append(
            (
                self.now,
                user.pk if user is not None else None,
                actor_origin(actor, origin),
                action,
                f"{model._meta.app_label}.{model._meta.model_name}",
                str(object_id),
                str(text)[:200],
                {k: [jsonable(a), jsonable(b)] for k, (a, b) in (changes or {}).items()},
            )
        )

    def write(self) -> None:
        table = Table(Deal, DEAL_ATTNAMES)
        for state, pk in zip(self.new, table.allocate_ids(len(self.new)), strict=True):
            state["id"] = pk
        for job in self.later:
            job()
        table.insert([[state[name] for name in DEAL_ATTNAMES] for state in self.new])
        Table(Deal, DEAL_UPDATE).update(
            [[state[name] for name in DEAL_UPDATE] + [state["id"]] for state in self.changed.values()],
            bump_version=False,
        )
        Table(DealContact, ["deal_id", "contact_id", "role"]).insert(self.links)
        Table(DealStageChange, STAGE_CHANGE_FIELDS).insert(self.history)
        Table(Contact, CONTACT_PROMOTE).update(
            [[c[name] for name in CONTACT_PROMOTE] + [c["id"]] for c in self.promoted.values()], bump_version=False
        )
        Table(LifecycleChange, LIFECYCLE_FIELDS).insert(self.lifecycle)
        Table(AuditEntry, AUDIT_FIELDS).insert(self.audits)
        self.writes.flush()


def missing_criteria(deal: dict, stage: Stage, definitions) -> list[str]:
    """crm.services.missing_exit_criteria on a row held in memory (its contacts in deal["_contacts"])."""
    labels = {d.key: d.label for d in definitions}
    missing = []
    for name in stage.exit_criteria:
        if name.startswith("custom."):
            custom_key = name.split(".", 1)[1]
            if deal["custom"].get(custom_key) in (None, "", []):
                missing.append(labels.get(custom_key) or custom_key)
            continue
        if name == "contacts":
            if not deal["_contacts"]:
                missing.append("Contacts")
            continue
        try:
            field = Deal._meta.get_field(name)
        except FieldDoesNotExist:  # a criterion naming a removed field no longer applies
            continue
        value = deal[field.attname]
        if value in (None, "") or (name == "amount" and not value):
            missing.append(str(field.verbose_name).capitalize())
    return missing


def _company_id(ref):
    return ref["id"] if isinstance(ref, dict) else ref
