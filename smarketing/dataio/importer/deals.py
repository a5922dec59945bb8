"""Importing deals: lookups in bulk per chunk, then each row through the CRM services.

Deals carry rules the bulk path would have to copy (stage history, exit criteria when an existing deal moves,
won/lost status, the primary contact becoming an opportunity), and deal files are small next to contact files,
so each row calls crm.services inside its own savepoint: a row the services refuse is rejected with their
message and leaves nothing behind.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from smarketing.accounts.models import User
from smarketing.core.models import Origin
from smarketing.crm import kinds as Kind
from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Company, Contact, Deal, DealContact, DealStageChange, Pipeline, Stage
from smarketing.crm.normalize import company_search_key
from smarketing.dataio.importer.context import ChunkResult, Job, Writes
from smarketing.dataio.importer.records import CompanyResolver
from smarketing.dataio.values import key
from smarketing.timeline.models import Touchpoint

PLAIN = ["name", "amount", "currency", "close_date", "source", "external_id"]


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
    def __init__(self, job: Job, result: ChunkResult, writes: Writes, stages: Stages, users: dict[int, User]):
        self.job, self.result, self.writes, self.stages, self.users = job, result, writes, stages, users

    def run(self, rows: list) -> None:
        ext_ids = {v["external_id"] for _, v in rows if "external_id" in v}
        names = {v["name"] for _, v in rows if "name" in v}
        emails = {v["contact_email"] for _, v in rows if "contact_email" in v}
        deals = Deal.objects.select_for_update().filter(external_id__in=ext_ids) if ext_ids else []
        self.by_ext = {d.external_id: d for d in deals}
        self.by_name: dict[tuple[str, int | None], Deal] = {}
        for deal in Deal.objects.select_for_update().filter(name__in=names).order_by("id"):
            self.by_name.setdefault((deal.name, deal.company_id), deal)
        self.contacts = {c.email: c for c in Contact.objects.filter(email__in=emails)}
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
        companies.write()
        self.writes.flush()
        ids = {_company_id(plan["company"]) for _, _, plan in planned if plan["company"] is not None}
        self.companies = Company.objects.in_bulk(ids)
        for record, values, plan in planned:
            try:
                with transaction.atomic():
                    self.row(values, plan)
            except (ValidationError, PermissionDenied, services.ConflictError) as exc:
                self.result.reject(record, _message(exc))

    def plan(self, values: dict, companies: CompanyResolver) -> dict:
        """Everything a row needs resolved before it touches the database; raises ValueError to reject it."""
        pipeline = self.stages.pipeline(values.get("pipeline"))
        stage = self.stages.stage(pipeline, values.get("stage"), values.get("status"))
        contact = None
        if "contact_email" in values:
            contact = self.contacts.get(values["contact_email"])
            if contact is None:
                raise ValueError(
                    f"Contact email: no contact has the email {values['contact_email']}; import contacts first."
                )
        company = None
        if values.get("company_name") or values.get("company_domain"):
            company = companies.find(values.get("company_name"), values.get("company_domain"), None, create=True)
        elif contact is not None and contact.company_id:
            company = contact.company_id
        return {"pipeline": pipeline, "stage": stage, "contact": contact, "company": company}

    def row(self, values: dict, plan: dict) -> None:
        company_id = _company_id(plan["company"])
        deal = self.by_ext.get(values.get("external_id")) if values.get("external_id") else None
        if deal is None and values.get("name"):
            deal = self.by_name.get((values["name"], company_id))
        if deal is None:
            self.create(values, plan, company_id)
        else:
            self.update(deal, values, plan, company_id)

    def create(self, values: dict, plan: dict, company_id) -> None:
        if not values.get("name"):
            raise ValidationError("Deal name: required to create a deal (no deal has this External ID).")
        pipeline, stage = plan["pipeline"], plan["stage"] or self.stages.first(plan["pipeline"])
        if stage.pipeline_id != pipeline.pk:
            raise ValidationError("Stage: belongs to another pipeline.")
        data = {name: values[name] for name in PLAIN if name in values}
        if "owner_id" in values:
            data["owner"] = self.users[values["owner_id"]]
        if company_id is not None:
            data["company"] = self.companies[company_id]
        if "custom" in values:
            data["custom"] = values["custom"]
        contacts = [(plan["contact"], DealContact.Role.OTHER)] if plan["contact"] else []
        deal = services.create_deal(
            actor=self.job.actor, data=data, stage=stage, contacts=contacts, origin=Origin.IMPORT
        )
        self._backdate(deal, values, stage)
        self.by_name.setdefault((deal.name, deal.company_id), deal)
        if deal.external_id:
            self.by_ext[deal.external_id] = deal
        self.result.created += 1

    def _backdate(self, deal: Deal, values: dict, stage: Stage) -> None:
        """Keep the source system's dates: created (and its stage history) and, for closed deals, closed."""
        changes = {}
        created = values.get("created_at")
        if created is not None:
            changes.update(created_at=created, stage_entered_at=created)
            DealStageChange.objects.filter(deal=deal).update(changed_at=created)
            Touchpoint.objects.filter(deal=deal, kind=Kind.DEAL_CREATED).update(occurred_at=created)
        if stage.outcome != Stage.Outcome.OPEN:
            if values.get("close_date"):
                closed = dt.datetime.combine(values["close_date"], dt.time(12), tzinfo=self.job.tz)
                changes["closed_at"] = closed
            if values.get("close_reason"):
                changes["close_reason"] = values["close_reason"]
        if changes:
            Deal.objects.filter(pk=deal.pk).update(**changes)
            for name, value in changes.items():
                setattr(deal, name, value)

    def update(self, deal: Deal, values: dict, plan: dict, company_id) -> None:
        if not self.job.may_edit(deal.owner_id):
            raise PermissionDenied(f"You may not change the deal “{deal.name}”: it belongs to another owner.")
        data = {name: values[name] for name in PLAIN if name in values and getattr(deal, name) != values[name]}
        if "owner_id" in values and values["owner_id"] != deal.owner_id:
            data["owner"] = values["owner_id"]
        if company_id is not None and company_id != deal.company_id:
            data["company"] = company_id
        if "custom" in values and {**deal.custom, **values["custom"]} != deal.custom:
            data["custom"] = values["custom"]
        stage = plan["stage"]
        if stage is not None and stage.pipeline_id != deal.pipeline_id:
            raise ValidationError(
                "Stage: the deal is in another pipeline; imports do not move deals between pipelines."
            )
        contact = plan["contact"]
        link = contact is not None and not DealContact.objects.filter(deal=deal, contact=contact).exists()
        if not data and (stage is None or stage.pk == deal.stage_id) and not link:
            self.result.unchanged += 1
            return
        found = deal  # the rights are judged on the deal as found, before this row hands it to another owner
        if data:
            deal = services.update_record(deal, actor=self.job.actor, data=data, origin=Origin.IMPORT)
        if stage is not None and stage.pk != deal.stage_id:
            reason = values.get("close_reason") or f"{self.job.summary_source}"
            services.move_deal_stage(found, stage, actor=self.job.actor, reason=reason, origin=Origin.IMPORT)
        if link:
            services.add_deal_contact(found, contact, role=DealContact.Role.OTHER, actor=self.job.actor)
        self.result.updated += 1


def _company_id(ref):
    return ref["id"] if isinstance(ref, dict) else ref


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "message_dict"):
            return " ".join(
                f"{field}: {' '.join(msgs)}" if field != "__all__" else " ".join(msgs)
                for field, msgs in exc.message_dict.items()
            )
        return " ".join(exc.messages)
    return str(exc)
