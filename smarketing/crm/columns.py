"""The columns a contact, company or deal list can show: what each cell shows, and which sort its header toggles.

A user chooses and orders the columns of each list (crm.models.ListColumns), a saved view carries its own
(crm.models.SavedView.columns); both store column keys, and keys that no longer exist (a deleted custom
property) are skipped when read. The first column of each list is its name and is always shown.

Cells are built here in Python (format_html escapes every value), not with one template include per cell:
50 rows of 10 columns would be 500 includes per page.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from smarketing.core.templatetags.labels import wbr  # emails wrap at @ and dots, as on every page
from smarketing.crm.models import PropertyDefinition
from smarketing.crm.sources import source_label

CUSTOM_PREFIX = "cp:"
DASH = "—"


@dataclass(frozen=True)
class Column:
    """One list column: its key (stored in preferences), header, cell and the sort its header toggles."""

    key: str
    label: str
    cell: Callable  # record -> safe HTML
    sort: str = ""  # a key of the list's sorts; its reverse is the other direction (crm.queries.reverse_sort)
    css: str = ""  # "num" right-aligns figures, "cell-clip" truncates long text (with a title), "cell-wrap" wraps
    default: bool = False


def _date(value) -> str:
    return date_format(value, "M j, Y") if value else ""


def _datetime(value) -> str:
    return date_format(localtime(value), "M j, Y") if value else ""


def _clip(text) -> str:
    """Text that the column may cut short; the title attribute keeps all of it one hover away."""
    return format_html('<span title="{}">{}</span>', text, text) if text else ""


def _link(name: str, pk: int, text, sub="") -> str:
    """The name cell: a link to the record, and a muted second line (a contact's email, a deal's company) that
    saves a column at 1280 px and titles the card on a phone."""
    link = format_html('<a href="{}">{}</a>', reverse(name, args=[pk]), text)
    return format_html('{}<div class="cell-sub">{}</div>', link, sub) if sub else link


def _owner(obj) -> str:
    return _clip(str(obj.owner)) if obj.owner_id else DASH


def _company(obj) -> str:
    if not obj.company_id:
        return ""
    return format_html(
        '<a href="{}" title="{}">{}</a>',
        reverse("company_detail", args=[obj.company_id]),
        obj.company.name,
        obj.company.name,
    )


def _source(code: str) -> str:
    return source_label(code) if code else ""


def _score(value: int) -> str:
    return format_html('<span class="score">{}</span>', value)


def _stage(deal) -> str:
    if deal.status == "open":
        return _clip(deal.stage.name)
    return format_html('<span class="badge {}">{}</span>', deal.status, deal.stage.name)


CONTACT_COLUMNS = [
    Column(
        "name",
        "Name",
        lambda c: _link("contact_detail", c.pk, c.full_name or c.email, wbr(c.email)),
        "name",
        default=True,
    ),
    Column("email", "Email", lambda c: wbr(c.email), "email", "cell-wrap"),
    Column("company", "Company", _company, css="cell-clip", default=True),
    Column(
        "lifecycle",
        "Lifecycle stage",
        lambda c: format_html(
            '<span class="badge stage-{}">{}</span>', c.lifecycle_stage, c.get_lifecycle_stage_display()
        ),
        default=True,
    ),
    Column("lead_status", "Lead status", lambda c: c.get_lead_status_display()),
    Column("owner", "Owner", _owner, css="cell-clip", default=True),
    Column("fit", "Fit", lambda c: _score(c.fit_score), "fit", "num", default=True),
    Column("engagement", "Engagement", lambda c: _score(c.engagement_score), "engagement", "num", default=True),
    Column("last_touch", "Last touch", lambda c: _datetime(c.last_touch_at) or DASH, "last_touch", default=True),
    Column("first_source", "First source", lambda c: _source(c.first_source)),
    Column("last_source", "Last source", lambda c: _source(c.last_source)),
    Column("title", "Job title", lambda c: _clip(c.title), css="cell-clip"),
    Column("phone", "Phone", lambda c: c.phone),
    Column("consent", "Consent", lambda c: c.get_consent_status_display()),
    Column("stage_changed", "Stage changed", lambda c: _datetime(c.lifecycle_changed_at), "lifecycle"),
    Column("created", "Created", lambda c: _datetime(c.created_at), "newest"),
]
COMPANY_COLUMNS = [
    Column("name", "Name", lambda c: _link("company_detail", c.pk, c.name), "name", default=True),
    Column("domain", "Domain", lambda c: c.domain or "", css="cell-wrap", default=True),
    Column("industry", "Industry", lambda c: _clip(c.industry), css="cell-clip", default=True),
    Column(
        "employees",
        "Employees",
        lambda c: "" if c.employees is None else number_format(c.employees, force_grouping=True),
        css="num",
        default=True,
    ),
    Column("country", "Country", lambda c: _clip(c.country), css="cell-clip", default=True),
    Column("owner", "Owner", _owner, css="cell-clip", default=True),
    Column(
        "revenue",
        "Annual revenue",
        lambda c: "" if c.annual_revenue is None else number_format(c.annual_revenue, 0, force_grouping=True),
        css="num",
    ),
    Column("created", "Created", lambda c: _datetime(c.created_at), "newest", default=True),
]
DEAL_COLUMNS = [
    Column(
        "name",
        "Deal",
        lambda d: _link("deal_detail", d.pk, d.name, d.company.name if d.company_id else ""),
        "name",
        default=True,
    ),
    Column("stage", "Stage", _stage, default=True),
    Column(
        "amount",
        "Amount",
        lambda d: f"{number_format(d.amount, 2, force_grouping=True)} {d.currency}",
        "amount",
        "num",
        default=True,
    ),
    Column("close_date", "Close date", lambda d: _date(d.close_date) or DASH, "close", default=True),
    Column("company", "Company", _company, css="cell-clip"),
    Column("owner", "Owner", _owner, css="cell-clip", default=True),
    Column("in_stage", "In stage since", lambda d: _datetime(d.stage_entered_at), "stage_age", default=True),
    Column("status", "Status", lambda d: d.get_status_display()),
    Column("source", "Source", lambda d: _source(d.source)),
    Column("created", "Created", lambda d: _datetime(d.created_at), "newest"),
]
BUILT_IN = {"contact": CONTACT_COLUMNS, "company": COMPANY_COLUMNS, "deal": DEAL_COLUMNS}


def custom_display(definition: PropertyDefinition, value) -> str:
    """A custom property's value as text: empty, Yes/No, or the value."""
    if value is None or value == "":
        return ""
    if definition.type == PropertyDefinition.Type.BOOLEAN:
        return "Yes" if value else "No"
    return str(value)


def _custom_column(definition: PropertyDefinition) -> Column:
    def cell(obj):
        return _clip(custom_display(definition, obj.custom.get(definition.key)))

    css = "num" if definition.type == PropertyDefinition.Type.NUMBER else "cell-clip"
    return Column(CUSTOM_PREFIX + definition.key, definition.label, cell, css=css)


def available(kind: str, definitions: list[PropertyDefinition]) -> list[Column]:
    """Every column list `kind` can show: the built-in ones, then one per custom property."""
    return [*BUILT_IN[kind], *(_custom_column(d) for d in definitions)]


def defaults(kind: str) -> list[str]:
    return [c.key for c in BUILT_IN[kind] if c.default]


def chosen(kind: str, keys: list[str] | None, definitions: list[PropertyDefinition]) -> list[Column]:
    """The columns to show for the stored `keys` (None or empty: the defaults), name first, unknown keys skipped."""
    by_key = {c.key: c for c in available(kind, definitions)}
    keys = [k for k in (keys or defaults(kind)) if k in by_key]
    main = BUILT_IN[kind][0].key
    return [by_key[main], *(by_key[k] for k in dict.fromkeys(keys) if k != main)]


def clean_keys(kind: str, keys: list[str], definitions: list[PropertyDefinition]) -> list[str]:
    """`keys` reduced to known columns, each once, in their order, the name column first."""
    return [c.key for c in chosen(kind, keys or [BUILT_IN[kind][0].key], definitions)]
