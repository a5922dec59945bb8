"""Create/edit forms for contacts, companies and deals, plus the custom property admin form.

The record forms only shape input: built-in fields, one field per custom property and a hidden version. The
services do the real validation and the write; their ValidationError messages come back onto the fields
through RecordForm.add_service_errors, so a failed submit shows every typed value with its error beside it.
"""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core import signing
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q
from django.urls import reverse_lazy

from smarketing.accounts.models import User
from smarketing.crm.models import (
    Company,
    ConsentStatus,
    Contact,
    Deal,
    LeadStatus,
    LegalBasis,
    LifecycleStage,
    ObjectType,
    PropertyDefinition,
    Stage,
)
from smarketing.crm.normalize import normalize_domain, normalize_email
from smarketing.crm.properties import clean_value
from smarketing.crm.queries import BadValue, company_label, resolve_company, resolve_contact
from smarketing.crm.services import EDITABLE_FIELDS
from smarketing.crm.services.common import assignable_users
from smarketing.crm.sources import SOURCES

CUSTOM_PREFIX = "cp_"
EMPTY = [("", "—")]


def lookup_input(kind: str, list_id: str, placeholder: str) -> forms.TextInput:
    """A text box whose suggestions (a <datalist>) refresh through htmx as the user types."""
    return forms.TextInput(
        attrs={
            "list": list_id,
            "autocomplete": "off",
            "placeholder": placeholder,
            "hx-get": reverse_lazy("record_lookup", args=[kind]),
            "hx-trigger": "input changed delay:200ms",
            "hx-target": f"#{list_id}",
            "hx-swap": "innerHTML",
            "hx-sync": "this:replace",
        }
    )


class CompanyField(forms.CharField):
    """A company typed as "Name (domain)", a domain, an exact name or "#id"; cleans to a Company or None.

    A <select> of every company would be megabytes at scale, so the box suggests matches as you type instead.
    """

    def __init__(self, *, list_id: str = "company-options", **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Company")
        kwargs.setdefault("widget", lookup_input("company", list_id, "Start typing a name or domain"))
        super().__init__(max_length=300, **kwargs)

    def prepare_value(self, value):
        return company_label(value) if isinstance(value, Company) else value

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return resolve_company(value)
        except BadValue as exc:
            raise ValidationError(f"{exc}.")

    def has_changed(self, initial, data):
        return (self.prepare_value(initial) or "") != (data or "").strip()


class ContactEmailField(forms.CharField):
    """A contact picked by email address, with suggestions; cleans to a Contact or None."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", lookup_input("contact", "contact-options", "Email of an existing contact"))
        super().__init__(max_length=254, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return resolve_contact(value)
        except BadValue as exc:
            raise ValidationError(f"{exc}.")


def owner_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True), required=False, empty_label="Unassigned", label="Owner"
    )


def custom_field(definition: PropertyDefinition, current=None) -> forms.Field:
    """A typed form field for one custom property. Values are validated again by crm.properties."""
    kind = definition.type
    # "Required" binds the people filling in these forms; a yes/no cannot be required (it would mean "yes").
    required = definition.required and kind != PropertyDefinition.Type.BOOLEAN
    common = {"label": definition.label, "required": required, "help_text": definition.help_text}
    if kind == PropertyDefinition.Type.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), max_length=40, **common)
    if kind == PropertyDefinition.Type.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), max_length=10, **common)
    if kind == PropertyDefinition.Type.BOOLEAN:
        return forms.BooleanField(**common)
    if kind == PropertyDefinition.Type.CHOICE:
        choices = [str(c) for c in definition.choices]
        if current not in (None, "") and str(current) not in choices:
            choices.append(str(current))  # a value whose choice was since removed stays editable
        return forms.ChoiceField(choices=EMPTY + [(c, c) for c in choices], **common)
    return forms.CharField(max_length=2000, **common)


def _custom_initial(definition: PropertyDefinition, value):
    if value is None:
        return None
    if definition.type == PropertyDefinition.Type.BOOLEAN:
        return bool(value)
    return str(value)  # text boxes hold strings; an int 7 and a typed "7" must compare as unchanged


ORIGINAL_SALT = "crm.edit.original"


def field_text(field: forms.Field, value) -> str:
    """A value as the text its input holds, so opened, submitted and stored values compare equal when equal."""
    if isinstance(field, forms.BooleanField):
        return "on" if value not in (None, False, "", "False", "false", "0", "off") else ""
    if value is None:
        return ""
    if isinstance(field, CompanyField):
        return str(field.prepare_value(value)).strip()
    if hasattr(value, "pk"):
        return str(value.pk)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def field_display(field: forms.Field, text: str) -> str:
    """The label a person reads for a value's text (a choice's label, a user's name)."""
    if isinstance(field, forms.BooleanField):
        return "Yes" if text else "No"
    if not text:
        return "—"
    if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        for value, label in _flat_choices(field.choices):
            if str(value) == text:
                return str(label)
    return text


def _flat_choices(choices):
    for value, label in choices:
        if isinstance(label, list | tuple):
            yield from label
        else:
            yield value, label


def rebase_after_conflict(form: "RecordForm", current) -> tuple["RecordForm", list[dict], list[str]]:
    """After a version conflict: a form on the stored record holding this user's changes over the stored values.

    Fields only someone else changed now show their stored value (saving again will not undo their edit);
    fields this user changed keep the typed value. Returns the new form, the fields both changed
    differently (label, yours, stored) and the labels of fields only the other person changed.
    """
    fresh = type(form)(instance=current, definitions=form.definitions)
    stored = fresh.initial_texts()
    mine = form.submitted_texts()
    original = form.original_texts()
    data = form.data.copy()
    conflicts, theirs = [], []
    for name, field in fresh._compared():
        if name not in mine:
            continue
        user_changed = original is None or name not in original or mine[name] != original[name]
        other_changed = original is not None and stored.get(name) != original.get(name)
        if user_changed:
            if mine[name] != stored.get(name, "") and (other_changed or original is None):
                conflicts.append(
                    {
                        "name": name,
                        "label": fresh[name].label,
                        "yours": field_display(field, mine[name]),
                        "stored": field_display(field, stored.get(name, "")),
                    }
                )
            continue
        if other_changed:
            theirs.append(str(fresh[name].label))
        if isinstance(field, forms.BooleanField):
            if stored.get(name):
                data[name] = "on"
            else:
                data.pop(name, None)
        else:
            data[name] = stored.get(name, "")
    data["version"] = str(current.version)
    data["original"] = fresh.initial["original"]
    return type(form)(data, instance=current, definitions=form.definitions), conflicts, theirs


class RecordForm(forms.Form):
    """Built-in fields plus one field per custom property; `service_data()` is what the services receive."""

    model: type = None
    object_type: str = ""
    create_only: tuple[str, ...] = ()
    extra_fields: tuple[str, ...] = ()  # form-only fields that are not record fields

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    # Edit only: the values the form was opened with (signed), so a version conflict can tell the fields this
    # user changed from the ones someone else changed meanwhile.
    original = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, data=None, *, instance=None, definitions=None, **kwargs):
        self.instance = instance
        if definitions is None:
            definitions = list(PropertyDefinition.objects.filter(object_type=self.object_type))
        self.definitions = definitions
        initial = kwargs.pop("initial", None) or {}
        if instance is not None:
            initial = {**self.initial_from(instance), **initial}
        super().__init__(data, initial=initial, **kwargs)
        # Assignable users (the services' rule), plus the current owner even if deactivated, so an unrelated
        # edit does not fail on it.
        condition = Q(pk__in=assignable_users().values("pk"))
        if instance is not None and instance.owner_id:
            condition |= Q(pk=instance.owner_id)
        self.fields["owner"].queryset = User.objects.filter(condition).order_by("full_name", "email")
        if instance is None:
            del self.fields["version"]
            del self.fields["original"]
        else:
            self.fields["version"].required = True
            for name in self.create_only:
                self.fields.pop(name, None)
        custom = instance.custom if instance is not None else {}
        for definition in definitions:
            self.fields[CUSTOM_PREFIX + definition.key] = custom_field(definition, custom.get(definition.key))
        if instance is not None:
            self.initial["original"] = signing.dumps(self.initial_texts(), salt=ORIGINAL_SALT, compress=True)

    def initial_from(self, obj) -> dict:
        initial = {"version": obj.version, "owner": obj.owner_id}
        for name in self.base_fields:
            if name in ("version", "owner") or name in self.extra_fields:
                continue
            value = getattr(obj, name, None)
            initial[name] = value if not hasattr(value, "quantize") else str(value)
        for definition in self.definitions:
            initial[CUSTOM_PREFIX + definition.key] = _custom_initial(definition, obj.custom.get(definition.key))
        return initial

    # --- texts of values, for comparing what was opened, what was submitted and what is stored now

    def _compared(self):
        return [(n, f) for n, f in self.fields.items() if n not in ("version", "original", *self.extra_fields)]

    def initial_texts(self) -> dict[str, str]:
        return {n: field_text(f, self.get_initial_for_field(f, n)) for n, f in self._compared()}

    def submitted_texts(self) -> dict[str, str]:
        return {
            n: field_text(f, f.widget.value_from_datadict(self.data, self.files, self.add_prefix(n)))
            for n, f in self._compared()
        }

    def original_texts(self) -> dict[str, str] | None:
        try:
            value = signing.loads(self.data.get("original", ""), salt=ORIGINAL_SALT)
        except signing.BadSignature:
            return None
        return value if isinstance(value, dict) else None

    @property
    def builtin_fields(self) -> list:
        return [self[n] for n, f in self.fields.items() if not n.startswith(CUSTOM_PREFIX) and not f.widget.is_hidden]

    @property
    def custom_fields(self) -> list:
        return [self[n] for n in self.fields if n.startswith(CUSTOM_PREFIX)]

    def clean(self):
        data = super().clean()
        for name in ("amount", "annual_revenue"):
            if data.get(name):
                try:
                    Decimal(data[name].replace(",", "").strip())
                except InvalidOperation:
                    self.add_error(name, f"{data[name]!r} is not a number.")  # the service checks the range
        # Check custom values here too (with the same rules and messages as the services), so one submit
        # shows every error at once instead of one batch after another.
        for definition in self.definitions:
            name = CUSTOM_PREFIX + definition.key
            if name in data and name in self.fields:
                try:
                    clean_value(definition, data[name])
                except ValidationError as exc:
                    self.add_error(name, exc.messages[0])
        return data

    def service_data(self, *, changed_only: bool = False) -> dict:
        """Record fields for services.create_*/update_record; on edit, only what the user changed."""
        allowed = set(EDITABLE_FIELDS[self.model])
        names = self.changed_data if changed_only else list(self.fields)
        data, custom = {}, {}
        for name in names:
            if name not in self.cleaned_data:
                continue
            value = self.cleaned_data[name]
            if name.startswith(CUSTOM_PREFIX):
                if changed_only or value not in (None, "", False):
                    custom[name[len(CUSTOM_PREFIX) :]] = value
            elif name in allowed:
                data[name] = value
        if custom:
            data["custom"] = custom
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put a service's ValidationError on the fields it names (custom keys map to their cp_ fields)."""
        if not hasattr(exc, "error_dict"):
            for message in exc.messages:
                self.add_error(None, message)
            return
        for key, messages in exc.message_dict.items():
            if key in self.fields and key != "version":
                target = key
            elif CUSTOM_PREFIX + key in self.fields:
                target = CUSTOM_PREFIX + key
            else:
                target = None
            for message in messages:
                prefix = "" if target or key == NON_FIELD_ERRORS else f"{key}: "
                self.add_error(target, prefix + message)


class ContactForm(RecordForm):
    model = Contact
    object_type = ObjectType.CONTACT
    create_only = ("first_source",)
    extra_fields = ("lifecycle_reason",)

    email = forms.CharField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    title = forms.CharField(max_length=150, required=False, label="Job title")
    phone = forms.CharField(max_length=50, required=False, widget=forms.TextInput(attrs={"type": "tel"}))
    company = CompanyField()
    owner = owner_field()
    lifecycle_stage = forms.ChoiceField(choices=LifecycleStage.choices, initial=LifecycleStage.LEAD)
    lifecycle_reason = forms.CharField(
        max_length=300,
        required=False,
        label="Reason for a stage change",
        help_text="Needed when moving a contact back to an earlier stage.",
    )
    lead_status = forms.ChoiceField(choices=EMPTY + LeadStatus.choices, required=False)
    first_source = forms.ChoiceField(choices=EMPTY + SOURCES, required=False, label="Original source")
    consent_status = forms.ChoiceField(
        choices=ConsentStatus.choices, initial=ConsentStatus.UNKNOWN, label="Marketing email consent"
    )
    consent_basis = forms.ChoiceField(choices=LegalBasis.choices, required=False, label="Legal basis")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is None:
            self.fields.pop("lifecycle_reason")

    def clean_email(self):
        # The database's unique index is the real guard (the service maps its error); this check only lets
        # the duplicate show up together with the other errors of the same submit.
        email = self.cleaned_data["email"]
        try:
            normalized = normalize_email(email)
        except ValidationError:
            return email  # the service words the invalid-address message
        duplicate = Contact.objects.filter(email=normalized)
        if self.instance is not None:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise ValidationError("A contact with this email already exists.")
        return email


class CompanyForm(RecordForm):
    model = Company
    object_type = ObjectType.COMPANY

    name = forms.CharField(max_length=200)
    domain = forms.CharField(max_length=253, required=False, help_text="e.g. acme.com; used to find duplicates.")
    industry = forms.CharField(max_length=100, required=False)
    employees = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)
    annual_revenue = forms.CharField(
        max_length=30, required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    country = forms.CharField(max_length=100, required=False)
    owner = owner_field()

    def clean_domain(self):
        # As with contact emails: the unique index is the guard, this lets the error come with the others.
        domain = self.cleaned_data["domain"]
        normalized = normalize_domain(domain)  # raises the service's own "not a valid domain" message
        duplicate = Company.objects.filter(domain=normalized) if normalized else Company.objects.none()
        if self.instance is not None:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise ValidationError("A company with this domain already exists.")
        return domain


class DealForm(RecordForm):
    model = Deal
    object_type = ObjectType.DEAL
    create_only = ("stage", "primary_contact")
    extra_fields = ("stage", "primary_contact")

    name = forms.CharField(max_length=200)
    stage = forms.ChoiceField(label="Pipeline stage")
    company = CompanyField()
    primary_contact = ContactEmailField(label="Primary contact")
    amount = forms.CharField(max_length=30, required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    currency = forms.CharField(max_length=3, initial="USD", widget=forms.TextInput(attrs={"size": 4}))
    close_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    owner = owner_field()
    source = forms.ChoiceField(choices=EMPTY + SOURCES, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "stage" in self.fields:
            stages = list(Stage.objects.select_related("pipeline").order_by("pipeline__position", "position"))
            self._stages = {str(s.pk): s for s in stages}
            groups: dict[str, list] = {}
            for s in stages:
                groups.setdefault(s.pipeline.name, []).append((str(s.pk), s.name))
            self.fields["stage"].choices = list(groups.items()) if len(groups) > 1 else next(iter(groups.values()), [])
            if not self.is_bound and not self.initial.get("stage"):
                default = next((s for s in stages if s.pipeline.is_default), stages[0] if stages else None)
                self.initial["stage"] = str(default.pk) if default else None

    def clean_stage(self):
        return self._stages[self.cleaned_data["stage"]]


FORMS = {"contact": ContactForm, "company": CompanyForm, "deal": DealForm}


# ---------------------------------------------------------------------------------------------------------
# Custom property definitions (admin)


class PropertyDefinitionForm(forms.Form):
    """Define a custom property; the rules themselves live in services.define_property."""

    choices_text = forms.CharField(
        required=False,
        label="Choices",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line; only for the Choice type.",
    )
    # A plain text box: the model's SlugField would allow capitals and "-", which the service refuses.
    key = forms.CharField(
        max_length=50,
        help_text=(
            "Suggested from the label. Lowercase letters, digits and _, starting with a letter. "
            "Used in imports and the API."
        ),
    )

    object_type = forms.ChoiceField(label="Record type", choices=ObjectType.choices)
    # settings.js suggests the key from the label as it is typed (until the key is edited by hand).
    label = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"data-slug-source": "id_key"}))
    type = forms.ChoiceField(choices=PropertyDefinition.Type.choices)
    position = forms.IntegerField(label="Order", min_value=0, max_value=32767, initial=0, required=False)
    help_text = forms.CharField(
        label="Help", max_length=300, required=False, help_text="Shown under the field on record forms."
    )
    required = forms.BooleanField(
        required=False, help_text="People must fill it in on the record forms (imports and the API may leave it empty)."
    )
    field_order = ["object_type", "label", "key", "type", "position", "choices_text", "help_text", "required"]

    def clean(self):
        data = super().clean()
        lines = [line.strip() for line in (data.get("choices_text") or "").splitlines()]
        choices = list(dict.fromkeys(line for line in lines if line))
        data["choices"] = choices if data.get("type") == PropertyDefinition.Type.CHOICE else []
        if data.get("type") == PropertyDefinition.Type.CHOICE and not choices:
            self.add_error("choices_text", "A choice property needs at least one choice.")
        return data

    def add_service_errors(self, exc) -> None:
        for name, messages_ in exc.message_dict.items():
            field = "choices_text" if name == "choices" else name
            self.add_error(field if field in self.fields else None, messages_)
