"""Deactivating a user: how many records they own, and whether they go to someone else or stay visibly theirs."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from smarketing.accounts.access import require_admin
from smarketing.accounts.models import User
from smarketing.crm import services
from smarketing.crm.views.settings.forms import DeactivateForm


@require_http_methods(["GET", "POST"])
def user_deactivate(request, pk: int):
    require_admin(request.user, "Only admins can deactivate users.")
    person = get_object_or_404(User, pk=pk)
    if not person.is_active:
        messages.info(request, f"{person} is already deactivated.")
        return redirect("settings_user", pk=person.pk)
    form = DeactivateForm(request.POST or None, person=person)
    if request.method == "POST" and form.is_valid():
        try:
            moved = services.deactivate_owner(person, actor=request.user, reassign_to=form.target())
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            text = ", ".join(f"{n} {label}" for label, n in moved.items() if n)
            done = f" and reassigned {text} to {form.target()}" if text else ""
            messages.success(request, f"Deactivated {person}{done}.")
            return redirect("settings_users")
    context = {"person": person, "form": form, "counts": services.owned_counts(person)}
    return render(request, "crm/settings/user_deactivate.html", context, status=400 if form.errors else 200)
