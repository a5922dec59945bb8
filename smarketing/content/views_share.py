"""Sharing pages (signed in): make a tracked link for a contact, see my links with their views, revoke one.

    /content/share/?asset=&contact=&deal=   content:share_new     a page, or an htmx fragment for a dialog
    /content/shares/                         content:shares        my links (managers: ?who=team)
    /content/shares/<pk>/revoke/             content:share_revoke  POST

Writes go through sharing.py, which checks permissions and raises PermissionDenied; the views do not pre-check.
"""

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.accounts.access import is_admin, is_manager_or_admin
from smarketing.content import access, sharing
from smarketing.content.models import Asset, Share, ShareView, Status
from smarketing.core.queries import SortOption, keyset_page
from smarketing.core.toasts import add_toast
from smarketing.crm.models import Contact, Deal
from smarketing.crm.queries import suggest_contacts

NEWEST = SortOption("Newest", ("-created_at", "-id"))
PAGE_SIZE = 50
ASSET_CHOICES = 200


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


def _pk(value) -> int | None:
    value = str(value or "").strip()
    return int(value) if value.isdigit() and len(value) < 19 else None


def _expiry(request, value: str):
    """The end of the chosen day in the user's time zone; None for no expiry; ValidationError for a bad date."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError({"expires_on": "Give the expiry as a date."}) from None
    zone = timezone.get_current_timezone()
    return datetime.combine(day + timedelta(days=1), time.min, zone)


def _context(request, source) -> dict:
    asset_id, contact_id, deal_id = _pk(source.get("asset")), _pk(source.get("contact")), _pk(source.get("deal"))
    asset = get_object_or_404(Asset.objects.select_related("published_version"), pk=asset_id) if asset_id else None
    deal = get_object_or_404(Deal, pk=deal_id) if deal_id else None
    contact = get_object_or_404(Contact, pk=contact_id) if contact_id else None
    q = (source.get("q") or "").strip()[:100]
    candidates = []
    if contact is None:
        if q:
            candidates = suggest_contacts(q, limit=10)
        elif deal is not None:
            candidates = [dc.contact for dc in deal.deal_contacts.select_related("contact").order_by("id")[:20]]
    assets = []
    if asset is None:
        assets = list(
            Asset.objects.filter(status=Status.APPROVED, published_version__isnull=False)
            .only("id", "title", "asset_type")
            .order_by("title", "id")[:ASSET_CHOICES]
        )
    back = ""
    if deal is not None:
        back = reverse("deal_detail", args=[deal.pk])
    elif contact is not None:
        back = reverse("contact_detail", args=[contact.pk])
    return {
        "asset": asset,
        "assets": assets,
        "contact": contact,
        "candidates": candidates,
        "deal": deal,
        "q": q,
        "back": back,
        "can_share": access.can_share(request.user),
        "today": timezone.localdate().isoformat(),
        "expires_on": (source.get("expires_on") or "")[:10],
        "message": (source.get("message") or "")[:5000],
    }


def _render_share(request, context: dict, status: int = 200):
    template = "content/share_form.html" if request.htmx else "content/share_new.html"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def share_new(request):
    """Pick the contact (prefilled from the query), an optional expiry → the link, to copy or to log as an email."""
    if request.method == "GET":
        return _render_share(request, _context(request, request.GET))
    context = _context(request, request.POST)
    if context["asset"] is None or context["contact"] is None:
        context["error"] = "Choose the asset and the contact to share it with."
        return _render_share(request, context, status=400)
    by_email = request.POST.get("action") == "email"
    try:
        expires_at = _expiry(request, request.POST.get("expires_on"))
        kwargs = {"deal": context["deal"], "expires_at": expires_at}
        if by_email:
            share, _touch = sharing.share_by_email(
                context["asset"], context["contact"], request.user, message=context["message"], **kwargs
            )
        else:
            share = sharing.share_asset(context["asset"], context["contact"], request.user, **kwargs)
    except ValidationError as exc:
        context["error"] = _errors(exc)
        return _render_share(request, context, status=400)
    context.update(share=share, url=sharing.share_url(share), logged=by_email)
    return _render_share(request, context)  # the panel itself says what happened: no toast


def spent(seconds: int) -> str:
    """Time spent in words: "45 s", "3 min", "1 h 20 min"."""
    seconds = int(seconds or 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _scope(request, asset):
    """Mine by default; a manager may look at their team's links, an admin at everyone's; everyone at all the
    links to one asset (?asset=, from its page: the library and its reports are open to all)."""
    # shared_by too: the revoke rule (access.can_edit) reads the sharer of each row.
    qs = Share.objects.select_related("asset", "contact", "deal", "shared_by")
    if asset is not None:
        return qs.filter(asset=asset), "asset"
    who = request.GET.get("who")
    if who == "team" and is_manager_or_admin(request.user):
        if is_admin(request.user):
            return qs, "team"
        return qs.filter(shared_by__team_id=request.user.team_id or 0), "team"
    return qs.filter(shared_by=request.user), "mine"


@login_required
@require_GET
def share_list(request):
    asset_id = _pk(request.GET.get("asset"))
    asset = get_object_or_404(Asset.objects.only("id", "title"), pk=asset_id) if asset_id else None
    qs, who = _scope(request, asset)
    page = keyset_page(qs, NEWEST, request.GET.get("after"), PAGE_SIZE)
    ids = [share.pk for share in page.rows]
    # One grouped query for the page's time spent (served by shareview_share_idx), not one per row.
    seconds = dict(ShareView.objects.filter(share_id__in=ids).values_list("share_id").annotate(total=Sum("seconds")))
    now = timezone.now()
    for share in page.rows:
        share.spent = spent(seconds.get(share.pk, 0))
        share.live = share.is_live(now)
        share.url = sharing.share_url(share)
        share.can_revoke = share.live and access.can_edit(request.user, share)
    return render(
        request,
        "content/shares.html",
        {
            "page": page,
            "who": who,
            "asset": asset,
            "can_see_team": is_manager_or_admin(request.user),
            "now": now,
        },
    )


def _list_url(who: str | None, asset_id: int) -> str:
    if who == "asset":
        return reverse("content:shares") + f"?asset={asset_id}"
    return reverse("content:shares") + ("?who=team" if who == "team" else "")


@login_required
@require_POST
def share_revoke(request, pk: int):
    share = get_object_or_404(Share.objects.select_related("asset", "contact", "deal", "shared_by"), pk=pk)
    share = sharing.revoke(share, request.user)
    message = f"The link to “{share.asset.title}” for {share.contact} no longer works."
    if request.htmx:
        share.spent = spent(share.views.aggregate(total=Sum("seconds"))["total"] or 0)
        share.live, share.can_revoke, share.url = False, False, sharing.share_url(share)
        response = render(request, "content/share_row.html", {"share": share, "who": request.POST.get("who")})
    else:
        response = redirect(_list_url(request.POST.get("who"), share.asset_id))
    return add_toast(request, response, message)
