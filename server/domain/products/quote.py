"""Quoting a product version for one customer, amount and term (QuoteProduct).

1. The request: an amount above 0 in the product's currency and a term of at least one month, else
   QUOTE_INVALID.
2. Eligibility: the amount and term limits (as the rules "amount limits" and "term limits"), then
   every availability rule in order. All are evaluated; the first that fails is the failing rule. An
   ineligible customer gets a quote without pricing (not an error: the answer is "not for you", with
   the reason).
3. The interest & commission list: the first matching one by the precedence of pricing.py. None
   matching is PRODUCT_NOT_PRICED: a gap of the grid, which the coverage analysis shows at approval.
4. Discounts and insurances whose conditions hold (all of them; pricing.py says how they add up).
5. Money: commissions and premiums rounded half-up, the instalment rounded up (annuity.py says why).

The explanation has one line per choice: each rule, each list (applied, outranked and by what, or
failing and on which condition), each insurance and discount (applied or not and why), the instalment.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.events import Money
from server.domain.products.annuity import HUNDRED, minor_unit, monthly_instalment, round_charge
from server.domain.products.conditions import AmountIn, QuoteContext, Rule, RuleOutcome, TermIn, evaluate
from server.domain.products.pricing import (
    Charge,
    ChargeBasis,
    ChargeFrequency,
    InterestList,
    in_precedence_order,
)
from server.domain.products.versions import ProductVersion

AMOUNT_LIMITS = "amount limits"
TERM_LIMITS = "term limits"


@dataclass(frozen=True, slots=True)
class ChargeLine:
    name: str
    amount: Money
    frequency: ChargeFrequency


@dataclass(frozen=True, slots=True)
class Eligibility:
    outcomes: tuple[RuleOutcome, ...]  # the limits, then the availability rules, in order

    @property
    def eligible(self) -> bool:
        return all(o.held for o in self.outcomes)

    @property
    def failing(self) -> RuleOutcome | None:
        return next((o for o in self.outcomes if not o.held), None)


@dataclass(frozen=True, slots=True)
class Pricing:
    interest_list: str
    list_rate: Decimal  # the list's annual rate, percent
    rate: Decimal  # after discounts
    commissions: tuple[ChargeLine, ...]
    insurances: tuple[ChargeLine, ...]
    discounts: tuple[str, ...]
    monthly_instalment: Money  # the annuity alone
    monthly_payment: Money  # the instalment plus monthly commissions and premiums
    upfront: Money  # one-off commissions and premiums
    total_payable: Money  # monthly_payment x term + upfront


@dataclass(frozen=True, slots=True)
class Quote:
    product_id: str
    version: int
    amount: Money
    term_months: int
    eligibility: Eligibility
    pricing: Pricing | None
    explanation: tuple[str, ...]


def _check_request(version: ProductVersion, context: QuoteContext) -> None:
    problems = []
    if not context.amount.amount.is_finite() or context.amount.amount <= 0:
        problems.append(f"the amount {context.amount.amount} is not above 0")
    if context.amount.currency != version.terms.currency:
        problems.append(f"the amount is in {context.amount.currency}, the product in {version.terms.currency}")
    if context.term_months < 1:
        problems.append(f"the term of {context.term_months} months is not at least 1")
    if problems:
        raise InvalidArgument("QUOTE_INVALID", "; ".join(problems))


def eligibility(version: ProductVersion, context: QuoteContext) -> Eligibility:
    terms = version.terms
    rules = (Rule(AMOUNT_LIMITS, (AmountIn(terms.amount_limits),)),
             Rule(TERM_LIMITS, (TermIn(terms.term_limits),)), *terms.availability)
    return Eligibility(tuple(evaluate(rule, context) for rule in rules))


def _why_outranked(winner: InterestList, loser: InterestList) -> str:
    if winner.specificity != loser.specificity:
        return f"'{winner.name}' is more specific ({winner.specificity} dimensions against {loser.specificity})"
    if winner.priority != loser.priority:
        return f"'{winner.name}' has a higher priority ({winner.priority} against {loser.priority})"
    return f"'{winner.name}' comes first in the version"


def _choose_list(version: ProductVersion, context: QuoteContext) -> tuple[InterestList, list[str]]:
    lines: list[str] = []
    chosen: InterestList | None = None
    for candidate in in_precedence_order(version.terms.interest_lists):
        outcome = evaluate(Rule(candidate.name, candidate.conditions), context)
        if not outcome.held:
            lines.append(f"interest list {outcome}")
        elif chosen is None:
            chosen = candidate
            lines.append(f"interest list {outcome}: applied")
        else:
            why = _why_outranked(chosen, candidate)
            lines.append(f"interest list '{candidate.name}' matches too, not applied: {why}")
    if chosen is None:
        raise FailedPrecondition("PRODUCT_NOT_PRICED",
                                 f"no interest & commission list of product '{version.product_id}' version "
                                 f"{version.number} covers this customer, amount and term: " + "; ".join(lines),
                                 metadata={"product": version.product_id, "version": str(version.number)})
    return chosen, lines


def _charge(charge: Charge, amount: Money, reduction_percent: Decimal = Decimal(0)) -> ChargeLine:
    base = charge.value if charge.basis is ChargeBasis.FIXED else amount.amount * charge.value / HUNDRED
    value = round_charge(base * (HUNDRED - reduction_percent) / HUNDRED, amount.currency)
    return ChargeLine(charge.name, Money(value, amount.currency), charge.frequency)


def _sum(lines: list[ChargeLine], frequency: ChargeFrequency, currency: str) -> Decimal:
    # Starts from 0 in the minor unit, so that "nothing" reads 0.00 EUR like every other amount.
    return sum((line.amount.amount for line in lines if line.frequency is frequency), minor_unit(currency) * 0)


def quote(version: ProductVersion, context: QuoteContext) -> Quote:
    _check_request(version, context)
    eligible = eligibility(version, context)
    explanation = [f"rule {outcome}" for outcome in eligible.outcomes]
    amount, months, currency = context.amount, context.term_months, context.amount.currency
    failing = eligible.failing
    if failing is not None:
        explanation.append(f"not eligible: the rule '{failing.rule.name}' fails")
        return Quote(version.product_id, version.number, amount, months, eligible, None, tuple(explanation))

    chosen, list_lines = _choose_list(version, context)
    explanation += list_lines
    applied_discounts = []
    points = percent = Decimal(0)
    for discount in version.terms.discounts:
        outcome = evaluate(Rule(discount.name, discount.conditions), context)
        explanation.append(f"discount {outcome}" + (": applied" if outcome.held else ""))
        if outcome.held:
            applied_discounts.append(discount.name)
            points += discount.rate_points
            percent += discount.commission_percent
    percent = min(percent, HUNDRED)
    rate = max(chosen.annual_rate - points, Decimal(0))

    commissions = [_charge(c, amount, percent) for c in chosen.commissions]
    if not commissions:
        explanation.append(f"no commission: the list '{chosen.name}' has none")
    insurances = []
    for item in version.terms.insurances:
        outcome = evaluate(Rule(item.name, item.conditions), context)
        explanation.append(f"insurance {outcome}" + (": applied" if outcome.held else ""))
        if outcome.held:
            insurances.append(_charge(item.premium, amount))

    instalment = monthly_instalment(amount.amount, rate, months, currency)
    charges = commissions + insurances
    monthly = instalment + _sum(charges, ChargeFrequency.MONTHLY, currency)
    upfront = _sum(charges, ChargeFrequency.ONE_OFF, currency)
    explanation.append(f"rate {rate}% a year ({chosen.annual_rate}% from '{chosen.name}'"
                       + (f" less {points} points of discount)" if points else ")")
                       + f"; instalment {instalment} {currency} over {months} months (annuity, rounded up to the "
                       "minor unit)")
    pricing = Pricing(chosen.name, chosen.annual_rate, rate, tuple(commissions), tuple(insurances),
                      tuple(applied_discounts), Money(instalment, currency), Money(monthly, currency),
                      Money(upfront, currency), Money(monthly * months + upfront, currency))
    return Quote(version.product_id, version.number, amount, months, eligible, pricing, tuple(explanation))

