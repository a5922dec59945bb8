"""Lifecycle-stage settings: the company's own definition of each stage and the team that owns it.

The stages and their order are fixed by the product (crm.lifecycle_rules decides what a backward move is);
this page only writes down what each one means here, so both teams read the same definition.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from smarketing.accounts.access import is_admin, require_admin, require_manager_or_admin
from smarketing.crm import services
from smarketing.crm.models import LifecycleStageSetting
from smarketing.crm.views.settings.forms import LifecycleForm


@require_http_methods(["GET", "POST"])
def lifecycle_settings(request):
    require_manager_or_admin(request.user)
    can_edit = is_admin(request.user)
    form = LifecycleForm(request.POST or None, settings=LifecycleStageSetting.objects.by_stage())
    if request.method == "POST":
        require_admin(request.user, "Only admins can change the lifecycle-stage settings.")
        if form.is_valid():
            try:
                changed = services.update_lifecycle_settings(actor=request.user, values=form.service_values())
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(
                    request, f"Saved {changed} stage{'s' if changed != 1 else ''}." if changed else "Nothing changed."
                )
                return redirect("settings_lifecycle")
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    context = {"form": form, "can_edit": can_edit}
    return render(request, "crm/settings/lifecycle.html", context, status=400 if form.errors else 200)
