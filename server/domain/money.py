"""Money: Decimal in Python, a fixed number of decimal places in storage."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Amounts are stored as whole ten-thousandths (4 decimal places) in a 64-bit integer: exact sums
# in SQL on PostgreSQL and SQLite alike. An amount finer than that is rejected, never rounded.
STORAGE_SCALE = 4
_SCALE_FACTOR = Decimal(10) ** STORAGE_SCALE
# Whole ten-thousandths in one unit. int: typeshed types an int power with a variable exponent as Any
# (a negative one gives a float).
SCALED_PER_UNIT: int = 10**STORAGE_SCALE
_NANOS_PER_SCALED: int = 10 ** (9 - STORAGE_SCALE)
# 18 digits left for the whole part keeps every value inside a signed 64-bit integer.
MAX_ABS_AMOUNT = Decimal("99999999999999.9999")
_MAX_ABS_SCALED = int(MAX_ABS_AMOUNT * _SCALE_FACTOR)
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


class AmountError(ValueError):
    """An amount that cannot be stored exactly."""


def is_currency_code(code: str) -> bool:
    return bool(_CURRENCY_CODE.match(code))


def to_scaled(amount: Decimal) -> int:
    """Decimal -> whole ten-thousandths; raises AmountError rather than lose a digit."""
    if not amount.is_finite():
        raise AmountError("amount is not a finite number")
    if abs(amount) > MAX_ABS_AMOUNT:
        raise AmountError(f"amount {amount} is larger than {MAX_ABS_AMOUNT}")
    scaled = amount * _SCALE_FACTOR
    if scaled != scaled.to_integral_value():
        raise AmountError(f"amount {amount} has more than {STORAGE_SCALE} decimal places")
    return int(scaled)


def fits_storage(scaled: int) -> bool:
    """Whether whole ten-thousandths lie within ±MAX_ABS_AMOUNT, as every stored amount must: a balance
    moved past it would overflow its 64-bit column after a few more (PostgreSQL refuses the statement,
    SQLite turns the integer into an inexact REAL)."""
    return -_MAX_ABS_SCALED <= scaled <= _MAX_ABS_SCALED


_ONE_SCALED = Decimal(1).scaleb(-STORAGE_SCALE)  # 1E-4: one whole ten-thousandth


def from_scaled(scaled: int) -> Decimal:
    # Times 1E-4: the same Decimal as scaleb(-4) (coefficient and exponent, rounded by the context alike
    # beyond its 28 digits, which no stored amount has), a quarter cheaper. Hot: the triggers' day series
    # reads three a row.
    return Decimal(scaled) * _ONE_SCALED


def scaled_mean(total: int, count: int) -> int:
    """The mean of `count` scaled amounts summing to `total`, rounded half away from zero to a whole
    ten-thousandth: what quantizing the exact Decimal mean to 4 places half-up gives."""
    quotient, remainder = divmod(total if total >= 0 else -total, count)
    if 2 * remainder >= count:
        quotient += 1
    return quotient if total >= 0 else -quotient


def parse_decimal(text: str) -> Decimal:
    """Parses a decimal string such as '-12.50'; raises AmountError on anything else."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise AmountError(f"'{text}' is not a decimal number") from exc
    if not value.is_finite():
        raise AmountError(f"'{text}' is not a finite number")
    return value


def check_units_nanos(units: int, nanos: int) -> None:
    """Raises AmountError when google.type.Money parts disagree."""
    if not -999_999_999 <= nanos <= 999_999_999:
        raise AmountError("nanos must be between -999,999,999 and 999,999,999")
    if (units > 0 and nanos < 0) or (units < 0 and nanos > 0):
        raise AmountError("units and nanos must have the same sign")


def units_nanos_to_decimal(units: int, nanos: int) -> Decimal:
    """google.type.Money parts -> Decimal; raises AmountError when the parts disagree."""
    check_units_nanos(units, nanos)
    return Decimal(units) + Decimal(nanos).scaleb(-9)


def units_nanos_to_scaled(units: int, nanos: int) -> int:
    """google.type.Money parts -> whole ten-thousandths: exactly to_scaled(units_nanos_to_decimal(units,
    nanos)), the same value or the same AmountError, but in integer arithmetic for every storable
    amount (the ingestion hot path converts each transaction's amount)."""
    if (nanos % _NANOS_PER_SCALED == 0 and -999_999_999 <= nanos <= 999_999_999
            and not ((units > 0 and nanos < 0) or (units < 0 and nanos > 0))):
        scaled = units * SCALED_PER_UNIT + nanos // _NANOS_PER_SCALED  # same signs: the sum is the exact value
        if -_MAX_ABS_SCALED <= scaled <= _MAX_ABS_SCALED:
            return scaled
    # Finer than storage, too large or inconsistent: Decimal gives the usual error and message.
    return to_scaled(units_nanos_to_decimal(units, nanos))


def decimal_to_units_nanos(amount: Decimal) -> tuple[int, int]:
    amount = Decimal(amount)
    units = int(amount)  # truncates toward zero, so the remainder keeps the sign
    nanos = int(((amount - units) * 1_000_000_000).to_integral_value())
    return units, nanos


_CENT = Decimal("0.01")


def amount_text(amount: Decimal) -> str:
    """At least two decimal places, more only when the amount has them: 0.00, 12.50, 0.1234."""
    cents = amount.quantize(_CENT)
    return format(cents if cents == amount else amount.normalize(), "f")
