from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from smarketing.core.models import Origin
from smarketing.crm.access import OwnedQuerySet


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MQL = "mql", "Marketing-qualified lead"
    SQL = "sql", "Sales-qualified lead"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    EVANGELIST = "evangelist", "Evangelist"
    OTHER = "other", "Other"


# The funnel order; "other" sits outside it and may be entered or left freely.
LIFECYCLE_ORDER = [
    LifecycleStage.SUBSCRIBER,
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
    LifecycleStage.OPPORTUNITY,
    LifecycleStage.CUSTOMER,
    LifecycleStage.EVANGELIST,
]


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    ATTEMPTED = "attempted", "Attempted to contact"
    CONNECTED = "connected", "Connected"
    OPEN_DEAL = "open_deal", "Open deal"
    UNQUALIFIED = "unqualified", "Unqualified"
    BAD_TIMING = "bad_timing", "Bad timing"


class ConsentStatus(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class LegalBasis(models.TextChoices):
    CONSENT = "consent", "Consent"
    LEGITIMATE_INTEREST = "legitimate_interest", "Legitimate interest"
    CONTRACT = "contract", "Performance of a contract"
    NONE = "", "Not recorded"


class ObjectType(models.TextChoices):
    CONTACT = "contact", "Contact"
    COMPANY = "company", "Company"
    DEAL = "deal", "Deal"


class OwnedRecord(models.Model):
    """Fields every CRM record shares: owner, custom properties, timestamps and an edit version."""

    # No single-column index: each record type has an (owner, -id) index that serves owner lookups too, and
    # every index costs time on bulk imports.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    custom = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Bumped on every update; an edit made against an older version is refused instead of silently lost.
    version = models.PositiveIntegerField(default=1)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        abstract = True


class Company(OwnedRecord):
    """An organisation we sell to; identified by its normalized web domain."""

    name = models.CharField(max_length=200)
    name_key = models.CharField(max_length=200, db_index=True, editable=False)  # lowercased, for search/sort
    domain = models.CharField(max_length=253, null=True, blank=True, unique=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    country = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        verbose_name_plural = "companies"
        indexes = [
            models.Index(fields=["owner", "-id"], name="company_owner_idx"),
            # The company list's industry and country filters compare case-insensitively (UPPER(x) = UPPER(v)).
            models.Index(Upper("industry"), name="company_industry_upper_idx"),
            models.Index(Upper("country"), name="company_country_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(OwnedRecord):
    """A person in the funnel, from subscriber to evangelist."""

    email = models.EmailField(unique=True)  # stored normalized: stripped and lowercased
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    # Lowercased "first last" and "last", kept by services: prefix search and name sort use plain indexes.
    name_key = models.CharField(max_length=201, db_index=True, editable=False, default="")
    last_key = models.CharField(max_length=100, db_index=True, editable=False, default="")
    title = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts", db_index=False
    )  # served by contact_company_idx
    lifecycle_stage = models.CharField(max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD)
    lifecycle_changed_at = models.DateTimeField(default=timezone.now)
    lead_status = models.CharField(max_length=20, choices=LeadStatus.choices, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    # An IANA zone name ("Europe/Berlin"); "" means unknown. Campaigns sent "at a local time" read it.
    time_zone = models.CharField(max_length=64, blank=True)

    # Attribution: where the contact first came from and the most recent touch source.
    first_source = models.CharField(max_length=50, blank=True)
    first_utm_source = models.CharField(max_length=100, blank=True)
    first_utm_medium = models.CharField(max_length=100, blank=True)
    first_utm_campaign = models.CharField(max_length=200, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    last_source = models.CharField(max_length=50, blank=True)
    last_utm_source = models.CharField(max_length=100, blank=True)
    last_utm_medium = models.CharField(max_length=100, blank=True)
    last_utm_campaign = models.CharField(max_length=200, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)

    # Consent for marketing email: status, when, on what legal basis and where it was given.
    consent_status = models.CharField(max_length=20, choices=ConsentStatus.choices, default=ConsentStatus.UNKNOWN)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_basis = models.CharField(max_length=30, choices=LegalBasis.choices, blank=True)
    consent_source = models.CharField(max_length=200, blank=True)

    # Lead scoring (filled by the automation issue; kept here so lists can sort by it from day one).
    fit_score = models.SmallIntegerField(default=0)
    engagement_score = models.SmallIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["lifecycle_stage", "-id"], name="contact_stage_idx"),
            models.Index(fields=["owner", "-id"], name="contact_owner_idx"),
            # "Unassigned MQLs" and a rep's "new leads to work" (owner, stage and lead status together, any
            # sort): with the statistics of migration 0010 the planner sees how few rows match and reads them here
            # instead of walking a sort index through the whole table (3.5 s → 0.1 ms at 1M when none match).
            models.Index(fields=["owner", "lifecycle_stage", "lead_status", "-id"], name="contact_owner_stage_idx"),
            models.Index(fields=["company", "-id"], name="contact_company_idx"),
            models.Index(fields=["first_source", "-id"], name="contact_source_idx"),
            # The sort indexes carry the three searched columns (PostgreSQL: INCLUDE; SQLite ignores it), so a
            # dense search ("s", "wil") walked in sort order is filtered inside the index, not row by row.
            models.Index(fields=["last_key", "id"], include=["email", "name_key"], name="contact_lastname_sort_idx"),
            models.Index(fields=["email", "id"], include=["name_key", "last_key"], name="contact_email_sort_idx"),
            models.Index(fields=["-last_touch_at", "-id"], name="contact_last_touch_idx"),
            models.Index(
                fields=["-lifecycle_changed_at", "-id"],
                include=["email", "name_key", "last_key"],
                name="contact_stage_changed_idx",
            ),
            models.Index(fields=["lead_status", "-id"], name="contact_lead_status_idx"),
            models.Index(fields=["consent_status", "-id"], name="contact_consent_idx"),
            # "Recently assigned to me" on the home page: without it, a rep's 84k contacts are sorted per view.
            models.Index(fields=["owner", "-updated_at", "-id"], name="contact_owner_updated_idx"),
            # The contact list's score sorts (crm.queries.CONTACT_SORTS), read forwards or backwards.
            models.Index(fields=["-fit_score", "-id"], name="contact_fit_sort_idx"),
            models.Index(fields=["-engagement_score", "-id"], name="contact_engagement_sort_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Pipeline(models.Model):
    """An ordered series of deal stages."""

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """One step of a pipeline with its probability, responsible team, target time and exit criteria."""

    class Team(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"

    class Outcome(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField()
    probability = models.PositiveSmallIntegerField(default=0)  # percent
    team = models.CharField(max_length=20, choices=Team.choices, default=Team.SALES)
    target_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Field names (built-in or "custom.<key>") that must be filled before a deal may leave this stage.
    exit_criteria = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OPEN)

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "position"], name="stage_position_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Deal(OwnedRecord):
    """A sales opportunity moving through a pipeline."""

    name = models.CharField(max_length=200)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals", db_index=False
    )  # served by deal_company_idx
    contacts = models.ManyToManyField(Contact, through="DealContact", related_name="deals")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    stage_entered_at = models.DateTimeField(default=timezone.now)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    close_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=DealStatus.choices, default=DealStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)  # why it was won or lost
    source = models.CharField(max_length=50, blank=True)
    campaign = models.ForeignKey("campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["stage", "-id"], name="deal_stage_idx"),
            # The board's per-stage totals, answered index-only (crm.views.records.board.BoardQuery.totals).
            models.Index(fields=["stage", "closed_at"], include=["currency", "amount", "owner"], name="deal_board_idx"),
            models.Index(fields=["owner", "-id"], name="deal_owner_idx"),
            models.Index(fields=["status", "-closed_at"], name="deal_status_idx"),
            models.Index(fields=["company", "-id"], name="deal_company_idx"),
            models.Index(fields=["owner", "-updated_at", "-id"], name="deal_owner_updated_idx"),
            # The deal list's sorts (crm.queries.DEAL_SORTS), each a keyset walk rather than a sort of all deals.
            models.Index(fields=["-amount", "-id"], name="deal_amount_sort_idx"),
            models.Index(fields=["name", "id"], name="deal_name_sort_idx"),
            models.Index(fields=["stage_entered_at", "id"], name="deal_stage_age_sort_idx"),
            models.Index(fields=["close_date", "id"], name="deal_close_sort_idx"),
            # The home page's "closing this month" list and metric: one owner's open deals by close date.
            models.Index(
                fields=["owner", "close_date"], condition=models.Q(status="open"), name="deal_open_owner_close_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DealContact(models.Model):
    """A contact's role on a deal."""

    class Role(models.TextChoices):
        DECISION_MAKER = "decision_maker", "Decision maker"
        CHAMPION = "champion", "Champion"
        INFLUENCER = "influencer", "Influencer"
        USER = "user", "User"
        OTHER = "other", "Other"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="deal_contacts")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deal_roles")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OTHER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deal", "contact"], name="deal_contact_unique")]

    def __str__(self) -> str:
        return f"{self.contact} ({self.get_role_display()}) on {self.deal}"


class LifecycleChange(models.Model):
    """One move of a contact between lifecycle stages: from, to, when, by whom or what, and why."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="lifecycle_changes", db_index=False
    )  # served by lifecycle_contact_idx
    from_stage = models.CharField(max_length=20, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )  # users are deactivated, not deleted
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.UI)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "-changed_at"], name="lifecycle_contact_idx"),
            models.Index(fields=["to_stage", "changed_at"], name="lifecycle_to_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or '-'} → {self.to_stage}"


class DealStageChange(models.Model):
    """One move of a deal between stages; time-in-stage and conversion are computed from these rows."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.UI)
    seconds_in_from = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["deal", "changed_at"], name="stagechange_deal_idx"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_to_idx"),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id}: {self.from_stage_id} → {self.to_stage_id}"


class PropertyDefinition(models.Model):
    """An admin-defined custom property of contacts, companies or deals."""

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        BOOLEAN = "boolean", "Yes/no"

    object_type = models.CharField(max_length=10, choices=ObjectType.choices)
    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=Type.choices)
    choices = models.JSONField(default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    help_text = models.CharField(max_length=300, blank=True)  # shown under the field on record forms
    # Required on the record forms people fill in; imports and the API still accept rows without it, so a
    # file with gaps loses nothing (HubSpot's "required" works the same way).
    required = models.BooleanField(default=False)

    class Meta:
        ordering = ["object_type", "position", "label"]
        constraints = [models.UniqueConstraint(fields=["object_type", "key"], name="property_key_unique")]

    def __str__(self) -> str:
        return self.label


class LifecycleStageSettingQuerySet(models.QuerySet):
    def by_stage(self) -> dict[str, "LifecycleStageSetting"]:
        """Every lifecycle stage's setting (unsaved blank ones for stages nobody described yet), in funnel order."""
        saved = {s.stage: s for s in self.select_related("team")}
        return {value: saved.get(value) or LifecycleStageSetting(stage=value) for value in LifecycleStage.values}


class LifecycleStageSetting(models.Model):
    """What one lifecycle stage means in this company, and which team owns contacts in it.

    The stages themselves and their order are the product's (crm.lifecycle_rules); what counts as an MQL is
    each company's own definition, written down once so marketing and sales read the same words.
    """

    stage = models.CharField(max_length=20, choices=LifecycleStage.choices, unique=True)
    description = models.TextField(max_length=2000, blank=True)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = LifecycleStageSettingQuerySet.as_manager()

    def __str__(self) -> str:
        return self.get_stage_display()


class Task(models.Model):
    """A to-do for a user (call, email, to-do), optionally linked to a contact, company or deal."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        TODO = "todo", "To-do"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TODO)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="tasks")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["owner", "completed_at", "due_at"], name="task_owner_due_idx"),
            # Open tasks in the (due_at, id) keyset order of the home page and the task list, so a page is
            # an index range instead of a sort of every open task the owner has.
            models.Index(
                fields=["owner", "due_at", "id"],
                condition=models.Q(completed_at__isnull=True),
                name="task_open_due_idx",
            ),
            models.Index(
                fields=["due_at", "id"], condition=models.Q(completed_at__isnull=True), name="task_all_open_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.completed_at is None and self.due_at is not None and self.due_at < timezone.now()


class Note(models.Model):
    """Sanitized rich text attached to a contact, company or deal."""

    body = models.TextField()  # sanitized HTML (see crm.sanitize)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="notes")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="notes")
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="notes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Note {self.pk}"


class SavedView(models.Model):
    """A named list view (search, filters, sort and columns) of one list; private, or shared with a team."""

    kind = models.CharField(max_length=10, choices=ObjectType.choices)
    name = models.CharField(max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    # Shared with this team (the owner's, when shared); None: only the owner sees it.
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The list's accepted parameters as [[name, value], ...] (crm.queries.RecordList.params), re-validated
    # whenever the view is opened: a filter whose value no longer exists is dropped with the usual message.
    params = models.JSONField(default=list, blank=True)
    columns = models.JSONField(default=list, blank=True)  # column keys in order; [] = the viewer's own columns
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "kind", "name"], name="saved_view_name_unique"),
        ]
        indexes = [
            # The views panel: mine, and my team's shared ones, of one list.
            models.Index(fields=["owner", "kind"], name="saved_view_owner_idx"),
            models.Index(fields=["team", "kind"], name="saved_view_team_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def shared(self) -> bool:
        return self.team_id is not None

    def list_params(self) -> list[tuple[str, str]]:
        """The stored parameters as pairs, for a link to the list (the list validates them again)."""
        return [(name, value) for name, value in self.params]


class ListColumns(models.Model):
    """The columns, in order, one user chose for one list."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ObjectType.choices)
    columns = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "list columns"
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="list_columns_unique")]

    def __str__(self) -> str:
        return f"{self.kind} columns of user {self.user_id}"
