"""Lead capture: forms (built in the app, published as a hosted page, an embed snippet or a plain POST
endpoint), their submissions, and first-party web tracking (anonymous visitors, their page views, and the
stitching of a visitor to a contact when they submit a form or click a tracked email link).

A form's fields are a JSON list (see `forms/fields.py` for the schema and its validation):

    [{"key": "email", "label": "Work email", "type": "email", "maps_to": "contact.email", "required": true},
     {"key": "plan", "label": "Plan", "type": "select", "choices": ["Free", "Pro"], "maps_to": "contact.custom.plan"},
     {"key": "utm_source", "type": "hidden", "source": "utm_source", "maps_to": "contact.source_detail"},
     {"key": "company", "label": "Company", "type": "text", "maps_to": "company.name", "progressive": true}]

`maps_to` is one of an allow-list: contact.<field>, contact.custom.<key>, company.<field>, company.custom.<key>,
or "" (kept on the submission only).
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_public_id() -> str:
    """An opaque, unguessable id for public URLs (the form's embed and hosted page, a visitor's cookie)."""
    return secrets.token_urlsafe(16)


class FormStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live", "Live"
    ARCHIVED = "archived", "Archived"


class Form(models.Model):
    name = models.CharField(max_length=200)
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    status = models.CharField(max_length=10, choices=FormStatus.choices, default=FormStatus.DRAFT)
    fields = models.JSONField(default=list, blank=True)
    title = models.CharField(max_length=200, blank=True)  # shown above the fields on the hosted page
    intro = models.TextField(blank=True)
    submit_label = models.CharField(max_length=60, default="Submit")
    success_message = models.CharField(max_length=500, default="Thank you! We'll be in touch.")
    # After a successful submission the hosted page may go to this one URL (set by a user, http(s) only);
    # never to a URL taken from the request.
    redirect_url = models.URLField(max_length=500, blank=True)
    # Consent: when enabled, a checkbox with exactly this wording; the wording is stored with each consent.
    consent_enabled = models.BooleanField(default=False)
    consent_required = models.BooleanField(default=False)
    consent_text = models.CharField(max_length=1000, blank=True)
    double_opt_in = models.BooleanField(default=False)  # the consent counts once the emailed link is followed
    # Cross-origin embeds: the origins allowed to post (one per line, "https://www.example.com"); empty = any.
    allowed_origins = models.TextField(blank=True)
    min_fill_seconds = models.PositiveSmallIntegerField(default=2)  # faster than this is a bot
    campaign = models.ForeignKey("campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL)
    # New contacts from this form get this owner and lifecycle stage (blank = the defaults).
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifecycle_stage = models.CharField(max_length=20, blank=True)
    notify_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Counters kept by the submission service (no count(*) on page views).
    submission_count = models.PositiveIntegerField(default=0)
    last_submission_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.name


class SubmissionStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    PENDING = "pending", "Waiting for email confirmation"  # double opt-in
    CONFIRMED = "confirmed", "Confirmed"
    SPAM = "spam", "Spam"


class FormSubmission(models.Model):
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="submissions")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    visitor = models.ForeignKey("forms.Visitor", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.ACCEPTED)
    data = models.JSONField(default=dict)  # the allow-listed, cleaned values by field key
    consent_given = models.BooleanField(default=False)
    consent_text = models.CharField(max_length=1000, blank=True)  # the exact wording the person agreed to
    page_url = models.CharField(max_length=2000, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    utm = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    spam_reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Double opt-in: the random secret the emailed confirmation link carries (signed); empty otherwise.
    confirm_token = models.CharField(max_length=40, null=True, blank=True, unique=True, editable=False)
    # The nonce of the fill token that made it (forms/spam.py): unique, so a token makes one submission.
    fill_nonce = models.CharField(max_length=20, null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["form", "-id"], name="formsub_form_idx"),
            # The submissions list filtered by status (spam apart), and the overview's submissions per day.
            models.Index(fields=["form", "status", "-id"], name="formsub_form_status_idx"),
            models.Index(fields=["form", "created_at"], name="formsub_form_day_idx"),
            models.Index(fields=["contact", "-id"], name="formsub_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"Submission {self.pk} of form {self.form_id}"


class Visitor(models.Model):
    """An anonymous browser, known by a first-party cookie (`public_id`), until it is stitched to a contact."""

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    stitched_at = models.DateTimeField(null=True, blank=True)
    stitched_by = models.CharField(max_length=20, blank=True)  # "form" | "email_click"

    class Meta:
        indexes = [models.Index(fields=["contact"], name="visitor_contact_idx")]

    def __str__(self) -> str:
        return f"Visitor {self.public_id}"


class PageView(models.Model):
    """One page view, anonymous or not. Once the visitor is stitched, each view is also a `page_viewed`
    touchpoint on the contact's timeline (`touchpoint_id`), so earlier anonymous visits join it."""

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="page_views")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    touchpoint = models.ForeignKey(
        "timeline.Touchpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    url = models.CharField(max_length=2000)
    path = models.CharField(max_length=500, blank=True)
    title = models.CharField(max_length=300, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    # The ingest record's id: a replayed batch (after a crash) inserts nothing twice.
    hit_id = models.CharField(max_length=32, unique=True, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["visitor", "occurred_at"], name="pageview_visitor_idx"),
            models.Index(fields=["contact", "-occurred_at"], name="pageview_contact_idx"),
            # The visits page's keyset order (newest first, the id breaks ties).
            models.Index(fields=["-occurred_at", "-id"], name="pageview_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.url


class TrackingSettings(models.Model):
    """The install's web-tracking choices (one row, pk=1; `TrackingSettings.load()`)."""

    enabled = models.BooleanField(default=True)
    honour_dnt = models.BooleanField(default=True)  # Do-Not-Track and Global Privacy Control
    require_consent = models.BooleanField(default=False)  # track only after the site's consent banner says yes
    # The sites the script may report from (one origin per line); empty = any.
    allowed_origins = models.TextField(blank=True)
    # Email-click stitching: links of marketing email to these sites (one origin per line) carry a short signed
    # token naming the recipient, which the script sends with its first hit. Empty = no link carries one, so a
    # token never reaches a site that does not run the script.
    stitch_origins = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return "Tracking settings"

    @classmethod
    def load(cls) -> "TrackingSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class PageViewDaily(models.Model):
    """Page views per day, site and path: the counters behind "top pages" (no GROUP BY over all page views)."""

    day = models.DateField()
    host = models.CharField(max_length=200)
    path = models.CharField(max_length=500)
    views = models.PositiveIntegerField(default=0)
    known_views = models.PositiveIntegerField(default=0)  # of a visitor stitched to a contact when recorded

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "host", "path"], name="pageviewdaily_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.host}{self.path}: {self.views}"
