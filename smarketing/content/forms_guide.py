"""The messaging guide's forms: a message (its text, tags and reviewers) and the guide's filter bar.

They only parse what people type; every write goes through content/guide.py, whose ValidationErrors land on the
fields they name (ServiceErrorsMixin). The review and comment forms are the library's (forms_library).
"""

from django import forms

from smarketing.accounts.forms import ServiceErrorsMixin
from smarketing.accounts.models import Role, User
from smarketing.content import queries
from smarketing.content.forms_library import StageChoiceField, UserChoiceField
from smarketing.content.models import MessageKind, Persona, Product


def _reviewer_choices():
    return User.objects.filter(is_active=True).exclude(role=Role.READ_ONLY).order_by("full_name", "email")


class MessageForm(ServiceErrorsMixin, forms.Form):
    """A new message or a message's changes (a new title or body becomes a new revision)."""

    kind = forms.ChoiceField(choices=[("", "Choose…"), *MessageKind.choices])
    title = forms.CharField(
        max_length=200, help_text="The headline, the objection as a prospect says it, or the competitor's name."
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=5000,
        help_text="Plain text. Each line becomes a bullet in the stage panel.",
    )
    competitor = forms.CharField(max_length=100, required=False, help_text="For competitor notes.")
    deal_stages = StageChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Deal stages",
        help_text="Leave all stages empty when it holds at every stage.",
    )
    lifecycle_stages = forms.MultipleChoiceField(
        choices=(), required=False, widget=forms.CheckboxSelectMultiple, label="Funnel stages"
    )
    personas = forms.ModelMultipleChoiceField(
        queryset=Persona.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty when it suits every persona.",
    )
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    reviewers = UserChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Who approves it. Without reviewers, admins do.",
    )
    position = forms.IntegerField(
        min_value=0, max_value=32767, initial=0, required=False, help_text="Lower numbers come first."
    )
    allow_self_approval = forms.BooleanField(
        label="Let the owner approve it themselves",
        required=False,
        help_text="Only admins see this. Use it where nobody else can review.",
    )

    def __init__(self, *args, can_self_approve: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        from smarketing.crm.models import Stage

        stages = Stage.objects.select_related("pipeline").order_by("pipeline__position", "pipeline_id", "position")
        self.fields["deal_stages"].queryset = stages
        self.fields["deal_stages"].several = len({s.pipeline_id for s in stages}) > 1
        self.fields["lifecycle_stages"].choices = queries.funnel_choices()
        self.fields["reviewers"].queryset = _reviewer_choices()
        if not can_self_approve:
            del self.fields["allow_self_approval"]

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["position"] = data.get("position") or 0
        return data

    @classmethod
    def initial_for(cls, message) -> dict:
        return {
            "kind": message.kind,
            "title": message.title,
            "body": message.body,
            "competitor": message.competitor,
            "deal_stages": list(message.deal_stages.values_list("pk", flat=True)),
            "lifecycle_stages": list(message.lifecycle_stages or []),
            "personas": list(message.personas.values_list("pk", flat=True)),
            "products": list(message.products.values_list("pk", flat=True)),
            "reviewers": list(message.reviewers.values_list("pk", flat=True)),
            "position": message.position,
            "allow_self_approval": message.allow_self_approval,
        }
