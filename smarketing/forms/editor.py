"""The builder page's round trip: the posted editor (settings and field rows) read back into Python, and the
add / remove / move buttons applied to the field list.

The page posts its fields as numbered rows (`fields-0-key`, `fields-0-label`, … and `field_count`); the
buttons post the whole editor with `action` ("add:email", "remove:2", "up:2", "down:2"). Without JavaScript the
buttons post to the edit page itself, which applies them and shows the editor again; with htmx they post to
the builder endpoint, which answers the field list and the preview. Either way nothing is saved until "Save".
Nothing here validates: `services` does, through `fields.validate_definition`.
"""

from django.http import QueryDict

from smarketing.forms.fields import CHOICE_TYPES, FIELD_TYPES, MAX_FIELDS, parse

ATTRS = ("key", "label", "type", "maps_to", "placeholder", "help_text", "source", "value")
FLAGS = ("required", "progressive")
SETTINGS = (
    "name",
    "title",
    "intro",
    "submit_label",
    "success_message",
    "redirect_url",
    "consent_text",
    "allowed_origins",
    "min_fill_seconds",
    "campaign",
    "default_owner",
    "lifecycle_stage",
)
SETTING_FLAGS = ("consent_enabled", "consent_required", "double_opt_in")
# What a new field of each type starts with (the builder then edits label and key).
NEW_FIELD = {
    "email": ("email", "Email", "contact.email"),
    "text": ("text", "Question", ""),
    "textarea": ("message", "Message", ""),
    "phone": ("phone", "Phone", "contact.phone"),
    "number": ("number", "Number", ""),
    "select": ("choice", "Choose one", ""),
    "radio": ("option", "Pick one", ""),
    "checkboxes": ("options", "Pick any", ""),
    "checkbox": ("agree", "Yes, please", ""),
    "date": ("date", "Date", ""),
    "hidden": ("utm_source", "", ""),
}


def parse_fields(post: QueryDict) -> list[dict]:
    """The field rows of a posted editor, in their order on the page (at most MAX_FIELDS + 1 are read)."""
    raw = post.get("field_count", "0")
    count = min(int(raw), MAX_FIELDS + 1) if raw.isdigit() else 0
    rows = []
    for i in range(count):
        prefix = f"fields-{i}-"
        if f"{prefix}type" not in post:
            continue
        row = {name: post.get(prefix + name, "").strip() for name in ATTRS}
        for flag in FLAGS:
            row[flag] = post.get(prefix + flag) == "1"
        choices = [line.strip() for line in post.get(prefix + "choices", "").splitlines() if line.strip()]
        if choices:
            row["choices"] = choices
        rows.append(row)
    return rows


def parse_settings(post: QueryDict) -> dict:
    """The form's settings from a posted editor (everything the services' `update_form` takes but fields)."""
    data = {name: post.get(name, "") for name in SETTINGS}
    for flag in SETTING_FLAGS:
        data[flag] = post.get(flag) == "1"
    data["notify_users"] = [pk for pk in post.getlist("notify_users")[:MAX_FIELDS] if pk]
    return data


def _unique_key(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def new_field(kind: str, existing: list[dict]) -> dict:
    key, label, maps_to = NEW_FIELD[kind]
    taken_targets = {f.get("maps_to") for f in existing}
    field = {
        "key": _unique_key(key, {f.get("key", "") for f in existing}),
        "label": label,
        "type": kind,
        "maps_to": maps_to if maps_to not in taken_targets else "",
        "required": kind == "email" and maps_to not in taken_targets,
    }
    if kind in CHOICE_TYPES:
        field["choices"] = ["First answer", "Second answer"]
    if kind == "hidden":
        field["source"] = "utm_source"
    return field


def apply_action(rows: list[dict], action: str) -> list[dict]:
    """The field list after one builder button; an unknown or out-of-range action changes nothing."""
    verb, _, arg = action.partition(":")
    rows = list(rows)
    if verb == "add" and arg in FIELD_TYPES and len(rows) < MAX_FIELDS:
        rows.append(new_field(arg, rows))
        return rows
    if not arg.isdigit() or int(arg) >= len(rows):
        return rows
    i = int(arg)
    if verb == "remove":
        del rows[i]
    elif verb == "up" and i > 0:
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
    elif verb == "down" and i < len(rows) - 1:
        rows[i + 1], rows[i] = rows[i], rows[i + 1]
    return rows


def preview_fields(rows: list[dict]) -> list:
    """The rows as `fields.Field`s for the preview, skipping rows too broken to draw (no key or type yet)."""
    drawable = [r for r in rows if r.get("type") in FIELD_TYPES]
    return parse([{**r, "key": r.get("key") or f"field_{i}"} for i, r in enumerate(drawable)])
