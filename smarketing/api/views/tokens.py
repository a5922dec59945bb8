"""The personal API tokens page: list, create (the secret is shown once), revoke."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from smarketing.api import tokens
from smarketing.api.forms import TokenForm
from smarketing.api.models import ApiToken


@login_required
def token_list(request):
    created_secret = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, created_secret = tokens.create_token(
                request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = TokenForm()
    user_tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")[:200]
    context = {"tokens": user_tokens, "form": form, "created_secret": created_secret}
    # The secret is rendered into this one response and never stored, so the page is not cacheable.
    response = render(request, "api/token_list.html", context, status=201 if created_secret else 200)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if tokens.revoke_token(token, actor=request.user):
        messages.success(request, f"Token “{token.name}” revoked; calls with it now get 401.")
    return redirect("api:token_list")
