from django import template

from smarketing.crm.views.records.common import money

register = template.Library()


@register.filter
def money_list(totals) -> str:
    """Amounts in several currencies, largest first: "$12,000 · €3,500"; "$0" when there are none."""
    return " · ".join(money(m.amount, m.currency) for m in totals) or money(0, "USD")


@register.filter
def deal_amount(deal) -> str:
    return money(deal.amount, deal.currency)


@register.filter
def percent(value) -> str:
    """A fraction as a percentage with one decimal ("57.1 %"), or "–" when there is none."""
    return "–" if value is None else f"{value * 100:.1f} %"
