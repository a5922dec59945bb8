"""Lead metrics: where the new leads and MQLs of a period came from."""

import dataclasses
import datetime

from django.db.models import Count

from smarketing.core.metric import Metric
from smarketing.crm import sources
from smarketing.crm.models import LifecycleChange, LifecycleStage


def source_label(source: str) -> str:
    """A source in words (crm.sources' one table), or "Unknown source" for none."""
    return sources.source_label(source) if source else "Unknown source"


@dataclasses.dataclass(frozen=True)
class SourceRow:
    """One source's new leads and MQLs in the period."""

    source: str  # the stored value: a Channel value, a raw imported value, or "" for none
    label: str
    leads: int
    mqls: int

    @property
    def filterable(self) -> bool:
        """A product source or a kept raw value: the contact list's source filter takes both."""
        return bool(self.source)


@dataclasses.dataclass(frozen=True)
class LeadsBySourceResult:
    """New leads and MQLs per first source since `since`, the largest source first."""

    since: datetime.datetime
    rows: tuple[SourceRow, ...]
    leads: int
    mqls: int
    capped: bool  # more moves than the metric reads: the figures are a lower bound ("over 20,000")

    @property
    def max_value(self) -> int:
        return max((max(r.leads, r.mqls) for r in self.rows), default=0)


@dataclasses.dataclass(frozen=True)
class LeadsBySource(Metric[LeadsBySourceResult]):
    """Contacts that became leads (and MQLs) in the last `days` days before `today`, by their first source.

    A move into the stage is a LifecycleChange row, so a contact recycled back into "lead" counts again: it
    is a new lead for the team that works it. Read through the (to_stage, changed_at) index, newest first,
    at most LIMIT moves per stage, so the query costs the same at a thousand contacts or a million.
    """

    today: datetime.date
    days: int = 30

    name = "leads.by_source"
    # A team figure that may be five minutes old: the marketing home shows it to everyone on the team.
    cache_seconds = 300
    LIMIT = 20_000

    def clean(self) -> None:
        if not isinstance(self.today, datetime.date) or isinstance(self.today, datetime.datetime):
            raise ValueError("today must be a date")
        if not isinstance(self.days, int) or isinstance(self.days, bool) or not 1 <= self.days <= 366:
            raise ValueError("days must be a whole number from 1 to 366")

    def since(self) -> datetime.datetime:
        start = self.today - datetime.timedelta(days=self.days - 1)
        return datetime.datetime.combine(start, datetime.time.min, tzinfo=datetime.UTC)

    def _by_source(self, stage: str, since: datetime.datetime) -> dict[str, int]:
        newest = (
            LifecycleChange.objects.filter(to_stage=stage, changed_at__gte=since)
            .order_by("-changed_at")
            .values("id")[: self.LIMIT + 1]
        )
        rows = (
            LifecycleChange.objects.filter(id__in=newest)
            .values("contact__first_source")
            .annotate(n=Count("id"))
            .order_by()
        )
        return {r["contact__first_source"] or "": r["n"] for r in rows}

    def compute(self) -> LeadsBySourceResult:
        since = self.since()
        leads = self._by_source(LifecycleStage.LEAD, since)
        mqls = self._by_source(LifecycleStage.MQL, since)
        total_leads, total_mqls = sum(leads.values()), sum(mqls.values())
        capped = total_leads > self.LIMIT or total_mqls > self.LIMIT
        rows = [
            SourceRow(source, source_label(source), leads.get(source, 0), mqls.get(source, 0))
            for source in set(leads) | set(mqls)
        ]
        rows.sort(key=lambda r: (-r.leads, -r.mqls, r.label.lower()))
        return LeadsBySourceResult(
            since, tuple(rows), min(total_leads, self.LIMIT), min(total_mqls, self.LIMIT), capped
        )
