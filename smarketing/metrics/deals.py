"""Deal metrics."""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Sum

from smarketing.core.metric import Metric
from smarketing.crm.models import Deal, DealStatus


@dataclasses.dataclass(frozen=True)
class Money:
    """An amount in one currency."""

    currency: str
    amount: Decimal


@dataclasses.dataclass(frozen=True)
class ClosingTotal:
    """What an owner's open deals with a close date in one month add up to, largest currency first."""

    month: datetime.date
    totals: tuple[Money, ...]


@dataclasses.dataclass(frozen=True)
class ClosingThisMonth(Metric[ClosingTotal]):
    """The sum of one owner's open deals whose close date falls in `month`, per currency."""

    owner_id: int
    month: datetime.date  # the first day of the month

    name = "deals.closing_in_month"
    # Fresh on every request: it is the rep's own figure, read right after they move a deal, and one range
    # read on the partial (owner, close_date) index of open deals.
    cache_seconds = 0

    def clean(self) -> None:
        if not isinstance(self.owner_id, int) or isinstance(self.owner_id, bool) or self.owner_id < 1:
            raise ValueError("owner_id must be a user id")
        if not isinstance(self.month, datetime.date) or isinstance(self.month, datetime.datetime):
            raise ValueError("month must be a date")
        if self.month.day != 1:
            raise ValueError("month must be the first day of a month")

    def next_month(self) -> datetime.date:
        return (self.month + datetime.timedelta(days=32)).replace(day=1)

    def compute(self) -> ClosingTotal:
        rows = (
            Deal.objects.filter(
                owner_id=self.owner_id,
                status=DealStatus.OPEN,
                close_date__gte=self.month,
                close_date__lt=self.next_month(),
            )
            .values("currency")
            .annotate(total=Sum("amount"))
            .order_by()
        )
        totals = sorted((Money(r["currency"], r["total"] or Decimal("0")) for r in rows), key=largest_first)
        return ClosingTotal(self.month, tuple(totals))


def largest_first(money: Money) -> tuple:
    return (-money.amount, money.currency)
