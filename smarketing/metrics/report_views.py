"""The campaign report pages: /email/campaigns/<id>/report/ (figures, charts, click map), its CSV, and the email
with a badge on every link (the click map drawn over the frozen HTML).

Served from `metrics` (the top floor, which may read every app below it) under the email area's paths. Every
number comes from one `CampaignReport` result, the same one GET /api/v1/campaigns/{id}/report returns, so
the page, the CSV and the API cannot disagree. Anyone signed in may read a report (as they may read the
timeline the same facts are on).
"""

import csv
import html
import re

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.clickjacking import xframe_options_sameorigin

from smarketing.core.csvsafe import defuse
from smarketing.crm.views.records.common import money
from smarketing.email.models import EmailCampaign
from smarketing.metrics.campaigns import RATES, WINDOW_CHOICES, CampaignReport, CampaignReportResult, Figures

COMPLAINT_LIMIT = 0.003  # Gmail's and Yahoo's bulk-sender ceiling (0.3 %): above it the figure is flagged

# The rows of the figures table, CSV and page alike: (key in Figures.as_dict(), label).
FIGURE_ROWS = [
    ("recipients", "Recipients"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("opened", "Opened (people)"),
    ("clicked", "Clicked (people)"),
    ("unsubscribed", "Unsubscribed"),
    ("bounced", "Bounced"),
    ("hard_bounced", "Hard bounces"),
    ("soft_bounced", "Soft bounces"),
    ("complained", "Marked as spam"),
    ("suppressed", "Not sent: suppressed"),
    ("failed", "Not sent: failed"),
    ("machine_opened", "Machine opens only (not counted)"),
    ("open_rate", "Open rate"),
    ("click_rate", "Click rate"),
    ("click_to_open_rate", "Click-to-open rate"),
    ("bounce_rate", "Bounce rate"),
    ("unsubscribe_rate", "Unsubscribe rate"),
    ("complaint_rate", "Complaint rate"),
    ("engaged", "Engaged (opened or clicked)"),
    ("leads", "Became leads"),
    ("mqls", "Became MQLs"),
    ("sqls", "Accepted by sales (SQL)"),
    ("deals", "Deals opened"),
    ("deals_won", "Deals won"),
    ("revenue", "Revenue won"),
]
FOLLOW_ROWS = ("engaged", "leads", "mqls", "sqls", "deals", "deals_won", "revenue")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def display(key: str, figures: Figures) -> str:
    """A figure as the page shows it: rates in percent, money in its currencies, counts with separators."""
    if key in RATES:
        return percent(getattr(figures, key))
    if key == "revenue":
        return " · ".join(money(m.amount, m.currency) for m in figures.revenue) or money(0, "USD")
    return f"{getattr(figures, key):,}"


def _window(request, ec: EmailCampaign) -> int:
    raw = request.GET.get("window", "")
    if raw.isdigit() and 1 <= int(raw) <= 365:
        return int(raw)
    return ec.report_window_days or 30


def _campaign(pk: int) -> EmailCampaign:
    return get_object_or_404(EmailCampaign.objects.select_related("campaign"), pk=pk)


def _bucket_label(bucket) -> str:
    local = timezone.localtime(bucket.start)
    return date_format(local, "M j, H:i") if bucket.hourly else date_format(local, "M j")


def funnel_rows(total: Figures) -> list[tuple[str, int]]:
    return [
        ("Delivered", total.delivered),
        ("Opened", total.opened),
        ("Clicked", total.clicked),
        ("Became leads", total.leads),
        ("Became MQLs", total.mqls),
        ("Accepted by sales", total.sqls),
        ("Deals opened", total.deals),
        ("Deals won", total.deals_won),
    ]


def chart_data(report: CampaignReportResult) -> dict:
    """What charts.js draws: plain labels and numbers, read from a json_script tag (no inline script)."""
    rows = funnel_rows(report.total)
    data = {
        "funnel": {
            "type": "bar",
            "horizontal": True,
            "labels": [label for label, _ in rows],
            "datasets": [{"label": "People or deals", "data": [n for _, n in rows]}],
        },
        "timeline": {
            "type": "bar",
            "labels": [_bucket_label(b) for b in report.timeline],
            "datasets": [
                {"label": "First opens", "data": [b.opens for b in report.timeline]},
                {"label": "First clicks", "data": [b.clicks for b in report.timeline]},
            ],
        },
    }
    if report.variants:
        data["variants"] = {
            "type": "bar",
            "percent": True,
            "labels": ["Open rate", "Click rate", "Click-to-open rate"],
            "datasets": [
                {
                    "label": v.label,
                    "data": [
                        round((getattr(v, r) or 0) * 100, 2) for r in ("open_rate", "click_rate", "click_to_open_rate")
                    ],
                }
                for v in report.variants
            ],
        }
    return data


def campaign_report(request, pk: int):
    ec = _campaign(pk)
    window = _window(request, ec)
    report = CampaignReport(email_campaign_id=ec.pk, window_days=window).result()
    columns = [report.total, *report.variants]
    rows = [(label, [display(key, f) for f in columns], key in FOLLOW_ROWS) for key, label in FIGURE_ROWS]
    max_link_clicks = max((link.clicks for link in report.links), default=0)
    total = report.total
    return render(
        request,
        "metrics/campaign_report.html",
        {
            "ec": ec,
            "report": report,
            "total": total,
            "columns": columns,
            "rows": rows,
            "window": window,
            "windows": sorted(set(WINDOW_CHOICES) | {window, ec.report_window_days or 30}),
            "charts": chart_data(report),
            "funnel_rows": funnel_rows(total),
            "stats": {
                "open_rate": percent(total.open_rate),
                "click_rate": percent(total.click_rate),
                "complaint_rate": percent(total.complaint_rate),
                "bounce_rate": percent(total.bounce_rate),
                "revenue": display("revenue", total),
            },
            "complaints_high": (total.complaint_rate or 0) > COMPLAINT_LIMIT,
            "links": [(link, percent(link.share)) for link in report.links],
            "max_link_clicks": max_link_clicks,
            "has_email": bool(ec.html),
        },
    )


def campaign_report_csv(request, pk: int):
    """The report's figures, then its click map and timeline, as CSV (the same values as the page and API)."""
    ec = _campaign(pk)
    window = _window(request, ec)
    report = CampaignReport(email_campaign_id=ec.pk, window_days=window).result()
    data = report.as_dict()
    columns = [data["total"], *data["variants"]]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    slug = re.sub(r"[^a-z0-9]+", "-", ec.campaign.name.lower()).strip("-")[:60] or "campaign"
    response["Content-Disposition"] = f'attachment; filename="report-{slug}-{ec.pk}.csv"'
    response.write("\ufeff")  # Excel reads UTF-8 with a byte-order mark
    writer = csv.writer(response)
    writer.writerow(["metric", "label", *("all" if not c["variant"] else f"variant_{c['variant']}" for c in columns)])
    for key, label in FIGURE_ROWS:
        if key == "revenue":
            cells = [" ".join(f"{m['amount']} {m['currency']}" for m in c["revenue"]) for c in columns]
        else:
            cells = ["" if c[key] is None else c[key] for c in columns]
        writer.writerow([key, label, *cells])
    writer.writerow(["window_days", "Days counted after an engagement", window])
    writer.writerow([])
    writer.writerow(["link_position", "link_label", "link_url", "human_clicks", "machine_clicks", "share"])
    for link in data["links"]:
        writer.writerow(
            [link["position"], defuse(link["label"]), defuse(link["url"]), link["clicks"], link["machine_clicks"],
             "" if link["share"] is None else link["share"]]
        )  # fmt: skip
    writer.writerow([])
    writer.writerow(["period_start_utc", "period", "first_opens", "first_clicks"])
    for bucket in data["timeline"]:
        writer.writerow([bucket["start"], bucket["period"], bucket["opens"], bucket["clicks"]])
    return response


# The email with a badge per link: the frozen HTML's tracked hrefs carry their position.
_TRACKED_LINK = re.compile(r"(<a\b[^>]*?href=\"\{\{\s*tracking\.link_(\d+)\s*\}\}\"[^>]*>)", re.IGNORECASE)
_TRACKED_HREF = re.compile(r'href="\{\{[^"]*\}\}"')
_MERGE_FIELD = re.compile(r"\{\{[^{}]*?\}\}|\{%[^{}]*?%\}")
_DEFAULT = re.compile(r"default:\s*\"([^\"]*)\"")
# The email is the marketer's own HTML with inline styles: it gets a page of its own, framed by the report
# (same origin), where nothing runs (no script at all) and only inline styles and images load.
CLICKMAP_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; font-src https: data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _merge_placeholder(match: re.Match) -> str:
    default = _DEFAULT.search(match.group(0))
    return html.escape(default.group(1)) if default else ""


@xframe_options_sameorigin
def campaign_clickmap(request, pk: int):
    ec = _campaign(pk)
    if not ec.html:
        raise Http404("This campaign has no frozen email yet: the click map appears once it is sending.")
    report = CampaignReport(email_campaign_id=ec.pk, window_days=_window(request, ec)).result()
    by_position = {link.position: link for link in report.links}

    def badge(match: re.Match) -> str:
        link = by_position.get(int(match.group(2)))
        clicks, share = (link.clicks, percent(link.share)) if link else (0, "–")
        opening = _TRACKED_HREF.sub('href="#"', match.group(1))
        return (
            f'{opening}<span style="background:#4f46e5;color:#fff;font:600 11px/1.6 system-ui,sans-serif;'
            f'border-radius:999px;padding:1px 7px;margin-right:4px;white-space:nowrap">'
            f"{clicks:,} · {share}</span>"
        )

    body = _TRACKED_LINK.sub(badge, ec.html)
    body = _MERGE_FIELD.sub(_merge_placeholder, body)
    response = HttpResponse(body)
    response["Content-Security-Policy"] = CLICKMAP_CSP
    return response
