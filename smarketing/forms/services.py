"""Every write of the form builder: create, update, publish, archive and duplicate a form. Each checks access,
validates, writes in a transaction and records an audit entry.

The submission path (a visitor filling in a published form) is the capture part's (`forms/capture.py`); it keeps
`Form.submission_count` and `last_submission_at`, which the lists show instead of counting submissions.
"""

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from smarketing.accounts.models import User
from smarketing.campaigns.models import Campaign
from smarketing.core.audit import actor_user, record_audit
from smarketing.core.models import Origin
from smarketing.crm.models import LifecycleStage
from smarketing.forms import access, fields
from smarketing.forms.models import Form, FormStatus
from smarketing.forms.starters import STARTERS

MAX_ORIGINS = 20
MAX_NOTIFY = 20
MAX_FILL_SECONDS = 600

# The settings a builder may change, with the longest text each takes (None: not text).
TEXTS = {
    "name": 200,
    "title": 200,
    "intro": 5000,
    "submit_label": 60,
    "success_message": 500,
    "consent_text": 1000,
}
FLAGS = ("consent_enabled", "consent_required", "double_opt_in")
EDITABLE = (
    *TEXTS,
    *FLAGS,
    "fields",
    "redirect_url",
    "allowed_origins",
    "min_fill_seconds",
    "campaign",
    "default_owner",
    "lifecycle_stage",
    "notify_users",
)


def _text(value, name: str, limit: int, errors: dict) -> str:
    text = value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())
    if len(text) > limit:
        errors[name] = f"At most {limit} characters."
    return text[:limit]


def clean_redirect_url(value) -> str:
    """A user-set redirect after a submission: an absolute http(s) URL, or blank."""
    url = (value or "").strip() if isinstance(value, str) else ""
    if not url:
        return ""
    if len(url) > 500:
        raise ValidationError("At most 500 characters.")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError("Enter a full web address starting with https:// (or http://).") from None
    return url


def clean_origins(value) -> str:
    """The origins allowed to embed and post the form, one per line, normalised ("https://www.example.com")."""
    lines = value.splitlines() if isinstance(value, str) else list(value or [])
    origins, bad = [], []
    for raw in lines:
        line = str(raw).strip().rstrip("/")
        if not line:
            continue
        parts = urlsplit(line)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or "@" in line:
            bad.append(line[:80])
            continue
        try:
            port = parts.port
        except ValueError:
            bad.append(line[:80])
            continue
        origin = f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")
        if origin not in origins:
            origins.append(origin)
    if bad:
        raise ValidationError(f"Not an origin: {bad[0]} (write it as https://www.example.com, without a path).")
    if len(origins) > MAX_ORIGINS:
        raise ValidationError(f"At most {MAX_ORIGINS} origins.")
    return "\n".join(origins)


def _user(value, errors: dict, name: str) -> User | None:
    if value in (None, ""):
        return None
    pk = value.pk if isinstance(value, User) else value
    user = User.objects.filter(pk=pk, is_active=True).first() if str(pk).isdigit() else None
    if user is None:
        errors[name] = "Choose an active user."
    return user


def _clean(form: Form, data: dict) -> dict:
    """The changed settings of `data`, validated; ValidationError maps each bad setting to its message."""
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
    errors: dict[str, Any] = {}
    clean: dict[str, Any] = {}
    for name, limit in TEXTS.items():
        if name in data:
            clean[name] = _text(data[name], name, limit, errors)
    if "name" in clean and not clean["name"]:
        errors["name"] = "Give the form a name."
    if "submit_label" in clean and not clean["submit_label"]:
        clean["submit_label"] = "Submit"
    for name in FLAGS:
        if name in data:
            clean[name] = bool(data[name])
    if "fields" in data:
        try:
            clean["fields"] = fields.validate_definition(data["fields"])
        except ValidationError as exc:
            errors["fields"] = exc.messages
    if "redirect_url" in data:
        try:
            clean["redirect_url"] = clean_redirect_url(data["redirect_url"])
        except ValidationError as exc:
            errors["redirect_url"] = exc.messages[0]
    if "allowed_origins" in data:
        try:
            clean["allowed_origins"] = clean_origins(data["allowed_origins"])
        except ValidationError as exc:
            errors["allowed_origins"] = exc.messages[0]
    if "min_fill_seconds" in data:
        raw = data["min_fill_seconds"]
        try:
            seconds = int(raw if raw not in (None, "") else 0)
        except (TypeError, ValueError):
            seconds = -1
        if not 0 <= seconds <= MAX_FILL_SECONDS:
            errors["min_fill_seconds"] = f"Enter a number of seconds from 0 to {MAX_FILL_SECONDS}."
        clean["min_fill_seconds"] = max(seconds, 0)
    if "lifecycle_stage" in data:
        stage = data["lifecycle_stage"] or ""
        if stage and stage not in LifecycleStage.values:
            errors["lifecycle_stage"] = "Choose a lifecycle stage."
        clean["lifecycle_stage"] = stage if stage in LifecycleStage.values else ""
    if "campaign" in data:
        value = data["campaign"]
        pk = value.pk if isinstance(value, Campaign) else value
        campaign = Campaign.objects.filter(pk=pk).first() if pk not in (None, "") and str(pk).isdigit() else None
        if pk not in (None, "") and campaign is None:
            errors["campaign"] = "Choose a campaign."
        clean["campaign"] = campaign
    if "default_owner" in data:
        clean["default_owner"] = _user(data["default_owner"], errors, "default_owner")
    if "notify_users" in data:
        wanted = [u.pk if isinstance(u, User) else u for u in data["notify_users"] or []]
        ids = sorted({int(pk) for pk in wanted if str(pk).isdigit()})
        users = list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk")) if ids else []
        if len(users) != len(wanted) or len(ids) != len(wanted):
            errors["notify_users"] = "Choose active users (each once)."
        elif len(users) > MAX_NOTIFY:
            errors["notify_users"] = f"At most {MAX_NOTIFY} people."
        clean["notify_users"] = users
    consent_enabled = clean.get("consent_enabled", form.consent_enabled)
    consent_text = clean.get("consent_text", form.consent_text)
    if consent_enabled and not consent_text and "consent_text" not in errors:
        errors["consent_text"] = "Write the exact words the person agrees to; they are stored with each consent."
    if not consent_enabled and clean.get("consent_required"):
        clean["consent_required"] = False
    if errors:
        raise ValidationError(errors)
    return clean


def _comparable(form: Form, name: str):
    if name == "notify_users":
        return [u.pk for u in form.notify_users.all()] if form.pk else []
    if name in ("campaign", "default_owner"):
        return getattr(form, f"{name}_id")
    return getattr(form, name)


def _audit_value(name: str, value):
    if name == "fields":
        return [f["key"] for f in value]  # the outline; the definition itself is on the form
    if name == "notify_users":
        return [u.pk if isinstance(u, User) else u for u in value]
    return value


def _apply(form: Form, clean: dict) -> dict:
    """Set the changed values on `form` (saved by the caller); returns the audit's {name: (old, new)}."""
    changes = {}
    for name, new in clean.items():
        old = _comparable(form, name)
        comparable_new = [u.pk for u in new] if name == "notify_users" else getattr(new, "pk", new)
        if old == comparable_new:
            continue
        changes[name] = (_audit_value(name, old), _audit_value(name, new))
        if name != "notify_users":
            setattr(form, name, new)
    return changes


@transaction.atomic
def create_form(actor, *, name: str, starter: str = "blank", origin: str = Origin.UI, **settings) -> Form:
    """A new draft form, from a starter's fields (see `starters.py`) unless `fields` are given."""
    access.require_build(actor)
    if starter not in STARTERS:
        raise ValidationError({"starter": "Choose a starting point."})
    base = {k: v for k, v in STARTERS[starter].items() if k != "label"}
    data = {**base, **settings, "name": name}
    form = Form(owner=actor_user(actor))
    clean = _clean(form, data)
    notify = clean.pop("notify_users", [])
    for key, value in clean.items():
        setattr(form, key, value)
    form.save()
    if notify:
        form.notify_users.set(notify)
    record_audit(actor=actor, action="create", obj=form, origin=origin)
    return form


@transaction.atomic
def update_form(actor, form: Form, *, origin: str = Origin.UI, **data) -> Form:
    """Change any of EDITABLE; a live form takes the change at once (its public id and URLs stay)."""
    access.require_build(actor)
    form = Form.objects.select_for_update().get(pk=form.pk)
    clean = _clean(form, data)
    changes = _apply(form, clean)
    if not changes:
        return form
    form.updated_at = timezone.now()
    form.save()
    if "notify_users" in changes:
        form.notify_users.set(clean["notify_users"])
    record_audit(actor=actor, action="update", obj=form, changes=changes, origin=origin)
    return form


def _set_status(actor, form: Form, status: str, action: str, origin: str) -> Form:
    form = Form.objects.select_for_update().get(pk=form.pk)
    if form.status == status:
        return form
    old = form.status
    form.status = status
    form.updated_at = timezone.now()
    form.save(update_fields=["status", "updated_at"])
    record_audit(actor=actor, action=action, obj=form, changes={"status": (old, status)}, origin=origin)
    return form


@transaction.atomic
def publish_form(actor, form: Form, *, origin: str = Origin.UI) -> Form:
    """Draft (or archived) → live: the hosted page, the embed and the POST endpoint start answering."""
    access.require_build(actor)
    try:
        fields.validate_definition(form.fields)
    except ValidationError as exc:
        raise ValidationError({"fields": exc.messages}) from None
    if form.consent_enabled and not form.consent_text.strip():
        raise ValidationError({"consent_text": "Write the consent wording before publishing."})
    return _set_status(actor, form, FormStatus.LIVE, "publish", origin)


@transaction.atomic
def archive_form(actor, form: Form, *, origin: str = Origin.UI) -> Form:
    """Live or draft → archived: the public endpoints stop accepting; the submissions stay."""
    access.require_build(actor)
    return _set_status(actor, form, FormStatus.ARCHIVED, "archive", origin)


@transaction.atomic
def duplicate_form(actor, form: Form, *, origin: str = Origin.UI) -> Form:
    """A draft copy with the same fields and settings, a new public id and no submissions."""
    access.require_build(actor)
    copy = Form(
        name=f"Copy of {form.name}"[:200],
        owner=actor_user(actor),
        **{name: getattr(form, name) for name in EDITABLE if name not in ("name", "notify_users")},
    )
    copy.save()
    copy.notify_users.set(form.notify_users.all())
    record_audit(actor=actor, action="duplicate", obj=copy, changes={"copied_from": (None, form.pk)}, origin=origin)
    return copy
