"""Segment expressions as SQL: the typed AST (server/domain/segments) compiled to one SQLAlchemy Core
boolean expression, for bulk membership on SQLite and PostgreSQL alike.

Where attributes and holdings live is the caller's: it passes an `AttributeColumn` (a definition → a
column expression of the attribute's SQL type, NULL where the customer has no value of their own) and
a `HoldingPredicate` (a holding kind → a boolean that is never NULL, e.g. an EXISTS). The SQL follows
the evaluator's rules exactly (server/domain/segments/evaluate.py): every condition is TRUE or FALSE,
never NULL, so NOT, AND and OR are two-valued as they are in Python:
- a condition reads COALESCE(value, default) where the attribute has a default;
- without one it is guarded, `value IS NOT NULL AND …`, so an unset attribute makes it FALSE;
- IS SET tests the customer's own value (`value IS NOT NULL`), default or not.
Literals are bound with the column's own type (a ScaledAmount stays exact)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, not_, or_

from server.domain.segments.attributes import AttributeDefinition
from server.domain.segments.expression import (
    And,
    Between,
    Comparator,
    Comparison,
    Expression,
    Holds,
    InSet,
    IsSet,
    Not,
    Or,
)

AttributeColumn = Callable[[AttributeDefinition], ColumnElement[Any]]
HoldingPredicate = Callable[[str], ColumnElement[bool]]


def compile_segment(expression: Expression, attribute: AttributeColumn,
                    holds: HoldingPredicate) -> ColumnElement[bool]:
    """The WHERE clause selecting exactly the customers `evaluate` accepts."""
    match expression:
        case Holds(kind):
            return holds(kind)
        case Not(operand):
            return not_(compile_segment(operand, attribute, holds))
        case And(operands):
            return and_(*(compile_segment(o, attribute, holds) for o in operands))
        case Or(operands):
            return or_(*(compile_segment(o, attribute, holds) for o in operands))
        case IsSet(definition, negated):
            stored = attribute(definition)
            return stored.is_(None) if negated else stored.is_not(None)
        case Comparison() | InSet() | Between():
            return _condition(expression, attribute)
    raise TypeError(f"not an expression: {expression!r}")


def _condition(expression: Comparison | InSet | Between, attribute: AttributeColumn) -> ColumnElement[bool]:
    definition = expression.attribute
    stored = attribute(definition)
    value: ColumnElement[Any] = stored
    if definition.default is not None:
        value = func.coalesce(stored, literal(definition.default, stored.type))
    match expression:
        case Comparison(_, comparator, bound):
            test = _compare(value, comparator, bound)
        case InSet(_, values, negated):
            test = value.not_in(values) if negated else value.in_(values)
        case Between(_, low, high, negated):
            test = value.between(low, high)
            test = not_(test) if negated else test
    if definition.default is not None:
        return test  # COALESCE never yields NULL
    # FALSE AND NULL is FALSE: the guard keeps an unset attribute's NULL out of NOT, AND and OR.
    return and_(stored.is_not(None), test)


def _compare(value: ColumnElement[Any], comparator: Comparator, bound: Any) -> ColumnElement[bool]:
    match comparator:
        case Comparator.EQ:
            return value == bound
        case Comparator.NE:
            return value != bound
        case Comparator.LT:
            return value < bound
        case Comparator.LE:
            return value <= bound
        case Comparator.GT:
            return value > bound
        case Comparator.GE:
            return value >= bound
    return false()
