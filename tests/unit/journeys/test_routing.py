"""Answering a step and choosing its route: pure functions of the step, the facts and the answers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import InvalidArgument
from server.domain.journeys.model import FlowRule, Route, Step
from server.domain.journeys.routing import check_answers, choose_route, journey_facts
from server.domain.segments.attributes import AttributeCatalogue, AttributeDefinition, AttributeType
from server.domain.segments.evaluate import CustomerFacts
from server.domain.segments.parser import parse_expression

FLAGS = [AttributeDefinition(f"flag{i}", AttributeType.BOOL) for i in range(5)]


@given(st.lists(st.booleans(), min_size=5, max_size=5), st.integers(0, 5))
def test_the_first_rule_that_holds_chooses_else_the_default(flags: list[bool], rule_count: int) -> None:
    catalogue = AttributeCatalogue.of(FLAGS)
    step = Step("ask", rules=tuple(FlowRule(f"flag{i}", Route(step=f"to{i}")) for i in range(rule_count)),
                default_route=Route(step="fallback"))
    expressions = [parse_expression(r.expression, catalogue) for r in step.rules]
    decision = choose_route(step, expressions, CustomerFacts({f"flag{i}": v for i, v in enumerate(flags)}))
    first = next((i for i in range(rule_count) if flags[i]), None)
    assert decision.rule_index == first
    assert decision.route == (Route(step="fallback") if first is None else Route(step=f"to{first}"))


def test_captured_data_and_personas_overlay_the_customer() -> None:
    facts = journey_facts(CustomerFacts({"income": Decimal(4000), "IsGlobetrotter": False}, frozenset({"CARD"})),
                          {"IsGlobetrotter": True, "loan_amount": Decimal(9000)}, {"globetrotter": True})
    assert facts.attributes == {"income": Decimal(4000), "IsGlobetrotter": True, "loan_amount": Decimal(9000),
                                "persona_globetrotter": True}
    assert facts.holdings == frozenset({"CARD"})


def test_answers_are_every_captured_value_of_its_type_and_nothing_else() -> None:
    types = {"IsGlobetrotter": AttributeDefinition("IsGlobetrotter", AttributeType.BOOL),
             "loan_amount": AttributeDefinition("loan_amount", AttributeType.DECIMAL)}
    step = Step("ask", captures=("IsGlobetrotter", "loan_amount"), default_route=Route(step="next"))
    assert check_answers(step, types, {"IsGlobetrotter": True, "loan_amount": Decimal("10.5")}) == {
        "IsGlobetrotter": True, "loan_amount": Decimal("10.5")}
    for values, field in [({"IsGlobetrotter": "Yes", "loan_amount": Decimal(1)}, "values[IsGlobetrotter]"),
                          ({"IsGlobetrotter": True}, "values[loan_amount]"),
                          ({"IsGlobetrotter": True, "loan_amount": Decimal("0.00001")}, "values[loan_amount]"),
                          ({"IsGlobetrotter": True, "loan_amount": Decimal(1), "age": 3}, "values[age]")]:
        with pytest.raises(InvalidArgument) as raised:
            check_answers(step, types, values)
        assert (raised.value.code, raised.value.violations[0].field) == ("JOURNEY_ANSWER_INVALID", field)
