"""Evaluating a segment expression for one customer: two-valued, with defaults, and the explanation
of which clause held or failed with the values it read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings

from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition, AttributeType
from server.domain.segments.evaluate import CustomerFacts, Explanation, SeenValue, ValueSource, evaluate, explain
from server.domain.segments.expression import Expression, Not
from server.domain.segments.parser import parse_expression
from tests.support.segment_strategies import customers, expressions

BANK = AttributeCatalogue.of([
    AttributeDefinition("IsGlobetrotter", AttributeType.BOOL, default=False),
    AttributeDefinition("risk_profile", AttributeType.ENUM, values=("LOW", "MEDIUM", "HIGH")),
    AttributeDefinition("city", AttributeType.STRING),
    AttributeDefinition("tier", AttributeType.INT, default=1),
    AttributeDefinition("born", AttributeType.DATE),
])
GLOBETROTTER = "IsGlobetrotter = true AND age BETWEEN 30 AND 45 AND avg_monthly_salary > 5000"


def held(text: str, holdings: tuple[str, ...] = (), **attributes: Any) -> bool:
    return evaluate(parse_expression(text, BANK), CustomerFacts(attributes, frozenset(holdings)))


def test_the_globetrotter_on_both_sides_of_each_bound() -> None:
    traveller = {"IsGlobetrotter": True, "age": 30, "avg_monthly_salary": Decimal("5000.0001")}
    assert held(GLOBETROTTER, **traveller)
    assert held(GLOBETROTTER, **{**traveller, "age": 45})
    assert not held(GLOBETROTTER, **{**traveller, "age": 29})
    assert not held(GLOBETROTTER, **{**traveller, "age": 46})
    assert not held(GLOBETROTTER, **{**traveller, "avg_monthly_salary": Decimal(5000)})
    assert not held(GLOBETROTTER, **{**traveller, "IsGlobetrotter": False})
    del traveller["IsGlobetrotter"]  # never answered: the default, false
    assert not held(GLOBETROTTER, **traveller)


@pytest.mark.parametrize(("text", "expected"), [
    # No value and no default: every condition on the attribute is false, negative ones included...
    ("city = 'Paris'", False), ("city != 'Paris'", False), ("city IN ('Paris')", False),
    ("city NOT IN ('Paris')", False), ("born < DATE '2000-01-01'", False),
    ("born NOT BETWEEN DATE '2000-01-01' AND DATE '2000-12-31'", False),
    ("city IS SET", False), ("city IS NOT SET", True),
    # ...and NOT is plain negation of what is inside.
    ("NOT city = 'Paris'", True), ("NOT city != 'Paris'", True), ("NOT (city = 'a' OR born > DATE '2000-01-01')", True),
    # A default stands in for the missing value, but does not count as set.
    ("tier = 1", True), ("tier BETWEEN 0 AND 2", True), ("tier IS SET", False), ("IsGlobetrotter = false", True),
    ("IsGlobetrotter", False), ("NOT IsGlobetrotter", True),
])
def test_a_customer_without_values(text: str, expected: bool) -> None:
    assert held(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("city = 'Paris'", True), ("city = 'paris'", False), ("city != 'Lyon'", True), ("city NOT IN ('Lyon')", True),
    ("risk_profile IN ('LOW', 'MEDIUM')", True), ("risk_profile NOT IN ('LOW', 'MEDIUM')", False),
    ("tier >= 3", True), ("tier IS SET", True), ("born BETWEEN DATE '1985-06-01' AND DATE '1985-06-01'", True),
    ("born > DATE '1985-06-01'", False), ("holds('LOAN') AND NOT holds('CARD')", True), ("holds('CARD')", False),
])
def test_a_customer_with_values(text: str, expected: bool) -> None:
    customer = {"city": "Paris", "risk_profile": "LOW", "tier": 3, "born": dt.date(1985, 6, 1),
                "holdings": ("LOAN",)}
    assert held(text, **customer) is expected


def test_the_explanation_shows_each_clause_and_the_values_read() -> None:
    expression = parse_expression(GLOBETROTTER + " AND (holds('LOAN') OR tier > 2)", BANK)
    facts = CustomerFacts({"age": 52, "avg_monthly_salary": Decimal("6200.50")}, frozenset({"LOAN"}))
    explanation = explain(expression, facts)
    assert not explanation.held
    assert [(c.clause, c.held, c.seen) for c in explanation.children] == [
        ("IsGlobetrotter = true", False, SeenValue("IsGlobetrotter", False, ValueSource.DEFAULT)),
        ("age BETWEEN 30 AND 45", False, SeenValue("age", 52, ValueSource.OWN)),
        ("avg_monthly_salary > 5000", True, SeenValue("avg_monthly_salary", Decimal("6200.50"), ValueSource.OWN)),
        ("holds('LOAN') OR tier > 2", True, None),
    ]
    assert explanation.children[3].children == (
        Explanation("holds('LOAN')", True), Explanation("tier > 2", False, SeenValue("tier", 1, ValueSource.DEFAULT)))
    unset = explain(parse_expression("NOT city = 'Paris'", BANK), CustomerFacts())
    assert unset == Explanation("NOT city = 'Paris'", True, children=(
        Explanation("city = 'Paris'", False, SeenValue("city", None, ValueSource.UNSET)),))


@settings(max_examples=300)
@given(expression=expressions, facts=customers)
def test_the_explanation_agrees_with_the_evaluation(expression: Expression, facts: CustomerFacts) -> None:
    assert explain(expression, facts).held is evaluate(expression, facts)
    assert evaluate(Not(expression), facts) is not evaluate(expression, facts)  # two-valued
