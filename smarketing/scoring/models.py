"""Lead scoring: rules (fit: who the contact is; engagement: what they did, with time decay and caps) grouped in
score groups (one per product line, one of them primary), each contact's score per group, the history that
explains every change, and the predictive model trained on won vs lost deals.

A rule's condition is JSON (validated by `scoring/rules.py`):

    fit:        {"field": "job_title", "operator": "contains", "value": "director"}   (a segments rule: any
                field and operator the segment engine allows, custom properties and company fields included)
    engagement: {"kinds": ["page_viewed"], "url_contains": "/pricing"}               (a touchpoint filter)

The primary group's scores are mirrored into `crm.Contact.fit_score` / `engagement_score` (the list columns,
sorts and segment conditions read those).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ScoreGroup(models.Model):
    """A set of rules scored together (one per product line); the primary one is mirrored onto the contact."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_primary = models.BooleanField(default=False)  # exactly one; mirrored into Contact.fit/engagement_score
    fit_cap = models.SmallIntegerField(null=True, blank=True)  # the fit score never exceeds this
    engagement_cap = models.SmallIntegerField(null=True, blank=True)
    # Engagement points lose half their value every N days (0 = no decay).
    half_life_days = models.PositiveSmallIntegerField(default=30)
    # A contact whose total (fit + engagement) reaches this becomes an MQL through crm's lifecycle service,
    # optionally only if they also match this segment.
    mql_threshold = models.SmallIntegerField(null=True, blank=True)
    mql_segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_primary"], condition=models.Q(is_primary=True), name="scoregroup_one_primary"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Dimension(models.TextChoices):
    FIT = "fit", "Fit"
    ENGAGEMENT = "engagement", "Engagement"


class ScoringRule(models.Model):
    """One rule: fit (a segment condition on the contact) or engagement (a touch filter), worth some points."""

    group = models.ForeignKey(ScoreGroup, on_delete=models.CASCADE, related_name="rules")
    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    name = models.CharField(max_length=200)  # "Viewed the pricing page"
    condition = models.JSONField(default=dict)
    points = models.SmallIntegerField()  # may be negative ("Unsubscribed -50")
    # Engagement: count at most this many matching touches per contact (null = every one).
    max_times = models.PositiveSmallIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["group", "dimension", "position", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"


class ContactScore(models.Model):
    """A contact's current scores in one group, written set-based by the recompute."""

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ScoreGroup, on_delete=models.CASCADE, related_name="+")
    fit = models.SmallIntegerField(default=0)
    engagement = models.SmallIntegerField(default=0)
    total = models.SmallIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "group"], name="contactscore_unique")]
        indexes = [models.Index(fields=["group", "-total", "-contact"], name="contactscore_rank_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id}/{self.group_id}: {self.total}"


class ChangeSource(models.TextChoices):
    RULE = "rule", "Rule"
    DECAY = "decay", "Decay"
    RECOMPUTE = "recompute", "Rules changed"
    MANUAL = "manual", "Manual"
    WORKFLOW = "workflow", "Workflow"


class ScoreChange(models.Model):
    """One line of a contact's score history: "+10: viewed /pricing on 12 Nov"."""

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ScoreGroup, on_delete=models.CASCADE, related_name="+")
    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    delta = models.SmallIntegerField()
    score_after = models.SmallIntegerField()  # the dimension's score after this change
    source = models.CharField(max_length=10, choices=ChangeSource.choices, default=ChangeSource.RULE)
    reason = models.CharField(max_length=300)  # the sentence shown in the history
    rule = models.ForeignKey(ScoringRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    touchpoint = models.ForeignKey(
        "timeline.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["contact", "-occurred_at", "-id"], name="scorechange_contact_idx")]
        constraints = [
            # A touch scores once per rule: the incremental job re-reads a window behind its cursor (touches
            # commit out of id order) and a replay after a crash inserts nothing twice.
            models.UniqueConstraint(
                fields=["touchpoint", "rule"],
                condition=models.Q(touchpoint__isnull=False, rule__isnull=False),
                name="scorechange_touch_rule_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d}: {self.reason}"


class ScoringState(models.Model):
    """The scoring jobs' one row: the incremental job's touchpoint cursor, the last decay, the recompute's progress."""

    class Status(models.TextChoices):
        IDLE = "idle", "Idle"
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Recomputing"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"

    # The incremental job has scored every touch with an id up to this one (minus its re-read window).
    last_touchpoint_id = models.BigIntegerField(default=0)
    decayed_on = models.DateField(null=True, blank=True)
    recompute_status = models.CharField(max_length=10, choices=Status.choices, default=Status.IDLE)
    recompute_steps = models.PositiveIntegerField(default=0)
    recompute_done = models.PositiveIntegerField(default=0)
    recompute_started_at = models.DateTimeField(null=True, blank=True)
    recompute_finished_at = models.DateTimeField(null=True, blank=True)
    recompute_message = models.CharField(max_length=300, blank=True)
    recompute_stats = models.JSONField(default=dict, blank=True)
    # {group id: {"at": iso time, "counts": [contacts per band of total]}}, written by each group's recompute so
    # that the scoring page never counts a million scores on a page view.
    distribution = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Scoring state (touch {self.last_touchpoint_id})"

    @property
    def percent(self) -> int:
        return round(100 * self.recompute_done / self.recompute_steps) if self.recompute_steps else 0

    @property
    def running(self) -> bool:
        return self.recompute_status in (self.Status.QUEUED, self.Status.RUNNING)


class ModelStatus(models.TextChoices):
    TRAINED = "trained", "Trained"
    INSUFFICIENT = "insufficient", "Not enough history"
    FAILED = "failed", "Failed"


class PredictiveModel(models.Model):
    """One training run of the predictive score (scikit-learn), kept as plain numbers, never as a pickle:
    the features, their scaling and coefficients, so scoring and "why" explanations need no stored code."""

    status = models.CharField(max_length=12, choices=ModelStatus.choices)
    trained_at = models.DateTimeField(default=timezone.now)
    won_count = models.PositiveIntegerField(default=0)
    lost_count = models.PositiveIntegerField(default=0)
    auc = models.FloatField(null=True, blank=True)  # on held-out data
    # {"features": [{"name", "label", "mean", "scale", "coef"}], "intercept": float, "algorithm": "..."}
    parameters = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)  # why it is insufficient or failed, in words
    active = models.BooleanField(default=False)  # the model the scores come from
    # Who asked for this run ("Retrain now"); empty for the weekly schedule and the demo.
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Counters written by the scoring run, so the page never counts the score table.
    scored_count = models.PositiveIntegerField(default=0)
    scored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="predictivemodel_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"Predictive model {self.pk} ({self.status})"


class PredictiveScore(models.Model):
    contact = models.OneToOneField("crm.Contact", on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(PredictiveModel, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()  # 0..1, the chance of becoming a won customer
    factors = models.JSONField(default=list)  # [{"label": "Viewed pricing 3 times", "effect": +0.21}, ...]
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["-probability"], name="predscore_rank_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.probability:.2f}"
