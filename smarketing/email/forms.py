"""The campaign form: one page in steps (details → audience → content → sender and schedule), checked by the
services. Templates keep their own forms (email/template_forms.py, tpl's part)."""

from django import forms
from django.utils import timezone

from smarketing.email.models import EmailTemplate, ScheduleKind, Topic
from smarketing.mail.models import SenderIdentity
from smarketing.segments.models import ContactList, Segment


class CampaignForm(forms.Form):
    # 1. Details
    name = forms.CharField(max_length=200, help_text="For you and the reports; recipients never see it.")
    goal = forms.CharField(
        max_length=300, required=False, help_text="What should this email achieve? E.g. “Book 40 demo calls”."
    )
    # 2. Audience
    include_segments = forms.ModelMultipleChoiceField(
        queryset=Segment.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, label="Segments"
    )
    include_lists = forms.ModelMultipleChoiceField(
        queryset=ContactList.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, label="Lists"
    )
    exclude_segments = forms.ModelMultipleChoiceField(
        queryset=Segment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Leave out members of these segments",
    )
    exclude_lists = forms.ModelMultipleChoiceField(
        queryset=ContactList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Leave out members of these lists",
    )
    requires_consent = forms.BooleanField(
        required=False,
        initial=True,
        label="Only contacts who gave consent",
        help_text="Untick only when you rely on legitimate interest; withdrawn consent always excludes a contact.",
    )
    topic = forms.ModelChoiceField(
        queryset=Topic.objects.all(),
        required=False,
        empty_label="No topic",
        help_text="Contacts who left this topic in their preferences are skipped.",
    )
    # 3. Content
    template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.none(), required=False, empty_label="Pick an email"
    )
    subject = forms.CharField(
        max_length=300, required=False, help_text='Merge fields work here: {{ contact.first_name|default:"there" }}'
    )
    preheader = forms.CharField(max_length=300, required=False, help_text="The preview line after the subject.")
    subject_b = forms.CharField(
        max_length=300, required=False, label="Subject B (A/B test)", help_text="Leave empty for no A/B test."
    )
    ab_test_percent = forms.IntegerField(
        min_value=0, max_value=100, initial=0, label="Test share (%)", help_text="Half gets A, half B; the rest waits."
    )
    ab_window_hours = forms.IntegerField(min_value=1, max_value=168, initial=4, label="Test window (hours)")
    ab_metric = forms.ChoiceField(choices=[("opens", "Most opens"), ("clicks", "Most clicks")], label="Winner by")
    # 4. Sender and schedule
    sender = forms.ModelChoiceField(
        queryset=SenderIdentity.objects.all(), required=False, empty_label="Choose a sender"
    )
    schedule_kind = forms.ChoiceField(choices=ScheduleKind.choices, widget=forms.RadioSelect, label="When")
    scheduled_at = forms.DateTimeField(
        required=False,
        label="Date and time",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In your time zone. For local time, only the day counts.",
    )
    local_time = forms.TimeField(
        required=False,
        label="Local time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Each recipient gets it at this time in their time zone (yours when theirs is unknown).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        segments = Segment.objects.filter(archived=False).only("id", "name")
        lists = ContactList.objects.filter(archived=False).only("id", "name")
        for name in ("include_segments", "exclude_segments"):
            self.fields[name].queryset = segments
        for name in ("include_lists", "exclude_lists"):
            self.fields[name].queryset = lists
        self.fields["template"].queryset = EmailTemplate.objects.filter(archived=False).only("id", "name")
        if not self.is_bound and "sender" not in self.initial:
            default = SenderIdentity.objects.filter(is_default=True).first()
            if default:
                self.initial["sender"] = default.pk
        self.initial.setdefault("schedule_kind", ScheduleKind.NOW)
        self.initial.setdefault("ab_metric", "opens")

    def clean(self):
        data = super().clean()
        at = data.get("scheduled_at")
        if at is not None and timezone.is_naive(at):
            data["scheduled_at"] = timezone.make_aware(at)
        return data

    def service_fields(self) -> dict:
        """The cleaned data as the services take it."""
        data = dict(self.cleaned_data)
        data.pop("name", None)
        return data

    @classmethod
    def initial_from(cls, ec) -> dict:
        return {
            "name": ec.campaign.name,
            **{
                name: getattr(ec, name)
                for name in (
                    "goal requires_consent topic template subject preheader subject_b ab_test_percent ab_window_hours "
                    "ab_metric sender schedule_kind local_time"
                ).split()
            },
            "scheduled_at": timezone.localtime(ec.scheduled_at) if ec.scheduled_at else None,
            "include_segments": list(ec.include_segments.values_list("pk", flat=True)),
            "include_lists": list(ec.include_lists.values_list("pk", flat=True)),
            "exclude_segments": list(ec.exclude_segments.values_list("pk", flat=True)),
            "exclude_lists": list(ec.exclude_lists.values_list("pk", flat=True)),
        }


class SendTestForm(forms.Form):
    to = forms.EmailField(label="Send a test to")
