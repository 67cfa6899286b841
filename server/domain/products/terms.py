"""What a product version offers: its currency, limits, availability rules and pricing dimensions. The
part of a version a draft edits; versions.py keeps it unchanged once approved."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from server.domain.products.conditions import Condition, Rule
from server.domain.products.intervals import Interval
from server.domain.products.pricing import Discount, InsuranceItem, InterestList


@dataclass(frozen=True, slots=True)
class ProductTerms:
    currency: str
    amount_limits: Interval  # the amounts that may be requested, in `currency`
    term_limits: Interval  # the terms that may be requested, in whole months
    availability: tuple[Rule, ...] = ()  # every rule must hold for the customer to be eligible
    interest_lists: tuple[InterestList, ...] = ()
    insurances: tuple[InsuranceItem, ...] = ()
    discounts: tuple[Discount, ...] = ()

    def all_conditions(self) -> Iterator[Condition]:
        for rule in self.availability:
            yield from rule.conditions
        for interest_list in self.interest_lists:
            yield from interest_list.conditions
        for insurance in self.insurances:
            yield from insurance.conditions
        for discount in self.discounts:
            yield from discount.conditions
