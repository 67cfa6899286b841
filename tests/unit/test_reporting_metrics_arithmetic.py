"""The metrics' pure arithmetic: rates (four places, half-up, empty over nothing), periods of the tenant's
calendar (their first days and the instants that bound them), and goal progress bands."""

import datetime as dt
import itertools
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.domain.goals.tracker import progress_percent
from server.domain.reporting.goals_summary import BANDS, band_of, progress_bands
from server.domain.reporting.metrics import (
    Dimension,
    Granularity,
    MetricsQuery,
    check_query,
    period_start,
    periods,
    rate,
)

ZONES = st.sampled_from(["UTC", "Europe/Prague", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe",
                         "Pacific/Kiritimati", "America/St_Johns"])
DAYS = st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2100, 12, 31))


def test_rates_by_hand():
    assert [rate(1, 3), rate(2, 3), rate(1, 8), rate(1, 20_000), rate(0, 5), rate(5, 5), rate(3, 0)] == [
        "0.3333", "0.6667", "0.1250", "0.0001", "0.0000", "1.0000", ""]


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=10**12))
def test_a_rate_is_the_ratio_rounded_half_up_to_four_places(numerator, denominator):
    text = rate(numerator, denominator)
    value = Decimal(text)
    assert value.as_tuple().exponent == -4
    exact = Decimal(numerator) / Decimal(denominator)
    assert abs(value - exact) <= Decimal("0.00005")
    assert value == (Decimal(numerator * 10_000) / denominator).quantize(Decimal(1), ROUND_HALF_UP) / 10_000
    if numerator <= denominator:
        assert Decimal(0) <= value <= Decimal(1)


@given(DAYS, st.sampled_from([Granularity.DAY, Granularity.WEEK, Granularity.MONTH]))
def test_a_day_lies_in_the_period_its_first_day_names(day, granularity):
    start = period_start(day, granularity)
    assert start <= day
    assert period_start(start, granularity) == start
    if granularity is Granularity.WEEK:
        assert start.weekday() == 0 and (day - start).days < 7
    if granularity is Granularity.MONTH:
        assert (start.day, start.month, start.year) == (1, day.month, day.year)


@given(DAYS, st.integers(min_value=0, max_value=800), st.sampled_from(list(Granularity)), ZONES)
def test_periods_cover_the_range_once_in_the_tenants_zone(since, length, granularity, zone_name):
    until = since + dt.timedelta(days=length)
    zone = zoneinfo.ZoneInfo(zone_name)
    found = list(periods(granularity, since, until, zone))
    midnight = lambda day: dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)  # noqa: E731
    assert found[0].start == midnight(since)
    assert found[-1].end == midnight(until + dt.timedelta(days=1))
    for earlier, later in itertools.pairwise(found):
        assert earlier.end == later.start and earlier.first_day < later.first_day
    for bounds in found:
        # Empty only for a day its zone skipped (Pacific/Kiritimati had no 31 December 1994).
        assert bounds.start < bounds.end or (
            granularity is Granularity.DAY and bounds.start == bounds.end
            and bounds.start.astimezone(zone).date() != bounds.first_day)
        # A period's first instant is the local midnight of its first day, or of the range's first day.
        assert bounds.start == midnight(max(bounds.first_day, since))
        expected = since if granularity is Granularity.TOTAL else period_start(max(bounds.first_day, since),
                                                                               granularity)
        assert bounds.first_day == expected


def test_a_long_range_by_day_is_refused_by_month_not():
    def query(granularity, until):
        return MetricsQuery(Dimension.CHANNEL, granularity, dt.date(2000, 1, 1), until)

    with pytest.raises(InvalidArgument) as refused:
        check_query(query(Granularity.DAY, dt.date(2010, 1, 10)))
    assert str(refused.value.code) == "METRICS_DATE_RANGE_INVALID"
    check_query(query(Granularity.MONTH, dt.date(2010, 1, 10)))
    check_query(query(Granularity.DAY, dt.date(2010, 1, 7)))  # 3,660 days
    with pytest.raises(InvalidArgument):
        check_query(MetricsQuery(Dimension.CHANNEL, Granularity.TOTAL, dt.date(2000, 1, 2), dt.date(2000, 1, 1)))


@given(st.decimals(min_value=0, max_value=10**9, places=4), st.decimals(min_value="0.0001", max_value=10**9, places=4))
def test_a_goal_is_in_the_band_of_the_percent_it_shows(saved, target):
    band = band_of(saved, target)
    percent = progress_percent(saved, target)
    assert band in BANDS
    if saved >= target:
        assert band == 100
    else:
        assert band <= percent < band + 10


def test_every_band_is_listed_once_in_order():
    bands = progress_bands({20: 3, 100: 1})
    assert [(b.lower_percent, b.upper_percent) for b in bands] == [
        *((lower, lower + 10) for lower in range(0, 100, 10)), (100, 100)]
    assert sum(b.goals for b in bands) == 4 and bands[2].goals == 3
