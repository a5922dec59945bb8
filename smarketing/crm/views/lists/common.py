"""What the contact, company and deal list pages share: the Kind table and small helpers."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from smarketing.core.queries import parse_ids
from smarketing.crm.models import Company, Contact, Deal

BULK_MAX = 500  # ids per bulk request; a page shows 50, so this only bounds hostile posts


@dataclass(frozen=True)
class Kind:
    """What differs between the contact, company and deal pages."""

    key: str
    model: type
    label: str
    plural: str
    related: tuple[str, ...]

    def url(self, suffix: str) -> str:
        return f"{self.key}_{suffix}"

    # URL names, for {% url kind.detail obj.pk %} in templates.
    list = property(lambda self: self.url("list"))
    create = property(lambda self: self.url("create"))
    bulk = property(lambda self: self.url("bulk"))
    detail = property(lambda self: self.url("detail"))
    edit = property(lambda self: self.url("edit"))
    delete = property(lambda self: self.url("delete"))
    merge = property(lambda self: self.url("merge"))


KINDS = {
    "contact": Kind("contact", Contact, "contact", "contacts", ("company", "owner")),
    "company": Kind("company", Company, "company", "companies", ("owner",)),
    "deal": Kind("deal", Deal, "deal", "deals", ("stage", "pipeline", "company", "owner")),
}


def selected_ids(post) -> list[int]:
    return parse_ids(post.getlist("ids"), BULK_MAX)


def back_url(request, kind: Kind) -> str:
    """Where to return after a bulk action: the list with its filters, never another site."""
    list_url = reverse(kind.url("list"))
    target = request.POST.get("next", "")
    if target.startswith(list_url) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return list_url
