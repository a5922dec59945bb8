"""Exporting filtered lists (contacts, companies, deals, timeline touchpoints) to CSV and XLSX.

Contacts, companies and deals take exactly the list pages' parameters (search, filters, custom property filters),
parsed by crm.queries.build_list, so a list page's export form posts its own parameters; or a selection (the ids
ticked on a list page, with `selection=1`). Timeline exports have a
small allow-list of their own. Rows are read in keyset batches by id (constant memory, no long-lived cursor) and
every text cell goes through core.csvsafe.defuse, so a spreadsheet never runs a formula someone typed into a CRM
field. Column headers are the ones the importer recognizes, so an exported file imports back unchanged.

stream_csv() is the app's one CSV writer (also behind the importer's rejected-rows file): a byte-order mark for
Excel, defused cells, lines handed out in pieces for a StreamingHttpResponse.
"""

import csv
import datetime as dt
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from smarketing.core.audit import record_audit
from smarketing.core.csvsafe import defuse
from smarketing.core.queries import parse_ids
from smarketing.crm.models import (
    Company,
    Contact,
    Deal,
    DealContact,
    ObjectType,
    PropertyDefinition,
)
from smarketing.crm.sources import source_label
from smarketing.dataio.models import Export
from smarketing.forms import exports as form_exports
from smarketing.timeline import kinds
from smarketing.timeline.models import Team, Touchpoint

# Exports with more rows than this run as a background job; decided by fetching at most LARGE + 1 ids.
LARGE = 10_000
BATCH = 2000
FORMATS = ("csv", "xlsx")
MAX_SELECTED = 500  # ids in a selection export; a list page shows 50, so this only bounds hostile posts


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable


def _owner(obj):
    return obj.owner.email if obj.owner_id else ""


def _company_name(obj):
    return obj.company.name if obj.company_id else ""


CONTACT_COLUMNS = [
    Column("Smarketing ID", lambda c: c.pk),
    Column("Email", lambda c: c.email),
    Column("First Name", lambda c: c.first_name),
    Column("Last Name", lambda c: c.last_name),
    Column("Job Title", lambda c: c.title),
    Column("Phone Number", lambda c: c.phone),
    Column("Company Name", _company_name),
    Column("Company Domain Name", lambda c: (c.company.domain or "") if c.company_id else ""),
    Column("Contact owner", _owner),
    Column("Lifecycle Stage", lambda c: c.get_lifecycle_stage_display()),
    Column("Lead Status", lambda c: c.get_lead_status_display() if c.lead_status else ""),
    Column("External ID", lambda c: c.external_id or ""),
    Column("Original Source", lambda c: source_label(c.first_source)),
    Column("Create Date", lambda c: c.created_at),
    Column("Last Modified Date", lambda c: c.updated_at),
    Column("Consent", lambda c: c.get_consent_status_display()),
]
COMPANY_COLUMNS = [
    Column("Smarketing ID", lambda c: c.pk),
    Column("Name", lambda c: c.name),
    Column("Domain", lambda c: c.domain or ""),
    Column("Industry", lambda c: c.industry),
    Column("Number of Employees", lambda c: c.employees),
    Column("Annual Revenue", lambda c: c.annual_revenue),
    Column("Country", lambda c: c.country),
    Column("Company owner", _owner),
    Column("External ID", lambda c: c.external_id or ""),
    Column("Create Date", lambda c: c.created_at),
    Column("Last Modified Date", lambda c: c.updated_at),
]
DEAL_COLUMNS = [
    Column("Smarketing ID", lambda d: d.pk),
    Column("Deal Name", lambda d: d.name),
    Column("Amount", lambda d: d.amount),
    Column("Currency", lambda d: d.currency),
    Column("Close Date", lambda d: d.close_date),
    Column("Pipeline", lambda d: d.pipeline.name),
    Column("Deal Stage", lambda d: d.stage.name),
    Column("Status", lambda d: d.status),
    Column("Company Name", _company_name),
    Column("Contact Email", lambda d: d.primary_email or ""),
    Column("Deal owner", _owner),
    Column("Source", lambda d: source_label(d.source)),
    Column("Close Reason", lambda d: d.close_reason),
    Column("External ID", lambda d: d.external_id or ""),
    Column("Create Date", lambda d: d.created_at),
    Column("Closed At", lambda d: d.closed_at),
]
TOUCHPOINT_COLUMNS = [
    Column("Date", lambda t: t.occurred_at),
    Column("Kind", lambda t: kinds.label(t.kind)),
    Column("Team", lambda t: t.get_team_display()),
    Column("Summary", lambda t: t.summary),
    Column("Contact Email", lambda t: t.contact.email if t.contact_id else ""),
    Column("Company Name", lambda t: t.company.name if t.company_id else ""),
    Column("Deal Name", lambda t: t.deal.name if t.deal_id else ""),
    Column("By", lambda t: t.actor.email if t.actor_id else ""),
    Column("Source", lambda t: t.source),
    Column("Campaign", lambda t: t.campaign.name if t.campaign_id else ""),
]


@dataclass(frozen=True)
class ExportKind:
    label: str
    model: type
    columns: list[Column]
    object_type: str | None  # for custom property columns
    filters: tuple[str, ...]
    # A kind another app contributes (its own exports module) answers for its filters, rows and columns,
    # which may depend on the filters: a form's submissions have that form's fields as columns.
    contributed: object = None  # a module with parse_filters(params, user), queryset(filters, user),
    #                            header_and_getters(filters)


KINDS = {
    "contacts": ExportKind(
        "Contacts",
        Contact,
        CONTACT_COLUMNS,
        ObjectType.CONTACT,
        ("lifecycle_stage", "lead_status", "owner", "company", "q"),
    ),
    "companies": ExportKind("Companies", Company, COMPANY_COLUMNS, ObjectType.COMPANY, ("owner", "q")),
    "deals": ExportKind(
        "Deals", Deal, DEAL_COLUMNS, ObjectType.DEAL, ("owner", "company", "pipeline", "stage", "status", "q")
    ),
    "touchpoints": ExportKind(
        "Timeline", Touchpoint, TOUCHPOINT_COLUMNS, None, ("contact", "company", "deal", "kind", "team")
    ),
}
# Kinds contributed by the apps (dataio only assembles them). issue 9 formsbuilder: form submissions.
KINDS["form_submissions"] = ExportKind(
    form_exports.LABEL, form_exports.MODEL, [], None, ("form", "status"), contributed=form_exports
)


# ---------------------------------------------------------------------------------------------------------
# Filters


CRM_LISTS = {"contacts": "contact", "companies": "company", "deals": "deal"}


def _id(raw: str, name: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError(f"{name} must be a record id.")
    return int(raw)


def parse_filters(kind: str, params, user) -> dict:
    """The accepted filters of `kind` in `params` (a QueryDict); ValidationError names any bad value.

    A bad value is an error here, not dropped as on a list page: an export silently wider than asked for
    would be worse than no export.
    """
    if KINDS[kind].contributed is not None:
        return KINDS[kind].contributed.parse_filters(params, user)
    if kind in CRM_LISTS and params.get("selection"):
        # The ticked rows only: the other fields of a bulk form (owner, lifecycle stage) are not filters.
        ids = parse_ids(params.getlist("ids"), MAX_SELECTED)
        if not ids:
            raise ValidationError("Select at least one row first.")
        return {"ids": ids}
    if kind in CRM_LISTS:
        from smarketing.crm.queries import build_list

        record_list = build_list(CRM_LISTS[kind], user, params)
        if record_list.messages:
            raise ValidationError(record_list.messages)
        return {name: value for name, value in record_list.params() if name != "sort"}
    filters = {}
    for name in KINDS[kind].filters:
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        if name in ("contact", "company", "deal"):
            filters[name] = _id(raw, name)
        elif name == "kind":
            if not kinds.is_declared(raw):
                raise ValidationError(f"“{raw[:40]}” is not a timeline kind.")
            filters[name] = raw
        elif name == "team":
            if raw not in Team.values:
                raise ValidationError(f"“{raw[:40]}” is not a team.")
            filters[name] = raw
    return filters


def queryset(kind: str, filters: dict, user) -> QuerySet:
    """The rows to export: for CRM lists the list page's own queryset, with what the columns need joined."""
    if KINDS[kind].contributed is not None:
        return KINDS[kind].contributed.queryset(filters, user)
    if kind in CRM_LISTS:
        from smarketing.crm.queries import build_list

        ids = filters.get("ids")
        qs = build_list(CRM_LISTS[kind], user, {} if ids else filters).queryset
        if ids:
            qs = qs.filter(pk__in=ids)
        if kind == "contacts":
            return qs.select_related("owner", "company")
        if kind == "companies":
            return qs.select_related("owner")
        primary = DealContact.objects.filter(deal=OuterRef("pk")).order_by("id").values("contact__email")[:1]
        return qs.select_related("owner", "company", "pipeline", "stage").annotate(primary_email=Subquery(primary))
    qs = Touchpoint.objects.select_related("contact", "company", "deal", "actor", "campaign")
    for name, value in filters.items():
        if name in ("contact", "company", "deal"):
            qs = qs.filter(**{f"{name}_id": value})
        else:
            qs = qs.filter(**{name: value})
    return qs


def is_large(kind: str, filters: dict, user) -> bool:
    """More than LARGE rows? Fetches at most LARGE + 1 ids instead of counting the table."""
    ids = queryset(kind, filters, user).order_by().values_list("pk", flat=True)[: LARGE + 1]
    return len(list(ids)) > LARGE


# ---------------------------------------------------------------------------------------------------------
# Rows


def header_and_getters(kind: str, filters: dict | None = None) -> tuple[list[str], list[Callable]]:
    spec = KINDS[kind]
    if spec.contributed is not None:
        return spec.contributed.header_and_getters(filters or {})
    headers = [c.header for c in spec.columns]
    getters = [c.value for c in spec.columns]
    if spec.object_type:
        for definition in PropertyDefinition.objects.filter(object_type=spec.object_type):
            headers.append(definition.label)
            getters.append(lambda obj, key=definition.key: obj.custom.get(key))
    return headers, getters


def records(kind: str, filters: dict, user) -> Iterator:
    """Every matching record in id order, fetched BATCH at a time by keyset (WHERE id > last)."""
    qs = queryset(kind, filters, user).order_by("pk")
    last = 0
    while True:
        batch = list(qs.filter(pk__gt=last)[:BATCH])
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1].pk


def rows(kind: str, filters: dict, user) -> tuple[list[str], Iterator[list]]:
    headers, getters = header_and_getters(kind, filters)
    return headers, ([get(obj) for get in getters] for obj in records(kind, filters, user))


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return defuse(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return defuse(", ".join(str(v) for v in value))
    return str(value)


def xlsx_cell(value):
    if value is None:
        return None
    if isinstance(value, str):
        return defuse(ILLEGAL_CHARACTERS_RE.sub("", value))
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None)  # Excel has no time zones: UTC, as the header says
    if isinstance(value, bool | int | float | Decimal | dt.date):
        return value
    if isinstance(value, list):
        return defuse(ILLEGAL_CHARACTERS_RE.sub("", ", ".join(str(v) for v in value)))
    return defuse(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


class _Echo:
    """csv.writer target that hands each formatted line back instead of buffering it."""

    def write(self, value):
        return value


def csv_pieces(headers: list[str], body: Iterable[list]) -> Iterator[str]:
    """CSV text in pieces: a byte-order mark (so Excel reads UTF-8), the header, then rows 500 at a time;
    every cell through csv_cell (formulas defused)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([defuse(h) for h in headers])
    pending = []
    for row in body:
        pending.append(writer.writerow([csv_cell(v) for v in row]))
        if len(pending) >= 500:
            yield "".join(pending)
            pending = []
    if pending:
        yield "".join(pending)


def stream_csv(kind: str, filters: dict, user) -> Iterator[str]:
    """The export of `kind` as CSV pieces."""
    headers, body = rows(kind, filters, user)
    return csv_pieces(headers, body)


def write_csv(kind: str, filters: dict, user, fh) -> int:
    count = -1
    for piece in stream_csv(kind, filters, user):
        fh.write(piece.encode("utf-8"))
        count += piece.count("\n")  # only a count for the export page; quoted newlines make it approximate
    return max(count, 0)


def write_xlsx(kind: str, filters: dict, user, fh) -> int:
    """A write-only workbook (rows go straight to the zip stream, never all in memory)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(KINDS[kind].label)
    headers, body = rows(kind, filters, user)
    sheet.append([xlsx_cell(h) for h in headers])
    count = 0
    for row in body:
        sheet.append([xlsx_cell(v) for v in row])
        count += 1
    workbook.save(fh)
    return count


def xlsx_tempfile(kind: str, filters: dict, user):
    """The workbook in an anonymous temporary file (deleted when closed), positioned at its start."""
    fh = tempfile.TemporaryFile()  # noqa: SIM115 - handed to FileResponse, which closes it
    write_xlsx(kind, filters, user, fh)
    fh.seek(0)
    return fh


# ---------------------------------------------------------------------------------------------------------
# Export records and the background job


def export_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "exports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def audit(export: Export, actor) -> None:
    record_audit(
        actor=actor,
        action="export",
        obj=export,
        changes={"kind": (None, export.kind), "format": (None, export.fmt), "filters": (None, export.filters)},
        object_repr=f"Export of {export.kind} ({export.fmt})",
    )


def run_export(export_id: int) -> Export:
    """Write export `export_id` to its file; claimed with a conditional update so two workers write it once."""
    if not Export.objects.filter(pk=export_id, status=Export.Status.QUEUED).update(status=Export.Status.RUNNING):
        return Export.objects.get(pk=export_id)
    export = Export.objects.select_related("requested_by").get(pk=export_id)
    name = f"{secrets.token_hex(16)}.{export.fmt}"
    path = export_dir() / name
    try:
        if export.requested_by is None:
            raise ValueError("the user who asked for this export no longer exists")
        with open(path, "xb") as fh:
            writer = write_xlsx if export.fmt == "xlsx" else write_csv
            count = writer(export.kind, export.filters, export.requested_by, fh)
    except Exception as exc:
        path.unlink(missing_ok=True)
        Export.objects.filter(pk=export.pk).update(
            status=Export.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.DONE, file_name=name, row_count=count, finished_at=timezone.now()
    )
    export.refresh_from_db()
    return export


def export_path(export: Export) -> Path:
    return export_dir() / export.file_name
