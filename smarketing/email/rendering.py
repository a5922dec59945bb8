"""From blocks (or an expert's raw HTML) to the HTML and text parts of an email, then per recipient.

`compile_email` is the expensive step (MJML → HTML, CSS inlined, text part by html2text), run once per
campaign when sending starts and on every preview. Merge fields survive it untouched: before any tool sees the
markup, each `{{ … }}` / `{% … %}` is swapped for an inert placeholder (`MRG7GRM`) and swapped back at the end,
so quotes in `default:"there"` are never entity-encoded and a tag in an href stays a tag.

`CompiledEmail` compiles the merge templates of the subject(s), HTML and text once; `.render(context)` is then
a plain Django template render per recipient (see the bench figure in the test).
"""

import re
from dataclasses import dataclass
from html import escape

import css_inline
import html2text
import nh3
from django.core.exceptions import ValidationError
from mjml import mjml_to_html

from smarketing.email.blocks import MERGE_TAG, SAFE_URL_START, URL_FIELD_TAG, blocks_mjml, clean_blocks
from smarketing.email.merge import MergeTemplate, compile_merge

PLACEHOLDER = re.compile(r"MRG(\d+)GRM")
UNSUBSCRIBE_HREF = re.compile(r"""href\s*=\s*["']\s*\{\{\s*unsubscribe_url\s*\}\}\s*["']""")
URL_ATTR = re.compile(r"""\b(href|src)\s*=\s*"([^"]*)\"""")
PREHEADER_MARK = "MRGPREHEADERGRM"

# Raw HTML mode: the markup email clients render, without scripts, forms, frames, event handlers or
# javascript: URLs (nh3 drops anything not listed, and <script>/<style> with their content).
RAW_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "center", "code", "div", "em", "font", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
RAW_GENERIC_ATTRIBUTES = {
    "align", "bgcolor", "border", "cellpadding", "cellspacing", "class", "color", "colspan", "dir", "height",
    "lang", "rowspan", "style", "title", "valign", "width",
}  # fmt: skip
RAW_ATTRIBUTES = {"a": {"href", "target"}, "img": {"src", "alt"}, "font": {"face", "size"}}


class _Placeholders:
    """Swaps merge tags for inert words and back."""

    def __init__(self) -> None:
        self.tags: list[str] = []

    def hide(self, markup: str) -> str:
        def one(m: re.Match) -> str:
            self.tags.append(m.group(0))
            return f"MRG{len(self.tags) - 1}GRM"

        return MERGE_TAG.sub(one, markup)

    def restore(self, markup: str) -> str:
        return PLACEHOLDER.sub(lambda m: self.tags[int(m.group(1))], markup)


def _check_urls(html: str, marks: _Placeholders) -> None:
    """Every href/src of the final HTML: an absolute safe URL, an anchor, or exactly one link merge field."""
    for _attr, value in URL_ATTR.findall(html):
        value = value.strip()
        restored = marks.restore(value)
        if URL_FIELD_TAG.match(restored) or value.startswith("#") or not value:
            continue
        if not SAFE_URL_START.match(value.replace("&amp;", "&")):
            shown = escape(restored[:80])
            raise ValidationError(
                f"The link “{shown}” must start with https:// (or mailto:), or be a link field such as "
                "{{ unsubscribe_url }}."
            )


def _text_part(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0  # no hard wrapping: a long URL stays whole
    converter.ignore_tables = True  # MJML's layout tables are structure, not data
    converter.ignore_images = False
    converter.images_to_alt = True
    converter.inline_links = True
    converter.protect_links = False
    text = converter.handle(html)
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _sanitize_raw(html: str) -> str:
    return nh3.clean(
        html,
        tags=RAW_TAGS,
        attributes={**{t: set(RAW_GENERIC_ATTRIBUTES) | RAW_ATTRIBUTES.get(t, set()) for t in RAW_TAGS}},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )


RAW_SKELETON = (
    '<!doctype html><html><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
    '<body style="margin:0;padding:0">{preheader}{body}</body></html>'
)
PREHEADER_DIV = (
    '<div style="display:none;font-size:1px;color:#ffffff;line-height:1px;max-height:0px;max-width:0px;'
    'opacity:0;overflow:hidden;">{}</div>'
)


def compile_email(*, mode: str, blocks=None, html: str = "", preheader: str = "", brand=None) -> tuple[str, str]:
    """(html, text) with merge fields intact; raises ValidationError for bad blocks, unsafe links or a missing
    unsubscribe link (every marketing email must carry `{{ unsubscribe_url }}` in a link)."""
    from smarketing.email.models import Brand, EditorMode

    marks = _Placeholders()
    hidden_preheader = marks.hide(escape(preheader or "", quote=False))
    if mode == EditorMode.HTML:
        body = marks.hide(html or "")
        # Inline first (the expert's <style> rules become style attributes), then sanitize what is left.
        inlined = css_inline.inline(body if "<html" in body.lower() else f"<html><body>{body}</body></html>")
        body = _sanitize_raw(inlined)
        full = RAW_SKELETON.format(preheader=PREHEADER_DIV.format(PREHEADER_MARK) if preheader else "", body=body)
    else:
        brand = brand or Brand.current()
        cleaned = clean_blocks(blocks or [])
        if not cleaned:
            raise ValidationError("Add at least one block.")
        mjml = marks.hide(blocks_mjml(cleaned, brand, preheader=PREHEADER_MARK if preheader else ""))
        result = mjml_to_html(mjml)
        if result.errors:  # pragma: no cover - our own MJML; a failure here is a bug worth seeing
            raise ValidationError(f"The email could not be laid out: {result.errors[0]}")
        full = css_inline.inline(result.html, keep_style_tags=True)
    _check_urls(full, marks)
    text_source = full.replace(PREHEADER_MARK, "")
    text = _text_part(text_source)
    full = full.replace(PREHEADER_MARK, hidden_preheader)
    final_html, final_text = marks.restore(full), marks.restore(marks.restore(text))
    if not UNSUBSCRIBE_HREF.search(final_html):
        raise ValidationError(
            "Every marketing email needs an unsubscribe link: add the brand footer block, or a link to "
            "{{ unsubscribe_url }}."
        )
    # The merge syntax of the whole result is checked now, at save, rather than when the campaign sends.
    compile_merge(final_html, html=True)
    return final_html, final_text


def compile_template(template, *, brand=None) -> tuple[str, str]:
    """compile_email for an EmailTemplate."""
    return compile_email(
        mode=template.mode, blocks=template.blocks, html=template.html, preheader=template.preheader, brand=brand
    )


@dataclass(frozen=True)
class RenderedEmail:
    """One recipient's subject, HTML and text."""

    subject: str
    html: str
    text: str


def _one_line(value: str) -> str:
    # Contact data in a subject must never become a header break (the message builder refuses CR/LF).
    return " ".join(value.split())


class CompiledEmail:
    """An email's merge templates compiled once; `render(context)` is fast, per recipient."""

    def __init__(self, *, subject: str, html: str, text: str, subject_b: str = "") -> None:
        self.subject: MergeTemplate = compile_merge(subject, html=False)
        self.subject_b: MergeTemplate | None = compile_merge(subject_b, html=False) if subject_b else None
        self.html: MergeTemplate = compile_merge(html, html=True)
        self.text: MergeTemplate = compile_merge(text, html=False)

    @classmethod
    def from_campaign(cls, email_campaign) -> "CompiledEmail":
        """The campaign's frozen HTML/text, or its template compiled now when nothing was frozen yet."""
        html, text = email_campaign.html, email_campaign.text
        if not html and email_campaign.template_id:
            template = email_campaign.template
            html, text = compile_email(
                mode=template.mode,
                blocks=template.blocks,
                html=template.html,
                preheader=email_campaign.preheader or template.preheader,
            )
        return cls(subject=email_campaign.subject, subject_b=email_campaign.subject_b, html=html, text=text)

    @classmethod
    def from_template(cls, template, *, subject: str = "", brand=None) -> "CompiledEmail":
        html, text = compile_template(template, brand=brand)
        return cls(subject=subject or template.subject or template.name, html=html, text=text)

    def render(self, context: dict, variant: str = "") -> RenderedEmail:
        subject = self.subject_b if variant == "b" and self.subject_b is not None else self.subject
        return RenderedEmail(
            subject=_one_line(subject.render(context)),
            html=self.html.render(context),
            text=self.text.render(context),
        )
