"""The library's forms: an asset (its file or URL, tags, reviewers, expiry), a new version, a review, a comment.

They only parse and validate what people type; every write goes through content/services.py, whose
ValidationErrors land on the fields they name (ServiceErrorsMixin).
"""

from django import forms

from smarketing.accounts.forms import ServiceErrorsMixin
from smarketing.accounts.models import Role, User
from smarketing.content import files, queries
from smarketing.content.models import AssetType, Persona, Product, Review

# What the file picker offers first (the server sniffs the bytes whatever the name says).
ACCEPT = ",".join(ext for file_type in files.TYPES.values() for ext in file_type.extensions[:1])


def upload_help() -> str:
    return f"{files.ACCEPTED}. At most {files.max_bytes() // (1024 * 1024)} MB."


class StageChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.pipeline.name} · {obj.name}" if self.several else obj.name


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


def _people():
    return User.objects.filter(is_active=True).exclude(role=Role.READ_ONLY).order_by("full_name", "email")


class AssetForm(ServiceErrorsMixin, forms.Form):
    """A new asset (with its first file or URL) or an asset's details (`creating=False`: no file fields)."""

    title = forms.CharField(max_length=200)
    asset_type = forms.ChoiceField(label="Type", choices=[("", "Choose…"), *AssetType.choices])
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
        help_text="What it is and when it helps: sales reads this before sending it.",
    )
    upload = forms.FileField(
        label="File",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    url = forms.URLField(
        label="Or a web address",
        required=False,
        max_length=1000,
        assume_scheme="https",
        help_text="For a video, a blog post or a page that lives elsewhere.",
    )
    note = forms.CharField(label="Version note", max_length=500, required=False, help_text="Optional.")
    deal_stages = StageChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Deal stages"
    )
    funnel_stages = forms.MultipleChoiceField(
        choices=(), required=False, widget=forms.CheckboxSelectMultiple, label="Funnel stages"
    )
    personas = forms.ModelMultipleChoiceField(
        queryset=Persona.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    industry = forms.CharField(max_length=100, required=False, help_text="Leave empty when it suits every industry.")
    language = forms.CharField(max_length=10, initial="en", help_text="A code such as en, de or pt-br.")
    reviewers = UserChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Who approves it. Without reviewers, admins do.",
    )
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Its owner is reminded a week before.",
    )
    owner = OwnerChoiceField(queryset=None, required=False, empty_label=None)
    allow_self_approval = forms.BooleanField(
        label="Let the owner approve it themselves",
        required=False,
        help_text="Only admins see this. Use it where nobody else can review.",
    )

    def __init__(
        self, *args, creating: bool = True, user=None, can_self_approve: bool = False, owner_id=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        from smarketing.crm.models import Stage

        self.creating = creating
        stages = Stage.objects.select_related("pipeline").order_by("pipeline__position", "pipeline_id", "position")
        self.fields["deal_stages"].queryset = stages
        self.fields["deal_stages"].several = len({s.pipeline_id for s in stages}) > 1
        self.fields["funnel_stages"].choices = queries.funnel_choices()
        # The owner is no reviewer of their own asset (only an admin's allow_self_approval lets them decide).
        self.fields["reviewers"].queryset = _people().exclude(pk=owner_id or (user.pk if user else None))
        self.fields["owner"].queryset = _people()
        if creating:
            self.fields["upload"].help_text = upload_help()
        else:
            for name in ("upload", "url", "note"):
                del self.fields[name]
        if not can_self_approve:
            del self.fields["allow_self_approval"]
        if user is None or user.role not in (Role.ADMIN, Role.MANAGER):
            # Members own what they add; admins and managers may give an asset to someone (services check whom).
            del self.fields["owner"]
        elif creating and not self.is_bound:
            self.initial.setdefault("owner", user.pk)

    def clean(self):
        data = super().clean()
        if self.creating and not self.errors:
            if data.get("upload") and data.get("url"):
                self.add_error("url", "Upload a file or give a web address, not both.")
            elif not data.get("upload") and not data.get("url"):
                self.add_error("upload", "Upload a file or give a web address.")
        return data

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        for name in ("upload", "url", "note"):
            data.pop(name, None)
        if "owner" in data and data["owner"] is None:
            data.pop("owner")
        return data

    @classmethod
    def initial_for(cls, asset) -> dict:
        return {
            "title": asset.title,
            "asset_type": asset.asset_type,
            "description": asset.description,
            "deal_stages": list(asset.deal_stages.values_list("pk", flat=True)),
            "funnel_stages": list(asset.funnel_stages.values_list("lifecycle_stage", flat=True)),
            "personas": list(asset.personas.values_list("pk", flat=True)),
            "products": list(asset.products.values_list("pk", flat=True)),
            "industry": asset.industry,
            "language": asset.language,
            "reviewers": list(asset.reviewers.values_list("pk", flat=True)),
            "expires_on": asset.expires_on,
            "owner": asset.owner_id,
            "allow_self_approval": asset.allow_self_approval,
        }


class VersionForm(ServiceErrorsMixin, forms.Form):
    """A new version: a file or a URL, and what changed."""

    upload = forms.FileField(label="File", required=False, widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["upload"].help_text = upload_help()

    url = forms.URLField(label="Or a web address", required=False, max_length=1000, assume_scheme="https")
    note = forms.CharField(
        label="What changed", max_length=500, required=False, help_text="Reviewers and the history show it."
    )

    def clean(self):
        data = super().clean()
        if not self.errors:
            if data.get("upload") and data.get("url"):
                self.add_error("url", "Upload a file or give a web address, not both.")
            elif not data.get("upload") and not data.get("url"):
                self.add_error("upload", "Upload a file or give a web address.")
        return data


class ReviewForm(ServiceErrorsMixin, forms.Form):
    decision = forms.ChoiceField(choices=Review.Decision.choices)
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class CommentForm(ServiceErrorsMixin, forms.Form):
    body = forms.CharField(label="Comment", max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
