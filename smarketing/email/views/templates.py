"""The template editor: list, blocks edited inline with htmx, raw HTML mode, preview as a contact, send a test.

Every change is saved as it is made (one block at a time) and the preview iframe reloads from the saved
template, so what the marketer sees is exactly what a campaign will freeze. The preview document is served with
its own Content-Security-Policy (`sandbox`, no scripts) and only to this app's own frames.
"""

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smarketing.core.toasts import add_toast
from smarketing.crm.models import Contact
from smarketing.email import template_services as services
from smarketing.email.blocks import TYPES, block_errors
from smarketing.email.merge import PICKER, sample_context
from smarketing.email.models import Brand, EditorMode, EmailTemplate
from smarketing.email.rendering import CompiledEmail

LIST_LIMIT = 200
TEST_SENDS_PER_HOUR = 20
# The preview is the marketer's own email, but its HTML still comes from users (raw HTML mode, contact data):
# it runs sandboxed, without scripts, and may only load images.
PREVIEW_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src https: http: data:; "
    "style-src 'unsafe-inline'; frame-ancestors 'self'"
)


def _template(request, pk) -> EmailTemplate:
    services.require_view_templates(request.user)
    return get_object_or_404(EmailTemplate, pk=pk)


def _preview_contact(request):
    raw = request.GET.get("contact") or request.POST.get("contact") or ""
    if not raw.isdigit():
        return None
    return Contact.objects.filter(pk=int(raw)).only("id", "first_name", "last_name", "email").first()


@require_http_methods(["GET", "POST"])
def template_list(request):
    services.require_view_templates(request.user)
    if request.method == "POST":
        try:
            template = services.create_template(request.user, name=request.POST.get("name", ""))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("email:template_list")
        return redirect("email:template_edit", template.pk)
    archived = request.GET.get("archived") == "1"
    # Newest first, capped: a team keeps dozens of templates, and the ordering index is the primary key.
    templates = list(
        EmailTemplate.objects.filter(archived=archived)
        .select_related("owner")
        .only("id", "name", "subject", "mode", "updated_at", "archived", "owner__full_name", "owner__email")
        .order_by("-updated_at", "-id")[:LIST_LIMIT]
    )
    return render(
        request,
        "email/template_list.html",
        {
            "templates": templates,
            "archived": archived,
            "can_edit": services.can_edit_templates(request.user),
            "capped": len(templates) == LIST_LIMIT,
        },
    )


def _block_rows(template: EmailTemplate, errors: dict | None = None, values: dict | None = None) -> list[dict]:
    """Each block with its field specs and current values, ready for the template."""
    errors = errors if errors is not None else block_errors(template.blocks)
    values = values or {}
    rows = []
    count = len(template.blocks)
    for i, block in enumerate(template.blocks):
        kind = TYPES.get(block.get("type"))
        if kind is None:
            continue
        data = values.get(block.get("id"), block)
        fields = []
        for f in kind.fields:
            fields.append({"spec": f, "value": data.get(f.name, ""), "id": f"{block['id']}-{f.name}"})
        rows.append(
            {
                "block": block,
                "kind": kind,
                "fields": fields,
                "error": errors.get(block.get("id")),
                "first": i == 0,
                "last": i == count - 1,
                "position": i + 1,
            }
        )
    return rows


def _editor_context(request, template: EmailTemplate, **extra) -> dict:
    contact = _preview_contact(request)
    return {
        "template": template,
        "rows": _block_rows(template) if template.mode == EditorMode.BLOCKS else [],
        "block_types": TYPES.values(),
        "picker": PICKER,
        "can_edit": services.can_edit_templates(request.user),
        "preview_contact": contact,
        "preview": _preview_summary(template, contact),
        "brand": Brand.current(),
        **extra,
    }


def _preview_summary(template: EmailTemplate, contact) -> dict:
    """The personalized subject and whether the email compiles (the iframe shows the body)."""
    try:
        compiled = CompiledEmail.from_template(template)
    except ValidationError as exc:
        return {"error": exc.messages[0], "subject": ""}
    rendered_subject = compiled.subject.render(sample_context(contact))
    return {"error": "", "subject": " ".join(rendered_subject.split())}


@require_GET
def template_edit(request, pk):
    template = _template(request, pk)
    return render(request, "email/template_edit.html", _editor_context(request, template))


def _blocks_response(request, template, *, status=200, errors=None, values=None, toast=""):
    context = _editor_context(request, template)
    if errors is not None:
        context["rows"] = _block_rows(template, errors={**block_errors(template.blocks), **errors}, values=values)
    response = render(request, "email/template_blocks.html", context, status=status)
    if toast:
        add_toast(request, response, toast)
    return response


def _after_post(request, template, toast: str):
    """htmx gets the block list back; a plain form post goes back to the editor (works without JavaScript)."""
    if request.htmx:
        return _blocks_response(request, template, toast=toast)
    messages.success(request, toast)
    return redirect("email:template_edit", template.pk)


@require_POST
def block_add(request, pk):
    template = _template(request, pk)
    try:
        block = services.add_block(request.user, template, request.POST.get("type", ""))
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    return _after_post(request, template, f"Added a {TYPES[block['type']].label.lower()} block.")


@require_POST
def block_update(request, pk, block_id):
    template = _template(request, pk)
    data = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
    try:
        services.update_block(request.user, template, block_id, data)
    except ValidationError as exc:
        if not request.htmx:
            messages.error(request, exc.messages[0])
            return redirect("email:template_edit", template.pk)
        # The block keeps what was typed, with the message next to it; nothing was saved.
        return _blocks_response(request, template, errors={block_id: exc.messages[0]}, values={block_id: data})
    return _after_post(request, template, "Saved the block.")


@require_POST
def block_move(request, pk, block_id):
    template = _template(request, pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    try:
        services.move_block(request.user, template, block_id, offset)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    return _after_post(request, template, "Moved the block.")


@require_POST
def block_delete(request, pk, block_id):
    template = _template(request, pk)
    try:
        removed = services.delete_block(request.user, template, block_id)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    return _after_post(request, template, f"Deleted the {TYPES[removed['type']].label.lower()} block.")


@require_POST
def template_settings(request, pk):
    template = _template(request, pk)
    errors = {}
    try:
        services.update_settings(
            request.user,
            template,
            name=request.POST.get("name", ""),
            subject=request.POST.get("subject", ""),
            preheader=request.POST.get("preheader", ""),
        )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"name": exc.messages}
    if not request.htmx:
        for field_errors in errors.values():
            messages.error(request, field_errors[0])
        return redirect("email:template_edit", template.pk)
    context = _editor_context(request, template, settings_errors=errors, posted=request.POST if errors else None)
    response = render(request, "email/template_settings.html", context)
    if not errors:
        add_toast(request, response, "Saved the subject and preheader.")
    return response


@require_POST
def template_mode(request, pk):
    template = _template(request, pk)
    services.set_mode(request.user, template, request.POST.get("mode", ""))
    label = "raw HTML" if template.mode == EditorMode.HTML else "blocks"
    messages.success(request, f"Switched to {label}.")
    return redirect("email:template_edit", template.pk)


@require_POST
def template_html(request, pk):
    template = _template(request, pk)
    html = request.POST.get("html", "")
    error = ""
    try:
        services.update_html(request.user, template, html)
    except ValidationError as exc:
        error = exc.messages[0]
    if not request.htmx:
        (messages.error if error else messages.success)(request, error or "Saved the HTML.")
        return redirect("email:template_edit", template.pk)
    context = _editor_context(request, template, html_error=error, html_value=html)
    response = render(request, "email/template_html.html", context)
    if not error:
        add_toast(request, response, "Saved the HTML.")
    return response


@require_POST
def template_archive(request, pk):
    template = _template(request, pk)
    archived = request.POST.get("archived", "1") == "1"
    services.archive_template(request.user, template, archived=archived)
    messages.success(request, f"{'Archived' if archived else 'Restored'} “{template.name}”.")
    return redirect("email:template_list")


@require_POST
def template_duplicate(request, pk):
    template = _template(request, pk)
    copy = services.duplicate_template(request.user, template)
    messages.success(request, f"Made a copy of “{template.name}”.")
    return redirect("email:template_edit", copy.pk)


@require_GET
@xframe_options_sameorigin
def template_preview(request, pk):
    """The email as the chosen contact (or a made-up person) would get it: a whole HTML document."""
    template = _template(request, pk)
    contact = _preview_contact(request)
    try:
        compiled = CompiledEmail.from_template(template)
    except ValidationError as exc:
        body = render(request, "email/template_preview_error.html", {"message": exc.messages[0]}).content
        response = HttpResponse(body)
    else:
        response = HttpResponse(compiled.html.render(sample_context(contact)))
    response["Content-Security-Policy"] = PREVIEW_CSP
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def template_preview_panel(request, pk):
    template = _template(request, pk)
    return render(request, "email/template_preview.html", _editor_context(request, template))


@require_GET
def preview_contacts(request):
    """Contacts for the "Preview as" picker: a prefix of the name or email, served by their indexes."""
    services.require_view_templates(request.user)
    q = (request.GET.get("q") or "").strip().lower()[:100]
    pk = request.GET.get("template", "")
    contacts = []
    if len(q) >= 2 and pk.isdigit():
        contacts = list(
            Contact.objects.filter(Q(name_key__startswith=q) | Q(last_key__startswith=q) | Q(email__startswith=q))
            .only("id", "first_name", "last_name", "email")
            .order_by("name_key", "id")[:8]
        )
    return render(
        request,
        "email/template_contacts.html",
        {"contacts": contacts, "q": q, "template_pk": pk},
    )


@require_POST
def template_test(request, pk):
    """Send the email to the signed-in user, personalized as the previewed contact, subject prefixed [Test]."""
    template = _template(request, pk)
    services.require_edit_templates(request.user)
    key = f"email:test-sends:{request.user.pk}"
    cache.add(key, 0, 3600)
    try:
        sent_this_hour = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 3600)
        sent_this_hour = 1
    if sent_this_hour > TEST_SENDS_PER_HOUR:
        message, level = f"You sent {TEST_SENDS_PER_HOUR} tests this hour; try again later.", "error"
    else:
        try:
            compiled = CompiledEmail.from_template(template)
        except ValidationError as exc:
            message, level = f"Not sent: {exc.messages[0]}", "error"
        else:
            rendered = compiled.render(sample_context(_preview_contact(request)))
            mail = EmailMultiAlternatives(
                subject=f"[Test] {rendered.subject}",
                body=rendered.text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[request.user.email],
            )
            mail.attach_alternative(rendered.html, "text/html")
            mail.send()
            message, level = f"Sent a test to {request.user.email}.", "success"
    if request.htmx:
        response = HttpResponse(status=204)
        add_toast(request, response, message, level=level)
        return response
    (messages.success if level == "success" else messages.error)(request, message)
    return redirect("email:template_edit", template.pk)


@require_http_methods(["GET", "POST"])
def brand_settings(request):
    services.require_view_templates(request.user)
    brand = Brand.current()
    errors: dict = {}
    values = {f: getattr(brand, f) for f in services.BRAND_FIELDS}
    if request.method == "POST":
        values = {f: request.POST.get(f, "") for f in services.BRAND_FIELDS}
        try:
            services.update_brand(request.user, values)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, "Saved the brand. Every block email uses it from now on.")
            return redirect("email:brand_settings")
    return render(
        request,
        "email/template_brand.html",
        {
            "values": values,
            "errors": errors,
            "can_edit": services.can_edit_templates(request.user),
            "fields": BRAND_FORM,
        },
        status=400 if errors else 200,
    )


BRAND_FORM = [
    ("company_name", "Company name", "text", ""),
    ("logo_url", "Logo URL", "url", "An https:// address of a PNG or JPG, about 320 px wide."),
    ("website_url", "Website", "url", "The logo links here."),
    ("postal_address", "Postal address", "textarea", "Required by anti-spam laws in every marketing email."),
    ("primary_color", "Buttons and links", "color", ""),
    ("text_color", "Text", "color", ""),
    ("background_color", "Background", "color", ""),
]
