"""The annuity instalment: known figures, rounding up to the minor unit, and its properties."""

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.products.annuity import exact_instalment, minor_unit, monthly_instalment, round_charge

principals = st.decimals(min_value="100", max_value="10000000", places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value="0", max_value="30", places=3, allow_nan=False, allow_infinity=False)
terms = st.integers(min_value=1, max_value=480)


@pytest.mark.parametrize(("principal", "rate", "months", "expected"), [
    ("15000", "5.3", 36, "451.59"),  # 451.5876...
    ("7000", "4.5", 36, "208.23"),  # 208.2255...
    ("100000", "6", 360, "599.56"),  # the textbook mortgage: 599.5505...
    ("1200", "0", 12, "100.00"),
    ("100", "0", 3, "33.34"),  # 33.333...: rounded to the nearest, 3 instalments would fall short
])
def test_known_instalments(principal, rate, months, expected):
    assert monthly_instalment(Decimal(principal), Decimal(rate), months, "EUR") == Decimal(expected)


def test_the_minor_unit_follows_the_currency():
    assert (minor_unit("EUR"), minor_unit("JPY"), minor_unit("KWD")) == (Decimal("0.01"), Decimal(1), Decimal("0.001"))
    assert monthly_instalment(Decimal(100000), Decimal(0), 3, "JPY") == Decimal(33334)
    assert round_charge(Decimal("0.125"), "EUR") == Decimal("0.13")  # half-up
    assert round_charge(Decimal("0.135"), "EUR") == Decimal("0.14")


@given(principals, rates, terms)
def test_n_instalments_repay_at_least_the_principal(principal, rate, months):
    assert monthly_instalment(principal, rate, months, "EUR") * months >= principal


@given(principals, rates, terms)
def test_the_quoted_instalment_is_the_exact_one_rounded_up_by_less_than_a_cent(principal, rate, months):
    exact = exact_instalment(principal, rate, months)
    with localcontext() as context:
        context.prec = 60  # the difference exactly, not rounded to the default 28 digits
        # At most the computation's noise below the exact value (a quote of exactly 100.02 for 100.0200…0102).
        assert Decimal("-1e-20") < monthly_instalment(principal, rate, months, "EUR") - exact < Decimal("0.01")


def test_an_exact_instalment_is_quoted_as_it_is():
    # 100.00 at 0.24 % a year over one month is 100.02 exactly; the 40-digit power makes it 100.0200…0102.
    assert monthly_instalment(Decimal("100.00"), Decimal("0.240"), 1, "EUR") == Decimal("100.02")


@given(principals, terms)
def test_at_zero_rate_the_instalment_is_principal_over_n(principal, months):
    assert abs(exact_instalment(principal, Decimal(0), months) - principal / months) < Decimal("1e-20")
    assert monthly_instalment(principal, Decimal(0), months, "EUR") == (principal / months).quantize(
        Decimal("0.01"), rounding="ROUND_CEILING")


@given(principals, rates, rates, terms)
def test_the_instalment_grows_with_the_rate(principal, rate_a, rate_b, months):
    low, high = sorted((rate_a, rate_b))
    assert exact_instalment(principal, low, months) <= exact_instalment(principal, high, months)
    assert monthly_instalment(principal, low, months, "EUR") <= monthly_instalment(principal, high, months, "EUR")


@given(principals, rates.filter(lambda r: r > 0), terms)
def test_with_interest_n_instalments_repay_more_than_the_principal(principal, rate, months):
    assert exact_instalment(principal, rate, months) * months > principal


@given(principals, rates, terms)
def test_the_exact_instalment_amortises_the_loan(principal, rate, months):
    # Paying the exact instalment n times leaves nothing owed (to the precision of the arithmetic).
    payment, balance, monthly = exact_instalment(principal, rate, months), principal, rate / 1200
    for _ in range(months):
        balance = balance * (1 + monthly) - payment
    assert abs(balance) < Decimal("0.000001")
