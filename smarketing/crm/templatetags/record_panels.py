"""`{% record_panels record_kind record as panels %}`: the registered panels of a record page (crm/panels.py),
each as {key, title, url}. No query: the registry lives in memory and the URL is reversed."""

from django import template

from smarketing.crm.panels import record_panels as registered

register = template.Library()


@register.simple_tag
def record_panels(kind: str, record) -> list[dict]:
    if record is None or getattr(record, "pk", None) is None:
        return []
    return [{"key": p.key, "title": p.title, "url": p.url(record.pk)} for p in registered(kind)]
