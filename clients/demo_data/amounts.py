"""Exact money arithmetic for the generator: Decimal with two places, random draws in whole cents."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def draw(rng: random.Random, low: Decimal, high: Decimal) -> Decimal:
    """A uniform amount between low and high, drawn as whole cents so no float touches it."""
    return Decimal(rng.randint(int(low * 100), int(high * 100))) * CENT


def round_to(amount: Decimal, step: Decimal) -> Decimal:
    """Rounds to a whole number of steps (at least one step): rents, transfers and cash are round."""
    steps = max((amount / step).to_integral_value(rounding=ROUND_HALF_EVEN), Decimal(1))
    return cents(steps * step)


def share(rng: random.Random, low_percent: int, high_percent: int) -> Decimal:
    """A random fraction between the two percentages, to the tenth of a percent."""
    return Decimal(rng.randint(low_percent * 10, high_percent * 10)) / 1000
