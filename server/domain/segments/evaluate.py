"""A segment expression for one customer: whether they belong, and why (the explanation tree that
ExplainMembership answers with).

Two-valued, with defaults (docs/segments.md#unset-attributes): an attribute's value is the customer's
own, else its definition's default, else it has none. A condition on an attribute without a value is
false (!=, NOT IN and NOT BETWEEN included); NOT, AND and OR are plain boolean logic; IS SET looks at
the customer's own value only. The SQL compiler (server/store/segments_sql.py) keeps the same rules."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from server.domain.segments.attributes import AttributeDefinition, AttributeValue
from server.domain.segments.expression import (
    And,
    Between,
    Comparison,
    Expression,
    Holds,
    InSet,
    IsSet,
    Not,
    Or,
    render,
)


@dataclass(frozen=True)
class CustomerFacts:
    """What an expression reads of one customer: their own typed attribute values (an attribute
    without one is absent) and the product kinds they hold."""

    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    holdings: frozenset[str] = frozenset()


class ValueSource(enum.StrEnum):
    OWN = "OWN"  # the customer's own value
    DEFAULT = "DEFAULT"  # none of their own: the attribute's default
    UNSET = "UNSET"  # neither


@dataclass(frozen=True)
class SeenValue:
    attribute: str
    value: AttributeValue | None
    source: ValueSource


@dataclass(frozen=True)
class Explanation:
    """One clause (its canonical text), whether it held, the value it read (a condition on an
    attribute) and the clauses it is made of (NOT, AND, OR)."""

    clause: str
    held: bool
    seen: SeenValue | None = None
    children: tuple[Explanation, ...] = ()



def seen_value(definition: AttributeDefinition, facts: CustomerFacts) -> SeenValue:
    own = facts.attributes.get(definition.name)
    if own is not None:
        return SeenValue(definition.name, own, ValueSource.OWN)
    if definition.default is not None:
        return SeenValue(definition.name, definition.default, ValueSource.DEFAULT)
    return SeenValue(definition.name, None, ValueSource.UNSET)


def _condition_holds(expression: Comparison | InSet | Between | IsSet, seen: SeenValue) -> bool:
    if isinstance(expression, IsSet):
        return (seen.source is ValueSource.OWN) != expression.negated
    value = seen.value
    if value is None:
        return False
    match expression:
        case Comparison(_, comparator, literal):
            return comparator.test(value, literal)
        case InSet(_, values, negated):
            return (value in values) != negated
        case Between(_, low, high, negated):
            return (low <= value <= high) != negated  # type: ignore[operator]
    raise TypeError(f"not a condition: {expression!r}")


def evaluate(expression: Expression, facts: CustomerFacts) -> bool:
    """Whether the customer belongs (AND and OR stop at the first clause that decides)."""
    match expression:
        case Holds(kind):
            return kind in facts.holdings
        case Not(operand):
            return not evaluate(operand, facts)
        case And(operands):
            return all(evaluate(o, facts) for o in operands)
        case Or(operands):
            return any(evaluate(o, facts) for o in operands)
        case Comparison() | InSet() | Between() | IsSet():
            return _condition_holds(expression, seen_value(expression.attribute, facts))
    raise TypeError(f"not an expression: {expression!r}")


def explain(expression: Expression, facts: CustomerFacts) -> Explanation:
    """The whole tree, every clause evaluated (not only those that decided), with what each read."""
    match expression:
        case Holds(kind):
            return Explanation(render(expression), kind in facts.holdings)
        case Not(operand):
            inner = explain(operand, facts)
            return Explanation(render(expression), not inner.held, children=(inner,))
        case And(operands):
            parts = tuple(explain(o, facts) for o in operands)
            return Explanation(render(expression), all(p.held for p in parts), children=parts)
        case Or(operands):
            parts = tuple(explain(o, facts) for o in operands)
            return Explanation(render(expression), any(p.held for p in parts), children=parts)
        case Comparison() | InSet() | Between() | IsSet():
            seen = seen_value(expression.attribute, facts)
            return Explanation(render(expression), _condition_holds(expression, seen), seen)
    raise TypeError(f"not an expression: {expression!r}")
