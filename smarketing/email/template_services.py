"""Email templates and the brand: who may change them, and every write (audited).

| action                                 | admin | manager | member of a marketing team | other member | read-only |
|----------------------------------------|-------|---------|----------------------------|--------------|-----------|
| see templates, preview them            | yes   | yes     | yes                        | yes          | yes       |
| create, edit, archive, send a test     | yes   | yes     | yes                        | no           | no        |
| brand settings                         | yes   | yes     | yes                        | no           | no        |

Emails speak for the whole company, so sales reads them (what did marketing send my lead?) but marketing,
managers and admins write them; the system actor (seed, imports) is always allowed.
"""

import secrets
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from smarketing.accounts.access import is_manager_or_admin, is_person, is_system, role_of
from smarketing.accounts.models import Role, TeamKind
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.email.blocks import HEX_COLOR, clean_block, default_blocks, new_block
from smarketing.email.merge import check_merge
from smarketing.email.models import Brand, EditorMode, EmailTemplate


def can_view_templates(user: Any) -> bool:
    return is_system(user) or is_person(user)


def can_edit_templates(user: Any) -> bool:
    if is_manager_or_admin(user):
        return True
    team = getattr(user, "team", None)
    return role_of(user) == Role.MEMBER and team is not None and team.kind == TeamKind.MARKETING


def require_view_templates(user: Any) -> None:
    if not can_view_templates(user):
        raise PermissionDenied("Sign in to see email templates.")


def require_edit_templates(user: Any) -> None:
    if not can_edit_templates(user):
        raise PermissionDenied("Only marketing, managers and admins can change email templates.")


def _check_line(value: str, label: str, max_length: int = 300) -> str:
    value = (value or "").strip()
    if "\r" in value or "\n" in value:
        raise ValidationError({label: "Keep this on one line."})
    if len(value) > max_length:
        raise ValidationError({label: f"At most {max_length} characters."})
    try:
        check_merge(value)
    except ValidationError as exc:
        raise ValidationError({label: exc.messages[0]}) from None
    return value


def _touch(template: EmailTemplate, fields: list[str]) -> None:
    template.updated_at = timezone.now()
    template.save(update_fields=[*fields, "updated_at"])


def create_template(actor, *, name: str, subject: str = "", preheader: str = "", origin: str = Origin.UI):
    require_edit_templates(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the template a name."})
    template = EmailTemplate(
        name=name[:200],
        subject=_check_line(subject, "subject"),
        preheader=_check_line(preheader, "preheader"),
        blocks=default_blocks(),
        owner=actor if is_person(actor) else None,
    )
    with transaction.atomic():
        template.save()
        record_audit(actor=actor, action="create", obj=template, origin=origin)
    return template


def update_settings(actor, template: EmailTemplate, *, name: str, subject: str, preheader: str, origin=Origin.UI):
    """Name, subject and preheader (merge fields allowed in the last two, checked by the sandbox)."""
    require_edit_templates(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the template a name."})
    new = {
        "name": name[:200],
        "subject": _check_line(subject, "subject"),
        "preheader": _check_line(preheader, "preheader"),
    }
    changes = {k: (getattr(template, k), v) for k, v in new.items() if getattr(template, k) != v}
    if not changes:
        return template
    with transaction.atomic():
        for k, v in new.items():
            setattr(template, k, v)
        _touch(template, list(new))
        record_audit(actor=actor, action="update", obj=template, changes=changes, origin=origin)
    return template


def _save_blocks(actor, template: EmailTemplate, blocks: list[dict], what: str, origin: str) -> EmailTemplate:
    with transaction.atomic():
        old = [b.get("type") for b in template.blocks]
        template.blocks = blocks
        _touch(template, ["blocks"])
        # The audit keeps the outline (block types, in order) and what happened, not every word typed.
        record_audit(
            actor=actor,
            action="update",
            obj=template,
            changes={"blocks": (old, [b.get("type") for b in blocks]), "change": (None, what)},
            origin=origin,
        )
    return template


def _index(template: EmailTemplate, block_id: str) -> int:
    for i, block in enumerate(template.blocks):
        if block.get("id") == block_id:
            return i
    raise ValidationError("That block is no longer in this template (reload the page).")


def add_block(actor, template: EmailTemplate, kind: str, *, origin=Origin.UI) -> dict:
    require_edit_templates(actor)
    if len(template.blocks) >= 100:
        raise ValidationError("An email can have at most 100 blocks.")
    block = new_block(kind)
    blocks = list(template.blocks)
    # A new block goes above the footer, where a marketer expects content to grow.
    at = len(blocks)
    if blocks and blocks[-1].get("type") == "footer" and kind != "footer":
        at -= 1
    blocks.insert(at, block)
    _save_blocks(actor, template, blocks, f"added {kind}", origin)
    return block


def update_block(actor, template: EmailTemplate, block_id: str, data: dict, *, origin=Origin.UI) -> dict:
    """Replace one block's fields; raises ValidationError (a sentence naming the field) and saves nothing."""
    require_edit_templates(actor)
    i = _index(template, block_id)
    current = template.blocks[i]
    block = clean_block({**data, "id": current["id"], "type": current["type"]})
    blocks = list(template.blocks)
    blocks[i] = block
    _save_blocks(actor, template, blocks, f"edited {block['type']}", origin)
    return block


def move_block(actor, template: EmailTemplate, block_id: str, offset: int, *, origin=Origin.UI) -> None:
    require_edit_templates(actor)
    i = _index(template, block_id)
    j = max(0, min(len(template.blocks) - 1, i + (1 if offset > 0 else -1)))
    if i == j:
        return
    blocks = list(template.blocks)
    blocks[i], blocks[j] = blocks[j], blocks[i]
    _save_blocks(actor, template, blocks, f"moved {blocks[j]['type']}", origin)


def delete_block(actor, template: EmailTemplate, block_id: str, *, origin=Origin.UI) -> dict:
    require_edit_templates(actor)
    i = _index(template, block_id)
    blocks = list(template.blocks)
    removed = blocks.pop(i)
    _save_blocks(actor, template, blocks, f"deleted {removed['type']}", origin)
    return removed


def set_mode(actor, template: EmailTemplate, mode: str, *, origin=Origin.UI) -> EmailTemplate:
    """Switch between blocks and raw HTML. Into HTML mode, the blocks' compiled HTML is the starting point."""
    require_edit_templates(actor)
    if mode not in EditorMode.values:
        raise ValidationError("Unknown editor mode.")
    if mode == template.mode:
        return template
    from smarketing.email.rendering import compile_template

    fields = ["mode"]
    if mode == EditorMode.HTML and not template.html.strip():
        try:
            template.html, _ = compile_template(template)
        except ValidationError:
            template.html = ""  # unfinished blocks: the expert starts from an empty page
        fields.append("html")
    with transaction.atomic():
        old = template.mode
        template.mode = mode
        _touch(template, fields)
        record_audit(actor=actor, action="update", obj=template, changes={"mode": (old, mode)}, origin=origin)
    return template


def update_html(actor, template: EmailTemplate, html: str, *, origin=Origin.UI) -> EmailTemplate:
    """The raw HTML of an expert template; checked by compiling it (sanitized, merge fields, unsubscribe link)."""
    require_edit_templates(actor)
    from smarketing.email.rendering import compile_email

    html = html or ""
    compile_email(mode=EditorMode.HTML, html=html, preheader=template.preheader)
    with transaction.atomic():
        changed = template.html != html
        template.html = html
        _touch(template, ["html"])
        if changed:
            record_audit(
                actor=actor, action="update", obj=template, changes={"html": (None, f"{len(html)} characters")}
            )
    return template


def archive_template(actor, template: EmailTemplate, *, archived: bool = True, origin=Origin.UI) -> EmailTemplate:
    require_edit_templates(actor)
    if template.archived == archived:
        return template
    with transaction.atomic():
        template.archived = archived
        _touch(template, ["archived"])
        record_audit(
            actor=actor, action="update", obj=template, changes={"archived": (not archived, archived)}, origin=origin
        )
    return template


def duplicate_template(actor, template: EmailTemplate, *, origin=Origin.UI) -> EmailTemplate:
    require_edit_templates(actor)
    copy = EmailTemplate(
        name=f"{template.name} (copy)"[:200],
        subject=template.subject,
        preheader=template.preheader,
        mode=template.mode,
        blocks=[{**b, "id": "b" + secrets.token_hex(4)} for b in template.blocks],
        html=template.html,
        owner=actor if is_person(actor) else None,
    )
    with transaction.atomic():
        copy.save()
        record_audit(
            actor=actor, action="create", obj=copy, changes={"copied_from": (None, template.pk)}, origin=origin
        )
    return copy


BRAND_FIELDS = (
    "company_name",
    "logo_url",
    "website_url",
    "postal_address",
    "primary_color",
    "text_color",
    "background_color",
)


def update_brand(actor, data: dict, *, origin=Origin.UI) -> Brand:
    """The brand header/footer every block email carries; colours are #rrggbb, URLs https."""
    require_edit_templates(actor)
    brand = Brand.current()
    errors = {}
    new = {f: str(data.get(f, getattr(brand, f)) or "").strip() for f in BRAND_FIELDS}
    for f in ("primary_color", "text_color", "background_color"):
        if not HEX_COLOR.match(new[f]):
            errors[f] = "Write a colour as #rrggbb, for example #2563eb."
    for f in ("logo_url", "website_url"):
        if new[f] and not new[f].lower().startswith("https://"):
            errors[f] = "Use a full https:// address."
    if errors:
        raise ValidationError(errors)
    changes = {f: (getattr(brand, f), v) for f, v in new.items() if getattr(brand, f) != v}
    if not changes:
        return brand
    with transaction.atomic():
        for f, v in new.items():
            setattr(brand, f, v)
        brand.updated_at = timezone.now()
        brand.save()
        record_audit(actor=actor, action="update", obj=brand, changes=changes, origin=origin, object_repr="Brand")
    return brand
