"""The blocks a marketer arranges into an email, each checked and turned into MJML.

A template's `blocks` is JSON: `[{"id": "b1", "type": "heading", "text": "Hello"}, ...]`. Nothing in it is
trusted: every field is validated here (lengths, colours, URLs, the rich text cleaned with nh3), and every
value is escaped when it is written into MJML. Merge fields (`{{ contact.first_name }}`) are kept as written;
rendering.py swaps them for inert placeholders around MJML, CSS inlining and html2text so that none of those
tools can mangle the quotes in `default:"there"`.

URLs: a link is either an absolute http(s)/mailto URL (merge fields may appear after its start, e.g.
`https://example.com/?e={{ contact.email }}`) or exactly one of the link merge fields (`{{ unsubscribe_url }}`,
`{{ preferences_url }}`, `{{ tracking.link_1 }}`). A URL that *starts* with contact data could become
`javascript:` for one recipient, so that is refused.
"""

import re
import secrets
from dataclasses import dataclass, field
from html import escape

import nh3
from django.core.exceptions import ValidationError

from smarketing.email.merge import compile_merge

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MERGE_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
URL_FIELD_TAG = re.compile(r"^\{\{\s*(unsubscribe_url|preferences_url|tracking\.[a-z0-9_]+)\s*\}\}$")
SAFE_URL_START = re.compile(r"^(https?://[^\s{}\"'<>]+|mailto:[^\s{}\"'<>]+)", re.I)

TEXT_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "a", "blockquote"}
TEXT_ATTRIBUTES = {"a": {"href", "title"}}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "line"  # line, text (rich text), url, color, choice, number
    required: bool = False
    max_length: int = 300
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""


@dataclass(frozen=True)
class BlockType:
    key: str
    label: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    help: str = ""


ALIGN = (("left", "Left"), ("center", "Centre"), ("right", "Right"))
COLUMN_KIND = (("text", "Text"), ("image", "Image"))

TYPES: dict[str, BlockType] = {
    b.key: b
    for b in (
        BlockType("header", "Brand header", help="Your logo and company name, from the brand settings."),
        BlockType(
            "heading",
            "Heading",
            (
                Field("text", "Heading", required=True, max_length=200),
                Field("level", "Size", kind="choice", choices=(("1", "Large"), ("2", "Medium"))),
                Field("align", "Alignment", kind="choice", choices=ALIGN),
            ),
        ),
        BlockType(
            "text",
            "Text",
            (
                Field(
                    "html",
                    "Text",
                    kind="text",
                    required=True,
                    max_length=20_000,
                    help="Bold, italic, links and lists. Blank lines separate paragraphs.",
                ),
            ),
        ),
        BlockType(
            "image",
            "Image",
            (
                Field("src", "Image URL", kind="url", required=True, max_length=1000),
                Field("alt", "Description (alt text)", required=True, max_length=200),
                Field("href", "Link (optional)", kind="url", max_length=1000),
                Field("width", "Width in pixels (optional)", kind="number"),
            ),
        ),
        BlockType(
            "button",
            "Button",
            (
                Field("label", "Label", required=True, max_length=100),
                Field("href", "Link", kind="url", required=True, max_length=1000),
                Field("color", "Colour (optional, #rrggbb)", kind="color"),
                Field("align", "Alignment", kind="choice", choices=ALIGN),
            ),
        ),
        BlockType(
            "columns",
            "Columns",
            (
                Field("count", "Columns", kind="choice", choices=(("2", "Two"), ("3", "Three"))),
                *(
                    f
                    for n in (1, 2, 3)
                    for f in (
                        Field(f"kind_{n}", f"Column {n}", kind="choice", choices=COLUMN_KIND),
                        Field(f"html_{n}", f"Column {n} text", kind="text", max_length=5000),
                        Field(f"src_{n}", f"Column {n} image URL", kind="url", max_length=1000),
                        Field(f"alt_{n}", f"Column {n} image description", max_length=200),
                        Field(f"href_{n}", f"Column {n} link (optional)", kind="url", max_length=1000),
                    )
                ),
            ),
        ),
        BlockType("divider", "Divider"),
        BlockType("spacer", "Spacer", (Field("height", "Height in pixels", kind="number"),)),
        BlockType("signature", "Signature", help="The contact owner's name and email, filled in for each recipient."),
        BlockType(
            "footer",
            "Brand footer",
            (Field("note", "Note above the address (optional)", max_length=500),),
            help="Postal address, unsubscribe and preferences links. Every marketing email needs one.",
        ),
    )
}


def new_block(kind: str) -> dict:
    """A fresh block of `kind` with sensible starting content."""
    if kind not in TYPES:
        raise ValidationError("Unknown block type.")
    block: dict = {"id": "b" + secrets.token_hex(4), "type": kind}
    starters = {
        "heading": {"text": 'Hello {{ contact.first_name|default:"there" }}', "level": "1", "align": "left"},
        "text": {"html": "<p>Write your message here.</p>"},
        "image": {"src": "", "alt": "", "href": "", "width": ""},
        "button": {"label": "Read more", "href": "https://example.com", "color": "", "align": "center"},
        "columns": {"count": "2", "kind_1": "text", "kind_2": "text", "kind_3": "text"},
        "spacer": {"height": "24"},
    }
    block.update(starters.get(kind, {}))
    return block


def default_blocks() -> list[dict]:
    return [new_block("header"), new_block("heading"), new_block("text"), new_block("button"), new_block("footer")]


# ---------------------------------------------------------------------------------------------------------------
# Validation


def clean_rich_text(raw: str) -> str:
    """The text block's limited rich text. Plain text (no tags) becomes paragraphs."""
    raw = (raw or "").strip()
    if raw and "<" not in raw:
        paragraphs = [p.strip() for p in raw.replace("\r\n", "\n").split("\n\n") if p.strip()]
        raw = "".join(f"<p>{escape(p, quote=False).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    # Merge tags are protected from nh3, which would entity-encode their quotes inside href attributes.
    tags: list[str] = []

    def hide(m: re.Match) -> str:
        tags.append(m.group(0))
        return f"MRG{len(tags) - 1}GRM"

    hidden = MERGE_TAG.sub(hide, raw)
    cleaned = nh3.clean(
        hidden,
        tags=TEXT_TAGS,
        attributes=TEXT_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
    )
    return re.sub(r"MRG(\d+)GRM", lambda m: tags[int(m.group(1))], cleaned).strip()


def check_url(value: str, *, label: str) -> str:
    value = (value or "").strip()
    if not value:
        return value
    if URL_FIELD_TAG.match(value):
        return value
    if not SAFE_URL_START.match(value):
        raise ValidationError(
            f"{label}: use a full address starting with https:// (or mailto:), or a link field such as "
            "{{ unsubscribe_url }}."
        )
    if any(c in value for c in "\r\n<>\"'") and not MERGE_TAG.search(value):
        raise ValidationError(f"{label}: this address contains characters a link cannot have.")
    return value


def _clean_field(f: Field, value, block_label: str) -> str:
    label = f"{block_label} · {f.label}"
    value = "" if value is None else str(value)
    if f.kind != "text":
        value = value.strip()
    if f.required and not value.strip():
        raise ValidationError(f"{label} is required.")
    if len(value) > f.max_length:
        raise ValidationError(f"{label} is too long (at most {f.max_length} characters).")
    if f.kind == "url":
        if value in ("https://", "http://") and not f.required:
            return ""
        value = check_url(value, label=label)
    elif f.kind == "color":
        if value and not HEX_COLOR.match(value):
            raise ValidationError(f"{label}: write a colour as #rrggbb, for example #2563eb.")
    elif f.kind == "choice":
        if value and value not in dict(f.choices):
            raise ValidationError(f"{label}: choose one of the options.")
    elif f.kind == "number":
        if value and (not value.isdigit() or not 1 <= int(value) <= 600):
            raise ValidationError(f"{label}: a whole number of pixels between 1 and 600.")
    elif f.kind == "text":
        value = clean_rich_text(value)
    if "\x00" in value:
        raise ValidationError(f"{label} contains invalid characters.")
    if value and f.kind in ("line", "text", "url"):
        try:
            compile_merge(value, html=True)
        except ValidationError as exc:
            raise ValidationError(f"{label}: {exc.messages[0]}") from None
    return value


def clean_block(block) -> dict:
    """One block, checked and normalized; raises ValidationError with a sentence naming the field."""
    if not isinstance(block, dict) or block.get("type") not in TYPES:
        raise ValidationError("Unknown block type.")
    kind = TYPES[block["type"]]
    bid = str(block.get("id") or "")
    if not re.fullmatch(r"b[0-9a-f]{8}", bid):
        bid = "b" + secrets.token_hex(4)
    cleaned: dict = {"id": bid, "type": kind.key}
    for f in kind.fields:
        cleaned[f.name] = _clean_field(f, block.get(f.name, ""), kind.label)
    if kind.key == "image" and cleaned["src"] and URL_FIELD_TAG.match(cleaned["src"]):
        raise ValidationError("Image · Image URL: use the image's own address.")
    if kind.key == "columns":
        for n in range(1, int(cleaned["count"] or 2) + 1):
            if (cleaned[f"kind_{n}"] or "text") == "image" and not cleaned[f"src_{n}"]:
                raise ValidationError(f"Columns · Column {n} image URL is required.")
    return cleaned


def block_errors(blocks: list) -> dict[str, str]:
    """{block id: message} for every invalid block: the editor shows each next to its block."""
    errors: dict[str, str] = {}
    for block in blocks or []:
        try:
            clean_block(block)
        except ValidationError as exc:
            errors[str(block.get("id", "")) if isinstance(block, dict) else ""] = exc.messages[0]
    return errors


def clean_blocks(blocks) -> list[dict]:
    """All blocks, checked; raises one ValidationError naming the first bad block's position."""
    if not isinstance(blocks, list):
        raise ValidationError("Blocks must be a list.")
    if len(blocks) > 100:
        raise ValidationError("An email can have at most 100 blocks.")
    out = []
    for i, block in enumerate(blocks, 1):
        try:
            out.append(clean_block(block))
        except ValidationError as exc:
            raise ValidationError(f"Block {i}: {exc.messages[0]}") from None
    return out


# ---------------------------------------------------------------------------------------------------------------
# MJML


def _attr(value: str) -> str:
    return escape(value or "", quote=True)


def _text(value: str) -> str:
    return escape(value or "", quote=False)


def _image(src: str, alt: str, href: str, width: str = "") -> str:
    attrs = f'src="{_attr(src)}" alt="{_attr(alt)}"'
    if href:
        attrs += f' href="{_attr(href)}"'
    if width:
        attrs += f' width="{int(width)}px"'
    return f"<mj-image {attrs} />"


def _section(inner: str, *, padding: str = "0 24px") -> str:
    return f'<mj-section background-color="#ffffff" padding="{padding}"><mj-column>{inner}</mj-column></mj-section>'


def block_mjml(block: dict, brand) -> str:
    """One checked block as MJML (values escaped; merge tags left as written)."""
    kind = block["type"]
    if kind == "header":
        parts = []
        if brand.logo_url:
            # The name is written beside the logo, so the logo's alt text would only repeat it.
            alt = "" if brand.company_name else "Logo"
            parts.append(_image(brand.logo_url, alt, brand.website_url, "160"))
        if brand.company_name:
            parts.append(
                f'<mj-text align="center" font-size="18px" font-weight="bold">{_text(brand.company_name)}</mj-text>'
            )
        return _section("".join(parts) or '<mj-spacer height="8px" />', padding="16px 24px")
    if kind == "heading":
        size = "28px" if block.get("level", "1") != "2" else "21px"
        tag = "h1" if block.get("level", "1") != "2" else "h2"
        align = block.get("align") or "left"
        return _section(
            f'<mj-text align="{_attr(align)}" font-size="{size}" font-weight="bold" line-height="1.3">'
            f'<{tag} style="margin:0;font-size:{size}">{_text(block["text"])}</{tag}></mj-text>'
        )
    if kind == "text":
        return _section(f'<mj-text font-size="16px" line-height="1.5">{block["html"]}</mj-text>')
    if kind == "image":
        return _section(_image(block["src"], block["alt"], block["href"], block.get("width", "")))
    if kind == "button":
        color = block.get("color") or _color(brand.primary_color, "#2563eb")
        align = block.get("align") or "center"
        return _section(
            f'<mj-button href="{_attr(block["href"])}" background-color="{_attr(color)}" align="{_attr(align)}" '
            f'font-size="16px" border-radius="6px">{_text(block["label"])}</mj-button>'
        )
    if kind == "columns":
        columns = []
        for n in range(1, int(block.get("count") or 2) + 1):
            if block.get(f"kind_{n}") == "image":
                inner = _image(block[f"src_{n}"], block[f"alt_{n}"], block[f"href_{n}"])
            else:
                inner = f'<mj-text font-size="15px" line-height="1.5">{block.get(f"html_{n}", "")}</mj-text>'
            columns.append(f"<mj-column>{inner}</mj-column>")
        return f'<mj-section background-color="#ffffff" padding="0 12px">{"".join(columns)}</mj-section>'
    if kind == "divider":
        return _section('<mj-divider border-width="1px" border-color="#e5e7eb" />')
    if kind == "spacer":
        return _section(f'<mj-spacer height="{int(block.get("height") or 24)}px" />')
    if kind == "signature":
        return _section(
            '<mj-text font-size="15px" line-height="1.5">'
            "{% if owner.full_name %}<p>{{ owner.full_name }}{% if owner.title %}<br>{{ owner.title }}{% endif %}"
            '{% if owner.email %}<br><a href="mailto:{{ owner.email }}">{{ owner.email }}</a>{% endif %}</p>'
            "{% endif %}</mj-text>"
        )
    if kind == "footer":
        return footer_mjml(brand, note=block.get("note", ""))
    raise ValidationError("Unknown block type.")  # pragma: no cover - clean_block refuses it first


def footer_mjml(brand, *, note: str = "") -> str:
    lines = []
    if note:
        lines.append(f"<p>{_text(note)}</p>")
    address = "<br>".join(_text(line) for line in (brand.postal_address or "").splitlines() if line.strip())
    if brand.company_name or address:
        lines.append(f"<p>{_text(brand.company_name)}{'<br>' if brand.company_name and address else ''}{address}</p>")
    lines.append(
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> · <a href="{{ preferences_url }}">Email preferences</a></p>'
    )
    return (
        '<mj-section padding="16px 24px"><mj-column>'
        f'<mj-text align="center" font-size="12px" color="#6b7280" line-height="1.5">{"".join(lines)}</mj-text>'
        "</mj-column></mj-section>"
    )


def blocks_mjml(blocks: list[dict], brand, *, preheader: str = "") -> str:
    body = "".join(block_mjml(b, brand) for b in blocks)
    head = (
        "<mj-head>"
        f"<mj-preview>{_text(preheader)}</mj-preview>"
        '<mj-attributes><mj-all font-family="Helvetica, Arial, sans-serif" />'
        f'<mj-text color="{_attr(_color(brand.text_color, "#1f2937"))}" /></mj-attributes>'
        f"<mj-style>a {{ color: {_attr(_color(brand.primary_color, '#2563eb'))}; }}</mj-style>"
        "</mj-head>"
    )
    background = _attr(_color(brand.background_color, "#f3f4f6"))
    return f'<mjml>{head}<mj-body background-color="{background}" width="600px">{body}</mj-body></mjml>'


def _color(value: str, fallback: str) -> str:
    return value if HEX_COLOR.match(value or "") else fallback
