"""A version's pricing dimensions: interest & commission lists, insurance items and discounts, each with
its conditions, and the precedence that picks one list when several match.

Interest & commission lists. Exactly one list prices a quote. When several lists' conditions hold,
the one applied is the first by:
1. specificity: the number of distinct dimensions its conditions constrain (personas, attributes,
   amount, term), most first. A list for "Globetrotter, income > 5,000, amount > 10,000" (three) beats
   a general tariff for "amount > 10,000" (one), as the longest prefix wins in a routing table: a
   narrower offer needs no numbering to win over the general one.
2. priority: an explicit integer, higher first (0 by default), for the admin to settle lists equally
   specific.
3. list order: the position in the version, earlier first.
The key is total, so the choice is deterministic; the coverage analysis reports every overlap with
different prices and the list this order applies there, for the approver to see.

Insurance items and discounts. Every item whose conditions hold applies, independently. Discounts
add up: their rate points are subtracted from the list's rate (never below 0), their commission
percentages reduce every commission (at most 100% in all).

Rates are nominal annual percentages (5.3 means 5.3% a year, charged monthly at 5.3/12 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from server.domain.products.conditions import Condition, QuoteContext, dimensions, holds


class ChargeBasis(StrEnum):
    FIXED = "FIXED"  # an amount in the product's currency
    PERCENT_OF_AMOUNT = "PERCENT_OF_AMOUNT"  # a percentage of the requested amount


class ChargeFrequency(StrEnum):
    ONE_OFF = "ONE_OFF"  # at disbursement
    MONTHLY = "MONTHLY"  # with every instalment


@dataclass(frozen=True, slots=True)
class Charge:
    """A commission or an insurance premium."""

    name: str
    basis: ChargeBasis
    value: Decimal
    frequency: ChargeFrequency = ChargeFrequency.ONE_OFF


@dataclass(frozen=True, slots=True)
class InterestList:
    name: str
    annual_rate: Decimal  # percent
    commissions: tuple[Charge, ...] = ()  # none: "zero commissions"
    conditions: tuple[Condition, ...] = ()
    priority: int = 0

    @property
    def specificity(self) -> int:
        return len(dimensions(self.conditions))

    def price(self) -> tuple[Decimal, tuple[tuple[str, str, Decimal], ...]]:
        """What the list charges, without names: two lists with equal prices do not conflict."""
        charges = sorted((c.basis.value, c.frequency.value, c.value.normalize()) for c in self.commissions)
        return self.annual_rate.normalize(), tuple(charges)


@dataclass(frozen=True, slots=True)
class InsuranceItem:
    name: str
    premium: Charge
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Discount:
    name: str
    conditions: tuple[Condition, ...] = ()
    rate_points: Decimal = Decimal(0)  # percentage points off the list's annual rate
    commission_percent: Decimal = Decimal(0)  # percent off every commission


def precedence_key(position: int, interest_list: InterestList) -> tuple[int, int, int]:
    return -interest_list.specificity, -interest_list.priority, position


def matching_lists(lists: Sequence[InterestList], context: QuoteContext) -> list[InterestList]:
    """The lists whose conditions hold, in precedence order: the first is the one applied."""
    ranked = sorted(enumerate(lists), key=lambda pair: precedence_key(*pair))
    return [candidate for _, candidate in ranked if holds(candidate.conditions, context)]


def in_precedence_order(lists: Sequence[InterestList]) -> list[InterestList]:
    return [candidate for _, candidate in sorted(enumerate(lists), key=lambda pair: precedence_key(*pair))]
