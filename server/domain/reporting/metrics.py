"""Engagement metrics (docs/reporting-metrics.md): counts and rates per insight, campaign, rule, persona or
channel and period, over whole days of the tenant's time zone.

What is counted are *units*: a feed item, a delivery (one message to one address) or a banner. Each unit
counts once as generated, once as delivered when it reached the customer, and once for each interaction
it had (viewed, clicked, dismissed) and for a conversion; every rate is such a count over the delivered
units, so it lies between 0 and 1. A unit counts in the period of its creation (a cohort): the clicks
on January's banners are January's, whenever they came.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from server.domain.errors import FieldViolation, InvalidArgument

RATE_PLACES = Decimal("0.0001")
DEFAULT_CONVERSION_DAYS = 30
MAX_CONVERSION_DAYS = 365
# Periods one query may answer for: ten years of days.
MAX_PERIODS = 3660
# The dates a range may hold: their midnights (and a month after) are instants in every zone.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9999, 11, 30)


class Dimension(enum.StrEnum):
    INSIGHT = "INSIGHT"
    CAMPAIGN = "CAMPAIGN"
    RULE = "RULE"
    PERSONA = "PERSONA"
    CHANNEL = "CHANNEL"


class Granularity(enum.StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"  # ISO weeks, Monday first
    MONTH = "MONTH"
    TOTAL = "TOTAL"  # one period: the whole range


@dataclass(frozen=True, slots=True)
class MetricsQuery:
    dimension: Dimension
    granularity: Granularity
    since: dt.date  # both ends included, the tenant's dates
    until: dt.date
    values: tuple[str, ...] = ()  # only these dimension values; empty: all
    conversion_days: int = DEFAULT_CONVERSION_DAYS


@dataclass(frozen=True, slots=True)
class MetricsLine:
    value: str
    period_start: dt.date
    generated: int = 0
    delivered: int = 0
    viewed: int = 0
    clicked: int = 0
    dismissed: int = 0
    converted: int = 0
    firings: int = 0  # RULE only: the rule's firings in the period
    cost: tuple[tuple[Decimal, str], ...] = ()  # (amount, currency), by currency
    outcomes: tuple[DeliveryOutcome, ...] = ()  # the deliveries by state and reason

    @property
    def delivery_rate(self) -> str:
        return rate(self.delivered, self.generated)

    @property
    def viewed_rate(self) -> str:
        return rate(self.viewed, self.delivered)

    @property
    def click_through_rate(self) -> str:
        return rate(self.clicked, self.delivered)

    @property
    def dismissal_rate(self) -> str:
        return rate(self.dismissed, self.delivered)

    @property
    def conversion_rate(self) -> str:
        return rate(self.converted, self.delivered)


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    state: str
    reason: str  # FAILED and DEAD_LETTER: the error code; SKIPPED: the skip reason; otherwise ""
    deliveries: int


@dataclass(frozen=True, slots=True)
class MetricsGroup:
    """The units of one value and period that share a delivery state, reason and cost currency (all ""
    for feed items, banners and firings): what the database sums, before lines are made of them."""

    value: str
    period_start: dt.date
    state: str
    reason: str
    currency: str
    generated: int
    delivered: int
    viewed: int
    clicked: int
    dismissed: int
    converted: int
    firings: int
    deliveries: int
    cost: Decimal | None  # of the deliveries sent, in `currency`; None: none sent at a cost


def lines_of(groups: Iterable[MetricsGroup]) -> list[MetricsLine]:
    """One line per value and period (in the groups' order): the counts summed, the deliveries' outcomes by
    state then reason, and their cost by currency."""
    counts: dict[tuple[str, dt.date], list[int]] = {}
    outcomes: dict[tuple[str, dt.date], dict[tuple[str, str], int]] = defaultdict(dict)
    costs: dict[tuple[str, dt.date], dict[str, Decimal]] = defaultdict(dict)
    for group in groups:
        key = (group.value, group.period_start)
        summed = counts.setdefault(key, [0] * 7)
        for index, count in enumerate((group.generated, group.delivered, group.viewed, group.clicked,
                                       group.dismissed, group.converted, group.firings)):
            summed[index] += count
        if group.deliveries:
            outcome = (group.state, group.reason)
            outcomes[key][outcome] = outcomes[key].get(outcome, 0) + group.deliveries
        if group.cost is not None and group.currency:
            costs[key][group.currency] = costs[key].get(group.currency, Decimal(0)) + group.cost
    return [MetricsLine(value, period, generated=summed[0], delivered=summed[1], viewed=summed[2], clicked=summed[3],
                        dismissed=summed[4], converted=summed[5], firings=summed[6],
                        cost=tuple((amount, currency) for currency, amount in sorted(costs[(value, period)].items())),
                        outcomes=tuple(DeliveryOutcome(state, reason, deliveries) for (state, reason), deliveries
                                       in sorted(outcomes[(value, period)].items())))
            for (value, period), summed in counts.items()]


def rate(numerator: int, denominator: int) -> str:
    """numerator / denominator as a decimal string with four places, half-up; "" when the denominator is 0."""
    if denominator == 0:
        return ""
    return str((Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP))


def period_start(day: dt.date, granularity: Granularity) -> dt.date:
    """The first day of `day`'s DAY, WEEK or MONTH (TOTAL's one period is the range: periods() says it)."""
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_start(start: dt.date, granularity: Granularity) -> dt.date:
    if granularity is Granularity.DAY:
        return start + dt.timedelta(days=1)
    if granularity is Granularity.WEEK:
        return start + dt.timedelta(days=7)
    return dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class PeriodBounds:
    """One period, cut to the range: its first day, and the instants [start, end) of its days there."""

    first_day: dt.date
    start: dt.datetime
    end: dt.datetime


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


def periods(granularity: Granularity, since: dt.date, until: dt.date, zone: dt.tzinfo) -> Iterator[PeriodBounds]:
    """The periods of the dates since..until in order, each as UTC instants of its local midnights (a day
    of a clock change is 23 or 25 hours). The first and last periods are cut to the range; their first day
    stays the period's own (a week starting before the range is still named by its Monday)."""
    after_range = until + dt.timedelta(days=1)
    if granularity is Granularity.TOTAL:
        yield PeriodBounds(since, _midnight(since, zone), _midnight(after_range, zone))
        return
    start = period_start(since, granularity)
    while start <= until:
        following = _next_start(start, granularity)
        yield PeriodBounds(start, _midnight(max(start, since), zone), _midnight(min(following, after_range), zone))
        start = following


def period_count(query: MetricsQuery) -> int:
    days = (query.until - query.since).days + 1
    if query.granularity is Granularity.DAY:
        return days
    if query.granularity is Granularity.WEEK:
        return (days + 13) // 7
    if query.granularity is Granularity.MONTH:
        return (query.until.year - query.since.year) * 12 + query.until.month - query.since.month + 1
    return 1


def check_date_order(since: dt.date | None, until: dt.date | None) -> None:
    """A reporting date_range runs forwards (an open end always does)."""
    if since is not None and until is not None and until < since:
        raise InvalidArgument("METRICS_DATE_RANGE_INVALID", "date_range ends before it starts",
                              violations=[FieldViolation("date_range", "end_date is before start_date")])


def check_query(query: MetricsQuery) -> None:
    """A range read in one query: it runs forwards, its midnights are instants in any zone, and it has
    at most MAX_PERIODS periods."""
    check_date_order(query.since, query.until)
    if query.since < FIRST_DAY or query.until > LAST_DAY:
        raise InvalidArgument("METRICS_DATE_RANGE_INVALID", f"date_range must lie in {FIRST_DAY}..{LAST_DAY}",
                              violations=[FieldViolation("date_range", f"within {FIRST_DAY}..{LAST_DAY}")])
    if period_count(query) > MAX_PERIODS:
        raise InvalidArgument("METRICS_DATE_RANGE_INVALID", f"at most {MAX_PERIODS} periods",
                              violations=[FieldViolation("date_range", f"at most {MAX_PERIODS} periods of "
                                                                       f"{query.granularity.value}")])
    if not 0 < query.conversion_days <= MAX_CONVERSION_DAYS:
        raise InvalidArgument("METRICS_CONVERSION_DAYS_INVALID", f"conversion_days must be 1 to {MAX_CONVERSION_DAYS}",
                              violations=[FieldViolation("conversion_days", f"1 to {MAX_CONVERSION_DAYS}; 0 means "
                                                                            f"{DEFAULT_CONVERSION_DAYS}")])
