"""The library's pages under /content/: the list, an asset (new, edit, detail), its versions, the review, retiring
and comments.

Views parse and render; every write goes through content/services.py, which checks content/access.py and
raises PermissionDenied (the styled 403 page). The review panel and the comment thread are htmx fragments; without
JavaScript the same forms post and come back to the asset's page.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.content import access, files, queries, services
from smarketing.content.forms_library import AssetForm, CommentForm, ReviewForm, VersionForm
from smarketing.content.models import Asset, Review, Status, VersionStatus
from smarketing.core.toasts import add_toast


def upload_view(view):
    """The files part's decorator for views that receive an upload (the size limit at the HTTP level, CSRF still
    checked), when it exists; outermost, so it can set the upload handlers before anything reads the body."""
    decorate = getattr(files, "upload_view", None)
    return decorate(view) if decorate is not None else view


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(m for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


# -- the list ----------------------------------------------------------------------------------------------------


@login_required
@require_GET
def library(request):
    """Search, filters and sort in the query string; htmx asks for the rows only (the filter bar stays)."""
    access.require_see(request.user)
    lib = queries.library(request.GET)
    context = {"lib": lib, "can_create": access.can_create(request.user)}
    if request.htmx and request.headers.get("HX-Target") == "library-rows":
        return render(request, "content/library_rows.html", context)
    return render(request, "content/library.html", context)


# -- an asset ----------------------------------------------------------------------------------------------------


def _form_page(request, form, asset=None, status=200):
    return render(request, "content/asset_form.html", {"form": form, "asset": asset}, status=status)


@upload_view
@login_required
@require_http_methods(["GET", "POST"])
def asset_new(request):
    access.require_create(request.user)
    can_self = access.can_allow_self_approval(request.user)
    if request.method == "GET":
        return _form_page(request, AssetForm(user=request.user, can_self_approve=can_self))
    form = AssetForm(request.POST, request.FILES, user=request.user, can_self_approve=can_self)
    if form.is_valid():
        try:
            asset = services.create_asset(
                request.user,
                upload=form.cleaned_data.get("upload"),
                url=form.cleaned_data.get("url") or "",
                note=form.cleaned_data.get("note") or "",
                **form.service_fields(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            message = f"“{asset.title}” added as a draft. Submit it for review when it is ready."
            return add_toast(request, redirect("content:asset_detail", asset.pk), message)
    return _form_page(request, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def asset_edit(request, pk: int):
    asset = get_object_or_404(Asset.objects.select_related("owner"), pk=pk)
    access.require_edit(request.user, asset)
    can_self = access.can_allow_self_approval(request.user)
    if request.method == "GET":
        form = AssetForm(
            initial=AssetForm.initial_for(asset),
            creating=False,
            user=request.user,
            can_self_approve=can_self,
            owner_id=asset.owner_id,
        )
        return _form_page(request, form, asset)
    form = AssetForm(
        request.POST, creating=False, user=request.user, can_self_approve=can_self, owner_id=asset.owner_id
    )
    if form.is_valid():
        try:
            services.update_asset(asset, request.user, **form.service_fields())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return add_toast(request, redirect("content:asset_detail", asset.pk), "Saved.")
    return _form_page(request, form, asset, status=400)


def _detail_context(request, page: queries.AssetPage, **extra) -> dict:
    user = request.user
    asset = page.asset
    can_edit = access.can_edit(user, asset)
    retired = asset.status == Status.RETIRED
    context = {
        "p": page,
        "asset": asset,
        "can_edit": can_edit,
        "can_review": page.in_review is not None
        and not retired
        and services.can_review(user, asset, page.reviewer_ids),
        "can_submit": can_edit
        and not retired
        and page.pending is not None
        and page.pending.status in (VersionStatus.DRAFT, VersionStatus.CHANGES_REQUESTED),
        "can_comment": services.can_comment(user),
        "can_share": asset.shareable and access.can_share(user),
        "is_owner": asset.owner_id == user.pk,
        "review_form": ReviewForm(),
        "comment_form": CommentForm(),
        "decisions": Review.Decision,
    }
    context.update(extra)
    return context


@login_required
@require_GET
def asset_detail(request, pk: int):
    access.require_see(request.user)
    page = queries.asset_page(pk)
    if page is None:
        raise Http404("No such asset.")
    return render(request, "content/asset_detail.html", _detail_context(request, page))


@upload_view
@login_required
@require_http_methods(["GET", "POST"])
def asset_version_new(request, pk: int):
    asset = get_object_or_404(Asset.objects.select_related("owner", "published_version"), pk=pk)
    access.require_edit(request.user, asset)
    form = VersionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.add_version(
                asset,
                request.user,
                upload=form.cleaned_data.get("upload"),
                url=form.cleaned_data.get("url") or "",
                note=form.cleaned_data.get("note") or "",
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            message = f"Version {version.number} added. Submit it for review"
            if asset.published_version_id:
                message += "; until it is approved, share links keep serving the approved version."
            else:
                message += " when it is ready."
            return add_toast(request, redirect("content:asset_detail", asset.pk), message)
    status = 400 if request.method == "POST" else 200
    return render(request, "content/asset_version_form.html", {"form": form, "asset": asset}, status=status)


@login_required
@require_POST
def asset_submit(request, pk: int):
    asset = get_object_or_404(Asset, pk=pk)
    try:
        version = services.submit_for_review(asset, request.user)
    except ValidationError as exc:
        return add_toast(request, redirect("content:asset_detail", pk), _errors(exc), level="error")
    return add_toast(request, redirect("content:asset_detail", pk), f"Version {version.number} sent to its reviewers.")


@login_required
@require_POST
def asset_review(request, pk: int):
    """Approve or request changes. htmx swaps the review panel (and, out of band, the status and the current
    version); a plain post comes back to the page."""
    asset = get_object_or_404(Asset, pk=pk)
    form = ReviewForm(request.POST)
    error = ""
    message = ""
    if form.is_valid():
        try:
            row = services.review(asset, request.user, form.cleaned_data["decision"], form.cleaned_data["comment"])
        except ValidationError as exc:
            error = _errors(exc)
        else:
            if row.decision == Review.Decision.APPROVED:
                message = f"Version {row.version.number} approved: share links serve it now."
            else:
                message = f"Changes requested on version {row.version.number}; {asset.owner.display_name} is told."
    else:
        error = "Approve or request changes."
    if not request.htmx:
        if error:
            return add_toast(request, redirect("content:asset_detail", pk), error, level="error")
        return add_toast(request, redirect("content:asset_detail", pk), message)
    page = queries.asset_page(pk)
    context = _detail_context(request, page, review_error=error, oob=not error)
    if error:
        context["review_form"] = form
    response = render(request, "content/asset_review.html", context)
    return add_toast(request, response, error or message, level="error" if error else "success")


@login_required
@require_POST
def asset_retire(request, pk: int):
    asset = get_object_or_404(Asset, pk=pk)
    if request.POST.get("restore"):
        asset = services.restore(asset, request.user)
        message = f"“{asset.title}” is back in use ({asset.get_status_display().lower()})."
    else:
        asset = services.retire(asset, request.user)
        message = f"“{asset.title}” retired: its share links no longer open it."
    return add_toast(request, redirect("content:asset_detail", pk), message)


@login_required
@require_POST
def asset_comment(request, pk: int):
    asset = get_object_or_404(Asset, pk=pk)
    form = CommentForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.add_comment(asset, request.user, form.cleaned_data["body"])
        except ValidationError as exc:
            error = _errors(exc)
    else:
        error = "Write a comment first."
    if not request.htmx:
        if error:
            return add_toast(request, redirect("content:asset_detail", pk), error, level="error")
        return redirect(reverse("content:asset_detail", args=[pk]) + "#comments")
    page = queries.asset_page(pk)
    context = _detail_context(request, page, comment_error=error)
    if error:
        context["comment_form"] = form
    return render(request, "content/asset_comments.html", context)
