"""Content influence pages: the library's report (/content/report/) and the figures fragment on an asset's page
(/content/assets/<pk>/report/, loaded by htmx). Both only call the query objects of influence.py."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from smarketing.content import access, influence
from smarketing.content.models import Asset
from smarketing.crm.models import Deal

DEFAULT_DAYS = 365
STAGE_ASSETS_SHOWN = 5


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _currency(value: str) -> str:
    value = (value or "").strip().upper()
    return value if len(value) == 3 and value.isalpha() else Deal._meta.get_field("currency").default


@login_required
@require_GET
def report(request):
    """Per asset: views, shares, contacts, deals won and lost, influenced revenue; per stage: what was followed by
    progress; and the leaders by influenced revenue (a chart with its table)."""
    access.require_see(request.user)
    today = timezone.localdate()
    since = _date(request.GET.get("since", "")) or today - dt.timedelta(days=DEFAULT_DAYS)
    until = _date(request.GET.get("until", "")) or today
    currency = _currency(request.GET.get("currency", ""))
    error = ""
    try:
        assets = influence.AssetInfluence(since=since, until=until).result()
        stages = influence.StageProgression(since=since, until=until).result()
        leaders = influence.LibraryLeaders(since=since, until=until, currency=currency).result()
    except ValueError as exc:
        error, assets, stages, leaders = str(exc), (), (), ()
    totals = {
        "views": sum(a.views for a in assets),
        "shares": sum(a.shares for a in assets),
        "deals_won": sum(a.deals_won for a in assets),
        "used": sum(1 for a in assets if a.views or a.shares),
    }
    charts = {
        "leaders": {
            "type": "bar",
            "horizontal": True,
            "labels": [title[:40] for _, title, _, _ in leaders],
            "datasets": [{"label": f"Influenced revenue ({currency})", "data": [float(v) for *_, v in leaders]}],
        }
    }
    stage_rows = [(s, s.assets[:STAGE_ASSETS_SHOWN], len(s.assets) > STAGE_ASSETS_SHOWN) for s in stages]
    context = {
        "since": since,
        "until": until,
        "currency": currency,
        "error": error,
        "assets": assets,
        "stages": stage_rows,
        "leaders": leaders,
        "totals": totals,
        "charts": charts,
    }
    return render(request, "content/report.html", context)


@login_required
@require_GET
def asset_report(request, pk: int):
    """The "How it does" card's body on an asset's page: all time, the asset alone."""
    access.require_see(request.user)
    if not Asset.objects.filter(pk=pk).exists():
        raise Http404("No such asset.")
    figures = influence.AssetInfluence(asset_id=pk).one()
    stages = [
        (stage, next((a for a in stage.assets if a.asset_id == pk), None))
        for stage in influence.StageProgression(asset_id=pk).result()
    ]
    context = {"f": figures, "stages": [(s, a) for s, a in stages if a is not None], "asset_id": pk}
    template = "content/report_asset.html" if request.htmx else "content/report_asset_page.html"
    return render(request, template, context)
