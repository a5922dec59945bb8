"""Custom properties: define, edit (label, help, choices, required, order) and delete."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from smarketing.crm import access, services
from smarketing.crm.forms import PropertyDefinitionForm
from smarketing.crm.models import ObjectType, PropertyDefinition
from smarketing.crm.views.settings.forms import PropertyEditForm


@require_http_methods(["GET", "POST"])
def property_list(request):
    access.require_admin(request.user, "Only admins can open this page.")
    bound = request.method == "POST"
    form = PropertyDefinitionForm(request.POST if bound else None, initial={"object_type": request.GET.get("type")})
    if bound and form.is_valid():
        data = form.cleaned_data
        try:
            definition = services.define_property(
                actor=request.user,
                object_type=data["object_type"],
                key=data["key"].strip(),
                label=data["label"],
                type=data["type"],
                choices=data["choices"],
                position=data.get("position") or 0,
                help_text=data.get("help_text", ""),
                required=data.get("required", False),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            kind = definition.get_object_type_display().lower()
            messages.success(request, f"Added the {kind} property “{definition}”.")
            return redirect("property_list")
    groups = {value: {"label": label, "items": []} for value, label in ObjectType.choices}
    for definition in PropertyDefinition.objects.all():
        groups[definition.object_type]["items"].append(definition)
    return render(request, "crm/admin_properties.html", {"form": form, "groups": groups.values()})


@require_POST
def property_delete(request, pk):
    access.require_admin(request.user, "Only admins can open this page.")
    definition = get_object_or_404(PropertyDefinition, pk=pk)
    services.delete_property(definition, actor=request.user)
    messages.success(
        request,
        f"Deleted the property “{definition}”. Values already stored on records stay in their data "
        "(and in exports of the audit log) but are no longer shown or editable.",
    )
    return redirect("property_list")


@require_http_methods(["GET", "POST"])
def property_edit(request, pk):
    access.require_admin(request.user, "Only admins can open this page.")
    definition = get_object_or_404(PropertyDefinition, pk=pk)
    form = PropertyEditForm(request.POST or None, definition=definition)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_property(definition, actor=request.user, data=form.service_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Saved the property “{definition}”.")
            return redirect("property_list")
    context = {"form": form, "definition": definition}
    return render(request, "crm/settings/property_edit.html", context, status=400 if form.errors else 200)
