import datetime as dt
import itertools
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from server.domain.insights.definition import Duration, SubscriptionSettings, effective_subscription
from server.domain.insights.periods import month_period, previous_month_ends
from server.domain.insights.plugins import savings_increased as savings
from server.domain.insights.plugins.savings_increased import SavingsAccount, evaluate, savings_figures
from server.domain.money import to_scaled

cents = st.decimals(min_value=-10**7, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)


def subscription(duration: Duration = Duration.LAST_THREE_MONTHS, change: str | None = None):
    user = SubscriptionSettings(duration=duration, thresholds={"CHANGE": Decimal(change)} if change else {})
    return effective_subscription(savings.DEFINITION, None, user)


def account(balance: str, months: list[str], currency: str = "USD", account_id: str = "a1") -> SavingsAccount:
    return SavingsAccount(account_id, "Bank", "Savings", "SAVINGS", "BANK", currency, to_scaled(Decimal(balance)),
                          tuple(to_scaled(Decimal(m)) for m in months))


def test_reference_sample() -> None:
    figures = savings_figures(Decimal("250054.99"), [Decimal("223499.98")] * 3)
    assert figures is not None
    assert (figures.change_amount, figures.change_percent) == (Decimal("26555.01"), Decimal("11.88"))


@given(cents, st.lists(cents, min_size=1, max_size=12))
def test_figures_follow_the_reference_formulas(total: Decimal, months: list[Decimal]) -> None:
    figures = savings_figures(total, months)
    average = (sum(months, Decimal(0)) / len(months)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if average <= 0:
        assert figures is None
        return
    assert figures is not None
    assert figures.average == average
    assert figures.change_amount == total - average
    assert figures.change_percent == (figures.change_amount / average * 100).quantize(Decimal("0.01"),
                                                                                      rounding=ROUND_HALF_UP)
    assert figures.change_percent.as_tuple().exponent == -2


@given(st.lists(cents.filter(lambda d: d > 0), min_size=3, max_size=3), cents,
       st.decimals(min_value=0, max_value=500, places=2))
def test_generated_exactly_when_increase_is_above_threshold(months, total, threshold) -> None:
    item = evaluate([account(str(total), [str(m) for m in months])], subscription(change=str(threshold)))
    figures = savings_figures(total, months)
    expected = figures is not None and figures.change_amount > 0 and figures.change_percent > threshold
    assert (item is not None) == expected


def test_threshold_is_strictly_above() -> None:
    # +10.00% exactly is not above the default 10.00 threshold.
    assert evaluate([account("110.00", ["100", "100", "100"])], subscription()) is None
    assert evaluate([account("110.01", ["100", "100", "100"])], subscription()) is not None


def test_duration_picks_the_last_months() -> None:
    twelve = ["1000"] * 9 + ["100", "100", "100"]
    assert evaluate([account("150", twelve)], subscription(Duration.LAST_THREE_MONTHS)) is not None
    assert evaluate([account("150", twelve)], subscription(Duration.LAST_TWELVE_MONTHS)) is None


def test_account_opened_in_the_middle_of_the_duration_counts_zero_before() -> None:
    # Opened in the third month: months before count 0, so the average is a third of one month.
    item = evaluate([account("300", ["0", "0", "300"])], subscription())
    assert item is not None
    assert item["accountDerived"]["averageAvailableBalance"]["amount"] == "100.00"
    assert item["changeValue"][0]["changePercent"] == "200.00"


def test_only_the_main_currency_is_added_up() -> None:
    accounts = [account("200", ["100", "100", "100"], "EUR", "e1"), account("200", ["100", "100", "100"], "EUR", "e2"),
                account("999999", ["1", "1", "1"], "USD", "u1")]
    item = evaluate(accounts, subscription())
    assert item is not None
    assert item["accountDerived"]["totalAvailableBalance"] == {"amount": "400.00", "currency": "EUR"}
    assert [a["accountId"] for a in item["accounts"]] == ["e1", "e2"]


def test_no_average_no_insight() -> None:
    assert evaluate([account("500", ["0", "0", "0"])], subscription()) is None
    assert evaluate([account("500", ["-10", "-10", "-10"])], subscription()) is None
    assert evaluate([], subscription()) is None


def test_month_ends_cross_years_and_leap_february() -> None:
    assert previous_month_ends(dt.date(2024, 4, 1), 3) == [dt.date(2024, 1, 31), dt.date(2024, 2, 29),
                                                           dt.date(2024, 3, 31)]
    assert previous_month_ends(dt.date(2023, 3, 15), 2) == [dt.date(2023, 1, 31), dt.date(2023, 2, 28)]
    assert previous_month_ends(dt.date(1994, 4, 1), 12)[0] == dt.date(1993, 4, 30)
    assert previous_month_ends(dt.date(2021, 1, 1), 1) == [dt.date(2020, 12, 31)]


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)), st.integers(1, 24))
def test_month_ends_are_consecutive_and_before_the_month(as_of: dt.date, count: int) -> None:
    ends = previous_month_ends(as_of, count)
    assert len(ends) == count
    assert ends[-1] < as_of.replace(day=1)
    for earlier, later in itertools.pairwise(ends):
        assert (later.replace(day=1) - earlier.replace(day=1)).days in (28, 29, 30, 31)
        assert (later + dt.timedelta(days=1)).day == 1


@given(st.dates(), st.dates())
def test_duplicate_period_is_the_calendar_month(a: dt.date, b: dt.date) -> None:
    assert (month_period(a) == month_period(b)) == ((a.year, a.month) == (b.year, b.month))


def test_effective_configuration_layers() -> None:
    bank = SubscriptionSettings(duration=Duration.LAST_SIX_MONTHS, thresholds={"CHANGE": Decimal("11")})
    user = SubscriptionSettings(thresholds={"CHANGE": Decimal("25")})
    effective = effective_subscription(savings.DEFINITION, bank, user)
    assert (effective.duration, effective.thresholds["CHANGE"], effective.is_subscribed) == \
        (Duration.LAST_SIX_MONTHS, Decimal("25"), True)
    off = effective_subscription(savings.DEFINITION, SubscriptionSettings(is_subscribed=False),
                                 SubscriptionSettings(is_subscribed=True))
    assert off.is_subscribed is False
    assert effective_subscription(savings.DEFINITION, None, None).thresholds["CHANGE"] == Decimal("10.00")


units = st.integers(min_value=-10**12, max_value=10**12)  # whole ten-thousandths, as stored


@given(units, st.lists(units, min_size=12, max_size=12), st.sampled_from(list(Duration)),
       st.decimals(min_value=0, max_value=500, places=2))
def test_the_integer_shortcut_decides_as_the_decimal_figures(total: int, months: list[int], duration: Duration,
                                                             threshold: Decimal) -> None:
    # Amounts finer than cents included: the shortcut must reject exactly what the figures reject.
    _assert_decided_as_the_figures(total, months, duration, threshold)


def _assert_decided_as_the_figures(total: int, months: list[int], duration: Duration, threshold: Decimal) -> None:
    held = SavingsAccount("a1", "Bank", "Savings", "SAVINGS", "BANK", "USD", total, tuple(months))
    item = evaluate([held], subscription(duration, change=str(threshold)))
    scale = Decimal(10) ** -4
    figures = savings_figures(total * scale, [m * scale for m in months[-duration.months:]])
    expected = figures is not None and figures.change_amount > 0 and figures.change_percent > threshold
    assert (item is not None) == expected


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=12, max_size=12), st.sampled_from(list(Duration)),
       st.integers(min_value=-300, max_value=300), st.decimals(min_value=0, max_value=1, places=2))
def test_the_integer_shortcut_at_the_rounding_edges(months: list[int], duration: Duration, offset: int,
                                                    threshold: Decimal) -> None:
    # A total within 3 cents of the average: where rounding the average to cents decides.
    total = sum(months[-duration.months:]) // duration.months + offset
    _assert_decided_as_the_figures(total, months, duration, threshold)
