"""Reusable reads of the handoff: the inbox's context in a fixed number of queries, and the report's figures as
query objects (core.metric.Metric) that the joint KPI dashboard and the API call too."""

import dataclasses
import datetime as dt
from collections import defaultdict

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from smarketing.core.metric import Metric
from smarketing.process.models import Handoff, HandoffStatus

INBOX_LIMIT = 25  # a rep works the soonest due first; more cards cost render time, not insight
TOUCHES_SHOWN = 5
ANSWERS_SHOWN = 8
REASONS_SHOWN = 3
# What the card's "last touches" leave out: bookkeeping, not something the lead did or was told.
CONTEXT_NOISE = ("task_created", "task_completed", "task_reopened", "lead_routed", "owner_changed")
MAX_RANGE_DAYS = 400

# -- the inbox -------------------------------------------------------------------------------------------------


def inbox(queryset, *, limit: int = INBOX_LIMIT) -> list[Handoff]:
    """Open handoffs, soonest due first, each with `.touches`, `.answers` and `.score_reasons` attached (four
    queries whatever the page's size)."""
    rows = list(
        queryset.filter(status=HandoffStatus.OPEN)
        .select_related("contact", "contact__company", "owner", "campaign")
        .order_by("due_at", "id")[:limit]
    )
    attach_context(rows)
    return rows


def _top_per_contact(queryset, contact_ids, n: int, *order):
    ranked = queryset.filter(contact_id__in=contact_ids).annotate(
        rank=Window(RowNumber(), partition_by=[F("contact_id")], order_by=list(order))
    )
    grouped = defaultdict(list)
    for row in ranked.filter(rank__lte=n):
        grouped[row.contact_id].append(row)
    return grouped


def attach_context(rows: list[Handoff]) -> None:
    from smarketing.forms.models import FormSubmission
    from smarketing.scoring.models import ScoreChange
    from smarketing.timeline.models import Team, Touchpoint

    ids = [h.contact_id for h in rows]
    if not ids:
        return
    touches = _top_per_contact(
        Touchpoint.objects.exclude(team=Team.SYSTEM)
        .exclude(kind__in=CONTEXT_NOISE)
        .exclude(kind__startswith="workflow_")
        .only("id", "contact_id", "kind", "summary", "occurred_at", "team"),
        ids,
        TOUCHES_SHOWN,
        F("occurred_at").desc(),
        F("id").desc(),
    )
    answers = _top_per_contact(
        FormSubmission.objects.filter(status="accepted").only("id", "contact_id", "data", "created_at", "form_id"),
        ids,
        1,
        F("created_at").desc(),
        F("id").desc(),
    )
    reasons = _top_per_contact(
        ScoreChange.objects.filter(delta__gt=0).only("id", "contact_id", "delta", "reason", "occurred_at"),
        ids,
        REASONS_SHOWN,
        F("delta").desc(),
        F("occurred_at").desc(),
    )
    for h in rows:
        h.touches = sorted(touches.get(h.contact_id, []), key=lambda t: (t.occurred_at, t.id), reverse=True)
        submission = (answers.get(h.contact_id) or [None])[0]
        data = submission.data if submission is not None and isinstance(submission.data, dict) else {}
        h.answers = [(key.replace("_", " ").capitalize(), value) for key, value in list(data.items())[:ANSWERS_SHOWN]]
        h.score_reasons = reasons.get(h.contact_id, [])


def time_left(handoff: Handoff, now: dt.datetime | None = None) -> tuple[str, str]:
    """("2 h 10 min left", "ok" | "soon" | "late") for the badge on a card."""
    now = now or timezone.now()
    seconds = int((handoff.due_at - now).total_seconds())
    late = seconds < 0
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        words = f"{days} d {hours} h"
    elif hours:
        words = f"{hours} h {mins} min"
    else:
        words = f"{mins} min"
    if handoff.first_touch_at is not None:  # the clock stopped: in time, or late
        return ("Contacted", "ok") if handoff.first_touch_at <= handoff.due_at else ("Contacted late", "late")
    if late:
        return f"{words} overdue", "late"
    return f"{words} left", "soon" if handoff.remind_at <= now else "ok"


# -- the report's figures --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Period(Metric):
    """Handoffs started in [start, end) (dates), optionally of one team."""

    start: dt.date
    end: dt.date
    team_id: int | None = None

    def clean(self) -> None:
        if not isinstance(self.start, dt.date) or not isinstance(self.end, dt.date):
            raise ValueError("Give the period as dates.")
        if self.end <= self.start:
            raise ValueError("The period must end after it starts.")
        if (self.end - self.start).days > MAX_RANGE_DAYS:
            raise ValueError(f"A period spans at most {MAX_RANGE_DAYS} days.")
        if self.team_id is not None and (not isinstance(self.team_id, int) or isinstance(self.team_id, bool)):
            raise ValueError("Choose a team.")

    def handoffs(self):
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.start, dt.time(), tzinfo=zone)
        end = dt.datetime.combine(self.end, dt.time(), tzinfo=zone)
        rows = Handoff.objects.filter(started_at__gte=start, started_at__lt=end)
        return rows.filter(team_id=self.team_id) if self.team_id is not None else rows


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


DECIDED = Q(status__in=[HandoffStatus.ACCEPTED, HandoffStatus.REJECTED])
MET = Q(breached_at__isnull=True) & (Q(first_touch_at__isnull=False) | Q(decided_at__isnull=False))


@dataclasses.dataclass(frozen=True)
class HandoffSummary(Period):
    """How many were handed over, accepted, rejected, still waiting; SLA met and breached."""

    name = "handoff_summary"

    def compute(self) -> dict:
        row = self.handoffs().aggregate(
            handed=Count("id"),
            accepted=Count("id", filter=Q(status=HandoffStatus.ACCEPTED)),
            rejected=Count("id", filter=Q(status=HandoffStatus.REJECTED)),
            open=Count("id", filter=Q(status=HandoffStatus.OPEN)),
            breached=Count("id", filter=Q(breached_at__isnull=False)),
            met=Count("id", filter=MET),
        )
        row["decided"] = row["accepted"] + row["rejected"]
        row["acceptance_rate"] = _rate(row["accepted"], row["decided"])
        row["sla_rate"] = _rate(row["met"], row["met"] + row["breached"])
        return row


@dataclasses.dataclass(frozen=True)
class AcceptanceBySource(Period):
    """Per source: handed over, accepted, rejected and the acceptance rate of the decided ones."""

    name = "handoff_acceptance_by_source"

    def compute(self) -> list[dict]:
        rows = (
            self.handoffs()
            .values("source")
            .annotate(
                handed=Count("id"),
                accepted=Count("id", filter=Q(status=HandoffStatus.ACCEPTED)),
                rejected=Count("id", filter=Q(status=HandoffStatus.REJECTED)),
            )
            .order_by("-handed", "source")
        )
        return [{**r, "rate": _rate(r["accepted"], r["accepted"] + r["rejected"])} for r in rows]


REASON_GROUPS = {"source": "source", "campaign": "campaign__name", "form": "form_name"}


@dataclasses.dataclass(frozen=True)
class RejectionReasons(Period):
    """Rejections per reason, split by source, campaign or form: what marketing should change where."""

    name = "handoff_rejection_reasons"
    by: str = "source"

    def clean(self) -> None:
        super().clean()
        if self.by not in REASON_GROUPS:
            raise ValueError("Split the reasons by source, campaign or form.")

    def compute(self) -> list[dict]:
        column = REASON_GROUPS[self.by]
        rows = (
            self.handoffs()
            .filter(status=HandoffStatus.REJECTED)
            .values(group=F(column), reason_label=F("reason__label"))
            .annotate(count=Count("id"))
            .order_by("group", "-count", "reason_label")
        )
        return [{"group": r["group"] or "(none)", "reason": r["reason_label"], "count": r["count"]} for r in rows]


@dataclasses.dataclass(frozen=True)
class SlaByRep(Period):
    """Per owner: handed over, SLA met, breached and the compliance rate."""

    name = "handoff_sla_by_rep"

    def compute(self) -> list[dict]:
        rows = (
            self.handoffs()
            .values("owner_id", "owner__full_name", "owner__email")
            .annotate(
                handed=Count("id"),
                met=Count("id", filter=MET),
                breached=Count("id", filter=Q(breached_at__isnull=False)),
                open=Count("id", filter=Q(status=HandoffStatus.OPEN)),
            )
            .order_by("owner__full_name", "owner__email")
        )
        return [
            {
                "owner_id": r["owner_id"],
                "owner": r["owner__full_name"] or r["owner__email"] or "Unassigned",
                "handed": r["handed"],
                "met": r["met"],
                "breached": r["breached"],
                "open": r["open"],
                "rate": _rate(r["met"], r["met"] + r["breached"]),
            }
            for r in rows
        ]


@dataclasses.dataclass(frozen=True)
class CommitmentProgress(Metric):
    """Marketing's promise for a month against what it delivered: MQLs handed over and the share accepted."""

    name = "handoff_commitment"
    month: dt.date

    def clean(self) -> None:
        if not isinstance(self.month, dt.date) or self.month.day != 1:
            raise ValueError("Give the month as its first day.")

    def compute(self) -> dict:
        from smarketing.process.models import MqlCommitment

        commitment = MqlCommitment.objects.filter(month=self.month).first()
        following = (self.month + dt.timedelta(days=32)).replace(day=1)
        summary = HandoffSummary(start=self.month, end=following).compute()
        return {
            "month": self.month,
            "mql_target": commitment.mql_target if commitment else None,
            "acceptance_target": commitment.acceptance_target if commitment else None,
            "handed": summary["handed"],
            "acceptance_rate": summary["acceptance_rate"],
            "on_track_count": None if commitment is None else summary["handed"] >= commitment.mql_target,
            "on_track_quality": None
            if commitment is None or summary["acceptance_rate"] is None
            else summary["acceptance_rate"] >= commitment.acceptance_target,
        }
