"""Creating, updating, reassigning and deleting contacts, companies and deals' fields."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.crm import access, payloads, summaries
from smarketing.crm import kinds as Kind
from smarketing.crm.models import (
    Company,
    ConsentStatus,
    Contact,
    LifecycleChange,
    LifecycleStage,
)
from smarketing.crm.normalize import company_search_key, contact_search_keys, normalize_domain, normalize_email
from smarketing.crm.properties import clean_custom
from smarketing.crm.services.common import (
    EDITABLE_FIELDS,
    NOT_ASSIGNABLE,
    OBJECT_TYPES,
    ConflictError,
    _fk_id,
    _user,
    assignable_users,
)
from smarketing.crm.services.lifecycle import change_lifecycle_stage
from smarketing.timeline.models import Team
from smarketing.timeline.services import record_touch


def set_search_keys(obj) -> None:
    """Keep the lowercased search/sort keys in step with the names."""
    if isinstance(obj, Contact):
        obj.name_key, obj.last_key = contact_search_keys(obj.first_name, obj.last_name, obj.email)
    elif isinstance(obj, Company):
        obj.name_key = company_search_key(obj.name)


def _prepare(model, data: dict, *, current_owner_id=None) -> dict:
    """Validate and normalize incoming field values; unknown fields are an error.

    Choice fields take only their choices (empty only where the field may be blank); an owner must be
    assignable unless it is the record's current one (an unrelated edit must not fail on a deactivated owner).
    """
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
    if clean.get("time_zone") and not _known_zone(clean["time_zone"]):
        errors["time_zone"] = "Use a time zone name such as Europe/Berlin."
    if "lifecycle_stage" in clean and clean["lifecycle_stage"] not in LifecycleStage.values:
        errors["lifecycle_stage"] = f"{clean['lifecycle_stage']!r} is not a lifecycle stage."
    for name, value in clean.items():
        field = model._meta.get_field(name) if name not in ("custom", "lifecycle_stage") else None
        if field is not None and field.choices and not field.is_relation and name not in errors:
            if value not in {v for v, _ in field.flatchoices} and not (value == "" and field.blank):
                errors[name] = f"{value!r} is not one of the choices."
    owner_id = _fk_id(clean.get("owner"))
    if owner_id is not None and owner_id != current_owner_id:
        if not assignable_users().filter(pk=owner_id).exists():
            errors["owner"] = NOT_ASSIGNABLE
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


def _known_zone(name) -> bool:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def consent_source(actor, origin: str) -> str:
    """Where a consent status set without a stated source came from: the channel and the person."""
    email = getattr(actor, "email", "") or ""
    channels = {Origin.UI: "Set in the CRM", Origin.API: "Set through the API"}
    where = channels.get(origin) or f"Set by {Origin(origin).label.lower()}"
    return (f"{where} by {email}" if email else where)[:200]


def apply_consent_evidence(clean: dict, *, actor, origin: str, current_status: str | None = None) -> None:
    """Consent is evidence: a status set or changed (to other than unknown) records when and where it was set,
    unless the writer states them. Every writer goes through here: the UI, the API, the importer."""
    status = clean.get("consent_status")
    if status is None or status == ConsentStatus.UNKNOWN or status == current_status:
        return
    if not clean.get("consent_at"):
        clean["consent_at"] = timezone.now()
    if not str(clean.get("consent_source") or "").strip():
        clean["consent_source"] = consent_source(actor, origin)


def _unique_error(model, exc: IntegrityError) -> ValidationError:
    text = str(exc).lower()
    if model is Contact and "email" in text:
        return ValidationError({"email": "A contact with this email already exists."})
    if model is Company and "domain" in text:
        return ValidationError({"domain": "A company with this domain already exists."})
    if "external_id" in text:
        return ValidationError({"external_id": "Another record already has this external id."})
    return ValidationError("This record conflicts with an existing one.")


def _create(model, *, actor, data: dict, origin: str):
    access.require_write(actor)
    clean = _prepare(model, data)
    if model is Contact:
        apply_consent_evidence(clean, actor=actor, origin=origin)
    custom = clean.pop("custom", None) or {}
    clean["custom"] = clean_custom(OBJECT_TYPES[model], custom) if custom else {}
    obj = model(**clean)
    set_search_keys(obj)
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
        summary=summaries.contact_created(contact.lifecycle_stage),
        source=contact.first_source,
        details={"origin": origin},
    )
    record_audit(actor=actor, action="create", obj=contact, origin=origin)
    publish("contact.created", contact, payloads.record(contact))
    return contact


@transaction.atomic
def create_company(*, actor, data: dict, origin: str = Origin.UI) -> Company:
    if not str(data.get("name") or "").strip():
        raise ValidationError({"name": "This field is required."})
    company = _create(Company, actor=actor, data=data, origin=origin)
    record_audit(actor=actor, action="create", obj=company, origin=origin)
    publish("company.created", company, payloads.record(company))
    return company


@transaction.atomic
def update_record(
    obj,
    *,
    actor,
    data: dict,
    expected_version: int | None = None,
    origin: str = Origin.UI,
    lifecycle_reason: str = "",
):
    """Apply the fields in `data` that differ from the stored ones.

    Only changed columns are written (an edit of the phone number does not overwrite a concurrent edit of
    the title). With `expected_version`, any concurrent edit since the caller read the record is refused
    with ConflictError, so nothing is silently overwritten.
    """
    model = type(obj)
    access.require(actor, "edit", obj)
    clean = _prepare(model, data, current_owner_id=obj.owner_id)
    if "owner" in clean and _fk_id(clean["owner"]) != obj.owner_id:
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
    if model is Contact:
        apply_consent_evidence(clean, actor=actor, origin=origin, current_status=current.consent_status)
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
        set_search_keys(current)
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
            payloads.updated(payloads.record(current), changes),
        )
        if "owner" in changes:
            _touch_owner_change(current, actor, changes["owner"][1])
    if new_stage is not None and new_stage != current.lifecycle_stage:
        # `obj`, not `current`: the right to move the stage is judged on the record as the caller found it,
        # before an owner change in this same edit handed it to someone else.
        change_lifecycle_stage(
            obj,
            new_stage,
            actor=actor,
            origin=origin,
            reason=lifecycle_reason,
            allow_backward=bool(lifecycle_reason.strip()),
        )
        current.refresh_from_db()
    return current


def _touch_owner_change(obj, actor, owner_id) -> None:
    from smarketing.accounts.models import User

    owner = User.objects.filter(pk=owner_id).first() if owner_id else None
    summary = summaries.owner_changed(str(owner) if owner else None)
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
    allowed = queryset.for_user(actor, "reassign")
    owner_id = _fk_id(owner)
    changed = 0
    for obj in allowed.exclude(owner_id=owner_id).select_for_update()[:5000]:
        update_record(obj, actor=actor, data={"owner": owner_id}, origin=origin)
        changed += 1
    return changed


@transaction.atomic
def delete_record(obj, *, actor, origin: str = Origin.UI) -> None:
    access.require(actor, "delete", obj)
    record_audit(actor=actor, action="delete", obj=obj, origin=origin)
    publish(f"{obj._meta.model_name}.deleted", obj, {"id": obj.pk, "object": obj._meta.model_name})
    obj.delete()
