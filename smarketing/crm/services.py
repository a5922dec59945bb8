"""Every important write to CRM records goes through these functions.

Each one runs in a transaction, records history (lifecycle, stage changes), the timeline touchpoint and the
audit entry, and raises ValidationError / ConflictError / PermissionDenied with a message a user can read.
Permission checks happen here too, so the UI, the API and the importer cannot disagree.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.crm import access
from smarketing.crm.models import (
    LIFECYCLE_ORDER,
    Company,
    Contact,
    Deal,
    DealContact,
    DealStageChange,
    DealStatus,
    LifecycleChange,
    LifecycleStage,
    Note,
    ObjectType,
    Stage,
    Task,
)
from smarketing.crm.normalize import normalize_domain, normalize_email
from smarketing.crm.properties import clean_custom
from smarketing.crm.sanitize import clean_html
from smarketing.crm.serialize import record_dict
from smarketing.timeline.models import Kind, Team
from smarketing.timeline.services import record_touch


class ConflictError(Exception):
    """The record changed since the caller read it; their edit was not applied."""


class ExitCriteriaError(ValidationError):
    """A deal may not leave its stage before these fields are filled."""


CONTACT_FIELDS = (
    "email first_name last_name title phone company owner lifecycle_stage lead_status external_id "
    "first_source first_utm_source first_utm_medium first_utm_campaign first_touch_at "
    "last_source last_utm_source last_utm_medium last_utm_campaign last_touch_at "
    "consent_status consent_at consent_basis consent_source"
).split()
COMPANY_FIELDS = "name domain industry employees annual_revenue country owner external_id".split()
DEAL_FIELDS = "name company amount currency close_date owner source campaign external_id".split()
EDITABLE_FIELDS = {Contact: CONTACT_FIELDS, Company: COMPANY_FIELDS, Deal: DEAL_FIELDS}
OBJECT_TYPES = {Contact: ObjectType.CONTACT, Company: ObjectType.COMPANY, Deal: ObjectType.DEAL}


def team_of(actor) -> str:
    """The timeline team of a person's touch: their team's kind, defaulting to sales."""
    team = getattr(actor, "team", None) if actor is not None else None
    if team is not None and team.kind == "marketing":
        return Team.MARKETING
    return Team.SALES


# ---------------------------------------------------------------------------------------------------------
# Field preparation


def _set_keys(obj) -> None:
    """Keep the lowercased search/sort keys in step with the names."""
    if isinstance(obj, Contact):
        obj.name_key = f"{obj.first_name} {obj.last_name}".strip().lower()[:201]
        obj.last_key = (obj.last_name or obj.first_name or obj.email).strip().lower()[:100]
    elif isinstance(obj, Company):
        obj.name_key = obj.name.strip().lower()[:200]


def _prepare(model, data: dict) -> dict:
    """Validate and normalize incoming field values; unknown fields are an error."""
    allowed = set(EDITABLE_FIELDS[model]) | {"custom"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    clean = dict(data)
    errors = {}
    if "email" in clean:
        try:
            clean["email"] = normalize_email(clean["email"])
        except ValidationError as exc:
            errors["email"] = exc.messages[0]
    if "domain" in clean:
        try:
            clean["domain"] = normalize_domain(clean["domain"])
        except ValidationError as exc:
            errors["domain"] = exc.messages[0]
    for name in ("amount", "annual_revenue"):
        if name in clean and clean[name] not in (None, ""):
            try:
                value = Decimal(str(clean[name]).replace(",", ""))
            except InvalidOperation:
                errors[name] = f"{clean[name]!r} is not a number."
                continue
            if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
                errors[name] = "Must be a positive amount below 1,000,000,000,000."
            else:
                clean[name] = value.quantize(Decimal("0.01"))
        elif name in clean:
            clean[name] = Decimal("0") if name == "amount" else None
    if "currency" in clean:
        currency = str(clean["currency"] or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            errors["currency"] = "Use a three-letter currency code such as USD or EUR."
        clean["currency"] = currency
    if "lifecycle_stage" in clean and clean["lifecycle_stage"] not in LifecycleStage.values:
        errors["lifecycle_stage"] = f"{clean['lifecycle_stage']!r} is not a lifecycle stage."
    for name in ("name",):
        if name in clean and not str(clean[name] or "").strip():
            errors[name] = "This field is required."
    for name, value in clean.items():
        if isinstance(value, str):
            if "\x00" in value:
                errors[name] = "Contains a NUL character."
            field = model._meta.get_field(name) if name != "custom" else None
            if field is not None and getattr(field, "max_length", None) and len(value) > field.max_length:
                errors[name] = f"At most {field.max_length} characters."
    if "external_id" in clean and not clean["external_id"]:
        clean["external_id"] = None
    if errors:
        raise ValidationError(errors)
    return clean


def _unique_error(model, exc: IntegrityError) -> ValidationError:
    text = str(exc).lower()
    if model is Contact and "email" in text:
        return ValidationError({"email": "A contact with this email already exists."})
    if model is Company and "domain" in text:
        return ValidationError({"domain": "A company with this domain already exists."})
    if "external_id" in text:
        return ValidationError({"external_id": "Another record already has this external id."})
    return ValidationError("This record conflicts with an existing one.")


# ---------------------------------------------------------------------------------------------------------
# Create


def _create(model, *, actor, data: dict, origin: str):
    _require_person(actor, origin)
    clean = _prepare(model, data)
    custom = clean.pop("custom", None) or {}
    clean["custom"] = clean_custom(OBJECT_TYPES[model], custom) if custom else {}
    obj = model(**clean)
    _set_keys(obj)
    obj.full_clean(exclude=["owner", "company", "campaign", "pipeline", "stage", "custom", "email", "domain"])
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
    except IntegrityError as exc:
        raise _unique_error(model, exc)
    return obj


@transaction.atomic
def create_contact(*, actor, data: dict, origin: str = Origin.UI, reason: str = "") -> Contact:
    if not data.get("email"):
        raise ValidationError({"email": "Email is required."})
    contact = _create(Contact, actor=actor, data=data, origin=origin)
    LifecycleChange.objects.create(
        contact=contact,
        from_stage="",
        to_stage=contact.lifecycle_stage,
        changed_at=contact.created_at,
        actor=_user(actor),
        origin=origin,
        reason=reason or "Created",
    )
    record_touch(
        kind=Kind.CONTACT_CREATED,
        team=Team.SYSTEM,
        contact=contact,
        actor=actor,
        summary=f"Contact created ({contact.get_lifecycle_stage_display()})",
        source=contact.first_source,
        details={"origin": origin},
    )
    record_audit(actor=actor, action="create", obj=contact, origin=origin)
    publish("contact.created", contact, record_dict(contact))
    return contact


@transaction.atomic
def create_company(*, actor, data: dict, origin: str = Origin.UI) -> Company:
    if not str(data.get("name") or "").strip():
        raise ValidationError({"name": "This field is required."})
    company = _create(Company, actor=actor, data=data, origin=origin)
    record_audit(actor=actor, action="create", obj=company, origin=origin)
    publish("company.created", company, record_dict(company))
    return company


@transaction.atomic
def create_deal(
    *, actor, data: dict, stage: Stage, contacts: list[tuple[Contact, str]] = (), origin: str = Origin.UI
) -> Deal:
    if not str(data.get("name") or "").strip():
        raise ValidationError({"name": "This field is required."})
    deal = Deal(pipeline_id=stage.pipeline_id, stage=stage)
    clean = _prepare(Deal, data)
    custom = clean.pop("custom", None) or {}
    for name, value in clean.items():
        setattr(deal, name, value)
    deal.custom = clean_custom(ObjectType.DEAL, custom) if custom else {}
    _require_person(actor, origin)
    if stage.outcome != Stage.Outcome.OPEN:
        deal.status = stage.outcome
        deal.closed_at = deal.created_at
    try:
        with transaction.atomic():
            deal.save(force_insert=True)
    except IntegrityError as exc:
        raise _unique_error(Deal, exc)
    DealStageChange.objects.create(deal=deal, from_stage=None, to_stage=stage, actor=_user(actor), origin=origin)
    for contact, role in contacts:
        DealContact.objects.get_or_create(deal=deal, contact=contact, defaults={"role": role or "other"})
    primary = contacts[0][0] if contacts else None
    record_touch(
        kind=Kind.DEAL_CREATED,
        team=team_of(actor),
        deal=deal,
        contact=primary,
        company=deal.company,
        actor=actor,
        summary=f"Deal created: {deal.name} ({deal.amount:,.2f} {deal.currency})",
    )
    if primary is not None and LIFECYCLE_ORDER.index(_stage_or_lead(primary)) < LIFECYCLE_ORDER.index(
        LifecycleStage.OPPORTUNITY
    ):
        change_lifecycle_stage(
            primary,
            LifecycleStage.OPPORTUNITY,
            actor=actor,
            origin=Origin.SYSTEM,
            reason="Deal created",
            check_access=False,
        )
    record_audit(actor=actor, action="create", obj=deal, origin=origin)
    publish("deal.created", deal, record_dict(deal))
    return deal


def _require_person(actor, origin: str) -> None:
    """People (UI, API) need write access; the importer, forms and workflows act for the system."""
    if origin in (Origin.UI, Origin.API):
        access.require(actor, "edit")


def _stage_or_lead(contact: Contact) -> str:
    return contact.lifecycle_stage if contact.lifecycle_stage in LIFECYCLE_ORDER else LifecycleStage.LEAD


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# ---------------------------------------------------------------------------------------------------------
# Update


@transaction.atomic
def update_record(
    obj,
    *,
    actor,
    data: dict,
    expected_version: int | None = None,
    origin: str = Origin.UI,
    lifecycle_reason: str = "",
    check_access: bool = True,
):
    """Apply the fields in `data` that differ from the stored ones.

    Only changed columns are written (an edit of the phone number does not overwrite a concurrent edit of
    the title). With `expected_version`, any concurrent edit since the caller read the record is refused
    with ConflictError, so nothing is silently overwritten.
    """
    model = type(obj)
    if check_access:
        access.require(actor, "edit", obj)
    clean = _prepare(model, data)
    if "owner" in clean and _fk_id(clean["owner"]) != obj.owner_id and check_access:
        access.require(actor, "reassign", obj)
    # Lock the row: the diff below is computed against what is stored now, not what the caller saw.
    current = model.objects.select_for_update().get(pk=obj.pk)
    if expected_version is not None and current.version != expected_version:
        raise ConflictError(
            f"Someone else changed this {model._meta.verbose_name} since you opened it. "
            "Your changes were not saved; review the current values and save again."
        )
    if "custom" in clean:
        clean["custom"] = clean_custom(OBJECT_TYPES[model], clean["custom"], existing=current.custom)
    new_stage = clean.pop("lifecycle_stage", None)
    changes = {}
    for name, value in clean.items():
        field = model._meta.get_field(name)
        old = getattr(current, field.attname)
        new = _fk_id(value) if field.is_relation else value
        if old != new:
            changes[name] = (old, new)
            setattr(current, field.attname, new)
    if changes:
        _set_keys(current)
        columns = {
            model._meta.get_field(n).attname: getattr(current, model._meta.get_field(n).attname) for n in changes
        }
        if isinstance(current, Contact | Company):
            columns.update(name_key=current.name_key)
        if isinstance(current, Contact):
            columns.update(last_key=current.last_key)
        try:
            with transaction.atomic():
                model.objects.filter(pk=current.pk).update(
                    **columns, version=F("version") + 1, updated_at=timezone.now()
                )
        except IntegrityError as exc:
            raise _unique_error(model, exc)
        current.version += 1
        record_audit(actor=actor, action="update", obj=current, changes=changes, origin=origin)
        publish(
            f"{model._meta.model_name}.updated",
            current,
            {**record_dict(current), "changed": sorted(changes)},
        )
        if "owner" in changes:
            _touch_owner_change(current, actor, changes["owner"][1])
    if new_stage is not None and new_stage != current.lifecycle_stage:
        change_lifecycle_stage(
            current,
            new_stage,
            actor=actor,
            origin=origin,
            reason=lifecycle_reason,
            allow_backward=bool(lifecycle_reason.strip()),
            check_access=False,
        )
        current.refresh_from_db()
    return current


def _fk_id(value):
    return getattr(value, "pk", value) if value not in ("", None) else None


def _touch_owner_change(obj, actor, owner_id) -> None:
    from smarketing.accounts.models import User

    owner = User.objects.filter(pk=owner_id).first() if owner_id else None
    summary = f"Owner set to {owner}" if owner else "Owner removed"
    kwargs = (
        {"contact": obj}
        if isinstance(obj, Contact)
        else {"company": obj}
        if isinstance(obj, Company)
        else {"deal": obj}
    )
    record_touch(kind=Kind.OWNER_CHANGED, team=Team.SYSTEM, actor=actor, summary=summary, **kwargs)


@transaction.atomic
def assign_owner(queryset, *, owner, actor, origin: str = Origin.UI) -> int:
    """Bulk reassignment of the records in `queryset` the actor may reassign; returns how many changed."""
    allowed = queryset.for_user(actor, "reassign") if origin in (Origin.UI, Origin.API) else queryset
    owner_id = _fk_id(owner)
    changed = 0
    for obj in allowed.exclude(owner_id=owner_id).select_for_update()[:5000]:
        update_record(obj, actor=actor, data={"owner": owner_id}, origin=origin, check_access=False)
        changed += 1
    return changed


# ---------------------------------------------------------------------------------------------------------
# Lifecycle


@transaction.atomic
def change_lifecycle_stage(
    contact: Contact,
    to_stage: str,
    *,
    actor,
    reason: str = "",
    origin: str = Origin.UI,
    allow_backward: bool = False,
    check_access: bool = True,
    at: datetime | None = None,
) -> LifecycleChange | None:
    """Move a contact to `to_stage`, recording from, to, when, who and why.

    Stages only move forward through the funnel; a move back ("recycle") needs allow_backward and a reason.
    "Other" may be entered or left freely.
    """
    if check_access:
        access.require(actor, "edit", contact)
    if to_stage not in LifecycleStage.values:
        raise ValidationError({"lifecycle_stage": f"{to_stage!r} is not a lifecycle stage."})
    current = Contact.objects.select_for_update().get(pk=contact.pk)
    from_stage = current.lifecycle_stage
    if from_stage == to_stage:
        return None
    backward = (
        from_stage in LIFECYCLE_ORDER
        and to_stage in LIFECYCLE_ORDER
        and LIFECYCLE_ORDER.index(to_stage) < LIFECYCLE_ORDER.index(from_stage)
    )
    reason = (reason or "").strip()
    if backward and not (allow_backward and reason):
        raise ValidationError(
            {"lifecycle_stage": "Moving a contact back to an earlier stage (recycling) needs a reason."}
        )
    when = at or timezone.now()
    Contact.objects.filter(pk=current.pk).update(
        lifecycle_stage=to_stage, lifecycle_changed_at=when, version=F("version") + 1, updated_at=when
    )
    contact.lifecycle_stage = to_stage
    contact.lifecycle_changed_at = when
    change = LifecycleChange.objects.create(
        contact=current,
        from_stage=from_stage,
        to_stage=to_stage,
        changed_at=when,
        actor=_user(actor),
        origin=origin,
        reason=reason[:300],
    )
    labels = dict(LifecycleStage.choices)
    verb = "recycled" if backward else "moved"
    record_touch(
        kind=Kind.LIFECYCLE_CHANGED,
        team=Team.SYSTEM,
        contact=current,
        actor=actor,
        occurred_at=when,
        summary=f"Lifecycle {verb}: {labels.get(from_stage, from_stage)} → {labels[to_stage]}",
        details={"from": from_stage, "to": to_stage, "reason": reason, "origin": origin},
    )
    publish(
        "contact.lifecycle_changed",
        current,
        {"id": current.pk, "email": current.email, "from": from_stage, "to": to_stage, "reason": reason},
    )
    record_audit(
        actor=actor,
        action="lifecycle",
        obj=current,
        origin=origin,
        changes={"lifecycle_stage": (from_stage, to_stage)},
    )
    return change


# ---------------------------------------------------------------------------------------------------------
# Deals


def missing_exit_criteria(deal: Deal, stage: Stage) -> list[str]:
    """Labels of the fields `stage` requires that `deal` has not filled."""
    from smarketing.crm.models import PropertyDefinition

    missing = []
    for name in stage.exit_criteria:
        if name.startswith("custom."):
            key = name.split(".", 1)[1]
            if deal.custom.get(key) in (None, "", []):
                label = (
                    PropertyDefinition.objects.filter(object_type=ObjectType.DEAL, key=key)
                    .values_list("label", flat=True)
                    .first()
                )
                missing.append(label or key)
            continue
        if name == "contacts":
            if not deal.deal_contacts.exists():
                missing.append("Contacts")
            continue
        try:
            field = Deal._meta.get_field(name)
        except FieldDoesNotExist:  # a criterion naming a removed field no longer applies
            continue
        value = getattr(deal, field.attname)
        if value in (None, "") or (name == "amount" and not value):
            missing.append(str(field.verbose_name).capitalize())
    return missing


@transaction.atomic
def move_deal_stage(
    deal: Deal,
    to_stage: Stage,
    *,
    actor,
    reason: str = "",
    origin: str = Origin.UI,
    check_access: bool = True,
    at: datetime | None = None,
) -> DealStageChange | None:
    """Move a deal to another stage of its pipeline, enforcing the exit criteria of the stage it leaves."""
    if check_access:
        access.require(actor, "edit", deal)
    current = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
    if to_stage.pipeline_id != current.pipeline_id:
        raise ValidationError("That stage belongs to another pipeline.")
    if to_stage.pk == current.stage_id:
        return None
    from_stage = current.stage
    # Exit criteria guard progress; a deal may always be marked lost, whatever it is missing.
    moving_on = to_stage.outcome != Stage.Outcome.LOST and (
        to_stage.position > from_stage.position or to_stage.outcome == Stage.Outcome.WON
    )
    if moving_on and from_stage.outcome == Stage.Outcome.OPEN:
        missing = missing_exit_criteria(current, from_stage)
        if missing:
            raise ExitCriteriaError(
                f"Before leaving “{from_stage.name}”, fill in: {', '.join(missing)}.", code="exit_criteria"
            )
    reason = (reason or "").strip()
    if to_stage.outcome == Stage.Outcome.LOST and not reason:
        raise ValidationError("Say why the deal was lost.", code="lost_reason")
    when = at or timezone.now()
    seconds = int((when - current.stage_entered_at).total_seconds())
    update = {"stage": to_stage, "stage_entered_at": when, "version": F("version") + 1, "updated_at": when}
    if to_stage.outcome == Stage.Outcome.OPEN:
        update.update(status=DealStatus.OPEN, closed_at=None)
    else:
        update.update(status=to_stage.outcome, closed_at=when, close_reason=reason[:200])
    Deal.objects.filter(pk=current.pk).update(**update)
    change = DealStageChange.objects.create(
        deal=current,
        from_stage=from_stage,
        to_stage=to_stage,
        changed_at=when,
        actor=_user(actor),
        origin=origin,
        seconds_in_from=max(seconds, 0),
    )
    primary = current.deal_contacts.select_related("contact").order_by("id").first()
    contact = primary.contact if primary else None
    kind = {
        Stage.Outcome.WON: Kind.DEAL_WON,
        Stage.Outcome.LOST: Kind.DEAL_LOST,
    }.get(to_stage.outcome, Kind.DEAL_STAGE_CHANGED)
    summary = f"{current.name}: {from_stage.name} → {to_stage.name}"
    if reason:
        summary += f" ({reason})"
    record_touch(
        kind=kind,
        team=team_of(actor),
        deal=current,
        contact=contact,
        company=current.company,
        actor=actor,
        occurred_at=when,
        summary=summary,
        details={"from": from_stage.pk, "to": to_stage.pk, "reason": reason, "amount": str(current.amount)},
    )
    record_audit(
        actor=actor, action="stage", obj=current, origin=origin, changes={"stage": (from_stage.name, to_stage.name)}
    )
    current.refresh_from_db()
    payload = {**record_dict(current), "from_stage": from_stage.name, "to_stage": to_stage.name}
    publish("deal.stage_changed", current, payload)
    if to_stage.outcome != Stage.Outcome.OPEN:
        publish(f"deal.{to_stage.outcome}", current, payload)
    if to_stage.outcome == Stage.Outcome.WON:
        for role in current.deal_contacts.select_related("contact"):
            if LIFECYCLE_ORDER.index(_stage_or_lead(role.contact)) < LIFECYCLE_ORDER.index(LifecycleStage.CUSTOMER):
                change_lifecycle_stage(
                    role.contact,
                    LifecycleStage.CUSTOMER,
                    actor=actor,
                    origin=Origin.SYSTEM,
                    reason="Deal won",
                    check_access=False,
                    at=when,
                )
    deal.stage = to_stage
    deal.stage_id = to_stage.pk
    return change


@transaction.atomic
def add_deal_contact(deal: Deal, contact: Contact, *, role: str, actor) -> DealContact:
    access.require(actor, "edit", deal)
    if role not in DealContact.Role.values:
        raise ValidationError({"role": "Unknown role."})
    link, _ = DealContact.objects.update_or_create(deal=deal, contact=contact, defaults={"role": role})
    record_audit(actor=actor, action="associate", obj=deal, changes={"contact": (None, contact.pk)})
    return link


# ---------------------------------------------------------------------------------------------------------
# Activities, notes, tasks


ACTIVITY_KINDS = {"call": Kind.CALL_LOGGED, "email": Kind.EMAIL_LOGGED, "meeting": Kind.MEETING_LOGGED}


def _target_kwargs(target) -> dict:
    if isinstance(target, Contact):
        return {"contact": target}
    if isinstance(target, Company):
        return {"company": target}
    if isinstance(target, Deal):
        return {"deal": target}
    raise TypeError(f"cannot attach to {type(target).__name__}")


@transaction.atomic
def log_activity(
    target,
    *,
    kind: str,
    summary: str,
    actor,
    body: str = "",
    outcome: str = "",
    occurred_at: datetime | None = None,
    origin: str = Origin.UI,
):
    """A call, sales email or meeting a rep had, written to the target's timeline."""
    _require_person(actor, origin)
    if kind not in ACTIVITY_KINDS:
        raise ValidationError({"kind": "Choose call, email or meeting."})
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError({"summary": "Say what happened."})
    if occurred_at and occurred_at > timezone.now() + timezone.timedelta(minutes=5):
        raise ValidationError({"occurred_at": "An activity you log cannot be in the future; create a task."})
    kwargs = _target_kwargs(target)
    if isinstance(target, Deal) and "contact" not in kwargs:
        kwargs["company"] = target.company
    return record_touch(
        kind=ACTIVITY_KINDS[kind],
        team=team_of(actor),
        actor=actor,
        summary=summary,
        occurred_at=occurred_at,
        details={"body": body[:10000], "outcome": outcome[:100]},
        **kwargs,
    )


@transaction.atomic
def add_note(target, *, body_html: str, actor, origin: str = Origin.UI) -> Note:
    _require_person(actor, origin)
    body = clean_html(body_html)
    if not body:
        raise ValidationError({"body": "A note cannot be empty."})
    note = Note.objects.create(body=body, author=_user(actor), **_target_kwargs(target))
    from django.utils.html import strip_tags

    excerpt = strip_tags(body)[:200]
    record_touch(
        kind=Kind.NOTE_ADDED,
        team=team_of(actor),
        actor=actor,
        summary=f"Note: {excerpt}",
        details={"note_id": note.pk},
        **_target_kwargs(target),
    )
    return note


@transaction.atomic
def create_task(
    *,
    actor,
    title: str,
    kind: str = Task.Kind.TODO,
    owner=None,
    due_at=None,
    description: str = "",
    contact=None,
    company=None,
    deal=None,
    origin: str = Origin.UI,
) -> Task:
    _require_person(actor, origin)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "A task needs a title."})
    if kind not in Task.Kind.values:
        raise ValidationError({"kind": "Choose call, email or to-do."})
    task = Task.objects.create(
        kind=kind,
        title=title[:200],
        description=description,
        due_at=due_at,
        owner=owner or _user(actor),
        created_by=_user(actor),
        contact=contact,
        company=company,
        deal=deal,
    )
    if contact or company or deal:
        record_touch(
            kind=Kind.TASK_CREATED,
            team=team_of(actor),
            actor=actor,
            contact=contact,
            company=company,
            deal=deal,
            summary=f"Task: {task.title}",
            details={"task_id": task.pk, "kind": kind},
        )
    return task


def can_change_task(user, task: Task) -> bool:
    if access.can(user, "delete"):
        return True
    return access.can(user, "edit") and user.pk in (task.owner_id, task.created_by_id)


@transaction.atomic
def complete_task(task: Task, *, actor) -> Task:
    if not can_change_task(actor, task):
        raise access.PermissionDenied("Only the task's owner or a manager can complete it.")
    # Conditional update: a double click or two tabs complete the task once and log one touch.
    done = Task.objects.filter(pk=task.pk, completed_at__isnull=True).update(completed_at=timezone.now())
    task.refresh_from_db()
    if done and (task.contact_id or task.company_id or task.deal_id):
        record_touch(
            kind=Kind.TASK_COMPLETED,
            team=team_of(actor),
            actor=actor,
            contact=task.contact,
            company=task.company,
            deal=task.deal,
            summary=f"Task done: {task.title}",
            details={"task_id": task.pk},
        )
    return task


# ---------------------------------------------------------------------------------------------------------
# Merge and delete


MERGE_FILL_FIELDS = {
    Contact: [f for f in CONTACT_FIELDS if f not in ("email", "lifecycle_stage", "external_id")],
    Company: [f for f in COMPANY_FIELDS if f not in ("domain", "external_id")],
}


@transaction.atomic
def merge_records(primary, duplicate, *, actor, origin: str = Origin.UI):
    """Fold `duplicate` into `primary`: every touch, history row and association moves; empty fields fill in.

    Works for contacts and companies. The duplicate is deleted afterwards; the audit log keeps its values.
    """
    model = type(primary)
    if model is not type(duplicate) or model not in MERGE_FILL_FIELDS:
        raise ValidationError("Only two contacts or two companies can be merged.")
    if primary.pk == duplicate.pk:
        raise ValidationError("Pick two different records to merge.")
    access.require(actor, "merge", primary)
    # Lock both rows in primary-key order so two merges of the same pair cannot deadlock.
    locked = {
        o.pk: o for o in model.objects.select_for_update().filter(pk__in=[primary.pk, duplicate.pk]).order_by("pk")
    }
    primary, duplicate = locked[primary.pk], locked[duplicate.pk]
    from smarketing.timeline.models import Touchpoint

    filled = {}
    for name in MERGE_FILL_FIELDS[model]:
        field = model._meta.get_field(name)
        if getattr(primary, field.attname) in (None, "") and getattr(duplicate, field.attname) not in (None, ""):
            filled[name] = (None, getattr(duplicate, field.attname))
            setattr(primary, field.attname, getattr(duplicate, field.attname))
    primary.custom = {**duplicate.custom, **primary.custom}
    if model is Contact:
        Touchpoint.objects.filter(contact=duplicate).update(contact=primary)
        LifecycleChange.objects.filter(contact=duplicate).update(contact=primary)
        for role in DealContact.objects.filter(contact=duplicate):
            if DealContact.objects.filter(deal_id=role.deal_id, contact=primary).exists():
                role.delete()
            else:
                DealContact.objects.filter(pk=role.pk).update(contact=primary)
        Task.objects.filter(contact=duplicate).update(contact=primary)
        Note.objects.filter(contact=duplicate).update(contact=primary)
        if duplicate.first_touch_at and (
            not primary.first_touch_at or duplicate.first_touch_at < primary.first_touch_at
        ):
            for name in (
                "first_source",
                "first_utm_source",
                "first_utm_medium",
                "first_utm_campaign",
                "first_touch_at",
            ):
                setattr(primary, name, getattr(duplicate, name))
        # The furthest funnel stage wins: merging never silently demotes a customer.
        if duplicate.lifecycle_stage in LIFECYCLE_ORDER and (
            primary.lifecycle_stage not in LIFECYCLE_ORDER
            or LIFECYCLE_ORDER.index(duplicate.lifecycle_stage) > LIFECYCLE_ORDER.index(primary.lifecycle_stage)
        ):
            filled["lifecycle_stage"] = (primary.lifecycle_stage, duplicate.lifecycle_stage)
            primary.lifecycle_stage = duplicate.lifecycle_stage
        kwargs = {"contact": primary}
    else:
        Contact.objects.filter(company=duplicate).update(company=primary)
        Deal.objects.filter(company=duplicate).update(company=primary)
        Touchpoint.objects.filter(company=duplicate).update(company=primary)
        Task.objects.filter(company=duplicate).update(company=primary)
        Note.objects.filter(company=duplicate).update(company=primary)
        kwargs = {"company": primary}
    snapshot = {"merged_id": duplicate.pk, "merged": str(duplicate)}
    if model is Contact:
        snapshot["email"] = duplicate.email
    else:
        snapshot["domain"] = duplicate.domain
    duplicate.delete()
    _set_keys(primary)
    primary.version += 1
    primary.updated_at = timezone.now()
    primary.save()
    record_touch(
        kind=Kind.MERGED,
        team=Team.SYSTEM,
        actor=actor,
        summary=f"Merged {snapshot['merged']} into this record",
        details=snapshot,
        **kwargs,
    )
    record_audit(
        actor=actor, action="merge", obj=primary, origin=origin, changes={**filled, "merged": (snapshot, None)}
    )
    if model is Contact:
        publish("contact.merged", primary, {**record_dict(primary), "merged_id": snapshot["merged_id"]})
    return primary


@transaction.atomic
def delete_record(obj, *, actor, origin: str = Origin.UI) -> None:
    access.require(actor, "delete", obj)
    record_audit(actor=actor, action="delete", obj=obj, origin=origin)
    publish(f"{obj._meta.model_name}.deleted", obj, {"id": obj.pk, "object": obj._meta.model_name})
    obj.delete()
