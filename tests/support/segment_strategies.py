"""Hypothesis strategies over a small attribute catalogue: typed segment expressions and customers,
drawn from small pools of values so that equal values, bounds and unset attributes meet often."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from server.domain.segments.attributes import (
    INT_MAX,
    INT_MIN,
    MAX_ABS_DECIMAL,
    AttributeCatalogue,
    AttributeDefinition,
    AttributeType,
)
from server.domain.segments.evaluate import CustomerFacts
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

HOLDINGS = ("LOAN", "CARD", "OVERDRAFT_PROTECTION")
ATTRIBUTES = (
    AttributeDefinition("globetrotter", AttributeType.BOOL, default=False),
    AttributeDefinition("vip", AttributeType.BOOL),
    AttributeDefinition("age", AttributeType.INT),
    AttributeDefinition("tier", AttributeType.INT, default=1),
    AttributeDefinition("income", AttributeType.DECIMAL),
    AttributeDefinition("balance", AttributeType.DECIMAL, default=Decimal("0")),
    AttributeDefinition("city", AttributeType.STRING),
    AttributeDefinition("nickname", AttributeType.STRING, default=""),
    AttributeDefinition("risk", AttributeType.ENUM, values=("LOW", "MEDIUM", "HIGH")),
    AttributeDefinition("segment", AttributeType.ENUM, values=("MASS", "AFFLUENT"), default="MASS"),
    AttributeDefinition("born", AttributeType.DATE),
    AttributeDefinition("joined", AttributeType.DATE, default=dt.date(2020, 1, 1)),
)
CATALOGUE = AttributeCatalogue.of(ATTRIBUTES, holdings=HOLDINGS, built_in=())

POOLS: dict[AttributeType, tuple[Any, ...]] = {
    AttributeType.BOOL: (True, False),
    AttributeType.INT: (INT_MIN, -1, 0, 1, 30, 45, INT_MAX),
    AttributeType.DECIMAL: (-MAX_ABS_DECIMAL, Decimal("-0.0001"), Decimal("0"), Decimal("0.0001"),
                            Decimal("4999.9999"), Decimal("5000"), Decimal("5000.0001"), Decimal("10000.50"),
                            MAX_ABS_DECIMAL),
    # Case, trailing space, a quote and a non-ASCII letter: equality is exact on both databases.
    AttributeType.STRING: ("", "a", "A", "b", "b ", "o'k", "ä"),
    AttributeType.DATE: (dt.date(1, 1, 1), dt.date(1990, 5, 17), dt.date(2020, 1, 1), dt.date(2020, 1, 2),
                         dt.date(9999, 12, 31)),
}


def pool(definition: AttributeDefinition) -> tuple[Any, ...]:
    return definition.values if definition.type is AttributeType.ENUM else POOLS[definition.type]


def _comparison(definition: AttributeDefinition) -> st.SearchStrategy[Expression]:
    comparators = list(Comparator) if definition.type.ordered else [Comparator.EQ, Comparator.NE]
    return st.builds(Comparison, st.just(definition), st.sampled_from(comparators), st.sampled_from(pool(definition)))


def _in_set(definition: AttributeDefinition) -> st.SearchStrategy[Expression]:
    values = st.lists(st.sampled_from(pool(definition)), min_size=1, max_size=4).map(tuple)
    return st.builds(InSet, st.just(definition), values, st.booleans())


def _between(definition: AttributeDefinition) -> st.SearchStrategy[Expression]:
    bounds = st.lists(st.sampled_from(pool(definition)), min_size=2, max_size=2).map(sorted)
    return st.builds(lambda b, negated: Between(definition, b[0], b[1], negated), bounds, st.booleans())


def _conditions(definition: AttributeDefinition) -> st.SearchStrategy[Expression]:
    options = [_comparison(definition), _in_set(definition),
               st.builds(IsSet, st.just(definition), st.booleans())]
    if definition.type.ordered:
        options.append(_between(definition))
    return st.one_of(options)


conditions: st.SearchStrategy[Expression] = st.one_of(
    *(_conditions(d) for d in ATTRIBUTES), st.builds(Holds, st.sampled_from(HOLDINGS)))


def _grow(children: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
    several = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(st.builds(Not, children), st.builds(And, several), st.builds(Or, several))


expressions: st.SearchStrategy[Expression] = st.recursive(conditions, _grow, max_leaves=10)


def _own_value(definition: AttributeDefinition) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.sampled_from(pool(definition)))


customers: st.SearchStrategy[CustomerFacts] = st.builds(
    lambda values, held: CustomerFacts({k: v for k, v in values.items() if v is not None}, frozenset(held)),
    st.fixed_dictionaries({d.name: _own_value(d) for d in ATTRIBUTES}),
    st.sets(st.sampled_from(HOLDINGS)))
