"""A backtest's result: the period checked, the firings replayed over it tallied (how many, for how many
accounts and customers, per day, a sample with their values), and what they would have sent per
channel and cost (docs/triggers.md#backtest). The replay itself is server.domain.triggers.replay.

The result is kept on the rule as JSON in the shape of engage.triggers.v1.TriggerRuleBacktest
(json_format.MessageToDict: camelCase names, int64 as text), the form GetTriggerRule reads back."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from server.domain.engagement.entities import Channel
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.money import decimal_to_units_nanos
from server.domain.reasons import Reason
from server.domain.triggers.firing import Firing
from server.domain.triggers.rules import Action, BankNotificationAction, BannerAction, MessageAction

MAX_PERIOD_DAYS = 366
# The days a period may cover: a condition reads up to a few years before the start, and the replay
# runs to the day after the end, so neither may reach the calendar's ends.
EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(9999, 12, 30)
SAMPLE_SIZE = 20
BANNER = "BANNER"
BANK_NOTIFICATION = "BANK_NOTIFICATION"
MESSAGE_CHANNELS = tuple(channel.value for channel in Channel)
CHANNELS = (*MESSAGE_CHANNELS, BANNER, BANK_NOTIFICATION)


@dataclass(frozen=True)
class UnitCost:
    channel: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class ChannelEstimate:
    channel: str
    messages: int
    cost: UnitCost | None = None  # messages x the unit cost, when one was given


@dataclass(frozen=True)
class BacktestResult:
    rule_id: str
    rule_version: int
    start: dt.date
    end: dt.date
    firing_count: int
    account_count: int
    customer_count: int
    days: tuple[tuple[dt.date, int], ...]  # firings per evaluation day, every day of the period
    sample: tuple[Firing, ...]
    channel_estimates: tuple[ChannelEstimate, ...]
    created_at: dt.datetime


def _invalid(path: str, problem: str) -> InvalidArgument:
    return InvalidArgument(Reason.TRIGGER_BACKTEST_INVALID, f"{path}: {problem}",
                           violations=[FieldViolation(path, problem)])


def check_period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """Both days given, start not after end, at most MAX_PERIOD_DAYS days (both included)."""
    if start is None:
        raise _invalid("start_date", "is required")
    if end is None:
        raise _invalid("end_date", "is required")
    if start < EARLIEST_DAY:
        raise _invalid("start_date", f"{EARLIEST_DAY} or later")
    if end > LATEST_DAY:
        raise _invalid("end_date", f"{LATEST_DAY} or earlier")
    if start > end:
        raise _invalid("end_date", "must not be before start_date")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise _invalid("end_date", f"the period may be at most {MAX_PERIOD_DAYS} days")
    return start, end


def check_unit_costs(costs: Sequence[UnitCost]) -> dict[str, UnitCost]:
    """channel -> its unit cost: a known channel, once each, not negative."""
    by_channel: dict[str, UnitCost] = {}
    for index, cost in enumerate(costs):
        path = f"unit_costs[{index}]"
        if cost.channel not in CHANNELS:
            raise _invalid(f"{path}.channel", f"one of {', '.join(CHANNELS)}")
        if cost.channel in by_channel:
            raise _invalid(f"{path}.channel", f"{cost.channel} is given twice")
        if cost.amount < 0:
            raise _invalid(f"{path}.unit_cost", "must not be negative")
        if not cost.currency:
            raise _invalid(f"{path}.unit_cost", "needs a currency code")
        by_channel[cost.channel] = cost
    return by_channel


def sends_per_firing(actions: Iterable[Action], event_channels: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """channel -> what one firing sends there: a banner, a bank notification, one message per channel
    the message action's Engagement event has a message for (`event_channels`: event id -> channels)."""
    sends: Counter[str] = Counter()
    for action in actions:
        if isinstance(action, BannerAction):
            sends[BANNER] += 1
        elif isinstance(action, BankNotificationAction):
            sends[BANK_NOTIFICATION] += 1
        elif isinstance(action, MessageAction):
            for channel in set(event_channels.get(action.event_id, ())):
                sends[channel] += 1
    return dict(sends)


def estimate(firing_count: int, per_firing: Mapping[str, int], costs: Mapping[str, UnitCost]
             ) -> tuple[ChannelEstimate, ...]:
    """Expected messages (and cost, where a unit cost is given) per channel, in CHANNELS order."""
    estimates = []
    for channel in CHANNELS:
        if channel not in per_firing:
            continue
        messages = firing_count * per_firing[channel]
        unit = costs.get(channel)
        cost = None if unit is None else UnitCost(channel, unit.amount * messages, unit.currency)
        estimates.append(ChannelEstimate(channel, messages, cost))
    return tuple(estimates)


@dataclass
class Tally:
    """The firings of a backtest as they stream by: counts, accounts and customers seen, per day, and
    the first SAMPLE_SIZE kept whole."""

    firing_count: int = 0
    accounts: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    per_day: Counter[dt.date] = field(default_factory=Counter)
    sample: list[Firing] = field(default_factory=list)

    @property
    def sampling(self) -> bool:
        """Whether the next firing is kept whole: once the sample is full, the firings are only counted."""
        return len(self.sample) < SAMPLE_SIZE

    def add(self, firing: Firing) -> None:
        self.count(firing.account_id, firing.customer_id, firing.day)
        if self.sampling:
            self.sample.append(firing)

    def count(self, account_id: str, customer_id: str, day: dt.date) -> None:
        """A firing counted, not kept (the sample is full)."""
        self.firing_count += 1
        self.accounts.add(account_id)
        self.customers.add(customer_id)
        self.per_day[day] += 1

    def result(self, rule_id: str, rule_version: int, start: dt.date, end: dt.date,
               estimates: tuple[ChannelEstimate, ...], created_at: dt.datetime) -> BacktestResult:
        days = tuple((start + dt.timedelta(days=n), self.per_day[start + dt.timedelta(days=n)])
                     for n in range((end - start).days + 1))
        return BacktestResult(rule_id, rule_version, start, end, self.firing_count, len(self.accounts),
                              len(self.customers), days, tuple(self.sample), estimates, created_at)


# -- JSON in the shape of engage.triggers.v1.TriggerRuleBacktest --------------------------------------


def _date(day: dt.date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def _timestamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _money(cost: UnitCost) -> dict[str, Any]:
    units, nanos = decimal_to_units_nanos(cost.amount)
    return {"currencyCode": cost.currency, "units": str(units), "nanos": nanos}


def _firing(firing: Firing, rule_version: int) -> dict[str, Any]:
    message: dict[str, Any] = {"ruleVersion": rule_version, "customer": f"customers/{firing.customer_id}",
                               "accountId": firing.account_id, "fireTime": _timestamp(firing.fired_at),
                               "values": dict(firing.values)}
    if firing.transaction_id is not None:
        message["transactionId"] = firing.transaction_id
    return message


def _estimate(estimate: ChannelEstimate) -> dict[str, Any]:
    message: dict[str, Any] = {"channel": estimate.channel, "messages": str(estimate.messages)}
    if estimate.cost is not None:
        message["cost"] = _money(estimate.cost)
    return message


def to_json(result: BacktestResult) -> dict[str, Any]:
    return {"ruleVersion": result.rule_version, "startDate": _date(result.start), "endDate": _date(result.end),
            "firingCount": result.firing_count, "accountCount": result.account_count,
            "customerCount": result.customer_count,
            "days": [{"date": _date(day), "firings": count} for day, count in result.days],
            "sampleFirings": [_firing(f, result.rule_version) for f in result.sample],
            "createTime": _timestamp(result.created_at),
            "channelEstimates": [_estimate(e) for e in result.channel_estimates]}
