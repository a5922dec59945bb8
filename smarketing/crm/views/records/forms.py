"""The small forms of the record pages: quick actions, the lifecycle change and the deal's stage move."""

import datetime

from django import forms
from django.utils import timezone

from smarketing.accounts.models import User
from smarketing.crm.forms import ContactEmailField
from smarketing.crm.lifecycle_rules import is_backward
from smarketing.crm.models import Contact, Deal, DealContact, LifecycleStage, Stage, Task
from smarketing.crm.services.common import assignable_users

OUTCOMES = {
    "call": ["Connected", "Left voicemail", "No answer", "Busy", "Wrong number"],
    "email": ["Sent", "Replied", "Bounced"],
    "meeting": ["Completed", "Scheduled", "Rescheduled", "No show", "Canceled"],
}
SUMMARY_HINTS = {
    "call": "e.g. Discovery call: budget approved for Q3",
    "email": "e.g. Sent pricing and the security whitepaper",
    "meeting": "e.g. Demo with the IT team",
}


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value):
        if isinstance(value, datetime.datetime):
            return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if timezone.is_aware(value) else value
        return value


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k) for k in OUTCOMES], widget=forms.HiddenInput)
    summary = forms.CharField(max_length=300, label="What happened?")
    outcome = forms.ChoiceField(required=False)
    occurred_at = forms.DateTimeField(
        required=False, label="When", widget=DateTimeLocalInput, help_text="Leave empty for now."
    )
    body = forms.CharField(required=False, max_length=10000, label="Notes", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, activity: str = "call", **kwargs):
        kwargs.setdefault("auto_id", f"id_{activity}_%s")
        super().__init__(*args, **kwargs)
        self.activity = activity
        self.fields["kind"].initial = activity
        self.fields["outcome"].choices = [("", "—")] + [(o, o) for o in OUTCOMES[activity]]
        self.fields["summary"].widget.attrs["placeholder"] = SUMMARY_HINTS[activity]


class NoteForm(forms.Form):
    body = forms.CharField(
        max_length=20000,
        label="Note",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "What should the team know?"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_note_%s")
        super().__init__(*args, **kwargs)


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "e.g. Send the proposal"}))
    kind = forms.ChoiceField(choices=Task.Kind.choices, initial=Task.Kind.TODO, label="Type")
    due_at = forms.DateTimeField(required=False, label="Due", widget=DateTimeLocalInput)
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Me", label="Assign to")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_task_%s")
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_users()


class LifecycleForm(forms.Form):
    lifecycle_stage = forms.ChoiceField(choices=LifecycleStage.choices, label="Move to")
    recycle = forms.BooleanField(required=False, label="Recycle: move back to an earlier stage")
    reason = forms.CharField(max_length=300, required=False, label="Reason")

    def __init__(self, *args, contact: Contact, **kwargs):
        kwargs.setdefault("auto_id", "id_lifecycle_%s")
        super().__init__(*args, **kwargs)
        self.contact = contact
        self.fields["lifecycle_stage"].initial = contact.lifecycle_stage

    def clean(self):
        data = super().clean()
        to_stage, current = data.get("lifecycle_stage"), self.contact.lifecycle_stage
        if not to_stage:
            return data
        if to_stage == current:
            self.add_error("lifecycle_stage", "The contact is already at this stage.")
        elif is_backward(current, to_stage):
            labels = dict(LifecycleStage.choices)
            if not data.get("recycle"):
                self.add_error(
                    "recycle",
                    f"{labels[to_stage]} comes before {labels[current]}. Tick “Recycle” and give a reason "
                    "to move the contact back.",
                )
            elif not (data.get("reason") or "").strip():
                self.add_error("reason", "Say why the contact is recycled.")
        return data


class DealMoveForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), empty_label=None, label="Move to stage")
    reason = forms.CharField(
        max_length=200, required=False, label="Reason", help_text="Required when the deal is lost."
    )

    def __init__(self, *args, deal: Deal, stages=None, **kwargs):
        kwargs.setdefault("auto_id", "id_move_%s")
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(pipeline_id=deal.pipeline_id)
        if stages is not None:
            # The page already loaded the stages: render the options from them instead of querying again.
            self.fields["stage"].choices = [(s.pk, s.name) for s in stages]
        self.fields["stage"].initial = deal.stage_id


class DealContactForm(forms.Form):
    """Put a contact on a deal: picked by email with type-ahead suggestions (crm.forms.ContactEmailField)."""

    # Named "q": the type-ahead (crm lists' record_lookup, /lookup/contact/) reads the typed term from q.
    q = ContactEmailField(required=True, label="Contact")
    role = forms.ChoiceField(choices=DealContact.Role.choices, initial=DealContact.Role.DECISION_MAKER, label="Role")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_deal_contact_%s")
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(list="deal-contact-options", **{"hx-target": "#deal-contact-options"})


class OwnerForm(forms.Form):
    """The record page's quick owner change."""

    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Unassigned")

    def __init__(self, *args, record=None, **kwargs):
        kwargs.setdefault("auto_id", "id_owner_%s")
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_users()
        if record is not None:
            self.fields["owner"].initial = record.owner_id
