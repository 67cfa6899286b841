"""Conditions: a small typed model of what availability rules, interest lists, insurances and discounts
test, so that a version's rules can be analysed (coverage.py) and not only evaluated.

Each condition tests one *dimension* of a quote:
- `InPersona`:   a persona id is (member=True) or is not (member=False) among the customer's personas;
- `NumberIn`:    a numeric attribute lies in an interval (open or closed ends);
- `ValueIn`:     an enum, string or bool attribute equals one of the listed values;
- `AmountIn`:    the requested amount lies in an interval;
- `TermIn`:      the requested term, in whole months, lies in an interval.

A `Rule` is a named conjunction: it holds when all its conditions hold (none: always). Disjunction is
written as several lists (or several items), which keeps every rule a box in the space of dimensions:
that is what makes the coverage analysis exact.

An attribute the customer has no value for fails every condition on it ("missing" in the
explanation). A value of the wrong type fails too: True is not the number 1 here, and "5000" is not
a number."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from server.domain.events import Money
from server.domain.products.intervals import Interval

AttributeValue = bool | int | Decimal | str
ChoiceValue = bool | str


class DimensionKind(StrEnum):
    PERSONA = "persona"
    NUMBER = "number"
    VALUE = "value"
    AMOUNT = "amount"
    TERM = "term"


@dataclass(frozen=True, slots=True, order=True)
class Dimension:
    """One axis of the quote space: a persona's membership, an attribute, the amount or the term."""

    kind: DimensionKind
    name: str = ""  # the persona id or attribute name; empty for amount and term

    def __str__(self) -> str:
        if self.kind is DimensionKind.PERSONA:
            return f"persona {self.name}"
        if self.kind in (DimensionKind.AMOUNT, DimensionKind.TERM):
            return "amount" if self.kind is DimensionKind.AMOUNT else "term (months)"
        return self.name


AMOUNT = Dimension(DimensionKind.AMOUNT)
TERM = Dimension(DimensionKind.TERM)


@dataclass(frozen=True, slots=True)
class InPersona:
    persona_id: str
    member: bool = True

    @property
    def dimension(self) -> Dimension:
        return Dimension(DimensionKind.PERSONA, self.persona_id)

    def __str__(self) -> str:
        return f"{'in' if self.member else 'not in'} persona {self.persona_id}"


@dataclass(frozen=True, slots=True)
class NumberIn:
    attribute: str
    interval: Interval

    @property
    def dimension(self) -> Dimension:
        return Dimension(DimensionKind.NUMBER, self.attribute)

    def __str__(self) -> str:
        return f"{self.attribute} {self.interval}"


@dataclass(frozen=True, slots=True)
class ValueIn:
    attribute: str
    values: frozenset[ChoiceValue]

    @property
    def dimension(self) -> Dimension:
        return Dimension(DimensionKind.VALUE, self.attribute)

    def __str__(self) -> str:
        shown = sorted(str(v) for v in self.values)
        return f"{self.attribute} = {shown[0]}" if len(shown) == 1 else f"{self.attribute} in {{{', '.join(shown)}}}"


@dataclass(frozen=True, slots=True)
class AmountIn:
    interval: Interval

    @property
    def dimension(self) -> Dimension:
        return AMOUNT

    def __str__(self) -> str:
        return f"amount {self.interval}"


@dataclass(frozen=True, slots=True)
class TermIn:
    interval: Interval

    @property
    def dimension(self) -> Dimension:
        return TERM

    def __str__(self) -> str:
        return f"term {self.interval} months"


Condition = InPersona | NumberIn | ValueIn | AmountIn | TermIn


@dataclass(frozen=True, slots=True)
class QuoteContext:
    """What a quote is asked about: the customer's personas and attribute values, the amount, the term."""

    amount: Money
    term_months: int
    persona_ids: frozenset[str] = frozenset()
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Check:
    """One condition evaluated: whether it held and the value it saw, for the explanation."""

    condition: Condition
    held: bool
    observed: str

    def __str__(self) -> str:
        return f"{self.condition}: {'yes' if self.held else 'no'} ({self.observed})"


def _same_choice(a: ChoiceValue, b: AttributeValue) -> bool:
    # type() first: True == 1 in Python, but an enum or bool condition must not match a number.
    return type(a) is type(b) and a == b


def check(condition: Condition, context: QuoteContext) -> Check:
    if isinstance(condition, InPersona):
        member = condition.persona_id in context.persona_ids
        return Check(condition, member == condition.member, "member" if member else "not a member")
    if isinstance(condition, AmountIn):
        return Check(condition, condition.interval.contains(context.amount.amount), f"amount {context.amount.amount}")
    if isinstance(condition, TermIn):
        return Check(condition, condition.interval.contains(context.term_months), f"term {context.term_months}")
    value = context.attributes.get(condition.attribute)
    if value is None:
        return Check(condition, False, f"{condition.attribute} missing")
    observed = f"{condition.attribute} = {value}"
    if isinstance(condition, NumberIn):
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            return Check(condition, False, f"{observed}, not a number")
        return Check(condition, condition.interval.contains(value), observed)
    return Check(condition, any(_same_choice(v, value) for v in condition.values), observed)


@dataclass(frozen=True, slots=True)
class Rule:
    """A named conjunction of conditions (an availability rule, or the filter of a list or item)."""

    name: str
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    rule: Rule
    checks: tuple[Check, ...]

    @property
    def held(self) -> bool:
        return all(c.held for c in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.held)

    def __str__(self) -> str:
        if self.held:
            return f"{self.rule.name}: holds" + (f" ({'; '.join(map(str, self.checks))})" if self.checks else "")
        return f"{self.rule.name}: fails on {'; '.join(map(str, self.failed))}"


def evaluate(rule: Rule, context: QuoteContext) -> RuleOutcome:
    """Every condition is checked (not only up to the first failure), so the explanation is whole."""
    return RuleOutcome(rule, tuple(check(c, context) for c in rule.conditions))


def holds(conditions: tuple[Condition, ...], context: QuoteContext) -> bool:
    return all(check(c, context).held for c in conditions)


def dimensions(conditions: tuple[Condition, ...]) -> frozenset[Dimension]:
    return frozenset(c.dimension for c in conditions)
