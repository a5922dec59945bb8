"""Merge fields in emails, rendered in a sandbox: `{{ contact.first_name|default:"there" }}`.

The sandbox is a dedicated Django template `Engine` with no default libraries at all: it knows only the `if`
tag (with `elif`/`else`) and the filters `default`, `upper`, `lower`, `title`, `capfirst` and `date`. Nothing
else parses, so `{% load %}`, `{% include %}`, `{% extends %}`, `{% url %}`, `{% csrf_token %}`, `{% debug %}`
and every other filter are refused when the template is saved, with the line and a sentence a marketer reads.

Every variable is checked against an allow-list of roots and fields (`contact.first_name`, `company.name`,
`unsubscribe_url`, `tracking.link_3`, ...) and may be at most two levels deep, so no lookup can walk from a
value to its methods or class (`contact.email.__class__`, `contact.email.upper`). The contexts themselves are
plain dicts of strings, numbers and dates built by `recipient_contexts` from `values()` rows, never model
instances: even a lookup that slipped through could not reach the ORM, `settings` or the request.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import FilterExpression, Node, TextNode, Variable, VariableNode
from django.template.defaulttags import IfNode
from django.template.smartif import Literal, TokenBase

MAX_SOURCE = 200_000  # characters; a template is an email, not a book

# The library the sandbox engine loads as its only builtin (engine builtins are module paths with `register`).
register = Library()
register.tag("if", defaulttags.do_if)
for _name in ("default", "upper", "lower", "title", "capfirst", "date"):
    register.filter(_name, getattr(defaultfilters, _name))
ALLOWED_FILTERS = frozenset(register.filters)

# What a merge field may name. `contact` also takes custom property keys (hyphens become underscores), which an
# admin may add at any time, so any other identifier under `contact` is accepted and renders "" when unknown.
CONTACT_FIELDS = ("first_name", "last_name", "full_name", "email", "title", "phone", "lifecycle_stage")
COMPANY_FIELDS = ("name", "domain", "industry", "country")
OWNER_FIELDS = ("first_name", "last_name", "full_name", "email", "title")
CAMPAIGN_FIELDS = ("name",)
FIELDS: dict[str, tuple[str, ...] | None] = {
    "contact": None,  # built-in fields and custom properties
    "company": COMPANY_FIELDS,
    "owner": OWNER_FIELDS,
    "campaign": CAMPAIGN_FIELDS,
    "tracking": None,  # open_pixel, link_1, ... filled by email/links.py at send time
}
TOP_LEVEL = ("unsubscribe_url", "preferences_url")

# The picker in the editor offers these (label, merge tag).
PICKER = [
    ("First name", '{{ contact.first_name|default:"there" }}'),
    ("Last name", "{{ contact.last_name }}"),
    ("Full name", "{{ contact.full_name }}"),
    ("Email", "{{ contact.email }}"),
    ("Job title", "{{ contact.title }}"),
    ("Lifecycle stage", "{{ contact.lifecycle_stage }}"),
    ("Company name", '{{ company.name|default:"your company" }}'),
    ("Company industry", "{{ company.industry }}"),
    ("Owner's name", "{{ owner.full_name }}"),
    ("Owner's email", "{{ owner.email }}"),
    ("Campaign name", "{{ campaign.name }}"),
    ("Unsubscribe link", "{{ unsubscribe_url }}"),
    ("Preferences link", "{{ preferences_url }}"),
]


class _SandboxEngine(Engine):
    # Engine() always prepends Django's default tags, filters and loader tags (include, extends, block):
    # the sandbox starts from nothing instead.
    default_builtins: list[str] = []


# debug=True only so syntax errors carry the line they were found on (`template_debug`); loaders are empty,
# so even a tag that got through could not read a file.
_engine = _SandboxEngine(
    builtins=["smarketing.email.merge"], libraries={}, loaders=[], debug=True, string_if_invalid=""
)


def _line_of(source: str, exc: Exception) -> int | None:
    info = getattr(exc, "template_debug", None)
    return info.get("line") if info else None


def _check_variable(var: Variable, where: str) -> None:
    lookups = var.lookups
    if lookups is None:  # a literal ("there", 3)
        return
    name = ".".join(lookups)
    root = lookups[0]
    if root in TOP_LEVEL:
        if len(lookups) != 1:
            raise ValidationError(f"{where}: {{{{ {name} }}}} is not a merge field; use {{{{ {root} }}}}.")
        return
    if root not in FIELDS:
        raise ValidationError(
            f"{where}: {{{{ {name} }}}} is not a merge field. Use contact, company, owner or campaign fields, "
            "for example {{ contact.first_name }}."
        )
    if len(lookups) != 2:
        raise ValidationError(
            f"{where}: {{{{ {name} }}}} is not a merge field; write {root}.<field>, for example "
            f"{{{{ {root}.{(FIELDS[root] or ('first_name',))[0]} }}}}."
        )
    allowed = FIELDS[root]
    if allowed is not None and lookups[1] not in allowed:
        raise ValidationError(f"{where}: {root} has no field “{lookups[1]}”. Known fields: {', '.join(allowed)}.")


def _check_expression(expr: FilterExpression, where: str) -> None:
    if isinstance(expr.var, Variable):
        _check_variable(expr.var, where)
    for func, args in expr.filters:
        if getattr(func, "_filter_name", func.__name__) not in ALLOWED_FILTERS:  # pragma: no cover - parser refuses
            raise ValidationError(f"{where}: the filter {func.__name__} is not allowed.")
        for is_var, arg in args:
            if is_var:
                _check_variable(arg, where)


def _check_condition(cond: Any, where: str) -> None:
    if cond is None:  # {% else %}
        return
    if isinstance(cond, Literal) or hasattr(cond, "value") and isinstance(cond.value, FilterExpression):
        _check_expression(cond.value, where)
        return
    if isinstance(cond, TokenBase):
        for part in (getattr(cond, "first", None), getattr(cond, "second", None)):
            if part is not None:
                _check_condition(part, where)


def _check_nodes(nodelist, source: str) -> None:
    for node in nodelist:
        where = f"Line {_node_line(node, source)}"
        if isinstance(node, TextNode):
            continue
        if isinstance(node, VariableNode):
            _check_expression(node.filter_expression, where)
        elif isinstance(node, IfNode):
            for cond, nodes in node.conditions_nodelists:
                _check_condition(cond, where)
                _check_nodes(nodes, source)
        else:  # pragma: no cover - only the tags above are registered
            raise ValidationError(f"{where}: this tag is not allowed in an email.")


def _node_line(node: Node, source: str) -> int:
    token = getattr(node, "token", None)
    if token is not None and token.position:
        return source.count("\n", 0, token.position[0]) + 1
    return getattr(token, "lineno", 1) or 1


def _friendly(message: str) -> str:
    """Django's parser messages, in words a marketer understands."""
    if message.startswith("Invalid block tag"):
        tag = message.split("'")[1] if "'" in message else ""
        return f"{{% {tag} %}} is not allowed in an email; only merge fields and {{% if %}} … {{% endif %}} are."
    if message.startswith("Invalid filter"):
        name = message.split("'")[1] if "'" in message else ""
        return f"the filter “{name}” is not allowed; use default, upper, lower, title, capfirst or date."
    if "may not begin with underscores" in message:
        return "merge fields may not start with an underscore."
    if message.startswith("Unclosed tag"):
        return "an {% if %} is missing its {% endif %}."
    return message


@dataclass
class MergeTemplate:
    """A checked merge template, compiled once and rendered for many recipients."""

    source: str
    html: bool
    _template: Any

    def render(self, context: dict) -> str:
        # autoescape is the whole XSS defence for contact data in HTML; the text part stays plain.
        return self._template.render(Context(context, autoescape=self.html))


def compile_merge(source: str, *, html: bool) -> MergeTemplate:
    """Parse and check `source`; raises ValidationError (with the line) for anything outside the sandbox."""
    source = source or ""
    if len(source) > MAX_SOURCE:
        raise ValidationError(f"This email is too long (more than {MAX_SOURCE:,} characters).")
    try:
        template = _engine.from_string(source)
    except TemplateSyntaxError as exc:
        line = _line_of(source, exc)
        prefix = f"Line {line}: " if line else ""
        raise ValidationError(prefix + _friendly(str(exc))) from None
    _check_nodes(template.nodelist, source)
    return MergeTemplate(source=source, html=html, _template=template)


def check_merge(source: str) -> None:
    """Validate at save: the same checks as compile_merge, the result thrown away."""
    compile_merge(source, html=False)


# ---------------------------------------------------------------------------------------------------------------
# Contexts


def _split_name(full_name: str) -> tuple[str, str]:
    first, _, last = (full_name or "").strip().partition(" ")
    return first, last.strip()


def _custom_values(custom: dict, date_keys: frozenset[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in (custom or {}).items():
        name = str(key).replace("-", "_")
        if not name.isidentifier() or name.startswith("_") or name in CONTACT_FIELDS:
            continue
        if key in date_keys and isinstance(value, str):
            try:
                value = datetime.date.fromisoformat(value[:10])
            except ValueError:
                pass
        elif isinstance(value, bool):
            value = "Yes" if value else "No"
        elif not isinstance(value, int | float | str):
            value = "" if value is None else str(value)  # lists (multi-choice) and anything odd become text
        values[name] = value
    return values


def _campaign_context(campaign) -> dict[str, str]:
    if campaign is None:
        return {"name": ""}
    # An EmailCampaign (its name lives on campaigns.Campaign) or a campaigns.Campaign.
    inner = getattr(campaign, "campaign", campaign)
    return {"name": str(getattr(inner, "name", "") or "")}


def recipient_contexts(contact_ids: list[int], *, campaign=None) -> dict[int, dict]:
    """The merge context of each contact, in a constant number of queries (two, whatever the number of ids).

    Plain dicts of strings/numbers/dates only: contact (built-in fields, lifecycle stage label, custom
    properties), company, owner and campaign. `unsubscribe_url`, `preferences_url` and `tracking` are added by
    the sender from email/links.py.
    """
    from smarketing.crm.models import Contact, LifecycleStage, PropertyDefinition

    ids = list(contact_ids)
    if not ids:
        return {}
    date_keys = frozenset(
        PropertyDefinition.objects.filter(object_type="contact", type=PropertyDefinition.Type.DATE).values_list(
            "key", flat=True
        )
    )
    stage_labels = dict(LifecycleStage.choices)
    campaign_ctx = _campaign_context(campaign)
    rows = Contact.objects.filter(pk__in=ids).values_list(
        "id",
        "first_name",
        "last_name",
        "email",
        "title",
        "phone",
        "lifecycle_stage",
        "custom",
        "company__name",
        "company__domain",
        "company__industry",
        "company__country",
        "owner__full_name",
        "owner__email",
    )
    contexts: dict[int, dict] = {}
    for (
        pk,
        first,
        last,
        email,
        title,
        phone,
        stage,
        custom,
        c_name,
        c_domain,
        c_ind,
        c_country,
        o_name,
        o_email,
    ) in rows.iterator(chunk_size=2000):
        contact = _custom_values(custom, date_keys)
        contact.update(
            first_name=first,
            last_name=last,
            full_name=f"{first} {last}".strip(),
            email=email,
            title=title,
            phone=phone,
            lifecycle_stage=stage_labels.get(stage, stage),
        )
        o_first, o_last = _split_name(o_name or "")
        contexts[pk] = {
            "contact": contact,
            "company": {
                "name": c_name or "",
                "domain": c_domain or "",
                "industry": c_ind or "",
                "country": c_country or "",
            },
            "owner": {
                "first_name": o_first,
                "last_name": o_last,
                "full_name": o_name or "",
                "email": o_email or "",
                "title": "",  # users have no job title yet
            },
            "campaign": dict(campaign_ctx),
        }
    return contexts


PREVIEW_LINKS = {"unsubscribe_url": "#unsubscribe", "preferences_url": "#preferences", "tracking": {}}


def sample_context(contact=None, *, campaign=None) -> dict:
    """The context for a preview: a contact's real fields, or a made-up person when none is chosen.

    Unsubscribe/preferences links point nowhere ("#...") so a preview or a test send never unsubscribes anyone.
    """
    if contact is not None:
        ctx = recipient_contexts([contact.pk], campaign=campaign).get(contact.pk)
        if ctx is not None:
            return {**ctx, **PREVIEW_LINKS}
    return {
        "contact": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "full_name": "Ada Lovelace",
            "email": "ada@example.com",
            "title": "Head of Engineering",
            "phone": "",
            "lifecycle_stage": "Lead",
        },
        "company": {"name": "Analytical Engines Ltd", "domain": "example.com", "industry": "Software", "country": ""},
        "owner": {"first_name": "", "last_name": "", "full_name": "", "email": "", "title": ""},
        "campaign": _campaign_context(campaign),
        **PREVIEW_LINKS,
    }
