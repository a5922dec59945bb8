"""Imports and exports: one row per uploaded file or requested export, with its progress and outcome."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from smarketing.crm.models import ObjectType


class Import(models.Model):
    """One CSV file being imported: detected format, column mapping, progress and totals.

    Progress and totals are committed in the same transaction as each chunk of rows, so after a crash
    `next_row` says exactly which rows are in the database and the import continues from there.
    """

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Stopped"
        DISCARDED = "discarded", "Discarded"

    class DateOrder(models.TextChoices):
        AUTO = "auto", "Detect from the data"
        MDY = "mdy", "Month first (03/01/2024 is March 1)"
        DMY = "dmy", "Day first (03/01/2024 is 3 January)"

    object_type = models.CharField(max_length=10, choices=ObjectType.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by the running process after every chunk: when the import last made progress (shown, not trusted).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Which process runs it ("host 1234"), for messages. Whether that process is alive is not read from here but
    # from the lock it holds while it runs (importer/liveness.py), which dies with it.
    runner = models.CharField(max_length=200, blank=True)

    original_name = models.CharField(max_length=255)
    # A random file name under MEDIA_ROOT/imports/; never served by URL. Emptied when the file is deleted.
    file_name = models.CharField(max_length=100, blank=True)
    file_size = models.BigIntegerField(default=0)
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    header = models.JSONField(default=list)  # column names as shown (duplicates suffixed)
    sample = models.JSONField(default=list)  # the first rows, cells shortened, for the preview
    mapping = models.JSONField(default=list)  # one target per column: "email", "custom:<key>" or "" (ignore)
    date_order = models.CharField(max_length=4, choices=DateOrder.choices, default=DateOrder.AUTO)
    resolved_date_order = models.CharField(max_length=4, blank=True)  # what "auto" decided, fixed at the start
    warnings = models.JSONField(default=list, blank=True)
    # Publish contact/company created/updated events (webhooks, automations) for each record. A migration of a
    # million records usually should not; a list of trade-show leads usually should.
    send_events = models.BooleanField(default=True)

    total_rows = models.PositiveIntegerField(null=True, blank=True)  # data rows, counted before the first chunk
    next_row = models.PositiveIntegerField(default=0)  # data rows committed so far: the resume point
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # Rows imported with a warning (e.g. an owner nobody has: imported without one). Not a fifth outcome: such a
    # row is also counted as created, updated or unchanged.
    warned = models.PositiveIntegerField(default=0)
    # Source values the mapping table (crm/sources.py) does not know, kept as they were: value -> rows.
    unknown_sources = models.JSONField(default=dict, blank=True)
    padded = models.PositiveIntegerField(default=0)  # rows with fewer cells than the header (treated as empty)
    companies_created = models.PositiveIntegerField(default=0)  # made for contacts' company columns
    error = models.TextField(blank=True)  # why the import stopped

    class Meta:
        indexes = [models.Index(fields=["created_by", "-id"], name="import_user_idx")]

    def __str__(self) -> str:
        return f"Import of {self.original_name}"

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, self.next_row * 100 // self.total_rows)

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.DISCARDED)

    @property
    def unmapped_columns(self) -> list[str]:
        return [name for name, target in zip(self.header, self.mapping, strict=False) if not target]


class RejectedRow(models.Model):
    """One input row that was not imported, with the reason and its original cells (for the error file)."""

    import_run = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="rejected_rows")
    row_number = models.PositiveIntegerField()  # as a spreadsheet shows it: the header is row 1
    reason = models.TextField()
    cells = models.JSONField(default=list)

    class Meta:
        constraints = [
            # A chunk that is retried after a crash cannot record the same row twice.
            models.UniqueConstraint(fields=["import_run", "row_number"], name="rejected_row_unique"),
        ]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"


class ReportedRow(models.Model):
    """An imported row the result page lists: an updated record's changed fields (before → after), or a warning."""

    class Outcome(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        UNCHANGED = "unchanged", "Unchanged"

    import_run = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="reported_rows")
    row_number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    object_id = models.BigIntegerField(null=True)
    label = models.CharField(max_length=255, blank=True)  # the record as the file named it: email, name
    changes = models.JSONField(default=dict, blank=True)  # field -> [before, after], stored values (ids, codes)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            # Like RejectedRow: a chunk done again after a crash cannot report a row twice.
            models.UniqueConstraint(fields=["import_run", "row_number"], name="reported_row_unique"),
        ]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.outcome}"


class Export(models.Model):
    """A large export written to a file by a background job, downloadable by whoever asked for it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20)  # contacts, companies, deals, touchpoints
    fmt = models.CharField(max_length=4)  # csv or xlsx
    filters = models.JSONField(default=dict)  # the allow-listed filter parameters, as given
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    row_count = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=100, blank=True)  # random name under MEDIA_ROOT/exports/
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["requested_by", "-id"], name="export_user_idx")]

    def __str__(self) -> str:
        return f"Export of {self.kind} ({self.fmt})"

    @property
    def download_name(self) -> str:
        return f"{self.kind}-{self.created_at:%Y%m%d-%H%M}.{self.fmt}"
