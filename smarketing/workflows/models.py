"""Workflows: trigger → conditions → actions, run for each enrolled contact.

A workflow's `definition` is JSON (validated by `workflows/definition.py`); each step has an id that stays the
same when the workflow is edited, so enrollments keep their place:

    {"steps": [
        {"id": "s1", "type": "wait", "params": {"duration": {"days": 2}}},
        {"id": "s2", "type": "send_email", "params": {"template": 7, "sender": 1}},
        {"id": "s3", "type": "if", "params": {"condition": <segments definition>},
         "yes": [{"id": "s4", "type": "change_lifecycle_stage", "params": {"stage": "mql"}}],
         "no":  []}
    ]}

`trigger` is {"type": "form_submitted", "params": {"form": 3}} (see `workflows/triggers.py`); `goal` is a
segments definition, or null: a contact who matches it leaves the workflow early.

Exactly once: each step a contact reaches is one `StepRun` row, unique per (enrollment, step id); the runner
claims due enrollments with a conditional update (lease) and records the step's outcome in the same
transaction as its effect where the effect is in the database, and before its effect where it is not (an email:
through the sender's exactly-once send; a webhook: through the webhooks' delivery with its idempotency key).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class WorkflowStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ARCHIVED = "archived", "Archived"


class Reenrollment(models.TextChoices):
    ONCE = "once", "Only once"
    AFTER = "after", "Again after some days"


class Workflow(models.Model):
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=WorkflowStatus.choices, default=WorkflowStatus.DRAFT)
    trigger = models.JSONField(default=dict, blank=True)
    definition = models.JSONField(default=dict, blank=True)
    goal = models.JSONField(null=True, blank=True)
    reenrollment = models.CharField(max_length=10, choices=Reenrollment.choices, default=Reenrollment.ONCE)
    reenroll_after_days = models.PositiveSmallIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)  # bumped on every edit of trigger/definition/goal
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Counters kept by the engine (no count(*) on page views).
    enrolled_count = models.PositiveIntegerField(default=0)
    active_count = models.PositiveIntegerField(default=0)
    completed_count = models.PositiveIntegerField(default=0)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.name


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"  # due to run its next step at next_run_at
    COMPLETED = "completed", "Completed"
    GOAL_MET = "goal_met", "Reached the goal"
    EXITED = "exited", "Left the workflow"  # unenrolled by a user, the workflow archived, the contact erased
    FAILED = "failed", "Failed"


class Enrollment(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="enrollments")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    sequence = models.PositiveSmallIntegerField(default=1)  # 2 on the second enrollment, and so on
    status = models.CharField(max_length=10, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    current_step = models.CharField(max_length=40, blank=True)  # the step to run next ("" = the first)
    next_run_at = models.DateTimeField(null=True, blank=True)  # null once ended
    # The lease of the worker running it: claimed with a conditional UPDATE, expired leases are taken over.
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    trigger_event = models.BigIntegerField(null=True, blank=True)  # the outbox event id that enrolled it
    enrolled_by_workflow = models.ForeignKey(
        Workflow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # "enroll in another workflow"
    entered_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "contact", "sequence"], name="enrollment_unique_sequence"),
            # At most one live enrollment per contact and workflow.
            models.UniqueConstraint(
                fields=["workflow", "contact"],
                condition=models.Q(status="active"),
                name="enrollment_one_active",
            ),
        ]
        indexes = [
            models.Index(fields=["next_run_at"], condition=models.Q(status="active"), name="enrollment_due_idx"),
            models.Index(fields=["workflow", "status", "-id"], name="enrollment_workflow_idx"),
            models.Index(fields=["contact", "-id"], name="enrollment_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"Contact {self.contact_id} in workflow {self.workflow_id}"


class StepStatus(models.TextChoices):
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"  # e.g. an email step for an unsubscribed contact
    WAITING = "waiting", "Waiting"  # a wait step: done once its time comes
    FAILED = "failed", "Failed"


class StepRun(models.Model):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="step_runs")
    step_id = models.CharField(max_length=40)
    step_type = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=StepStatus.choices)
    summary = models.CharField(max_length=500, blank=True)  # "Sent 'Welcome' to ada@example.com"
    result = models.JSONField(default=dict, blank=True)  # e.g. {"branch": "yes"}, {"task": 12}
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [models.UniqueConstraint(fields=["enrollment", "step_id"], name="steprun_once")]

    def __str__(self) -> str:
        return f"{self.step_type} for enrollment {self.enrollment_id}: {self.status}"


# -- wfengine: the state of the periodic triggers ----------------------------------------------------------------


class TriggerState(models.Model):
    """Where a workflow's periodic trigger stands: the trigger it was primed for and when it last looked."""

    workflow = models.OneToOneField(Workflow, on_delete=models.CASCADE, related_name="trigger_state")
    # The trigger (type and params) the snapshot belongs to: a change of trigger starts a fresh snapshot.
    key = models.CharField(max_length=300)
    primed_at = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Trigger state of workflow {self.workflow_id}"


class SegmentSnapshot(models.Model):
    """A contact who was in the trigger segment at the workflow's last check: the next check's diff says who
    entered (in the segment, not here) and who left (here, not in the segment)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "contact"], name="segment_snapshot_unique")]

    def __str__(self) -> str:
        return f"Contact {self.contact_id} in the segment of workflow {self.workflow_id}"


# -- the actions' own rows (wfactions) ---------------------------------------------------------------------------
class StepEmail(models.Model):
    """The automated email campaign behind one send_email step: its sends, tracking, unsubscribes and report
    are the email pillar's, unchanged."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="step_emails")
    step_id = models.CharField(max_length=40)
    email_campaign = models.OneToOneField("email.EmailCampaign", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "step_id"], name="step_email_unique")]

    def __str__(self) -> str:
        return f"Email of step {self.step_id} in workflow {self.workflow_id}"


class WebhookCallStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookCall(models.Model):
    """One call_webhook step's POST: recorded with the step (one per StepRun), sent after commit by a job."""

    step_run = models.OneToOneField(StepRun, on_delete=models.CASCADE, related_name="webhook_call")
    url = models.URLField(max_length=2000)
    request_body = models.TextField()  # fixed when the step ran, so every attempt sends the same bytes
    status = models.CharField(max_length=10, choices=WebhookCallStatus.choices, default=WebhookCallStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)  # the lease of the worker posting it
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # an excerpt
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_call_due_idx")
        ]

    def __str__(self) -> str:
        return f"Webhook call of step run {self.step_run_id}: {self.status}"
