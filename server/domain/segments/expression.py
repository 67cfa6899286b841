"""The typed AST of a segment expression, and its canonical text (what `render` gives back parses to
an equal tree). Leaves carry their attribute's definition: the evaluator and the SQL compiler need its
type and default, and nothing else."""

from __future__ import annotations

import datetime as dt
import enum
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from server.domain.segments.attributes import AttributeDefinition, AttributeValue


@dataclass(frozen=True)
class Span:
    """Where a node is in the text: `offset` and `end` count characters from 0; line and column from 1."""

    offset: int
    end: int
    line: int
    column: int


NO_SPAN = Span(0, 0, 1, 1)


class Comparator(enum.StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    @property
    def ordering(self) -> bool:
        return self not in (Comparator.EQ, Comparator.NE)

    @property
    def test(self) -> Callable[[Any, Any], bool]:
        """The comparison as a function of (left, right)."""
        return _OPERATORS[self]


_OPERATORS: dict[Comparator, Callable[[Any, Any], bool]] = {
    Comparator.EQ: operator.eq, Comparator.NE: operator.ne, Comparator.LT: operator.lt,
    Comparator.LE: operator.le, Comparator.GT: operator.gt, Comparator.GE: operator.ge,
}


# compare=False: two trees are equal whatever text they came from (a parse of `render(tree)` equals tree).
@dataclass(frozen=True)
class Comparison:
    attribute: AttributeDefinition
    comparator: Comparator
    value: AttributeValue
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class InSet:
    attribute: AttributeDefinition
    values: tuple[AttributeValue, ...]
    negated: bool = False  # NOT IN: still false for an attribute without a value
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Between:
    attribute: AttributeDefinition
    low: AttributeValue
    high: AttributeValue
    negated: bool = False  # NOT BETWEEN: still false for an attribute without a value
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class IsSet:
    attribute: AttributeDefinition
    negated: bool = False
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Holds:
    kind: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Not:
    operand: Expression
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class And:
    operands: tuple[Expression, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Or:
    operands: tuple[Expression, ...]
    span: Span = field(default=NO_SPAN, compare=False)


Condition = Comparison | InSet | Between | IsSet | Holds
Expression = Condition | Not | And | Or


def render_value(value: AttributeValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + value.replace("'", "''") + "'"


def render(expression: Expression) -> str:
    """The canonical text: keywords upper case, one space around operators, parentheses only where a
    group is nested in another (an AND inside an OR too, for the reader)."""
    match expression:
        case Comparison(attribute, comparator, value):
            return f"{attribute.name} {comparator.value} {render_value(value)}"
        case InSet(attribute, values, negated):
            listed = ", ".join(render_value(v) for v in values)
            return f"{attribute.name} {'NOT IN' if negated else 'IN'} ({listed})"
        case Between(attribute, low, high, negated):
            word = "NOT BETWEEN" if negated else "BETWEEN"
            return f"{attribute.name} {word} {render_value(low)} AND {render_value(high)}"
        case IsSet(attribute, negated):
            return f"{attribute.name} IS {'NOT SET' if negated else 'SET'}"
        case Holds(kind):
            return f"holds({render_value(kind)})"
        case Not(operand):
            inner = render(operand)
            return f"NOT ({inner})" if isinstance(operand, And | Or) else f"NOT {inner}"
        case And(operands):
            return " AND ".join(f"({render(o)})" if isinstance(o, And | Or) else render(o) for o in operands)
        case Or(operands):
            return " OR ".join(f"({render(o)})" if isinstance(o, And | Or) else render(o) for o in operands)
    raise TypeError(f"not an expression: {expression!r}")


def attributes_named(expression: Expression) -> frozenset[str]:
    """The attributes an expression reads: a change to any other cannot change its result."""
    match expression:
        case Comparison() | InSet() | Between() | IsSet():
            return frozenset({expression.attribute.name})
        case Holds():
            return frozenset()
        case Not(operand):
            return attributes_named(operand)
        case And(operands) | Or(operands):
            return frozenset().union(*(attributes_named(o) for o in operands))
    raise TypeError(f"not an expression: {expression!r}")


def reads_holdings(expression: Expression) -> bool:
    match expression:
        case Holds():
            return True
        case Not(operand):
            return reads_holdings(operand)
        case And(operands) | Or(operands):
            return any(reads_holdings(o) for o in operands)
    return False
