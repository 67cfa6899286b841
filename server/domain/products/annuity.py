"""The monthly instalment of an annuity loan, and the rounding of quoted money to the currency's minor unit.

Formula. For a principal P, a nominal annual rate of R percent and n monthly instalments, the monthly
rate is r = R / 1200 and the level instalment is
    A = P * r / (1 - (1 + r) ** -n)        (r > 0)
    A = P / n                              (r = 0)
computed in Decimal with 40 significant digits (no float anywhere).

Rounding of the instalment: UP to the minor unit (ROUND_CEILING; amounts are positive). Neither
half-even nor half-up: rounding to the nearest can leave n instalments short of the loan (100.00
over 3 months at 0% gives 33.33, and 3 x 33.33 = 99.99), a loan that is never repaid. Rounded up, n
instalments always cover it, and the customer pays less than one minor unit per instalment above
the exact annuity (settled by a smaller last instalment in the servicing system's schedule, not
in a quote).

Rounding of charges (commissions, premiums as a percentage of the amount): half-up to the minor
unit, the convention of every other amount Engage shows (goals, insights). Each charge is one amount
shown to the customer, not a term of a long sum, so half-even's cancelling of bias buys nothing.

Minor units are ISO 4217's: 2 decimals unless the currency is listed below.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

# ISO 4217 currencies whose minor unit is not the cent.
_MINOR_DIGITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}
_PRECISION = 40
HUNDRED = Decimal(100)


def minor_unit(currency: str) -> Decimal:
    """The currency's smallest amount: Decimal('0.01') for EUR, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-_MINOR_DIGITS.get(currency, 2))


def round_charge(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def exact_instalment(principal: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    """The annuity instalment before rounding (principal > 0, annual_rate ≥ 0 percent, months ≥ 1)."""
    if months < 1 or annual_rate < 0 or principal <= 0:
        raise ValueError("an annuity needs a positive principal and term and a rate of at least 0")
    with decimal.localcontext() as context:
        context.prec = _PRECISION
        if annual_rate == 0:
            return principal / months
        rate = annual_rate / 1200
        return principal * rate / (1 - (1 + rate) ** -months)


def monthly_instalment(principal: Decimal, annual_rate: Decimal, months: int, currency: str) -> Decimal:
    """The quoted instalment: the exact annuity rounded up to the currency's minor unit."""
    unit = minor_unit(currency)
    with decimal.localcontext() as context:
        context.prec = _PRECISION
        # The last digits of the 40 carry the power's rounding: 100.00 at 0.24 % over one month computes
        # as 100.0200…0102, which rounded up would quote 100.03 for an exact 100.02. Settled to 10^-12 of
        # the minor unit first, far below any amount and far above that noise.
        settled = exact_instalment(principal, annual_rate, months).quantize(unit.scaleb(-12), rounding=ROUND_HALF_EVEN)
        return settled.quantize(unit, rounding=ROUND_CEILING)
