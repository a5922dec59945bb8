"""The sales process: the marketing → sales handoff, its SLA, routing and the reasons sales gives back."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from smarketing.process.hours import DEFAULT_WEEK, BusinessCalendar


class SlaPolicy(models.Model):
    """A sales team's promise: the first touch on a new MQL within N business hours of its working week."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="sla_policy")
    first_touch_hours = models.PositiveSmallIntegerField(default=4)
    time_zone = models.CharField(max_length=64, default="UTC")
    # accounts.hours' shape ({"mon": [["09:00", "17:00"]], ...}); empty means Monday to Friday, 9 to 5.
    working_hours = models.JSONField(default=dict, blank=True)
    holiday_country = models.CharField(max_length=3, blank=True)  # ISO code for the `holidays` package
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    extra_holidays = models.JSONField(default=list, blank=True)  # ["2026-12-24", ...]: the company's own days
    remind_before_minutes = models.PositiveSmallIntegerField(default=60)
    # Who hears of a breach; nobody set means the team's managers.
    escalate_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return f"{self.team}: first touch within {self.first_touch_hours} business hours"

    def calendar(self) -> BusinessCalendar:
        from datetime import date

        extra = set()
        for value in self.extra_holidays or []:
            try:
                extra.add(date.fromisoformat(str(value)))
            except ValueError:
                continue
        return BusinessCalendar(
            time_zone=self.time_zone or "UTC",
            week=self.working_hours or dict(DEFAULT_WEEK),
            country=self.holiday_country,
            subdivision=self.holiday_subdivision,
            extra_holidays=frozenset(extra),
        )


class RoutingMode(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    WEIGHTED = "weighted", "Weighted round robin"
    RULES = "rules", "Rules, then round robin"


class RoutingSettings(models.Model):
    """How new MQLs find a rep (one row): the receiving team, the mode, the rules, the account owner first."""

    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    mode = models.CharField(max_length=20, choices=RoutingMode.choices, default=RoutingMode.ROUND_ROBIN)
    # [{"field": "company.country", "value": "DE", "owner": <user id>}], first match wins (see routing.RULE_FIELDS)
    rules = models.JSONField(default=list, blank=True)
    prefer_account_owner = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Routing: {self.get_mode_display()}"


class RepRouting(models.Model):
    """A rep's place in routing: their share (weight 0 takes no new leads), when they are away, their last lead."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="routing")
    weight = models.PositiveSmallIntegerField(default=1)
    away_from = models.DateField(null=True, blank=True)
    away_until = models.DateField(null=True, blank=True)  # inclusive
    assigned_count = models.PositiveIntegerField(default=0)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user}: weight {self.weight}"

    def is_away(self, day) -> bool:
        if self.away_from is None and self.away_until is None:
            return False
        start = self.away_from or day
        end = self.away_until or day
        return start <= day <= end


class RejectionReason(models.Model):
    """Why sales hands a lead back (admin-defined, ordered); retired reasons stay on the handoffs that used them."""

    label = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


class HandoffStatus(models.TextChoices):
    OPEN = "open", "Waiting for sales"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    CLOSED = "closed", "Closed"  # the lead left MQL another way (moved back by hand, say) before a decision


class Handoff(models.Model):
    """One MQL handed to sales: who has it, the SLA clock's facts, and how sales decided."""

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="handoffs")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs"
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=HandoffStatus.choices, default=HandoffStatus.OPEN)
    # The clock, as facts: it starts when the contact became an MQL (the lifecycle change's time, not when a job
    # saw it), is due N business hours later (fixed at the start), and stops at the first sales touch or the
    # decision, whichever is first. A breach is recorded at due_at, whenever the job notices it.
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    remind_at = models.DateTimeField()
    first_touch_at = models.DateTimeField(null=True, blank=True)
    first_touch_kind = models.CharField(max_length=30, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    routed_how = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.ForeignKey(RejectionReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason_text = models.CharField(max_length=500, blank=True)
    # What produced the lead, frozen at the start so the reports do not change when the contact does.
    source = models.CharField(max_length=50, blank=True)
    campaign = models.ForeignKey("campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL)
    form_id = models.PositiveIntegerField(null=True, blank=True)
    form_name = models.CharField(max_length=200, blank=True)
    score = models.SmallIntegerField(default=0)

    class Meta:
        constraints = [
            # A contact waits in one queue at a time: a second MQL event (a replay, a race) cannot open another.
            models.UniqueConstraint(
                fields=["contact"], condition=models.Q(status="open"), name="handoff_one_open_per_contact"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="handoff_owner_idx"),
            # The SLA job's scans (breaches, reminders) read the open rows only, however many are decided.
            models.Index(fields=["due_at"], condition=models.Q(status="open"), name="handoff_open_due_idx"),
            models.Index(fields=["team", "status", "due_at"], name="handoff_team_idx"),
            models.Index(fields=["started_at"], name="handoff_started_idx"),
            models.Index(fields=["contact", "-started_at"], name="handoff_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"Handoff of contact {self.contact_id} ({self.status})"

    @property
    def handled_at(self):
        """When the clock stopped: the first sales touch or the decision, whichever came first."""
        moments = [m for m in (self.first_touch_at, self.decided_at) if m is not None]
        return min(moments) if moments else None

    @property
    def is_open(self) -> bool:
        return self.status == HandoffStatus.OPEN


class HandoffReassignment(models.Model):
    """A handoff moved from one rep to another, by whom and why."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="reassignments")
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300)

    def __str__(self) -> str:
        return f"Handoff {self.handoff_id}: {self.from_owner_id} → {self.to_owner_id}"


class MqlCommitment(models.Model):
    """Marketing's side of the contract for a month: this many MQLs, and at least this share accepted."""

    month = models.DateField(unique=True)  # the first day of the month
    mql_target = models.PositiveIntegerField()
    acceptance_target = models.PositiveSmallIntegerField(default=60)  # percent

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%B %Y}: {self.mql_target} MQLs, {self.acceptance_target}% accepted"


class StageGovernance(models.Model):
    """What one step of the journey asks of its team: a named role, a checklist, required records, a playbook.

    One row per pipeline stage (`stage`) or per lifecycle stage (`lifecycle_stage`). The responsible team and
    the target time stay where they were (crm's Stage.team and target_days, LifecycleStageSetting.team).
    """

    stage = models.OneToOneField(
        "crm.Stage", null=True, blank=True, on_delete=models.CASCADE, related_name="governance"
    )
    lifecycle_stage = models.CharField(max_length=20, null=True, blank=True, unique=True)
    role = models.CharField(max_length=60, blank=True)  # "SDR", "Account executive"
    checklist = models.JSONField(default=list, blank=True)  # yes/no questions the rep answers before leaving
    required_records = models.JSONField(default=list, blank=True)  # see governance.RECORD_CHOICES
    playbook = models.TextField(max_length=5000, blank=True)  # what to do, talking points, links
    # [{"title": "Send the proposal", "kind": "todo", "due_days": 2}]: created for the owner on entry
    playbook_tasks = models.JSONField(default=list, blank=True)
    # A lifecycle stage's target time in it (a pipeline stage's is crm's Stage.target_days).
    target_days = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stage__isnull=False, lifecycle_stage__isnull=True)
                | models.Q(stage__isnull=True, lifecycle_stage__isnull=False),
                name="governance_one_step",
            )
        ]

    def __str__(self) -> str:
        return f"Governance of {self.stage or self.lifecycle_stage}"


class ChecklistAnswer(models.Model):
    """A rep's "yes" to one checklist question of a deal's stage (deleted when the answer is taken back)."""

    deal = models.ForeignKey("crm.Deal", on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey("crm.Stage", on_delete=models.CASCADE, related_name="+")
    question = models.CharField(max_length=200)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "stage", "question"], name="checklist_answer_once"),
        ]

    def __str__(self) -> str:
        return f"Deal {self.deal_id}: {self.question}"


class MailCapture(models.Model):
    """A user's sales email capture: their secret BCC logging address and, optionally, one IMAP folder to sync.

    The IMAP password is stored encrypted (Fernet, with a key derived from SECRET_KEY: process/capture/secret.py).
    Only the chosen folder or label is read, never the whole mailbox.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_capture")
    bcc_token = models.CharField(max_length=24, unique=True)
    create_contacts = models.BooleanField(default=False)  # unknown addresses become contacts (off by default)
    imap_enabled = models.BooleanField(default=False)
    imap_host = models.CharField(max_length=253, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_ssl = models.BooleanField(default=True)
    imap_username = models.CharField(max_length=254, blank=True)
    imap_password = models.TextField(blank=True)  # encrypted
    imap_folder = models.CharField(max_length=200, default="CRM")
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_last_uid = models.BigIntegerField(default=0)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"Email capture of {self.user}"


class CapturedEmail(models.Model):
    """One sales email captured (BCC or IMAP), once per user and Message-ID; its touches are on the timelines."""

    class Via(models.TextChoices):
        BCC = "bcc", "BCC address"
        IMAP = "imap", "Mailbox sync"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    via = models.CharField(max_length=4, choices=Via.choices)
    message_id = models.CharField(max_length=255)
    direction = models.CharField(max_length=8)  # "sent" (by the user) or "received" (from a contact)
    subject = models.CharField(max_length=300, blank=True)
    thread = models.CharField(max_length=255, blank=True)  # the first Message-ID of References, else its own
    sent_at = models.DateTimeField()
    contacts = models.PositiveSmallIntegerField(default=0)  # how many contacts' timelines it landed on
    campaign = models.ForeignKey("campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL)
    captured_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # The same message BCC'd twice, synced twice or both: captured once.
            models.UniqueConstraint(fields=["user", "message_id"], name="captured_email_once"),
        ]
        indexes = [models.Index(fields=["user", "-captured_at"], name="captured_user_idx")]

    def __str__(self) -> str:
        return f"{self.subject or '(no subject)'} ({self.via})"


class ContactChecklistAnswer(models.Model):
    """A "yes" to one checklist question of the lifecycle stage a contact is in (taken back: deleted)."""

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    lifecycle_stage = models.CharField(max_length=20)
    question = models.CharField(max_length=200)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "lifecycle_stage", "question"], name="contact_checklist_answer_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Contact {self.contact_id} ({self.lifecycle_stage}): {self.question}"
