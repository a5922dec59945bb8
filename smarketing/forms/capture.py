"""The one submission path of a form: the hosted page, the embed, the plain POST endpoint and the API call it.

    result = submit(form, raw_values, meta=SubmitMeta(ip=..., token=..., visitor_id=...))
    result.ok, result.errors ({field key: [message]}), result.submission, result.contact

What a submission does, in one transaction:
- only the form's own fields are read (anything else is dropped), each value through `fields.clean_value`;
- spam (honeypot, missing/forged token, too fast: forms/spam.py) is stored with its reason and does nothing else;
- the contact is found by email (or, with no email, by the visitor's stitched contact) and created or updated
  through crm.services as `system_actor(Origin.FORM)`; only non-empty values are written, so a blank never
  overwrites what is known; company fields find (by domain, then name) or create the company and link it, and
  fill only the company's empty fields (one visitor's spelling does not rename a company others work);
- new contacts get the form's default owner and lifecycle stage, first-touch attribution from the UTM values;
  every submission sets the last-touch attribution;
- consent, when ticked, is recorded with its exact wording on the submission and as evidence on the contact;
  with double opt-in the submission is `pending`, a confirmation email leaves through the transactional
  stream and the consent counts only once the signed link is followed (`confirm()`);
- a `form_submitted` touch, the `form.submitted` event (workflows and webhooks read it), the form's counters,
  the notifications of the form's watchers, and the visitor stitched to the contact (forms/tracking.py).

Errors shown to visitors are fixed sentences: nothing a visitor typed is ever echoed back in a message.
"""

import logging
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from html import escape
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.campaigns.models import Campaign
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.crm import services as crm
from smarketing.crm.models import Company, ConsentStatus, Contact, LegalBasis, LifecycleStage
from smarketing.crm.normalize import company_search_key, normalize_domain
from smarketing.crm.services.common import assignable_users
from smarketing.crm.sources import normalize_source
from smarketing.forms import fields as schema
from smarketing.forms import kinds, payloads, spam
from smarketing.forms.models import Form, FormSubmission, PageView, SubmissionStatus, Visitor
from smarketing.timeline.models import Team
from smarketing.timeline.services import record_touch

logger = logging.getLogger(__name__)

CONSENT = "_consent"  # the consent checkbox's input name (field keys start with a letter: no clash)
ALL = "__all__"
REQUIRED = "This field is required."
NOT_ACCEPTED = "This value was not accepted; please check it."
STALE = "This form was open for a long time; please send it again."
CONSENT_NEEDED = "Please tick this box to continue."
NOT_SAVED = "We could not save your answers; please check them and send again."
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
VISITOR_RE = re.compile(r"[A-Za-z0-9_-]{16,32}")
CONFIRM_MAX_AGE = timedelta(days=30)
_CONFIRM_SALT = "smarketing.forms.confirm"


@dataclass
class SubmitMeta:
    """Everything about a submission that is not a field value."""

    ip: str | None = None
    user_agent: str = ""
    page_url: str = ""
    referrer: str = ""
    utm: dict = field(default_factory=dict)
    visitor_id: str = ""  # the first-party visitor cookie (smk_vid) or a posted visitor_id
    token: str = ""  # the fill token of the rendering (forms/spam.py)
    honeypot: str = ""
    consent: bool = False
    trusted: bool = False  # an authenticated API client: no fill-time or honeypot check


@dataclass
class SubmitResult:
    submission: FormSubmission | None = None
    contact: Contact | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    stale: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def spam(self) -> bool:
        return self.submission is not None and self.submission.status == SubmissionStatus.SPAM


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value is False


def _target(maps_to: str) -> tuple[str, bool, str]:
    """("contact" | "company" | "", custom?, name) of a field's `maps_to`."""
    if not maps_to:
        return "", False, ""
    obj, _, rest = maps_to.partition(".")
    if rest.startswith("custom."):
        return obj, True, rest[len("custom.") :]
    return obj, False, rest


def _known(contact: Contact | None, field_: schema.Field) -> bool:
    """Does the contact already hold a value where this field writes?"""
    if contact is None:
        return False
    obj, custom, name = _target(field_.maps_to)
    record = contact if obj == "contact" else contact.company if obj == "company" else None
    if record is None:
        return False
    value = record.custom.get(name) if custom else getattr(record, name, None)
    return not _empty(value)


def visible_fields(form: Form, contact: Contact | None) -> list[schema.Field]:
    """The fields to show: all of them, minus progressive fields the recognised contact has already answered."""
    return [f for f in schema.parse(form.fields) if not (f.progressive and f.type != "hidden" and _known(contact, f))]


def visitor_contact(visitor_id: str) -> Contact | None:
    """The contact a visitor cookie was stitched to, if any (for progressive profiling)."""
    if not visitor_id or not VISITOR_RE.fullmatch(visitor_id):
        return None
    visitor = Visitor.objects.filter(public_id=visitor_id, contact__isnull=False).only("contact_id").first()
    if visitor is None:
        return None
    return Contact.objects.select_related("company").filter(pk=visitor.contact_id).first()


# -- cleaning ----------------------------------------------------------------------------------------------


def _clean(fields: list[schema.Field], raw: dict) -> tuple[dict, dict, list[schema.Field]]:
    """(cleaned values by key, errors by key, progressive required fields left empty: decided later)."""
    cleaned, errors, deferred = {}, {}, []
    for f in fields:
        if f.type == "hidden":
            value = f.value if f.source == "static" else raw.get(f.key, "")
            if isinstance(value, list):
                value = value[-1] if value else ""
            cleaned[f.key] = str(value or "").strip()[: f.max_length]
            continue
        loose = replace(f, required=False) if f.progressive and f.required else f
        try:
            value = schema.clean_value(loose, raw.get(f.key))
        except ValidationError as exc:
            errors[f.key] = [exc.messages[0] if exc.messages else NOT_ACCEPTED]
            continue
        if f.progressive and f.required and _empty(value):
            deferred.append(f)
        cleaned[f.key] = value
    return cleaned, errors, deferred


def _split(fields: list[schema.Field], cleaned: dict) -> tuple[dict, dict, dict, dict]:
    """The non-empty values, by target: (contact fields, contact custom, company fields, company custom)."""
    contact, contact_custom, company, company_custom = {}, {}, {}, {}
    for f in fields:
        value = cleaned.get(f.key)
        if _empty(value):
            continue
        obj, custom, name = _target(f.maps_to)
        if isinstance(value, list):
            value = ", ".join(value)
        if obj == "contact":
            (contact_custom if custom else contact)[name] = value if custom else str(value)
        elif obj == "company":
            if custom:
                company_custom[name] = value
            elif name == "employees":
                company[name] = value
            else:
                company[name] = str(value)
    return contact, contact_custom, company, company_custom


def _utm(fields: list[schema.Field], cleaned: dict, meta: SubmitMeta) -> dict:
    """The UTM values: the page URL's query, then what the caller passed (meta.utm), then the hidden fields."""
    utm = utm_of(meta.page_url)
    utm.update({k: str(v)[:200] for k, v in (meta.utm or {}).items() if k in UTM_KEYS and v})
    for f in fields:
        if f.type == "hidden" and f.source in UTM_KEYS and cleaned.get(f.key):
            utm[f.source] = cleaned[f.key][:200]
    return utm


def utm_of(url: str) -> dict:
    """The utm_* parameters of a page URL's query string."""
    try:
        query = parse_qs(urlsplit(url or "").query)
    except ValueError:
        return {}
    return {k: v[-1][:200] for k, v in query.items() if k in UTM_KEYS and v and v[-1]}


def _attribution(form: Form, utm: dict) -> tuple[str, Campaign | None]:
    """(the touch's source, its campaign): the UTM campaign's channel, else a known utm_medium/utm_source, else
    the form's campaign's channel, else "form". The touch's campaign is the form's, else the UTM's."""
    utm_campaign = (
        Campaign.objects.filter(utm_campaign=utm["utm_campaign"]).first() if utm.get("utm_campaign") else None
    )
    campaign = form.campaign or utm_campaign
    if utm_campaign is not None:
        return utm_campaign.channel, campaign
    for key in ("utm_medium", "utm_source"):
        if utm.get(key):
            value, known = normalize_source(utm[key])
            if known:
                return value, campaign
    return (form.campaign.channel if form.campaign else "form"), campaign


# -- the submission ------------------------------------------------------------------------------------------


def submit(form: Form, raw_values: dict, *, meta: SubmitMeta) -> SubmitResult:
    """Submit `raw_values` (field key → value, as posted) to `form`. See the module docstring."""
    fields = schema.parse(form.fields)
    nonce = ""
    if not meta.trusted:
        try:
            reason = spam.check(form, token=meta.token, honeypot=meta.honeypot)
        except spam.StaleToken:
            return SubmitResult(errors={ALL: [STALE]}, stale=True)
        nonce = "" if reason else spam.token_nonce(meta.token)
        if nonce and FormSubmission.objects.filter(fill_nonce=nonce).exists():
            reason = spam.REPLAYED
        if reason:
            return SubmitResult(submission=_store_spam(form, fields, raw_values, meta, reason))
    cleaned, errors, deferred = _clean(fields, raw_values)
    consent = bool(form.consent_enabled and meta.consent)
    if form.consent_enabled and form.consent_required and not consent:
        errors[CONSENT] = [CONSENT_NEEDED]
    email_field = next((f for f in fields if f.maps_to == "contact.email"), None)
    email = cleaned.get(email_field.key) if email_field else ""
    recognised = visitor_contact(meta.visitor_id)
    contact = Contact.objects.select_related("company").filter(email=email).first() if email else recognised
    if contact is None and not email and email_field is not None and email_field.key not in errors:
        errors[email_field.key] = [REQUIRED]
    for f in deferred:
        if not (_known(contact, f) or _known(recognised, f)):
            errors[f.key] = [REQUIRED]
    if errors:
        return SubmitResult(errors=errors)
    try:
        with transaction.atomic():
            return _save(form, fields, cleaned, contact, email, consent, meta, nonce)
    except ValidationError as exc:
        return SubmitResult(errors=_visitor_errors(fields, exc))
    except IntegrityError:
        if nonce and FormSubmission.objects.filter(fill_nonce=nonce).exists():
            # The same token sent twice at once: the other request stored its submission first.
            return SubmitResult(submission=_store_spam(form, fields, raw_values, meta, spam.REPLAYED))
        raise


def _store_spam(form, fields, raw_values, meta, reason) -> FormSubmission:
    # Kept for review, allow-listed and cut short; nothing else happens (no contact, touch, event or count).
    data = {}
    for f in fields:
        value = raw_values.get(f.key)
        if value not in (None, "", []):
            data[f.key] = [str(v)[:200] for v in value][:20] if isinstance(value, list) else str(value)[:500]
    return FormSubmission.objects.create(
        form=form, status=SubmissionStatus.SPAM, spam_reason=reason, data=data, **_meta_columns(meta)
    )


def _meta_columns(meta: SubmitMeta) -> dict:
    return {
        "page_url": (meta.page_url or "")[:2000],
        "referrer": (meta.referrer or "")[:2000],
        "ip": meta.ip or None,
        "user_agent": (meta.user_agent or "")[:500].replace("\x00", ""),
    }


def _save(form, fields, cleaned, contact, email, consent, meta, nonce: str = "") -> SubmitResult:
    actor = system_actor(Origin.FORM)
    now = timezone.now()
    utm = _utm(fields, cleaned, meta)
    source, campaign = _attribution(form, utm)
    values, custom, company_values, company_custom = _split(fields, cleaned)
    company = _company(actor, company_values, company_custom, contact)
    pending = bool(form.double_opt_in and consent)
    submission = FormSubmission.objects.create(
        form=form,
        status=SubmissionStatus.PENDING if pending else SubmissionStatus.ACCEPTED,
        data=cleaned,
        consent_given=consent,
        consent_text=form.consent_text if consent else "",
        utm=utm,
        created_at=now,
        confirm_token=secrets.token_urlsafe(24) if pending else None,
        fill_nonce=nonce or None,
        **_meta_columns(meta),
    )
    evidence = _consent_evidence(form, submission, now) if consent and not pending else {}
    data = {**values, **_last_touch(source, utm, now), **evidence}
    if custom:
        data["custom"] = custom
    if contact is None:
        contact = _create_contact(form, actor, email, data, company, source, utm, now)
    else:
        contact = _update_contact(form, actor, contact, data, company, source, utm, now)
    FormSubmission.objects.filter(pk=submission.pk).update(contact=contact)
    submission.contact = contact
    visitor = _stitch(meta.visitor_id, contact)
    if visitor is not None:
        FormSubmission.objects.filter(pk=submission.pk).update(visitor=visitor)
        submission.visitor = visitor
    record_touch(
        kind=kinds.FORM_SUBMITTED,
        team=Team.MARKETING,
        contact=contact,
        actor=actor,
        campaign=campaign,
        source=source,
        summary=payloads.touch_summary(form.name),
        details=payloads.touch_details(
            form_id=form.pk, form_name=form.name, submission_id=submission.pk, page_url=submission.page_url
        ),
        occurred_at=now,
    )
    publish("form.submitted", submission, payloads.form_submitted(submission, contact))
    if pending:
        _send_confirmation(form, submission, contact)
    _notify_watchers(form, contact, actor)
    # Last, so the form row's lock (every submission of this form updates it) is held as briefly as possible.
    Form.objects.filter(pk=form.pk).update(submission_count=F("submission_count") + 1, last_submission_at=now)
    return SubmitResult(submission=submission, contact=contact)


def _last_touch(source: str, utm: dict, now) -> dict:
    data = {"last_source": source, "last_touch_at": now}
    if utm.get("utm_source") or utm.get("utm_campaign"):
        for key in ("utm_source", "utm_medium", "utm_campaign"):
            if utm.get(key):
                data[f"last_{key}"] = utm[key]
    return data


def _first_touch(source: str, utm: dict, now) -> dict:
    data = {"first_source": source, "first_touch_at": now}
    for key in ("utm_source", "utm_medium", "utm_campaign"):
        if utm.get(key):
            data[f"first_{key}"] = utm[key]
    return data


def _consent_evidence(form: Form, submission: FormSubmission, at, *, confirmed: bool = False) -> dict:
    # The exact wording lives on the submission (up to 1,000 characters); the contact's consent_source (200)
    # names the form and the submission that holds it.
    how = "confirmed by email" if confirmed else "ticked on the form"
    return {
        "consent_status": ConsentStatus.GRANTED,
        "consent_basis": LegalBasis.CONSENT,
        "consent_at": at,
        "consent_source": f"Form “{form.name}”, submission #{submission.pk}, {how}"[:200],
    }


def _create_contact(form, actor, email, data, company, source, utm, now) -> Contact:
    data = {**data, **_first_touch(source, utm, now), "email": email}
    if form.lifecycle_stage in LifecycleStage.values:
        data["lifecycle_stage"] = form.lifecycle_stage
    if form.default_owner_id and assignable_users().filter(pk=form.default_owner_id).exists():
        data["owner"] = form.default_owner
    if company is not None:
        data["company"] = company
    try:
        with transaction.atomic():
            return crm.create_contact(actor=actor, data=data, origin=Origin.FORM, reason=f"Form {form.name}")
    except ValidationError as exc:
        # The same address sent twice at once: the other submission created the contact first; update it.
        existing = Contact.objects.filter(email=email).first()
        if existing is None or "email" not in getattr(exc, "message_dict", {}):
            raise
        data = {k: v for k, v in data.items() if k not in ("email", "lifecycle_stage", "owner")}
        return _update_contact(form, actor, existing, data, company, source, utm, now)


def _update_contact(form, actor, contact, data, company, source, utm, now) -> Contact:
    data = dict(data)
    if not contact.first_source and not contact.first_touch_at:
        data.update(_first_touch(source, utm, now))
    if company is not None and company.pk != contact.company_id:
        data["company"] = company
    if data.get("consent_status") == contact.consent_status == ConsentStatus.GRANTED:
        # Already granted: the earlier evidence stays; this submission keeps its own wording.
        for key in ("consent_status", "consent_basis", "consent_at", "consent_source"):
            data.pop(key, None)
    return crm.update_record(contact, actor=actor, data=data, origin=Origin.FORM)


def _company(actor, values: dict, custom: dict, contact: Contact | None) -> Company | None:
    """The company the submission names: found by domain, then by name, else the contact's own (when only other
    company fields were filled), else created. An existing company only gets its empty fields filled."""
    if not values and not custom:
        return None
    if "employees" in values:
        employees = values["employees"]
        if isinstance(employees, float) and employees.is_integer():
            employees = int(employees)
        if not isinstance(employees, int) or employees < 0:
            raise ValidationError({"employees": "Not a whole number."})
        values["employees"] = employees
    domain = None
    if values.get("domain"):
        try:
            domain = normalize_domain(values["domain"])
        except ValidationError:
            raise ValidationError({"domain": NOT_ACCEPTED}) from None
        values["domain"] = domain
    name = values.get("name", "")
    company = Company.objects.filter(domain=domain).first() if domain else None
    if company is None and name:
        company = Company.objects.filter(name_key=company_search_key(name)).order_by("id").first()
    if company is None and not name and not domain and contact is not None and contact.company_id:
        company = contact.company
    if company is None:
        if not (name or domain):
            return None
        data = {**values, "name": name or domain}
        if custom:
            data["custom"] = custom
        return crm.create_company(actor=actor, data=data, origin=Origin.FORM)
    fill = {k: v for k, v in values.items() if _empty(getattr(company, k))}
    fill_custom = {k: v for k, v in custom.items() if _empty(company.custom.get(k))}
    if fill_custom:
        fill["custom"] = fill_custom
    if fill:
        company = crm.update_record(company, actor=actor, data=fill, origin=Origin.FORM)
    return company


def _stitch(visitor_id: str, contact: Contact) -> Visitor | None:
    """Hand the visitor to web tracking (forms/tracking.py, when installed) and return it, if it exists."""
    if not visitor_id or not VISITOR_RE.fullmatch(visitor_id):
        return None
    try:
        from smarketing.forms import tracking
    except ImportError:
        tracking = None
    if tracking is not None and hasattr(tracking, "stitch"):
        tracking.stitch(visitor_id, contact, by="form")
    return Visitor.objects.filter(public_id=visitor_id).first()


def _notify_watchers(form: Form, contact: Contact, actor) -> None:
    from smarketing.notifications.services import notify

    url = reverse("contact_detail", args=[contact.pk])
    for user in form.notify_users.filter(is_active=True):
        notify(
            user,
            kind=kinds.NOTIFY_FORM_SUBMITTED,
            title=f"New submission of “{form.name}”",
            body=f"{contact} ({contact.email})",
            url=url,
            actor=actor,
            about=contact,
        )


def _visitor_errors(fields: list[schema.Field], exc: ValidationError) -> dict[str, list[str]]:
    """The CRM's refusals as fixed messages on the fields that caused them (its own messages quote the value)."""
    logger.info("form submission refused by the CRM: %s", exc.messages)
    by_name = {}
    for f in fields:
        obj, custom, name = _target(f.maps_to)
        if obj:
            by_name.setdefault(name, f.key)
    errors = {}
    for name in getattr(exc, "error_dict", {}) or {}:
        key = by_name.get(name)
        if key:
            errors[key] = [NOT_ACCEPTED]
    return errors or {ALL: [NOT_SAVED]}


# -- double opt-in ------------------------------------------------------------------------------------------


def confirm_token(submission: FormSubmission) -> str:
    """The signed token of a pending submission's confirmation link."""
    return signing.TimestampSigner(salt=_CONFIRM_SALT).sign(submission.confirm_token)


def confirm_url(submission: FormSubmission) -> str:
    path = reverse("forms_public:confirm", args=[confirm_token(submission)])
    return f"{settings.SMARKETING_BASE_URL}{path}"


def pending_for(token: str) -> FormSubmission | None:
    """The submission a confirmation link names (any status), or None for a forged, expired or unknown one."""
    try:
        raw = signing.TimestampSigner(salt=_CONFIRM_SALT).unsign(token, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return None
    return FormSubmission.objects.select_related("form", "contact").filter(confirm_token=raw).first()


def _send_confirmation(form: Form, submission: FormSubmission, contact: Contact) -> None:
    from smarketing.mail.services import send_transactional

    title = form.title or form.name
    link = confirm_url(submission)
    text = (
        f"Please confirm your request: {title}\n\n"
        f"Follow this link to confirm:\n{link}\n\n"
        "If you did not fill in this form, ignore this email and nothing will happen."
    )
    html = (
        f"<p>Please confirm your request: <strong>{escape(title)}</strong></p>"
        f'<p><a href="{escape(link)}">Confirm</a></p>'
        "<p>If you did not fill in this form, ignore this email and nothing will happen.</p>"
    )
    send_transactional(
        kind="double_opt_in", to_email=contact.email, subject=f"Please confirm: {title}"[:300], text=text, html=html
    )


@transaction.atomic
def confirm(submission: FormSubmission) -> bool:
    """Follow a confirmation link: the pending submission becomes confirmed and its consent counts. Returns
    False when it was not pending (already confirmed: a second click changes nothing)."""
    now = timezone.now()
    claimed = FormSubmission.objects.filter(pk=submission.pk, status=SubmissionStatus.PENDING).update(
        status=SubmissionStatus.CONFIRMED, confirmed_at=now
    )
    if not claimed:
        return False
    submission.refresh_from_db()
    contact = submission.contact
    if contact is not None and submission.consent_given:
        crm.update_record(
            contact,
            actor=system_actor(Origin.FORM),
            data=_consent_evidence(submission.form, submission, now, confirmed=True),
            origin=Origin.FORM,
        )
    return True


def move_on_contact_merge(primary_id: int, duplicate_id: int) -> None:
    """A merged contact's visitors (so their later visits stitch to the survivor), page views and submissions."""
    Visitor.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)
    PageView.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)
    FormSubmission.objects.filter(contact_id=duplicate_id).update(contact_id=primary_id)
