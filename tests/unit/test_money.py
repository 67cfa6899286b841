from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.money import (
    MAX_ABS_AMOUNT,
    AmountError,
    decimal_to_units_nanos,
    from_scaled,
    parse_decimal,
    to_scaled,
    units_nanos_to_decimal,
    units_nanos_to_scaled,
)

storable = st.decimals(min_value=-MAX_ABS_AMOUNT, max_value=MAX_ABS_AMOUNT, places=4, allow_nan=False,
                       allow_infinity=False)


@given(storable)
def test_scaled_storage_round_trips_exactly(amount: Decimal) -> None:
    assert from_scaled(to_scaled(amount)) == amount


@given(storable)
def test_wire_parts_round_trip_exactly(amount: Decimal) -> None:
    units, nanos = decimal_to_units_nanos(amount)
    assert -999_999_999 <= nanos <= 999_999_999
    assert units == 0 or nanos == 0 or (units > 0) == (nanos > 0)
    assert units_nanos_to_decimal(units, nanos) == amount


@given(st.decimals(min_value=-10**6, max_value=10**6, places=6, allow_nan=False))
def test_finer_than_four_places_is_rejected_never_rounded(amount: Decimal) -> None:
    if amount != amount.quantize(Decimal("0.0001")):
        with pytest.raises(AmountError):
            to_scaled(amount)
    else:
        assert from_scaled(to_scaled(amount)) == amount


def test_wire_parts_with_mixed_signs_are_rejected() -> None:
    with pytest.raises(AmountError):
        units_nanos_to_decimal(1, -5)
    with pytest.raises(AmountError):
        units_nanos_to_decimal(0, 1_000_000_000)


def test_sample_figures_are_exact() -> None:
    assert units_nanos_to_decimal(250054, 990000000) - units_nanos_to_decimal(223499, 980000000) == Decimal("26555.01")


@pytest.mark.parametrize("text", ["", "abc", "1e", "NaN", "Infinity"])
def test_parse_decimal_rejects_non_numbers(text: str) -> None:
    with pytest.raises(AmountError):
        parse_decimal(text)


def test_too_large_is_rejected() -> None:
    with pytest.raises(AmountError):
        to_scaled(MAX_ABS_AMOUNT + 1)


def _scaled_or_error(convert, units: int, nanos: int) -> int | str:  # type: ignore[no-untyped-def]
    try:
        return convert(units, nanos)
    except AmountError as exc:
        return f"AmountError: {exc}"


@given(st.integers(min_value=-10**15, max_value=10**15),
       st.one_of(st.integers(min_value=-10**9, max_value=10**9),
                 st.integers(min_value=-9999, max_value=9999).map(lambda n: n * 100_000)))
def test_integer_conversion_is_exactly_the_decimal_one(units: int, nanos: int) -> None:
    # The ingestion hot path converts wire amounts without Decimal: same value, same error, same message.
    assert _scaled_or_error(units_nanos_to_scaled, units, nanos) == \
        _scaled_or_error(lambda u, n: to_scaled(units_nanos_to_decimal(u, n)), units, nanos)


@pytest.mark.parametrize(("units", "nanos"), [(99_999_999_999_999, 999_900_000), (-99_999_999_999_999, -999_900_000),
                                              (100_000_000_000_000, 0), (1, 10_000), (1, -500_000_000), (0, -100_000)])
def test_integer_conversion_at_the_edges(units: int, nanos: int) -> None:
    assert _scaled_or_error(units_nanos_to_scaled, units, nanos) == \
        _scaled_or_error(lambda u, n: to_scaled(units_nanos_to_decimal(u, n)), units, nanos)
