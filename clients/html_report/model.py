"""What the HTML report draws, as plain values: the command fills them from the reporting RPCs, tests
build them by hand. Counts are ints, rates Decimals (as the API gives them), days dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class InsightFunnel:
    """One insight's engagement over the whole period, stage by stage."""

    insight: str
    generated: int
    delivered: int
    viewed: int
    clicked: int
    converted: int


@dataclass(frozen=True)
class DeliveryOutcomeCount:
    """Deliveries made in one period on one channel that stand in one state, for one reason."""

    period_start: dt.date
    channel: str
    state: str
    # The error code (FAILED, DEAD_LETTER) or skip reason (SKIPPED); empty otherwise.
    reason: str
    deliveries: int


@dataclass(frozen=True)
class PersonaClickThrough:
    persona: str
    delivered: int
    clicked: int
    # None when nothing was delivered to the persona.
    click_through_rate: Decimal | None


@dataclass(frozen=True)
class ProgressBand:
    """Goals whose progress is in [lower_percent, upper_percent); the last band is 100 to 100."""

    lower_percent: int
    upper_percent: int
    goals: int


@dataclass(frozen=True)
class MilestonesReached:
    period_start: dt.date
    milestone: str
    reached: int


@dataclass(frozen=True)
class RuleFirings:
    period_start: dt.date
    rule: str
    firings: int


@dataclass(frozen=True)
class BacktestComparison:
    """A rule's replay over the period (what it would have fired) beside what it fired, day by day."""

    rule: str
    rule_version: int
    backtest: tuple[tuple[dt.date, int], ...]
    live: tuple[tuple[dt.date, int], ...]


@dataclass(frozen=True)
class ReportData:
    tenant: str
    period_start: dt.date
    period_end: dt.date
    built_at: dt.datetime
    # "day", "week" or "month": the length of each period on the time axes.
    granularity: str
    funnels: tuple[InsightFunnel, ...] = ()
    delivery_outcomes: tuple[DeliveryOutcomeCount, ...] = ()
    personas: tuple[PersonaClickThrough, ...] = ()
    goals: int = 0
    progress: tuple[ProgressBand, ...] = ()
    milestones: tuple[MilestonesReached, ...] = ()
    rule_firings: tuple[RuleFirings, ...] = ()
    backtest: BacktestComparison | None = None
    # Things the report could not show, said in its text (e.g. a rule that could not be replayed).
    remarks: tuple[str, ...] = field(default=())
