from django.conf import settings
from django.db import models
from django.utils import timezone


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SOCIAL = "social", "Social media"
    WEBINAR = "webinar", "Webinar"
    EVENT = "event", "Event"
    CONTENT = "content", "Content"
    PAID = "paid", "Paid ads"
    ORGANIC = "organic", "Organic search"
    REFERRAL = "referral", "Referral"
    OUTREACH = "outreach", "Sales outreach"
    DIRECT = "direct", "Direct"


class Campaign(models.Model):
    """Anything that touches prospects under one name: an email send, a webinar, an ad campaign, an outreach push.

    Touchpoints point at it, so every KPI can be traced back to the campaign behind the touch.
    """

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    owner_team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    utm_campaign = models.CharField(max_length=200, blank=True, db_index=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    talking_points = models.TextField(blank=True)
    offer_summary = models.TextField(blank=True)
    budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return self.name
