"""The HTML report's data, read from the server through the reporting and trigger-rule RPCs and turned
into clients.html_report's plain values. Every list is followed to its last page."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import grpc
import jwt

from clients.engagectl.dates import date_message, day_of
from clients.engagectl.paging import collect
from clients.html_report.model import (
    BacktestComparison,
    DeliveryOutcomeCount,
    InsightFunnel,
    MilestonesReached,
    PersonaClickThrough,
    ProgressBand,
    ReportData,
    RuleFirings,
)
from clients.html_report.period import granularity_for
from clients.stubs import Stubs
from engage.reporting.v1 import goals_summary_pb2, metrics_pb2
from engage.triggers.v1 import trigger_rules_service_pb2 as rules_pb
from engage.type.v1 import date_pb2

# The most days one backtest replays (TriggerRulesService's limit): a longer report replays its last ones.
BACKTEST_MOST_DAYS = 366
# A replay reads every account's days of the period: minutes on a large bank, not the usual 30 s.
BACKTEST_DEADLINE_SECONDS = 1800.0
# The report's reads are a GROUP BY each over the whole period: two at a time keep a 2-core database
# busy; all five at once slowed each other past the server's 5 s statement timeout on a busy machine.
CALLS_AT_ONCE = 2
_GRANULARITIES = {"day": metrics_pb2.GRANULARITY_DAY, "week": metrics_pb2.GRANULARITY_WEEK,
                  "month": metrics_pb2.GRANULARITY_MONTH}
RULE_PREFIX = "triggerRules/"


@dataclass(frozen=True)
class ReportRequest:
    start: dt.date
    end: dt.date
    # The rule replayed beside its live firings; None: the one that fired most in the period.
    rule: str | None
    token: str | None
    # False: no replay (on a large bank a replay reads every account's days and takes minutes).
    backtest: bool = True


def _dates(start: dt.date, end: dt.date) -> date_pb2.DateRange:
    return date_pb2.DateRange(start_date=date_message(start), end_date=date_message(end))


def tenant_of(token: str | None) -> str:
    """The tenant the token is for (its `tenant` claim, read without checking the signature: the server
    checks it on every call, and only the report's heading uses it)."""
    if not token:
        return "(no token)"
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return "(unreadable token)"
    return str(claims.get("tenant") or "(no tenant in token)")


def rule_name(value: str) -> str:
    return value if value.startswith(RULE_PREFIX) else RULE_PREFIX + value


def rule_id(value: str) -> str:
    return value.removeprefix(RULE_PREFIX)


class ReportReader:
    def __init__(self, stubs: Stubs, request: ReportRequest) -> None:
        self._stubs = stubs
        self._request = request
        self._granularity = granularity_for(request.start, request.end)
        self._remarks: list[str] = []
        self._in_flight = asyncio.Semaphore(CALLS_AT_ONCE)

    async def _metrics(self, dimension: metrics_pb2.MetricDimension.ValueType,
                       granularity: metrics_pb2.Granularity.ValueType, start: dt.date, end: dt.date,
                       values: tuple[str, ...] = ()) -> list[metrics_pb2.MetricsRow]:
        async def page(size: int, token: str) -> tuple[Sequence[metrics_pb2.MetricsRow], str]:
            async with self._in_flight:
                response = await self._stubs.reporting.QueryMetrics(metrics_pb2.QueryMetricsRequest(
                    dimension=dimension, granularity=granularity, date_range=_dates(start, end), values=values,
                    page_size=size, page_token=token))
            return response.rows, response.next_page_token

        return (await collect(page, None)).items

    async def funnels(self) -> tuple[InsightFunnel, ...]:
        rows = await self._metrics(metrics_pb2.METRIC_DIMENSION_INSIGHT, metrics_pb2.GRANULARITY_TOTAL,
                                   self._request.start, self._request.end)
        return tuple(InsightFunnel(r.value, r.generated, r.delivered, r.viewed, r.clicked, r.converted) for r in rows)

    async def delivery_outcomes(self) -> tuple[DeliveryOutcomeCount, ...]:
        rows = await self._metrics(metrics_pb2.METRIC_DIMENSION_CHANNEL, _GRANULARITIES[self._granularity],
                                   self._request.start, self._request.end)
        return tuple(DeliveryOutcomeCount(day_of(row.period_start), row.value, o.state, o.reason, o.deliveries)
                     for row in rows for o in row.delivery_outcomes)

    async def personas(self) -> tuple[PersonaClickThrough, ...]:
        rows = await self._metrics(metrics_pb2.METRIC_DIMENSION_PERSONA, metrics_pb2.GRANULARITY_TOTAL,
                                   self._request.start, self._request.end)
        return tuple(PersonaClickThrough(r.value, r.delivered, r.clicked,
                                         Decimal(r.click_through_rate) if r.click_through_rate else None)
                     for r in rows)

    async def rule_firings(self) -> tuple[RuleFirings, ...]:
        rows = await self._metrics(metrics_pb2.METRIC_DIMENSION_RULE, _GRANULARITIES[self._granularity],
                                   self._request.start, self._request.end)
        return tuple(RuleFirings(day_of(r.period_start), r.value, r.firings) for r in rows if r.firings)

    async def goals(self) -> goals_summary_pb2.GoalsSummary:
        async with self._in_flight:
            return await self._stubs.reporting.SummarizeGoals(goals_summary_pb2.SummarizeGoalsRequest(
                date_range=_dates(self._request.start, self._request.end)))

    async def backtest(self, firings: tuple[RuleFirings, ...]) -> BacktestComparison | None:
        chosen = self._request.rule or _most_fired(firings)
        if chosen is None or not self._request.backtest:
            return None
        start = max(self._request.start, self._request.end - dt.timedelta(days=BACKTEST_MOST_DAYS - 1))
        try:
            replayed = await self._stubs.trigger_rules.BacktestTriggerRule(rules_pb.BacktestTriggerRuleRequest(
                name=rule_name(chosen), start_date=date_message(start), end_date=date_message(self._request.end)),
                timeout=BACKTEST_DEADLINE_SECONDS)
        except grpc.aio.AioRpcError as error:
            if self._request.rule:
                raise  # the rule asked for by name: its refusal is the command's error
            self._remark(f"The backtest of {rule_name(chosen)} was refused ({error.code().name}: "
                         f"{error.details()}); its chart is empty.")
            return None
        live_rows = await self._metrics(metrics_pb2.METRIC_DIMENSION_RULE, metrics_pb2.GRANULARITY_DAY, start,
                                        self._request.end, values=(rule_id(chosen),))
        live = {day_of(r.period_start): r.firings for r in live_rows}
        days = [start + dt.timedelta(days=n) for n in range((self._request.end - start).days + 1)]
        if start > self._request.start:
            self._remark(f"The backtest replays the period's last {BACKTEST_MOST_DAYS} days.")
        return BacktestComparison(
            rule=rule_name(chosen), rule_version=replayed.rule_version,
            backtest=tuple((day_of(d.date), d.firings) for d in replayed.days),
            live=tuple((day, live.get(day, 0)) for day in days))

    def _remark(self, text: str) -> None:
        if text not in self._remarks:
            self._remarks.append(text)

    async def read(self, now: Callable[[], dt.datetime]) -> ReportData:
        funnels, outcomes, personas, firings, summary = await asyncio.gather(
            self.funnels(), self.delivery_outcomes(), self.personas(), self.rule_firings(), self.goals())
        compared = await self.backtest(firings)
        return ReportData(
            tenant=tenant_of(self._request.token), period_start=self._request.start,
            period_end=self._request.end, built_at=now(), granularity=self._granularity, funnels=funnels,
            delivery_outcomes=outcomes, personas=personas, goals=summary.goals,
            progress=tuple(ProgressBand(b.lower_percent, b.upper_percent, b.goals) for b in summary.progress),
            milestones=tuple(MilestonesReached(day_of(m.period_start), m.milestone, m.reached)
                             for m in summary.milestones),
            rule_firings=firings, backtest=compared, remarks=tuple(self._remarks))


def _most_fired(firings: tuple[RuleFirings, ...]) -> str | None:
    totals: dict[str, int] = {}
    for row in firings:
        totals[row.rule] = totals.get(row.rule, 0) + row.firings
    if not totals:
        return None
    return min(totals, key=lambda rule: (-totals[rule], rule))


async def read_report(stubs: Stubs, request: ReportRequest,
                      now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> ReportData:
    return await ReportReader(stubs, request).read(now)

