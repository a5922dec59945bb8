"""Privacy request pages: the requests log, one contact's privacy page, the JSON export and the erase form.

Admins only (403 for everyone else): an export hands out everything held about a person and an erasure
cannot be undone, so neither is delegated to managers.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.core.models import AuditEntry
from smarketing.core.queries import SortOption, keyset_page
from smarketing.crm.models import Contact
from smarketing.crm.normalize import normalize_email
from smarketing.privacy import access, queries, services
from smarketing.privacy.forms import EraseForm, FindForm
from smarketing.privacy.models import ErasureRecord

NEWEST_ERASURES = SortOption("Newest first", ("-erased_at", "-id"))
NEWEST_EXPORTS = SortOption("Newest first", ("-at", "-id"))
TABS = ("erasures", "exports")


def _contact_for_admin(request, pk: int) -> Contact:
    access.require_admin(request.user)
    return get_object_or_404(Contact.objects.select_related("company", "owner"), pk=pk)


@require_GET
def request_log(request):
    """Every erasure (ErasureRecord) and every export (from the audit log), newest first, plus a finder."""
    access.require_admin(request.user)
    find = FindForm(request.GET if "email" in request.GET else None)
    if find.is_bound and find.is_valid():
        try:
            email = normalize_email(find.cleaned_data["email"])
        except ValidationError as exc:
            find.add_error("email", exc.messages[0])
        else:
            contact = Contact.objects.filter(email=email).only("id").first()
            if contact is not None:
                return redirect("privacy:contact", pk=contact.pk)
            find.add_error(
                "email", "No contact has this email address. If they were erased, nothing about them is left."
            )
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "erasures"
    cursor = request.GET.get("cursor")
    if tab == "erasures":
        page = keyset_page(ErasureRecord.objects.select_related("actor"), NEWEST_ERASURES, cursor, settings.PAGE_SIZE)
    else:
        exports = AuditEntry.objects.filter(action="privacy_export").select_related("actor")
        page = keyset_page(exports, NEWEST_EXPORTS, cursor, settings.PAGE_SIZE)
    return render(request, "privacy/log.html", {"find": find, "tab": tab, "page": page})


@require_GET
def contact(request, pk: int):
    """What is held about one contact, with the two actions."""
    person = _contact_for_admin(request, pk)
    return render(
        request,
        "privacy/contact.html",
        {"contact": person, "counts": queries.held_counts(person), "erasure": services.erasure_of(person)},
    )


@require_POST
def export(request, pk: int):
    """The JSON export, streamed: memory stays flat however long the contact's history is."""
    person = _contact_for_admin(request, pk)
    data = services.export_contact(person, actor=request.user)
    response = StreamingHttpResponse(services.stream_json(data), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contact-{person.pk}-export.json"'
    # The file holds personal data: no shared cache may keep it.
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def erase(request, pk: int):
    """Confirm page (type the email, give a reason) and the erasure itself."""
    person = _contact_for_admin(request, pk)
    erasure = services.erasure_of(person)
    if erasure is not None:
        messages.info(request, f"This person was already erased on {erasure.erased_at:%Y-%m-%d %H:%M} UTC.")
        return redirect("privacy:contact", pk=person.pk)
    form = EraseForm(request.POST if request.method == "POST" else None, email=person.email)
    if request.method == "POST" and form.is_valid():
        try:
            record, done = services.erase_contact(person, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if done:
                messages.success(request, f"Contact #{record.contact_id} was erased.")
            else:
                messages.info(request, "This person was already erased; nothing was changed.")
            return redirect("privacy:contact", pk=person.pk)
    return render(
        request,
        "privacy/erase.html",
        {"contact": person, "form": form, "counts": queries.held_counts(person)},
        status=400 if form.is_bound and form.errors else 200,
    )
