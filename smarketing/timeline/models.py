from django.conf import settings
from django.db import models
from django.utils import timezone


class Team(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    SYSTEM = "system", "System"


class Touchpoint(models.Model):
    """One touch in the customer journey. Append-only: written by timeline.services.record_touch only."""

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    contact = models.ForeignKey(
        "crm.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="touchpoints",
        db_index=False,
    )
    company = models.ForeignKey(
        "crm.Company",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="touchpoints",
        db_index=False,
    )
    deal = models.ForeignKey(
        "crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="touchpoints", db_index=False
    )
    # No fixed choices: each app declares its kinds (timeline/kinds.py), so a new kind needs no migration.
    kind = models.CharField(max_length=30)
    team = models.CharField(max_length=10, choices=Team.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    campaign = models.ForeignKey("campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    source = models.CharField(max_length=50, blank=True)  # channel or utm_source
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        # The composite indexes serve the FK lookups too, so the FKs carry no single-column index:
        # at tens of millions of rows every index costs insert time and disk.
        indexes = [
            models.Index(fields=["contact", "-occurred_at", "-id"], name="touch_contact_idx"),
            models.Index(fields=["company", "-occurred_at", "-id"], name="touch_company_idx"),
            models.Index(fields=["deal", "-occurred_at", "-id"], name="touch_deal_idx"),
            models.Index(fields=["kind", "occurred_at"], name="touch_kind_time_idx"),
            models.Index(fields=["campaign", "occurred_at"], name="touch_campaign_idx"),
            # Content influence (content/influence.py) counts the content views API clients record for an asset
            # (details.asset_id): a handful among the million content_viewed touches the journey writes, found here
            # instead of by reading all of those (6.7 s for the content report at 20M touchpoints without it).
            models.Index(
                fields=["occurred_at"],
                condition=models.Q(kind="content_viewed", details__has_key="asset_id"),
                name="touch_content_asset_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.summary
