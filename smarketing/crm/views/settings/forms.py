"""Forms of the CRM settings pages. They shape input; the services in crm/services/ hold the rules."""

from django import forms

from smarketing.accounts.forms import ServiceErrorsMixin
from smarketing.accounts.models import Team as UserTeam
from smarketing.crm.models import LifecycleStage, PropertyDefinition, Stage
from smarketing.crm.services.common import assignable_users
from smarketing.crm.services.pipelines import exit_criteria_choices


class PipelineForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100)
    is_default = forms.BooleanField(
        label="Default pipeline", required=False, help_text="New deals and the pipeline board start here."
    )


class StageForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100)
    probability = forms.IntegerField(
        label="Win probability (%)", min_value=0, max_value=100, initial=0, help_text="Weights the forecast."
    )
    team = forms.ChoiceField(label="Responsible team", choices=Stage.Team.choices, initial=Stage.Team.SALES)
    target_days = forms.IntegerField(
        label="Target days in stage",
        min_value=1,
        max_value=3650,
        required=False,
        help_text="Deals in the stage longer than this show as stalled. Empty: no target.",
    )
    outcome = forms.ChoiceField(
        choices=Stage.Outcome.choices,
        initial=Stage.Outcome.OPEN,
        help_text="Won and lost stages close the deals that enter them.",
    )
    exit_criteria = forms.MultipleChoiceField(
        label="Exit criteria",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What a deal must have before it may move on from this stage (moving to lost is always allowed).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exit_criteria"].choices = exit_criteria_choices()


class StageRemoveForm(forms.Form):
    move_to = forms.ModelChoiceField(queryset=Stage.objects.none(), label="Move its deals to", empty_label=None)

    def __init__(self, *args, stage: Stage, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["move_to"].queryset = stage.pipeline.stages.exclude(pk=stage.pk).order_by("position")


class LifecycleForm(forms.Form):
    """One description and owning team per lifecycle stage."""

    def __init__(self, *args, settings: dict, **kwargs):
        super().__init__(*args, **kwargs)
        teams = UserTeam.objects.all()
        self.rows = []
        for stage, label in LifecycleStage.choices:
            setting = settings[stage]
            self.fields[f"description_{stage}"] = forms.CharField(
                label=f"What {label} means",
                required=False,
                max_length=2000,
                initial=setting.description,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"team_{stage}"] = forms.ModelChoiceField(
                queryset=teams, required=False, empty_label="No team", initial=setting.team_id, label="Owning team"
            )
            self.rows.append((label, self[f"description_{stage}"], self[f"team_{stage}"]))

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            stage: {"description": data[f"description_{stage}"], "team": data[f"team_{stage}"]}
            for stage in LifecycleStage.values
        }


class PropertyEditForm(ServiceErrorsMixin, forms.Form):
    """What may change on a property once records hold it: not its record type, key or type."""

    label = forms.CharField(max_length=100)
    help_text = forms.CharField(label="Help", max_length=300, required=False, help_text="Shown under the field.")
    choices_text = forms.CharField(
        label="Choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One per line. A choice you remove stays on the records that hold it.",
    )
    required = forms.BooleanField(
        required=False, help_text="People must fill it in on the record forms (imports and the API may leave it empty)."
    )
    position = forms.IntegerField(label="Order", min_value=0, max_value=32767, required=False)

    def __init__(self, *args, definition: PropertyDefinition, **kwargs):
        initial = {
            "label": definition.label,
            "help_text": definition.help_text,
            "choices_text": "\n".join(definition.choices),
            "required": definition.required,
            "position": definition.position,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.definition = definition
        if definition.type != PropertyDefinition.Type.CHOICE:
            del self.fields["choices_text"]
        if definition.type == PropertyDefinition.Type.BOOLEAN:
            del self.fields["required"]

    def add_service_errors(self, exc) -> None:
        if hasattr(exc, "error_dict") and "choices" in exc.error_dict:
            exc.error_dict["choices_text"] = exc.error_dict.pop("choices")
        super().add_service_errors(exc)

    def service_data(self) -> dict:
        data = self.cleaned_data
        result = {"label": data["label"], "help_text": data["help_text"], "position": data.get("position") or 0}
        if "choices_text" in self.fields:
            lines = [line.strip() for line in (data.get("choices_text") or "").splitlines()]
            result["choices"] = list(dict.fromkeys(line for line in lines if line))
        if "required" in self.fields:
            result["required"] = data["required"]
        return result


class DeactivateForm(forms.Form):
    KEEP = "keep"
    reassign_to = forms.ChoiceField(label="Their records and open tasks")

    def __init__(self, *args, person, **kwargs):
        super().__init__(*args, **kwargs)
        others = assignable_users().exclude(pk=person.pk).order_by("full_name", "email")
        self.users = {str(u.pk): u for u in others}
        self.fields["reassign_to"].choices = [
            (self.KEEP, f"Keep them owned by {person} (shown as deactivated; reassign later)"),
            ("Reassign to", [(pk, f"Reassign to {u}") for pk, u in self.users.items()]),
        ]

    def target(self):
        return self.users.get(self.cleaned_data["reassign_to"])
