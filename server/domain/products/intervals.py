"""Numeric intervals with open or closed ends: the ranges of attributes, amounts and terms that product
conditions test, and the pieces the coverage analysis cuts the axes into.

A missing bound (None) is unbounded on that side, and its closedness flag is False. Bounds are
Decimal; ints are compared as Decimal so that `5000` and `Decimal("5000.00")` are the same point."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

Number = int | Decimal


def _as_decimal(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


@dataclass(frozen=True, slots=True)
class Interval:
    low: Decimal | None = None
    high: Decimal | None = None
    low_closed: bool = True
    high_closed: bool = True

    def __post_init__(self) -> None:
        # An unbounded end has no closedness: normalised, so that equal intervals compare equal.
        if self.low is None and self.low_closed:
            object.__setattr__(self, "low_closed", False)
        if self.high is None and self.high_closed:
            object.__setattr__(self, "high_closed", False)

    # -- the usual shapes, so that conditions read like the rule they state ---------------------
    @classmethod
    def closed(cls, low: Number, high: Number) -> Interval:
        return cls(_as_decimal(low), _as_decimal(high), True, True)

    @classmethod
    def open(cls, low: Number, high: Number) -> Interval:
        return cls(_as_decimal(low), _as_decimal(high), False, False)

    @classmethod
    def above(cls, low: Number) -> Interval:
        return cls(_as_decimal(low), None, False, False)

    @classmethod
    def at_least(cls, low: Number) -> Interval:
        return cls(_as_decimal(low), None, True, False)

    @classmethod
    def below(cls, high: Number) -> Interval:
        return cls(None, _as_decimal(high), False, False)

    @classmethod
    def at_most(cls, high: Number) -> Interval:
        return cls(None, _as_decimal(high), False, True)

    @classmethod
    def exactly(cls, value: Number) -> Interval:
        return cls.closed(value, value)

    @classmethod
    def everything(cls) -> Interval:
        return cls(None, None, False, False)

    # -- questions --------------------------------------------------------------------------------
    def contains(self, value: Number) -> bool:
        x = _as_decimal(value)
        if self.low is not None and (x < self.low or (x == self.low and not self.low_closed)):
            return False
        return not (self.high is not None and (x > self.high or (x == self.high and not self.high_closed)))

    def is_empty(self, integral: bool = False) -> bool:
        """No value inside; with integral=True, no whole number inside (a term in months)."""
        if self.low is not None and self.high is not None:
            if self.low > self.high or (self.low == self.high and not (self.low_closed and self.high_closed)):
                return True
        return integral and self.integer_inside() is None

    def integer_inside(self) -> int | None:
        """The smallest whole number inside (the largest when unbounded below), or None."""
        if self.low is None:
            if self.high is None:
                return 0
            top = math.floor(self.high)
            return top if self.contains(top) else top - 1
        first = math.ceil(self.low)
        if not self.contains(first):
            first += 1
        return first if self.contains(first) else None

    def is_point(self) -> bool:
        return self.low is not None and self.low == self.high and self.low_closed and self.high_closed

    def intersect(self, other: Interval) -> Interval:
        low, low_closed = self.low, self.low_closed
        if other.low is not None and (low is None or other.low > low or (other.low == low and not other.low_closed)):
            low, low_closed = other.low, other.low_closed
        high, high_closed = self.high, self.high_closed
        if other.high is not None and (high is None or other.high < high
                                       or (other.high == high and not other.high_closed)):
            high, high_closed = other.high, other.high_closed
        return Interval(low, high, low_closed, high_closed)

    def representative(self, integral: bool = False) -> Decimal:
        """A value inside (the interval must not be empty): the coverage analysis evaluates each piece
        of an axis at one such value, which stands for the whole piece."""
        if integral:
            inside = self.integer_inside()
            if inside is None:
                raise ValueError(f"no whole number in {self}")
            return Decimal(inside)
        if self.low is not None and self.high is not None:
            return self.low if self.low == self.high else (self.low + self.high) / 2
        if self.low is not None:
            return self.low + 1
        if self.high is not None:
            return self.high - 1
        return Decimal(0)

    def __str__(self) -> str:
        if self.low is None and self.high is None:
            return "any"
        if self.is_point():
            return f"= {self.low}"
        if self.high is None:
            return f"{'≥' if self.low_closed else '>'} {self.low}"
        if self.low is None:
            return f"{'≤' if self.high_closed else '<'} {self.high}"
        return f"in {'[' if self.low_closed else '('}{self.low}, {self.high}{']' if self.high_closed else ')'}"
